"""The OpenAPI 3.1 document of the API and its documentation page, both served by the app itself.

APIFlask writes the document from the endpoints' declared inputs and outputs; this module adds what is common
to every endpoint: the bearer authentication, the error envelope ``{"error": {"code", "message", "fields"}}``
and the error answers each endpoint can give. The documentation page (Swagger UI) loads its scripts and styles
from this app, never from a CDN: factories are often offline.
"""

from pathlib import Path
from typing import Any

import swagger_ui
from apiflask import APIFlask
from apiflask import settings as apiflask_settings
from flask import send_from_directory

from capa.accounts.permissions import public
from capa.api.blueprint import bp

SPEC_PATH = "/api/v1/openapi.json"
DOCS_PATH = "/api/v1/docs"
ASSETS = Path(swagger_ui.__file__).parent / "static"

ERROR_ENVELOPE = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable code clients rely on: invalid, unauthorized, forbidden, not_found, "
                    "duplicate, conflict, stale_version, invalid_state, gates_unmet, idempotency_key_reused, "
                    "signature_refused, same_person, payload_too_large, …",
                },
                "message": {"type": "string", "description": "One sentence for a person."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Each bad field, named as sent (``lots[1].kind``), with what is wrong.",
                },
                "number": {
                    "type": "string",
                    "description": "With idempotency_key_reused: the NC the key filed.",
                },
                "rows": {
                    "type": "array",
                    "description": "With invalid, from an import of a spreadsheet: each problem by row and column.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "row": {"type": "integer"},
                            "column": {"type": "string"},
                            "reason": {"type": "string"},
                        },
                        "required": ["row", "column", "reason"],
                    },
                },
                "unmet": {
                    "type": "array",
                    "description": "With gates_unmet: each closing gate still open.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "gate": {"type": "string"},
                            "message": {"type": "string"},
                            "parameter": {"type": "string"},
                        },
                        "required": ["gate", "message"],
                    },
                },
            },
        }
    },
}

ERROR_ANSWERS = {
    "400": "The input is invalid: `fields` names each bad field.",
    "401": "No valid API token: send `Authorization: Bearer <token>`.",
    "403": "The token's user may not do this.",
    "404": "No such record.",
    "409": "A conflict: a duplicate code, a stale version, a step not allowed in this state, or unmet gates.",
    "413": "The body is larger than the API accepts.",
    "503": "The server cannot complete the call for now: the database cannot be reached (`database_unavailable`, "
    "with `Retry-After` in seconds), or the file storage refused a file or cannot give one back for now "
    "(`storage_unavailable`, naming the file's field; nothing was stored). Send the same call again later.",
}
#: What APIFlask writes for an error answer nobody described; an endpoint's own ``@bp.doc(responses=…)`` says more
#: than ERROR_ANSWERS, these say less.
GENERATED_DESCRIPTIONS = {
    apiflask_settings.NOT_FOUND_DESCRIPTION,
    apiflask_settings.VALIDATION_ERROR_DESCRIPTION,
    apiflask_settings.AUTH_ERROR_DESCRIPTION,
}


@bp.get("/docs/assets/<path:name>")
@bp.doc(hide=True)
@public
def docs_asset(name: str):
    """The documentation page's own scripts and styles."""
    return send_from_directory(ASSETS, name, max_age=86400)


def _add_common_parts(spec: dict[str, Any]) -> dict[str, Any]:
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_ENVELOPE
    # APIFlask's own error shapes are not what this API answers: every error uses the envelope above.
    schemas.pop("ValidationError", None)
    schemas.pop("HTTPError", None)
    components["securitySchemes"] = {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from `flask --app capa token create`.",
        }
    }
    spec["security"] = [{"bearerAuth": []}]
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["responses"].pop("422", None)
            for status, description in ERROR_ANSWERS.items():
                declared = operation["responses"].get(status, {}).get("description")
                if declared and declared not in GENERATED_DESCRIPTIONS:
                    description = declared
                operation["responses"][status] = {"description": description, **error}
            # An error an endpoint declares beyond the common ones (429 of a signing step) has the same envelope,
            # not APIFlask's own error shape (removed above).
            for status, answer in operation["responses"].items():
                if status.isdigit() and int(status) >= 400:
                    answer.update(error)
            if path.startswith("/api/v1/docs"):
                operation["security"] = []
    return spec


def init_app(app: APIFlask) -> None:
    """Configure the document and the documentation page on ``app``."""
    app.config.update(
        SWAGGER_UI_CSS=f"{DOCS_PATH}/assets/swagger-ui.css",
        SWAGGER_UI_BUNDLE_JS=f"{DOCS_PATH}/assets/swagger-ui-bundle.js",
        SWAGGER_UI_STANDALONE_PRESET_JS=f"{DOCS_PATH}/assets/swagger-ui-standalone-preset.js",
        DOCS_FAVICON=f"{DOCS_PATH}/assets/favicon-32x32.png",
        INFO={
            "description": "The CAPA tracker's API for outside clients (a LIMS, an MES, scripts). Every call "
            'authenticates with a bearer token; every error answers `{"error": {"code", "message", '
            '"fields"}}`.',
        },
        VALIDATION_ERROR_STATUS_CODE=400,
    )
    app.spec_processor(_add_common_parts)
    # The document and its page are public: a browser opening the page sends no token.
    for endpoint in ("openapi.spec", "openapi.docs", "openapi.swagger_ui_oauth_redirect"):
        if endpoint in app.view_functions:
            public(app.view_functions[endpoint])
