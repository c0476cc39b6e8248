"""Weekly trend summaries."""

from flask import jsonify

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.trends import service


@bp.get("/summaries")
@requires(Permission.VIEW)
def summaries():
    return jsonify(
        {
            "items": [
                {
                    "week": s.week,
                    "start": s.figures.get("start"),
                    "end": s.figures.get("end"),
                    "status": s.status,
                    "built_at": s.built_at.isoformat() if s.built_at else None,
                    "mail_status": s.mail_status,
                }
                for s in service.list_summaries()
            ]
        }
    )


@bp.get("/summaries/<week>")
@requires(Permission.VIEW)
def summary(week: str):
    return jsonify(service.get_built(week).figures)
