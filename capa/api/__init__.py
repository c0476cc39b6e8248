"""The JSON API under /api/v1, for outside clients (a LIMS, an MES, scripts).

Authenticated with ``Authorization: Bearer <token>`` only; every error answers
``{"error": {"code", "message", "fields"}}``. The endpoints call the same services as the pages.
"""

from capa.api import capas, masterdata, me, safety, trends  # noqa: F401  (registers the routes)
from capa.api.blueprint import bp

__all__ = ["bp"]
