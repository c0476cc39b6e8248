from typing import Any

from flask import Blueprint, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from capa.common.errors import ValidationError

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def _limit_body_size() -> None:
    request.max_content_length = current_app.config["CAPA_API_MAX_BODY"]


def json_body() -> dict[str, Any]:
    """The request's JSON object; raises ValidationError (400) when the body is not a JSON object.

    Raises RequestEntityTooLarge (413) for a body over CAPA_API_MAX_BODY.
    """
    if request.content_length is not None and request.content_length > current_app.config["CAPA_API_MAX_BODY"]:
        raise RequestEntityTooLarge()
    data = request.get_json(silent=True, force=True)
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object.", fields={"body": "invalid JSON object"})
    return data
