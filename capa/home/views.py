from flask import Blueprint, render_template
from flask_login import current_user
from markupsafe import Markup

from capa.accounts.models import Role
from capa.accounts.permissions import Permission, requires
from capa.capas import service as capas
from capa.masterdata import service as masterdata
from capa.trends import service as trends
from capa.trends.charts import svg

bp = Blueprint("home", __name__)


@bp.route("/")
@requires(Permission.VIEW)
def index():
    live = trends.live() if current_user.role == Role.QUALITY_MANAGER else None
    return render_template(
        "home/index.html",
        counts=masterdata.counts(),
        queue=capas.queue_for(current_user),
        live=live,
        # Our own SVG, drawn by matplotlib from numbers: safe to inline.
        live_chart=Markup(svg("trend", live).decode()) if live else None,  # noqa: S704
    )
