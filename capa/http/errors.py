"""How errors reach people: JSON ``{"error": {...}}`` under /api, HTML pages elsewhere.

The database out of reach (PostgreSQL restarting, the network to it cut, SQLite locked by another writer past its
busy timeout) answers 503 with ``Retry-After`` (:data:`RETRY_AFTER_SECONDS`): JSON ``{"error": {"code":
"database_unavailable", ...}}`` under /api, the page ``errors/503.html`` elsewhere. The request's session is
rolled back and removed, and the engine checks a pooled connection before using it (``pool_pre_ping``, set for
PostgreSQL in :mod:`capa.config`), so the first request after the database is back succeeds without restarting
the app. Any other database error stays what it was: a 500, logged. A service error that is the server's own
trouble (:class:`capa.common.files.StorageRefused`, 503) answers like every other service error, with its status.
"""

import sqlite3

import psycopg
from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy import exc as sql
from werkzeug.exceptions import HTTPException

from capa.common.errors import DomainError, NotFound
from capa.extensions import db, login_manager

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
    503: "service_unavailable",
}
#: How long a client is asked to wait before trying again while the database is out of reach.
RETRY_AFTER_SECONDS = 5
#: What SQLite says when another writer held the database past the busy timeout, or the file cannot be reached.
SQLITE_UNAVAILABLE = ("database is locked", "database is busy", "database table is locked", "unable to open database")


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
        # A refusal that says when to come back (too many attempts) says it to scripts and proxies too.
        if isinstance(error.extra.get("retry_after"), int):
            response.headers["Retry-After"] = str(error.extra["retry_after"])
        return response
    # The one way a page answers "no such record": the same page as an address that does not exist.
    if isinstance(error, NotFound):
        return render_template("errors/404.html", error=error), 404
    # Pages handle the errors they expect next to their forms; one that escapes is shown plainly.
    return render_template("errors/generic.html", error=error, message=error.message), error.status


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached for now (so that the same request may succeed in a
    few seconds), rather than a fault of the request or of the code: a connection lost or refused (SQLAlchemy
    marks it ``connection_invalidated``; psycopg raises OperationalError or InterfaceError, but for "program
    limit exceeded", SQLSTATE class 54, which no retry cures), no connection free in the pool, or SQLite locked
    past its busy timeout."""
    if isinstance(error, sql.TimeoutError):
        return True  # every pooled connection busy for the pool's whole timeout
    if isinstance(error, sql.DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig if error.orig is not None else error
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return not (getattr(error, "sqlstate", None) or "").startswith("54")
    if isinstance(error, sqlite3.OperationalError):
        return any(text in str(error).lower() for text in SQLITE_UNAVAILABLE)
    return False


def _handle_database_error(error: Exception):
    if not database_unavailable(error):
        raise error  # not an outage: the usual answer to an unexpected error (500, logged)
    current_app.logger.warning("The database is unavailable: %s", error)
    _forget_the_session()
    if _is_api():
        response = json_error(
            503,
            "database_unavailable",
            _("The database cannot be reached at the moment; try again in a few seconds."),
        )
    else:
        response = current_app.make_response((render_template("errors/503.html"), 503))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _forget_the_session() -> None:
    """Drop the request's session and what it loaded, so that the answer reads nothing from the database (the page
    is shown as to someone not logged in) and the next request starts on a fresh connection."""
    g._login_user = login_manager.anonymous_user()  # what Flask-Login's current_user gives for this request
    try:
        db.session.rollback()
    except Exception:  # the connection is gone already: nothing of it is kept
        current_app.logger.debug("Rollback after a lost database connection failed", exc_info=True)
    db.session.remove()


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(DomainError, _handle_domain_error)
    for unreachable in (sql.DBAPIError, sql.TimeoutError, psycopg.OperationalError, psycopg.InterfaceError):
        app.register_error_handler(unreachable, _handle_database_error)
