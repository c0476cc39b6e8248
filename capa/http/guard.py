"""The gate in front of every request: who is asking, and may they call this view?"""

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from capa.accounts import service
from capa.accounts.models import User


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def request_user() -> User | None:
    """The user this request acts for: the bearer token's owner on the API, the session's on pages.

    The API ignores the session cookie on purpose: API calls are exempt from CSRF checks, which is safe only
    while a browser's cookie cannot authenticate them.
    """
    if is_api_request():
        return g.get("api_user")
    return current_user if current_user.is_authenticated else None


def _enforce_permission():
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions[request.endpoint]
    permission = getattr(view, "required_permission", None)
    if permission is None:
        current_app.logger.error("view %r declares no permission; refusing it", request.endpoint)
        abort(403)
    if is_api_request():
        g.api_user = service.user_for_bearer(request.headers.get("Authorization"))
    if permission.allows(request_user()):
        return None
    user = request_user()
    if user is None:
        if is_api_request():
            abort(401, description=_("A valid API token is required: Authorization: Bearer <token>."))
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
    abort(403, description=_("The role %(role)s may not do this.", role=user.role))


def init_app(app: Flask) -> None:
    app.before_request(_enforce_permission)
