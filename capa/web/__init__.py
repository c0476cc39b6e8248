"""The HTML pages: one blueprint per area, each a thin layer over the domain services.

A page builds what a service needs from its form, calls the service, and renders the outcome; the rules live
in the services. This package sits above every domain package and may import any of them; none imports it.
"""

from flask import Flask

from capa.capas.models import ActionStatus
from capa.capas.states import State
from capa.trends.models import MailStatus, SummaryStatus
from capa.web import history
from capa.web.accounts.views import bp as accounts_bp
from capa.web.capas import dispositions as _dispositions  # noqa: F401  (registers its views on the capas blueprint)
from capa.web.capas import effectiveness as _effectiveness  # noqa: F401  (registers its page on the capas blueprint)
from capa.web.capas.views import bp as capas_bp
from capa.web.changes.views import bp as changes_bp
from capa.web.documents.views import bp as documents_bp
from capa.web.home.views import bp as home_bp
from capa.web.inspections.fabric import bp as fabric_bp
from capa.web.inspections.incoming import bp as incoming_bp
from capa.web.inspections.line_checks import bp as line_checks_bp
from capa.web.inspections.measuring import bp as measuring_bp
from capa.web.inspections.needles import bp as needles_bp
from capa.web.inspections.views import bp as inspections_bp
from capa.web.masterdata.views import bp as masterdata_bp
from capa.web.safety.lab_reports import bp as lab_reports_bp
from capa.web.safety.views import bp as safety_bp
from capa.web.scars.views import bp as scars_bp
from capa.web.trends.views import WeekConverter
from capa.web.trends.views import bp as trends_bp

BLUEPRINTS = (
    home_bp,
    accounts_bp,
    masterdata_bp,
    safety_bp,
    lab_reports_bp,
    capas_bp,
    trends_bp,
    inspections_bp,
    fabric_bp,
    incoming_bp,
    line_checks_bp,
    needles_bp,
    measuring_bp,
    documents_bp,
    scars_bp,
    changes_bp,
)


#: The domain's vocabulary, for templates to compare with (``nc.status == State.CLOSED``), never a typed string.
VOCABULARY = {
    "State": State,
    "ActionStatus": ActionStatus,
    "SummaryStatus": SummaryStatus,
    "MailStatus": MailStatus,
}


def init_app(app: Flask) -> None:
    app.url_map.converters["week"] = WeekConverter
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.jinja_env.globals.update(VOCABULARY)
    history.init_app(app)
