"""How errors reach people: JSON ``{"error": {...}}`` under /api, HTML pages elsewhere."""

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from capa.common.errors import DomainError, NotFound

# Codes clients can rely on, one per HTTP status the API answers with.
HTTP_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
}


def _is_api() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, code: str, message: str, **extra) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "fields": {}, **extra}})
    response.status_code = status
    return response


def _handle_http_exception(error: HTTPException):
    status = error.code or 500
    if _is_api():
        message = error.description or error.name
        if status == 413:
            message = f"The request body is larger than the {request.max_content_length} bytes accepted here."
        response = json_error(status, HTTP_ERROR_CODES.get(status, "error"), message)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="capa"'
        return response
    template = f"errors/{status}.html" if status in (403, 404, 500) else "errors/generic.html"
    # The reason given where the request was refused (the guard names the role), not werkzeug's default.
    reason = error.description if error.description != type(error).description else None
    return render_template(template, error=error, reason=reason), status


def _handle_domain_error(error: DomainError):
    if _is_api():
        response = jsonify({"error": error.to_dict()})
        response.status_code = error.status
        return response
    # The one way a page answers "no such record": the same page as an address that does not exist.
    if isinstance(error, NotFound):
        return render_template("errors/404.html", error=error), 404
    # Pages handle the errors they expect next to their forms; one that escapes is shown plainly.
    return render_template("errors/generic.html", error=error, message=error.message), error.status


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(DomainError, _handle_domain_error)
