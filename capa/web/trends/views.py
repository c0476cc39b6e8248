"""Pages of the weekly summaries: the list of weeks, a week with its charts and tables, downloads."""

import csv
import io

from flask import Blueprint, Response, abort, render_template, send_file
from openpyxl import Workbook

from capa.accounts.permissions import Permission, requires
from capa.common.errors import NotFound, ValidationError
from capa.trends import service
from capa.trends.charts import CHARTS, svg

bp = Blueprint("trends", __name__)

BREAKDOWNS = ("by_defect_type", "by_line", "by_supplier", "by_parameter", "by_source")


def _built(week: str):
    try:
        return service.get_built(week)
    except (NotFound, ValidationError):
        abort(404)


@bp.route("/summaries")
@requires(Permission.VIEW)
def summaries():
    return render_template("trends/list.html", summaries=service.list_summaries())


@bp.route("/summaries/<week>")
@requires(Permission.VIEW)
def summary(week: str):
    summary = _built(week)
    return render_template("trends/summary.html", summary=summary, figures=summary.figures, breakdowns=BREAKDOWNS)


@bp.route("/summaries/live/charts/trend.svg")
@requires(Permission.VIEW)
def live_chart():
    """The trend of the last 12 weeks and this one so far, drawn when the browser asks for it."""
    response = Response(svg("trend", service.live()), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


@bp.route("/summaries/<week>/charts/<name>.svg")
@requires(Permission.VIEW)
def chart(week: str, name: str):
    if name not in CHARTS:
        abort(404)
    response = Response(svg(name, _built(week).figures), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def _rows(figures: dict) -> list[list]:
    """The summary flattened to (figure, key, this week, 4-week average, 12-week average) rows."""
    averages = figures.get("averages", {})
    rows = [["figure", "key", "value", "average_4w", "average_12w"]]
    for name in ("new_ncs", "closed", "open_at_end"):
        rows.append([name, "", figures[name], averages[name]["4w"], averages[name]["12w"]])
    for name in BREAKDOWNS:
        for key in sorted(set(figures[name]) | set(averages.get(name, {}))):
            average = averages.get(name, {}).get(key, {})
            rows.append([name, key, figures[name].get(key, 0), average.get("4w"), average.get("12w")])
    for name, value in figures["aging"].items():
        rows.append(["aging", name, value, "", ""])
    for name in ("median_days_to_close", "p90_days_to_close", "retest_first_pass_rate"):
        rows.append([name, "", figures[name] if figures[name] is not None else "", "", ""])
    for name in ("failed_results", "near_limit_results"):
        for key, value in figures[name].items():
            rows.append([name, key, value, "", ""])
    return rows


@bp.route("/summaries/<week>.csv")
@requires(Permission.VIEW)
def summary_csv(week: str):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(_rows(_built(week).figures))
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=summary-{week}.csv"},
    )


@bp.route("/summaries/<week>.xlsx")
@requires(Permission.VIEW)
def summary_xlsx(week: str):
    summary = _built(week)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = summary.week
    for row in _rows(summary.figures):
        sheet.append(row)
    actions = workbook.create_sheet("Overdue actions")
    actions.append(["nc", "action", "owner", "due_date", "days_late"])
    for action in summary.figures["overdue_actions"]:
        actions.append([action["nc"], action["action"], action["owner"], action["due_date"], action["days_late"]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return send_file(
        buffer,
        as_attachment=True,
        download_name=f"summary-{week}.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
