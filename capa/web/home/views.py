from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from capa.accounts.models import Role
from capa.accounts.permissions import Permission, requires
from capa.capas import queries
from capa.masterdata import service as masterdata
from capa.trends import service as trends
from capa.trends.wording import key_labels

bp = Blueprint("home", __name__)


@bp.route("/")
@requires(Permission.ANY_ACCOUNT)
def index():
    if current_user.role == Role.SUPPLIER:
        # A supplier's account has one place in the app: the requests sent to its supplier.
        return redirect(url_for("scars.scar_list"))
    # The last 12 weeks from their stored summaries, and this week so far (capa.trends.service.recent).
    live = trends.recent() if current_user.role == Role.QUALITY_MANAGER else None
    return render_template(
        "home/index.html",
        counts=masterdata.counts(),
        queue=queries.queue_for(current_user),
        live=live,
        floor=trends.floor_this_week() if live else None,
        key_labels=key_labels() if live else {},
    )
