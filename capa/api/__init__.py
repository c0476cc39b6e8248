"""The JSON API under /api/v1, for outside clients (a LIMS, an MES, scripts).

Authenticated with ``Authorization: Bearer <token>`` only; every error answers
``{"error": {"code", "message", "fields"}}``. The endpoints call the same services as the pages.
"""

from apiflask import APIFlask

from capa.api import capas, document, lab_reports, masterdata, me, safety, trends  # noqa: F401  (registers the routes)
from capa.api.blueprint import bp
from capa.api.document import DOCS_PATH, SPEC_PATH

__all__ = ["DOCS_PATH", "SPEC_PATH", "bp", "init_app"]


def init_app(app: APIFlask) -> None:
    app.register_blueprint(bp)
    document.init_app(app)
