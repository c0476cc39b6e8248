"""The API blueprint, and how a declared input is read.

Endpoints declare their body or query with ``@bp.input(Command)`` and their answer with ``@bp.output(Model)``
(APIFlask). The same Pydantic models validate the request, shape the response and make the OpenAPI document.
Input is read by :class:`CommandAdapter`, so that a refused request answers in the API's own envelope, 400
``invalid`` with ``fields`` named as clients name them (``lots[1].kind``), with the same messages as the pages.
"""

from typing import Any

from apiflask import APIBlueprint
from apiflask.schema_adapters import registry
from apiflask.schema_adapters.pydantic import PydanticAdapter
from flask import current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge

from capa.common.commands import PLEASE_CORRECT, parse
from capa.common.errors import ValidationError
from capa.http.json import loads_exactly

bp = APIBlueprint("api", __name__, url_prefix="/api/v1", tag="API")

GIVE_ONCE = _l("Give this parameter once.")


@bp.before_request
def _limit_body_size() -> None:
    request.max_content_length = current_app.config["CAPA_API_MAX_BODY"]


def json_body() -> dict[str, Any]:
    """The request's JSON object; raises ValidationError (400) when the body is not a JSON object.

    Raises RequestEntityTooLarge (413) for a body over CAPA_API_MAX_BODY.
    """
    if request.content_length is not None and request.content_length > current_app.config["CAPA_API_MAX_BODY"]:
        raise RequestEntityTooLarge()
    try:
        data = loads_exactly(request.get_data(cache=True))
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object.", fields={"body": "invalid JSON object"})
    return data


class CommandAdapter(PydanticAdapter):
    """APIFlask's Pydantic adapter, reading input through :func:`capa.common.commands.parse`."""

    def validate_input(self, request, location: str, **kwargs: Any):
        if location == "json":
            return parse(self.model_class, json_body())
        if location in ("query", "querystring"):
            # A parameter given twice (``?line=L1&line=L2``) is refused rather than read as one of its values.
            repeated = sorted(k for k, values in request.args.lists() if len(values) > 1)
            if repeated:
                raise ValidationError(str(PLEASE_CORRECT), fields={k: str(GIVE_ONCE) for k in repeated})
            # Empty parameters (``?line=``) mean "no filter", as a form's blank select does.
            return parse(self.model_class, {k: v for k, v in request.args.items() if v != ""})
        if location == "headers":
            # Only the headers the model declares, by their names (``Idempotency-Key``): every request carries
            # many others (Host, Authorization…).
            names = [field.alias or name for name, field in self.model_class.model_fields.items()]
            return parse(self.model_class, {name: request.headers[name] for name in names if name in request.headers})
        return super().validate_input(request, location, **kwargs)


registry.register("pydantic", CommandAdapter)
