"""Pages of the weekly summaries: the list of weeks, a week with its charts and tables, downloads."""

from flask import Blueprint, Response, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BaseConverter
from werkzeug.routing import ValidationError as RoutingValidationError

from capa.accounts.permissions import Permission, requires
from capa.trends import service
from capa.trends.charts import CHARTS, svg
from capa.trends.figures import totals_of, with_totals
from capa.trends.weeks import InvalidWeek, Week
from capa.trends.wording import key_labels
from capa.web import exports
from capa.web.exports import Column, Sheet
from capa.web.inspections.forms import CLASS_LABELS, STAGE_LABELS

bp = Blueprint("trends", __name__)

BREAKDOWNS = ("by_defect_type", "by_line", "by_supplier", "by_parameter", "by_source")


class WeekConverter(BaseConverter):
    """An ISO week in a page's address (``2026-W47``): anything else is no address at all (404)."""

    regex = r"\d{4}-[Ww]\d{2}"

    def to_python(self, value: str) -> str:
        try:
            return str(Week.parse(value))
        except InvalidWeek:
            raise RoutingValidationError() from None

    def to_url(self, value) -> str:
        return str(value)


@bp.route("/summaries")
@requires(Permission.VIEW)
def summaries():
    return render_template("trends/list.html", summaries=service.list_summaries())


@bp.route("/summaries/<week:week>")
@requires(Permission.VIEW)
def summary(week: str):
    summary = service.get_built(week)
    return render_template(
        "trends/summary.html",
        summary=summary,
        figures=with_totals(summary.figures),
        breakdowns=BREAKDOWNS,
        key_labels=key_labels(),
    )


@bp.route("/summaries/live/charts/trend.svg")
@requires(Permission.VIEW)
def live_chart():
    """The trend of the last 12 weeks (their stored summaries) and this one so far, drawn when the browser asks
    for it."""
    response = Response(svg("trend", service.recent(alerts=False)), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


@bp.route(f"/summaries/<week:week>/charts/<any({', '.join(CHARTS)}):name>.svg")
@requires(Permission.VIEW)
def chart(week: str, name: str):
    response = Response(svg(name, service.get_built(week).figures), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


#: The figures of a week, as its downloads label them.
FIGURE_LABELS = {
    "new_ncs": _l("New NCs"),
    "closed": _l("Closed"),
    "open_at_end": _l("Open at the end of the week"),
    "by_defect_type": _l("By defect type"),
    "by_line": _l("By line"),
    "by_supplier": _l("By supplier"),
    "unattributed_ncs": _l("New NCs charged to no supplier"),
    "by_parameter": _l("By safety parameter"),
    "by_source": _l("By source"),
    "aging": _l("Open CAPAs by age (days)"),
    "median_days_to_close": _l("Median days to close"),
    "p90_days_to_close": _l("90th percentile of days to close"),
    "retest_first_pass_rate": _l("Retests passed the first time"),
    "failed_results": _l("Results that failed a limit"),
    "near_limit_results": _l("Passed, but near the limit (within 10 %)"),
    "effectiveness": _l("Effectiveness reviews"),
    "overdue_actions": _l("Overdue actions"),
    "recurrences": _l("Recurrences"),
    "final_inspected": _l("Final inspections"),
    "first_pass_rate": _l("Final inspections accepted first time (%)"),
    "final_defects": _l("Defects found in final inspections"),
    "top_defects": _l("Defect codes found most in final inspections"),
    "dhu": _l("DHU by line"),
    "fabric_points": _l("Fabric points per 100 square yards, by supplier"),
    "needles": _l("Needle and metal control"),
}
#: The needle incidents of a week (capa.inspections.floor), as its downloads label them.
NEEDLE_LABELS = {
    "needle_breaks": _l("broken needles"),
    "fragments_missing": _l("with a fragment missing"),
    "metal_detections": _l("metal detections"),
    "garments_detected": _l("garments isolated"),
    "detector_checks_failed": _l("detector checks that missed the test piece"),
}
SUMMARY_LABELS = [_l("Figure"), _l("Of"), _l("This week"), _l("Average of 4 weeks"), _l("Average of 12 weeks")]
OVERDUE_COLUMNS = [
    Column(_l("NC"), lambda row: row["nc"]),
    Column(_l("Action"), lambda row: row["action"]),
    Column(_l("Owner"), lambda row: row["owner"]),
    Column(_l("Due"), lambda row: row["due_date"]),
    Column(_l("Days late"), lambda row: row["days_late"]),
]


def _rows(figures: dict) -> list[list]:
    """The summary flattened to (figure, of what, this week, 4-week average, 12-week average) rows."""
    averages = figures.get("averages", {})
    keys = key_labels()
    rows = []

    def add(name: str, key: str, value, average: dict | None = None) -> None:
        average = average or {}
        shown_key = keys.get(name, {}).get(key, key)
        rows.append([FIGURE_LABELS[name], shown_key, value, average.get("4w"), average.get("12w")])

    for name in ("new_ncs", "closed", "open_at_end"):
        add(name, "", figures[name], averages[name])
    for name in BREAKDOWNS:
        for key in sorted(set(figures[name]) | set(averages.get(name, {}))):
            add(name, key, figures[name].get(key, 0), averages.get(name, {}).get(key))
        if name == "by_supplier" and "unattributed_ncs" in figures:  # not in summaries built before it
            add("unattributed_ncs", "", figures["unattributed_ncs"], averages.get("unattributed_ncs"))
    for name, value in figures["aging"].items():
        add("aging", name, value)
    for name in ("median_days_to_close", "p90_days_to_close", "retest_first_pass_rate"):
        add(name, "", figures[name])
    for name in ("failed_results", "near_limit_results"):
        for key, value in figures[name].items():
            add(name, key, value)
    for key, value in figures.get("effectiveness", {}).items():
        add("effectiveness", key, value)
    # How many there are in all: the sheet of overdue actions lists the first of them.
    totals = totals_of(figures)
    for name in ("overdue_actions", "recurrences"):
        if name in totals:
            add(name, "", totals[name])
    floor = figures.get("inspections")  # not in summaries built before inspections were counted
    if floor:
        final = floor["final"]
        add("final_inspected", "", final["inspected"])
        add("first_pass_rate", "", final["first_pass_rate"])
        for cls, count in final["defects_by_class"].items():
            add("final_defects", str(CLASS_LABELS.get(cls, cls)), count)
        for cls, codes in final["top_defects"].items():
            for code in codes:
                add("top_defects", f"{CLASS_LABELS.get(cls, cls)}: {code['code']}", code["count"])
        for line in floor["dhu_by_line"]:
            # The DHU of the 4 weeks before stands in the 4-week column.
            add(
                "dhu",
                f"{line['line']} · {STAGE_LABELS.get(line['stage'], line['stage'])}",
                line["dhu"],
                {"4w": line["dhu_4w"]},
            )
        for supplier in floor["fabric_by_supplier"]:
            add("fabric_points", supplier["supplier"], supplier["points_per_100"])
        for name, value in floor["needles"].items():
            add("needles", str(NEEDLE_LABELS.get(name, name)), value)
    return [[exports.cell(value) for value in row] for row in rows]


#: The DHU table of a week's XLSX download, read from its summary's rows (capa.inspections.floor).
DHU_COLUMNS = [
    Column(_l("Line"), lambda row: row["line"]),
    Column(_l("Where"), lambda row: STAGE_LABELS.get(row["stage"], row["stage"])),
    Column(_l("Checks"), lambda row: row["checks"]),
    Column(_l("Units checked"), lambda row: row["units_checked"]),
    Column(_l("Defective units"), lambda row: row["defective_units"]),
    Column(_l("Defects"), lambda row: row["defects"]),
    Column(_l("DHU"), lambda row: row["dhu"]),
    Column(_l("Defective rate"), lambda row: row["defective_rate"]),
    Column(_l("DHU of the 4 weeks before"), lambda row: row["dhu_4w"]),
    Column(_l("Worse"), lambda row: _("yes") if row["worse"] else _("no")),
]


def _summary_sheet(week: str, figures: dict) -> Sheet:
    return Sheet(week, SUMMARY_LABELS, _rows(figures))


@bp.route("/summaries/<week:week>.csv")
@requires(Permission.VIEW)
def summary_csv(week: str):
    return exports.csv_download(f"summary-{week}.csv", _summary_sheet(week, service.get_built(week).figures))


@bp.route("/summaries/<week:week>.xlsx")
@requires(Permission.VIEW)
def summary_xlsx(week: str):
    summary = service.get_built(week)
    sheets = [
        _summary_sheet(summary.week, summary.figures),
        exports.table(str(_("Overdue actions")), summary.figures["overdue_actions"], OVERDUE_COLUMNS),
    ]
    if summary.figures.get("inspections"):
        sheets.append(exports.table(str(_("DHU by line")), summary.figures["inspections"]["dhu_by_line"], DHU_COLUMNS))
    return exports.xlsx_download(f"summary-{week}.xlsx", sheets)
