"""The quality manager's home and the weekly summaries at a plant's scale.

- The home's last 12 weeks come from the stored weekly summaries; only the week in progress is aggregated
  (the statements of the request carry no bound of a completed week), and a completed week without a built
  summary shows as missing.
- A stored summary keeps the first rows of each table with their true counts, shown on its page, in its mail
  and by the API; a summary stored before tables were bounded still reads whole.
- Ten quality managers opening the home at once, against a real server and a few hundred NCs, all get it.
- The NC page builds the form of a step only for a reader who may take that step now.

The records are written in one go through the models (as tests/test_statement_counts.py does), in the weeks
each test names; nothing is mocked.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from http.client import HTTPConnection

from sqlalchemy import event, select
from werkzeug.serving import WSGIRequestHandler, make_server

from capa.accounts.models import User
from capa.capas.models import Action, ActionStatus, DefectType, NonConformance
from capa.common.clock import plant_zone
from capa.common.types import utcnow
from capa.extensions import db
from capa.masterdata.models import ProductionLine
from capa.trends import mail
from capa.trends import service as trends
from capa.trends.figures import TABLE_ROWS, compute
from capa.trends.models import SummaryStatus, WeeklySummary
from capa.trends.weeks import Week
from tests.conftest import new_user
from tests.pages import logged_in, one, parsed, text, texts
from tests.test_capa_pages import step_forms
from tests.test_statement_counts import Grower, make_master_data

#: More rows than a stored table keeps.
MANY = TABLE_ROWS + 5


def this_week() -> Week:
    return Week.containing(utcnow().astimezone(plant_zone()).date())


@contextmanager
def parameters_sent() -> Iterator[list]:
    """Every value bound into the SQL statements sent meanwhile, as Python values (before the driver's)."""
    values: list = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        for bound in context.compiled_parameters if context is not None else ():
            values.extend(bound.values())

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        yield values
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)


class Records:
    """NCs and actions written straight through the models, in one transaction per call."""

    def __init__(self, reporter: User):
        self.reporter_id = reporter.id
        self.count = 0

    def ncs(self, moments: list[datetime], *, lines: list[str] | None = None, critical: bool = False) -> list[int]:
        """An open NC (loose button, inline) reported at each moment, on the line of the same place in ``lines``
        (made if new) or L1; their ids."""
        session = db.session
        defect = session.scalar(select(DefectType).where(DefectType.code == "loose_button"))
        reporter = session.get(User, self.reporter_id)
        known = {line.code: line for line in session.scalars(select(ProductionLine))}
        made = []
        for index, moment in enumerate(moments):
            code = lines[index] if lines else "L1"
            if code not in known:
                known[code] = ProductionLine(code=code, name=f"Line {code}")
                session.add(known[code])
            self.count += 1
            nc = NonConformance(
                number=f"NC-2020-{self.count:05d}",
                year=2020,
                sequence=self.count,
                status="investigation",
                version=1,
                title=f"Snap comes off ({self.count})",
                description="",
                defect_type=defect,
                source="inline",
                severity="major",
                line=known[code],
                safety_critical=critical,
                reported_by=reporter,
                reported_at=moment,
                containment="Held.",
            )
            session.add(nc)
            made.append(nc)
        session.commit()
        return [nc.id for nc in made]

    def overdue_actions(self, nc_id: int, created: datetime, dues: list[date]) -> None:
        session = db.session
        for index, due in enumerate(dues):
            session.add(
                Action(
                    nc_id=nc_id,
                    kind="corrective",
                    description=f"Retrain line {index}",
                    owner_id=self.reporter_id,
                    due_date=due,
                    status=ActionStatus.OPEN,
                    round=1,
                    created_at=created,
                )
            )
        session.commit()


def store(week: Week, figures: dict, status: str = SummaryStatus.BUILT) -> None:
    db.session.add(WeeklySummary(week=str(week), monday=week.monday, status=status, figures=figures))
    db.session.commit()


def week_rows(home: str) -> dict[str, list[str]]:
    """The home's table of weeks: week -> [new, closed, open at end] as shown."""
    table = one(one(home, "section.live"), "table")
    return {cells[0]: cells[1:] for cells in (texts(row, "td") for row in parsed(table).css("tbody tr"))}


# The home's 12 weeks -----------------------------------------------------------------------------------------


def test_the_home_reads_the_completed_weeks_from_their_summaries_and_aggregates_only_this_week(app):
    people = make_master_data()
    current = this_week()
    start, _end = current.bounds(plant_zone())
    records = Records(people.sup)
    # Three NCs this week (so far) and one in a week whose summary says otherwise: the summary is believed.
    now = utcnow()
    records.ncs([start + (now - start) / 2] * 3)
    three_back = current.shifted(-3)
    records.ncs([three_back.bounds(plant_zone())[0] + timedelta(days=1)])
    store(
        three_back,
        {"week": str(three_back), "new_ncs": 4242, "closed": 4141, "open_at_end": 4040, "alerts": []},
    )
    for back in (1, 4, 6):
        week = current.shifted(-back)
        store(week, {"week": str(week), "new_ncs": back, "closed": 0, "open_at_end": 7, "by_defect_type": {}})
    # Week -5 failed to build and week -2 was never built: both missing, neither computed.
    store(current.shifted(-5), {}, status=SummaryStatus.FAILED)
    reader = logged_in(app, people.qm)
    completed_starts = {current.shifted(-back).bounds(plant_zone())[0] for back in range(1, 13)}

    for url in ("/", "/summaries/live/charts/trend.svg"):
        with app.app_context(), parameters_sent() as values:
            response = reader.get(url)
            assert response.status_code == 200, url
        aggregated = {value for value in values if isinstance(value, datetime)} & completed_starts
        assert not aggregated, f"{url} aggregated completed weeks starting {sorted(aggregated)}"

    home = reader.get("/").text
    rows = week_rows(home)
    assert rows[str(three_back)] == ["4242", "4141", "4040"]
    assert rows[str(current.shifted(-1))] == ["1", "0", "7"]
    assert rows[str(current)][0] == "3"
    for missing in (current.shifted(-2), current.shifted(-5)):
        assert rows[str(missing)] == ["—", "—", "—"]
        assert str(missing) in text(one(home, "#missing-weeks"))
    # This week's 3 loose buttons against an average of none in the 4 weeks stored before: an alert.
    assert "Loose button: 3 new this week against 0.0 a week on average (4 weeks)" in text(one(home, "section.live"))
    with app.test_request_context():
        history = trends.recent(alerts=False)["history"]
    at = history["weeks"].index(str(three_back))
    assert (history["new_ncs"][at], history["closed"][at], history["open_at_end"][at]) == (4242, 4141, 4040)
    assert history["new_ncs"][history["weeks"].index(str(current.shifted(-2)))] is None
    assert history["weeks"][-1] == str(current) and history["new_ncs"][-1] == 3


# Bounded stored summaries --------------------------------------------------------------------------------------


def test_a_stored_summary_keeps_the_first_rows_of_each_table_with_their_true_counts(app):
    people = make_master_data()
    week = this_week().shifted(-2)
    start, _end = week.bounds(plant_zone())
    records = Records(people.qm)
    # MANY safety-critical NCs, still open, each on a line of its own; MANY overdue actions on the first.
    ids = records.ncs(
        [start + timedelta(minutes=n) for n in range(MANY)], lines=[f"X{n:02d}" for n in range(MANY)], critical=True
    )
    dues = [week.monday - timedelta(days=n) for n in range(MANY)]
    records.overdue_actions(ids[0], start, dues)

    summary, built = trends.build(week)
    assert built
    figures = summary.figures
    assert len(figures["overdue_actions"]) == TABLE_ROWS
    assert figures["totals"]["overdue_actions"] == MANY
    # The longest overdue first.
    assert [a["due_date"] for a in figures["overdue_actions"]] == [d.isoformat() for d in sorted(dues)][:TABLE_ROWS]
    assert len(figures["by_line"]) == TABLE_ROWS and figures["totals"]["by_line"] == MANY
    assert figures["left_out"]["by_line"] == MANY - TABLE_ROWS
    assert set(figures["averages"]["by_line"]) <= set(figures["by_line"]) | set(figures["averages"]["by_line"])
    assert len(figures["averages"]["by_line"]) <= 2 * TABLE_ROWS
    critical = [a for a in figures["alerts"] if a["kind"] == "safety_critical_open"]
    assert len(critical) == TABLE_ROWS and figures["totals"]["safety_critical_open"] == MANY
    assert (figures["new_ncs"], figures["open_at_end"]) == (MANY, MANY)

    shown = f"{TABLE_ROWS} of {MANY} shown."
    reader = logged_in(app, people.qm)
    page = reader.get(f"/summaries/{week}").text
    assert len(parsed(page).css('a[href^="/nc/"]')) >= TABLE_ROWS
    assert shown in text(page)
    assert f"Safety-critical NCs still open: {shown}" in text(page)
    csv_text = reader.get(f"/summaries/{week}.csv").text
    assert f"Overdue actions,,{MANY}" in csv_text

    answer = reader.get(f"/api/v1/summaries/{week}", headers={"Authorization": f"Bearer {token_of(people.qm)}"})
    assert answer.status_code == 200, answer.text
    assert answer.json["totals"]["overdue_actions"] == MANY
    assert answer.json["totals"]["by_line"] == MANY
    assert len(answer.json["overdue_actions"]) == TABLE_ROWS

    with app.test_request_context():
        message = mail.message_for(summary, ["qa@plant.example"], "en")
    html = message.get_body(("html",)).get_content()
    # Every alert counted, those not listed too: the safety-critical NCs and the rise of loose buttons.
    assert f"{MANY + 1} alerts" in message["Subject"]
    assert f'<strong style="font-size: 22px;">{MANY}</strong><br>overdue actions' in html
    assert shown in text(html)


def token_of(user: User) -> str:
    from capa.accounts import service as accounts

    return accounts.create_token(db.session.get(User, user.id))


def test_a_summary_stored_before_tables_were_bounded_still_reads_whole(app):
    people = make_master_data()
    week = this_week().shifted(-1)
    old = compute(week, plant_zone())
    # As summaries were stored before: every row listed, no totals beside them.
    for name in ("totals", "left_out"):
        old.pop(name)
    old["overdue_actions"] = [
        {
            "nc": f"NC-2025-{n:05d}",
            "action": f"Old action {n}",
            "kind": "corrective",
            "owner": "sup.li",
            "due_date": "2025-01-06",
            "days_late": 3,
        }
        for n in range(MANY)
    ]
    old["alerts"] = [{"kind": "safety_critical_open", "nc": "NC-2025-00001", "title": "Loose snap"}]
    old["recurrences"] = ["NC-2025-00002", "NC-2025-00003"]
    store(week, old)

    reader = logged_in(app, people.qm)
    page = reader.get(f"/summaries/{week}")
    assert page.status_code == 200
    assert sum("Old action" in cell for cell in texts(page.text, "td")) == MANY
    assert " shown." not in text(page.text)
    for url in (f"/summaries/{week}.csv", f"/summaries/{week}.xlsx", f"/summaries/{week}/charts/pareto.svg"):
        assert reader.get(url).status_code == 200, url
    answer = reader.get(f"/api/v1/summaries/{week}", headers={"Authorization": f"Bearer {token_of(people.qm)}"})
    assert answer.status_code == 200, answer.text
    assert answer.json["totals"]["overdue_actions"] == MANY
    assert answer.json["totals"]["recurrences"] == 2
    assert answer.json["totals"]["safety_critical_open"] == 1
    assert answer.json["left_out"] == {}
    with app.test_request_context():
        summary = trends.get_built(str(week))
        html = mail.message_for(summary, ["qa@plant.example"], "en").get_body(("html",)).get_content()
    assert f'<strong style="font-size: 22px;">{MANY}</strong><br>overdue actions' in html
    assert " shown." not in html
    home = reader.get("/").text
    assert week_rows(home)[str(week)] == [str(old["new_ncs"]), str(old["closed"]), str(old["open_at_end"])]


# Ten quality managers at once ---------------------------------------------------------------------------------


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


def test_ten_quality_managers_opening_the_home_at_once_all_get_it(app):
    people = make_master_data()
    Grower(people).grow(300, history=False)
    managers = [new_user("quality_manager", f"qm.{n}") for n in range(10)]
    # Each one's session, logged in through the pages (a test client), then sent to the real server.
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    cookies = [f"{cookie_name}={logged_in(app, user).get_cookie(cookie_name).value}" for user in managers]
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ready = threading.Barrier(len(cookies))
    answers: dict[int, list] = {}

    def open_home(index: int) -> None:
        ready.wait(timeout=60)
        got = []
        # The page, then the chart it shows, as a browser loads them.
        connection = HTTPConnection("127.0.0.1", server.server_port, timeout=60)
        try:
            for url in ("/", "/summaries/live/charts/trend.svg"):
                connection.request("GET", url, headers={"Cookie": cookies[index]})
                answer = connection.getresponse()
                got.append((url, answer.status, answer.read().decode()))
        finally:
            connection.close()
        answers[index] = got

    workers = [threading.Thread(target=open_home, args=(index,)) for index in range(len(cookies))]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert len(answers) == len(managers)
    for index, got in answers.items():
        name = managers[index].username
        assert [(url, status) for url, status, _body in got] == [
            ("/", 200),
            ("/summaries/live/charts/trend.svg", 200),
        ], name
        home = got[0][2]
        assert f"Good day, {name}" in home and "The last 12 weeks" in home
        assert "<svg" in got[1][2]


# The NC page's forms --------------------------------------------------------------------------------------------


@contextmanager
def statements_sent() -> Iterator[list[str]]:
    statements: list[str] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)


def test_the_nc_page_builds_the_forms_of_the_steps_its_reader_may_take_and_no_other(app):
    people = make_master_data()
    grower = Grower(people)
    grower.grow(20)
    number = grower.history
    readers = {"qm": logged_in(app, people.qm), "sup": logged_in(app, people.sup)}
    # In action: the quality manager adds actions (choosing their owner among the users) and edits.
    page = readers["qm"].get(f"/nc/{number}").text
    assert {"actions", "edit"} <= set(step_forms(page))
    assert 'name="owner"' in page

    nc = db.session.scalar(select(NonConformance).where(NonConformance.number == number))
    nc.status, nc.closed_at, nc.effectiveness = "closed", datetime.now(UTC), "No loose snap since."
    db.session.commit()
    expected = {"qm": ["effectiveness-review"], "sup": []}
    for who, reader in readers.items():
        with app.app_context(), statements_sent() as statements:
            response = reader.get(f"/nc/{number}")
        assert response.status_code == 200
        assert step_forms(response.text) == expected[who], who
        # No form is made for a step not offered: neither every user (an action's owner) nor the whole catalog
        # (the linked parameters) is read for choices nobody is shown.
        everyone = [s for s in statements if "FROM users ORDER BY users.username" in s]
        catalog = [s for s in statements if "FROM safety_parameters ORDER BY safety_parameters.code" in s]
        assert not everyone and not catalog, who
        # The whole history is shown, newest first.
        history = one(response.text, "#history")
        assert len(parsed(history).css("li")) == 20
        assert texts(history, "li")[0].endswith("changed What is wrong: t19 → t20")
