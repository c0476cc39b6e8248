"""The JSON API under /api/v1, for outside clients (a LIMS, an MES, scripts).

Authenticated with ``Authorization: Bearer <token>`` only; every error answers
``{"error": {"code", "message", "fields"}}``. The endpoints call the same services as the pages.
"""

from apiflask import APIFlask

# Importing each module registers its routes.
from capa.api import (  # noqa: F401
    capas,
    changes,
    dispositions,
    document,
    documents,
    evidence,
    fabric,
    history,
    imports,
    incoming,
    inspections,
    lab_reports,
    line_checks,
    masterdata,
    me,
    needles,
    safety,
    scars,
    suppliers,
    trends,
)
from capa.api.blueprint import bp
from capa.api.document import DOCS_PATH, SPEC_PATH

__all__ = ["DOCS_PATH", "SPEC_PATH", "bp", "init_app"]


def init_app(app: APIFlask) -> None:
    app.register_blueprint(bp)
    document.init_app(app)
