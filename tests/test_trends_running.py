"""Running the weekly summaries: the ``summary run`` command, the API, the pages and downloads, building and
mailing exactly once, the catch-up after downtime, failures that are recorded and retried, the scheduler's
jobs and the daily reminders of overdue actions.

Mail goes to a real SMTP server (aiosmtpd) on a free localhost port, started by a fixture; what arrived is
read back and parsed. Nothing is mocked.
"""

import csv
import io
import logging
import re
import socket
import threading
import time
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from babel.support import Translations
from openpyxl import load_workbook
from sqlalchemy import func, select

from capa.accounts import service as accounts
from capa.accounts.commands import NewUser
from capa.common.commands import parse
from capa.extensions import db
from capa.trends import service as summaries
from capa.trends.models import JobClaim, WeeklySummary
from capa.trends.scheduler import create_scheduler, run_summaries, send_reminders
from capa.trends.weeks import Week
from tests.conftest import PASSWORD
from tests.pages import image_sources, links, text
from tests.test_trends_figures import HOUR, Plant, at, week_bounds

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: A fixed "now" for the runs that take one: Wednesday of 2026-W48, so the last complete week is 2026-W47.
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
BASE_URL = "https://capa.plant.example"
RECIPIENTS = ["qa.manager@plant.example", "buyer@brand.example"]
MAIL_FROM = "capa@plant.example"
JOB_IDS = {
    "weekly-summary",
    "summary-retry",
    "summary-catch-up",
    "overdue-reminders",
    "effectiveness-reminders",
    "scar-reminders",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.received: list[tuple[str, list[str], EmailMessage]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
        with self._lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [message for _sender, _rcpt, message in self.received]


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free localhost port; ``.inbox`` holds what arrived."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.inbox = inbox
    yield controller
    controller.stop()


def smtp_settings(port: int) -> dict:
    return {
        "CAPA_SMTP_HOST": "127.0.0.1",
        "CAPA_SMTP_PORT": port,
        "CAPA_MAIL_FROM": MAIL_FROM,
        "CAPA_SUMMARY_RECIPIENTS": ", ".join(RECIPIENTS),
        "CAPA_BASE_URL": BASE_URL,
    }


def _configured(request, app_config, port: int) -> None:
    app_config.update(smtp_settings(port))
    app = request.getfixturevalue("app")
    assert app.config["CAPA_SMTP_PORT"] == port, "ask for the mail fixture before anything that builds the app"


@pytest.fixture
def mail_config(request, app_config, smtp_server):
    """The app mails through ``smtp_server``."""
    _configured(request, app_config, smtp_server.port)
    return smtp_server


@pytest.fixture
def smtp_down(request, app_config, smtp_server):
    """SMTP is configured, but at a port where nothing listens; ``smtp_server`` is the one to switch to."""
    _configured(request, app_config, free_port())
    return smtp_server


@pytest.fixture
def qm(make_user):
    return make_user("quality_manager", "qm.li")


@pytest.fixture
def plant(app, qm) -> Plant:
    return Plant(qm)


def rows() -> list[WeeklySummary]:
    db.session.expire_all()
    return list(db.session.scalars(select(WeeklySummary).order_by(WeeklySummary.monday)))


def row(week: str) -> WeeklySummary:
    db.session.expire_all()
    return db.session.scalar(select(WeeklySummary).where(WeeklySummary.week == week))


def last_complete_week() -> str:
    """Computed here: the ISO week of the day seven days ago on the plant's calendar."""
    iso = (datetime.now(SHANGHAI).date() - timedelta(days=7)).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def monday_of(week: str) -> date:
    return date.fromisocalendar(int(week[:4]), int(week[6:]), 1)


def in_week(week: str, day: int = 1, hour: int = 10) -> datetime:
    moment = monday_of(week) + timedelta(days=day)
    return at(moment.year, moment.month, moment.day, hour)


def non_empty_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# summary run ------------------------------------------------------------------------------------------------


def test_summary_run_builds_the_last_complete_week_by_default(runner, plant):
    week = last_complete_week()
    plant.file(in_week(week, 2))
    plant.file(in_week(week, 6, 23))
    result = runner.invoke(args=["summary", "run"])
    assert result.exit_code == 0, result.output
    assert f"Built {week}: 2 new" in result.output
    built = rows()
    assert [(s.week, s.status) for s in built] == [(week, "built")]
    assert built[0].figures["new_ncs"] == 2


def test_summary_run_keeps_an_existing_summary_unless_forced(runner, plant):
    week = "2026-W47"
    plant.file(at(2026, 11, 17))
    result = runner.invoke(args=["summary", "run", "--week", week])
    assert result.exit_code == 0, result.output
    assert f"Built {week}: 1 new" in result.output
    first = row(week)
    built_at, summary_id = first.built_at, first.id

    plant.file(at(2026, 11, 18))  # a late report for the week
    result = runner.invoke(args=["summary", "run", "--week", week])
    assert result.exit_code == 0, result.output
    assert "exists already" in result.output
    kept = row(week)
    assert (kept.id, kept.built_at, kept.figures["new_ncs"]) == (summary_id, built_at, 1)

    result = runner.invoke(args=["summary", "run", "--week", week, "--force"])
    assert result.exit_code == 0, result.output
    assert f"Built {week}: 2 new" in result.output
    rebuilt = rows()
    assert [(s.id, s.week, s.figures["new_ncs"]) for s in rebuilt] == [(summary_id, week, 2)]
    assert rebuilt[0].built_at > built_at


def test_summary_run_refuses_a_bad_week_name_with_one_clear_line(runner, app):
    for bad in ("2026-W60", "2025-W53", "2026-W00", "2026-47", "W47", "next week"):
        result = runner.invoke(args=["summary", "run", "--week", bad])
        assert result.exit_code != 0, bad
        lines = non_empty_lines(result.output)
        assert len(lines) == 1, result.output
        assert lines[0].startswith("Error:"), bad
        assert "week" in lines[0], bad
        assert "Traceback" not in result.output
    assert rows() == []


def test_summary_run_mails_the_summary_it_builds_once(mail_config, runner, plant):
    plant.file(at(2026, 11, 17))
    for _ in range(2):
        result = runner.invoke(args=["summary", "run", "--week", "2026-W47"])
        assert result.exit_code == 0, result.output
    assert len(mail_config.inbox.messages) == 1


# The API ---------------------------------------------------------------------------------------------------


def test_api_lists_the_weeks_built_and_answers_one_of_them(plant, api):
    plant.file(at(2026, 11, 3))  # W45
    plant.file(at(2026, 11, 17), "open_seam", "L2", source="final_audit")  # W47
    plant.file(at(2026, 11, 18), "open_seam", "L2", source="final_audit")  # W47
    for week in ("2026-W45", "2026-W47"):
        summaries.build(Week.parse(week))
    client = api("supervisor")

    listing = client.get("/api/v1/summaries")
    assert listing.status_code == 200, listing.text
    items = listing.json["items"]
    assert [item["week"] for item in items] == ["2026-W47", "2026-W45"]
    assert {item["status"] for item in items} == {"built"}
    start, end = week_bounds("2026-W47")
    assert datetime.fromisoformat(items[0]["start"]) == start
    assert datetime.fromisoformat(items[0]["end"]) == end

    one = client.get("/api/v1/summaries/2026-W47")
    assert one.status_code == 200, one.text
    assert (one.json["week"], one.json["new_ncs"], one.json["open_at_end"]) == ("2026-W47", 2, 3)
    assert one.json["by_defect_type"] == {"open_seam": 2}
    assert one.json["by_source"] == {"final_audit": 2}


def test_api_answers_404_for_a_week_not_built_and_400_or_404_for_a_malformed_name(plant, api):
    plant.file(at(2026, 11, 17))
    summaries.build(Week.parse("2026-W47"))
    client = api("supervisor")
    assert client.get("/api/v1/summaries/2026-W46").status_code == 404
    assert client.get("/api/v1/summaries/2026-W53").status_code == 404  # a real week, not built
    for bad in ("2026-W60", "2025-W53", "2026-47", "last-week"):
        response = client.get(f"/api/v1/summaries/{bad}")
        assert response.status_code in (400, 404), (bad, response.status_code)
        assert "week" in response.json["error"]["fields"], bad
    assert api(None).get("/api/v1/summaries").status_code == 401
    assert api(None).get("/api/v1/summaries/2026-W47").status_code == 401


# The pages and downloads ----------------------------------------------------------------------------------


@pytest.fixture
def built_week(plant, owners_with_mail):
    """2026-W47 with NCs of two defect types, an overdue action and a near-limit result, built."""
    wang = owners_with_mail[0]
    first = plant.file(at(2026, 11, 16, 9), "stain", "L1", batch="B-1")
    plant.file(at(2026, 11, 17, 9), "stain", "L1")
    plant.file(at(2026, 11, 18, 9), "formaldehyde_over_limit", "L2", parameters=["CN-FORM"])
    plant.to_action(first, at(2026, 11, 16, 10))
    plant.add_action(first, at(2026, 11, 16, 14), wang, date(2026, 11, 19), "Retrain the operators")
    plant.lab("B-1", at(2026, 11, 19), "CN-FORM", 70, "pass", near=True)
    summaries.build(Week.parse("2026-W47"))
    return "2026-W47"


@pytest.fixture
def owners_with_mail(app):
    return [
        accounts.create_user(
            parse(
                NewUser,
                {"username": name, "role": "supervisor", "password": PASSWORD, "email": f"{name}@plant.example"},
            )
        ).username
        for name in ("owner.wang", "owner.zhao")
    ]


def test_summary_pages_show_the_list_the_week_and_its_charts_as_svg(client, auth, built_week):
    assert client.get("/summaries").status_code in (302, 401)  # not signed in
    auth.as_role("supervisor")
    listing = client.get("/summaries")
    assert listing.status_code == 200
    assert f"/summaries/{built_week}" in links(listing.text)

    page = client.get(f"/summaries/{built_week}")
    assert page.status_code == 200
    assert built_week in page.text
    assert "Retrain the operators" in page.text and "owner.wang" in page.text
    svg = rf"/summaries/{built_week}/charts/(\w+)\.svg"
    charts = [(src, match.group(1)) for src, _alt in image_sources(page.text) if (match := re.fullmatch(svg, src))]
    assert {name for _src, name in charts} == {"trend", "pareto", "parameters"}
    for src, _name in charts:
        chart = client.get(src)
        assert chart.status_code == 200, src
        assert chart.mimetype == "image/svg+xml"
        assert b"<svg" in chart.data
    assert client.get(f"/summaries/{built_week}/charts/nonsense.svg").status_code == 404
    assert client.get("/summaries/2026-W46").status_code == 404
    assert client.get("/summaries/2026-W46/charts/trend.svg").status_code == 404
    assert client.get("/summaries/2026-W99").status_code == 404


def test_summary_downloads_as_csv_and_xlsx_carry_the_figures(client, auth, built_week):
    auth.as_role("supervisor")
    response = client.get(f"/summaries/{built_week}.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.text)))
    # Labels and names, as the summary page shows them, not codes.
    assert table[0] == ["Figure", "Of", "This week", "Average of 4 weeks", "Average of 12 weeks"]
    values = {(r[0], r[1]): r[2] for r in table[1:]}
    assert values[("New NCs", "")] == "3"
    assert values[("Open at the end of the week", "")] == "3"
    assert values[("By defect type", "Stain")] == "2"
    assert values[("By defect type", "Formaldehyde over limit")] == "1"
    # The stain on B-1 concerns no supplier's material (nor do the other two, which name no batch).
    assert values[("New NCs charged to no supplier", "")] == "3"
    assert values[("Passed, but near the limit (within 10 %)", "CN-FORM Formaldehyde content")] == "1"
    assert values[("Open CAPAs by age (days)", "0 to 7 days")] == "3"

    response = client.get(f"/summaries/{built_week}.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    sheet = book[built_week]
    cells = {(r[0], r[1] or ""): r[2] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert cells[("New NCs", "")] == 3
    assert cells[("By line", "L1")] == 2
    assert cells[("By safety parameter", "CN-FORM Formaldehyde content")] == 1
    overdue = list(book["Overdue actions"].iter_rows(values_only=True))
    assert overdue[0] == ("NC", "Action", "Owner", "Due", "Days late")
    assert [(r[1], r[2], r[3], r[4]) for r in overdue[1:]] == [("Retrain the operators", "owner.wang", "2026-11-19", 3)]
    assert client.get("/summaries/2026-W46.csv").status_code == 404
    assert client.get("/summaries/2026-W46.xlsx").status_code == 404


# Exactly once ----------------------------------------------------------------------------------------------


def test_building_a_week_twice_makes_one_summary_built_once(plant):
    plant.file(at(2026, 11, 17))
    week = Week.parse("2026-W47")
    first, built = summaries.build(week)
    assert built
    built_at = first.built_at
    second, built_again = summaries.build(week)
    assert not built_again
    assert second.id == first.id
    assert [(s.week, s.status, s.built_at) for s in rows()] == [("2026-W47", "built", built_at)]


def test_run_summaries_twice_sends_one_mail_per_week(mail_config, plant):
    plant.file(at(2026, 11, 10))  # W46: the first NC, where the catch-up starts
    plant.file(at(2026, 11, 17))  # W47
    assert run_summaries(NOW) == ["2026-W46", "2026-W47"]
    assert run_summaries(NOW) == []
    subjects = [message["Subject"] for message in mail_config.inbox.messages]
    assert len(subjects) == 2, subjects
    assert [week for week in ("2026-W46", "2026-W47") if any(week in s for s in subjects)] == ["2026-W46", "2026-W47"]
    assert [(s.week, s.mail_status, s.mail_attempts) for s in rows()] == [
        ("2026-W46", "sent", 1),
        ("2026-W47", "sent", 1),
    ]


# Catch-up ---------------------------------------------------------------------------------------------------


def test_catch_up_builds_the_missed_weeks_oldest_first_from_the_first_nc(plant):
    plant.file(at(2026, 10, 1))  # 2026-W40
    plant.file(at(2026, 11, 4))  # 2026-W45
    weeks = [f"2026-W{n}" for n in range(40, 48)]
    assert run_summaries(NOW) == weeks
    built = rows()
    assert [s.week for s in built] == weeks
    assert {s.status for s in built} == {"built"}
    by_order_built = [s.week for s in sorted(built, key=lambda s: (s.built_at, s.id))]
    assert by_order_built == weeks
    assert {s.mail_status for s in built} == {"not_configured"}
    before = {s.week: s.built_at for s in built}

    # Two more weeks of downtime: only those are built; none is rebuilt.
    assert run_summaries(NOW + timedelta(weeks=2)) == ["2026-W48", "2026-W49"]
    after = {s.week: s.built_at for s in rows()}
    assert {week: after[week] for week in before} == before
    assert sorted(after) == [*weeks, "2026-W48", "2026-W49"]
    assert run_summaries(NOW + timedelta(weeks=2)) == []


def test_with_no_nc_at_all_only_the_last_complete_week_is_built(app):
    assert run_summaries(NOW) == ["2026-W47"]
    assert rows()[0].figures["new_ncs"] == 0


def test_catch_up_also_fills_the_weeks_before_a_summary_built_out_of_turn(plant):
    plant.file(at(2026, 10, 1))  # 2026-W40
    summaries.build(Week.parse("2026-W44"))  # someone looked at one week by hand
    built = run_summaries(NOW)
    assert built == ["2026-W40", "2026-W41", "2026-W42", "2026-W43", "2026-W45", "2026-W46", "2026-W47"]


# Mail -------------------------------------------------------------------------------------------------------


def test_the_summary_mail_is_html_with_inline_png_charts_a_link_and_every_recipient(mail_config, built_week):
    run_summaries(NOW)
    run_summaries(NOW)  # sent once
    assert len(mail_config.inbox.received) == 1
    sender, envelope_to, message = mail_config.inbox.received[0]
    assert sender == MAIL_FROM
    assert sorted(envelope_to) == sorted(RECIPIENTS)
    for address in RECIPIENTS:
        assert address in message["To"]
    assert built_week in message["Subject"]

    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    page = html_part.get_content()
    assert f"{BASE_URL}/summaries/{built_week}" in links(page)
    cids = {src.removeprefix("cid:") for src, _alt in image_sources(page) if src.startswith("cid:")}
    images = {
        part["Content-ID"].strip("<>"): part.get_content()
        for part in message.walk()
        if part.get_content_type() == "image/png"
    }
    assert len(cids) == 3
    assert cids == set(images)
    assert all(image.startswith(b"\x89PNG\r\n\x1a\n") for image in images.values())
    # The week's inspections (capa.inspections.floor): none this week, so no rate, no needle.
    assert "final inspections accepted first time: <strong>—</strong> (0 of 0)" in " ".join(page.split())
    assert "broken needles: 0" in page
    plain = message.get_body(preferencelist=("plain",))
    assert f"{BASE_URL}/summaries/{built_week}" in plain.get_content()
    assert row(built_week).mail_status == "sent"


def test_with_smtp_down_the_summary_stays_built_the_failure_shows_and_a_later_run_sends_it_once(
    smtp_down, plant, app, client, auth, caplog
):
    plant.file(at(2026, 11, 17))
    with caplog.at_level(logging.WARNING, logger="capa.trends.mail"):
        assert run_summaries(NOW) == ["2026-W47"]
    summary = row("2026-W47")
    assert summary.status == "built"
    assert summary.mail_status == "failed"
    assert summary.mail_error
    assert any("2026-W47" in record.getMessage() for record in caplog.records)

    auth.as_role("supervisor")
    listing = client.get("/summaries").text
    assert "mail failed, will be retried" in listing
    assert " ".join(summary.mail_error.split()) in text(listing)
    assert client.get("/summaries/2026-W47").status_code == 200  # the summary itself is there

    app.config["CAPA_SMTP_PORT"] = smtp_down.port  # the server is back
    assert run_summaries(NOW) == []
    assert run_summaries(NOW) == []
    assert len(smtp_down.inbox.messages) == 1
    summary = row("2026-W47")
    assert (summary.mail_status, summary.mail_error, summary.mail_attempts) == ("sent", "", 2)


def test_a_summary_that_cannot_be_written_as_mail_is_marked_failed_and_the_others_are_sent(mail_config, plant):
    plant.file(at(2026, 11, 17))
    summaries.build(Week.parse("2026-W47"))
    # A bad row: a built summary whose figures lack what the mail needs (e.g. written by an older version).
    db.session.add(WeeklySummary(week="2026-W46", monday=date(2026, 11, 9), status="built", figures={"week": "x"}))
    db.session.commit()
    run_summaries(NOW)
    assert row("2026-W47").mail_status == "sent"
    assert len(mail_config.inbox.messages) == 1
    bad = row("2026-W46")
    assert bad.mail_status == "failed"
    assert bad.mail_error


# Failures while building ------------------------------------------------------------------------------------


def test_a_failed_build_is_recorded_shown_and_retried_by_the_next_run(plant, app, runner, client, auth, api):
    plant.file(at(2026, 11, 17))
    app.config["CAPA_TIMEZONE"] = "Mars/Olympus_Mons"  # a broken setting: building the figures fails
    result = runner.invoke(args=["summary", "run", "--week", "2026-W47"])
    assert result.exit_code != 0
    assert len(non_empty_lines(result.output)) == 1, result.output
    assert "2026-W47" in result.output and "retried" in result.output
    failed = row("2026-W47")
    assert failed.status == "failed"
    assert "Mars/Olympus_Mons" in failed.error
    assert api("supervisor").get("/api/v1/summaries/2026-W47").status_code == 404

    app.config["CAPA_TIMEZONE"] = "Asia/Shanghai"
    auth.as_role("supervisor")
    listing = client.get("/summaries").text
    assert "failed, will be retried" in listing
    assert " ".join(failed.error.split()) in text(listing)

    assert run_summaries(NOW) == ["2026-W47"]
    rebuilt = rows()
    assert [(s.week, s.status, s.error, s.figures["new_ncs"]) for s in rebuilt] == [("2026-W47", "built", "", 1)]


def test_a_build_abandoned_by_a_dead_process_is_taken_over_later(plant):
    plant.file(at(2026, 11, 17))
    # What a builder killed between claiming the week and storing its figures leaves behind, an hour ago.
    db.session.add(
        WeeklySummary(
            week="2026-W47",
            monday=date(2026, 11, 16),
            status="building",
            figures={},
            created_at=NOW - HOUR,
            claimed_at=NOW - HOUR,
        )
    )
    db.session.commit()
    run_summaries(NOW + timedelta(hours=1))
    assert row("2026-W47").status == "built"


# The scheduler ----------------------------------------------------------------------------------------------


def test_the_scheduler_has_its_jobs_under_explicit_ids_in_plant_time(app):
    scheduler = create_scheduler(app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == JOB_IDS
    after = datetime(2026, 11, 25, 12, tzinfo=SHANGHAI)
    weekly = jobs["weekly-summary"].trigger.get_next_fire_time(None, after)
    assert weekly == datetime(2026, 11, 30, 6, tzinfo=SHANGHAI)  # Monday 06:00, plant time
    daily = jobs["overdue-reminders"].trigger.get_next_fire_time(None, after)
    assert daily == datetime(2026, 11, 26, 7, tzinfo=SHANGHAI)
    assert jobs["effectiveness-reminders"].trigger.get_next_fire_time(None, after) == daily
    assert jobs["scar-reminders"].trigger.get_next_fire_time(None, after) == daily
    assert jobs["summary-retry"].trigger.interval == timedelta(hours=1)


def test_a_failing_job_is_logged_and_the_scheduler_goes_on(app, plant, caplog):
    jobs = {job.id: job for job in create_scheduler(app).get_jobs()}
    week = last_complete_week()
    plant.file(in_week(week, 1))
    app.config["CAPA_TIMEZONE"] = "Mars/Olympus_Mons"
    with caplog.at_level(logging.ERROR, logger="capa.trends.scheduler"):
        for job_id in ("weekly-summary", "summary-retry", "summary-catch-up", "overdue-reminders"):
            jobs[job_id].func()  # does not raise
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 4, failures
    # The weekly job and the catch-up run run_summaries; the hourly retry runs retry_failures (summaries and
    # reminders); the daily job runs send_reminders.
    assert sum("run_summaries" in m for m in failures) == 2
    assert sum("retry_failures" in m for m in failures) == 1
    assert sum("send_reminders" in m for m in failures) == 1
    assert rows() == []

    app.config["CAPA_TIMEZONE"] = "Asia/Shanghai"
    jobs["summary-retry"].func()
    assert [(s.week, s.status) for s in rows()] == [(week, "built")]


def test_the_started_scheduler_catches_up_at_once(app, plant):
    week = last_complete_week()
    earlier = (monday_of(week) - timedelta(weeks=1)).isocalendar()
    week_before = f"{earlier.year}-W{earlier.week:02d}"
    plant.file(in_week(week_before, 3))
    scheduler = create_scheduler(app)
    runner = threading.Thread(target=scheduler.start, daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if len([s for s in rows() if s.status == "built"]) == 2:
                break
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
        runner.join(10)
    assert [(s.week, s.status) for s in rows()] == [(week_before, "built"), (week, "built")]


# Daily reminders of overdue actions --------------------------------------------------------------------------


@pytest.fixture
def overdue(plant, owners_with_mail):
    """Overdue actions (as of today) for two owners with e-mail and one without."""
    wang, zhao = owners_with_mail
    silent = accounts.create_user(
        parse(NewUser, {"username": "owner.nomail", "role": "supervisor", "password": PASSWORD})
    ).username
    today = datetime.now(SHANGHAI).date()
    first = plant.file(at(2026, 10, 5), "stain", "L1")
    second = plant.file(at(2026, 10, 6), "open_seam", "L2")
    for rec in (first, second):
        plant.to_action(rec, rec.reported + HOUR)
    moment = at(2026, 10, 7)
    plant.add_action(first, moment, wang, today - timedelta(days=1), "Retrain the operators")
    plant.add_action(first, moment, wang, today - timedelta(days=9), "Revise the stitch standard")
    plant.add_action(first, moment, wang, today, "Due today, not late yet")
    plant.add_action(second, moment, zhao, today - timedelta(days=3), "Add a pull test inline")
    done = plant.add_action(second, moment, zhao, today - timedelta(days=3), "Done already")
    plant.add_action(second, moment, silent, today - timedelta(days=3), "Owner without e-mail")
    plant.complete(done, at(2026, 10, 8))
    return wang, zhao


def test_daily_reminders_mail_each_owner_their_overdue_actions_once_a_day(mail_config, overdue):
    wang, zhao = overdue
    assert send_reminders() == 2
    assert send_reminders() == 0  # the same day again
    by_recipient = {tuple(rcpt): message for _sender, rcpt, message in mail_config.inbox.received}
    assert set(by_recipient) == {(f"{wang}@plant.example",), (f"{zhao}@plant.example",)}
    to_wang = by_recipient[(f"{wang}@plant.example",)].get_content()
    assert "Retrain the operators" in to_wang and "Revise the stitch standard" in to_wang
    assert "Due today" not in to_wang and "pull test" not in to_wang
    to_zhao = by_recipient[(f"{zhao}@plant.example",)].get_content()
    assert "Add a pull test inline" in to_zhao
    assert "Done already" not in to_zhao and "without e-mail" not in to_zhao
    assert f"{BASE_URL}/nc/" in to_zhao
    assert db.session.scalar(select(func.count()).select_from(JobClaim).where(JobClaim.job == "overdue-reminders")) == 1


def test_reminders_that_failed_with_smtp_down_are_sent_by_a_later_run(smtp_down, overdue, app):
    assert send_reminders() == 0
    app.config["CAPA_SMTP_PORT"] = smtp_down.port
    assert send_reminders() == 2
    assert len(smtp_down.inbox.messages) == 2


def test_summary_downloads_write_a_formula_as_text(client, auth, plant, owners_with_mail):
    """An action described as a spreadsheet formula is written as text in the XLSX, never run."""
    first = plant.file(at(2026, 11, 16, 9), "stain", "L1")
    plant.to_action(first, at(2026, 11, 16, 10))
    formula = '=HYPERLINK("http://evil.example","click")'
    plant.add_action(first, at(2026, 11, 16, 14), owners_with_mail[0], date(2026, 11, 19), formula)
    summaries.build(Week.parse("2026-W47"))
    auth.as_role("quality_manager")
    book = load_workbook(io.BytesIO(client.get("/summaries/2026-W47.xlsx").data))
    written = [row[1] for row in book["Overdue actions"].iter_rows(min_row=2, values_only=True)]
    assert written == ["'" + formula]
    cell = book["Overdue actions"]["B2"]
    assert cell.data_type == "s"


# In the reader's language ------------------------------------------------------------------------------------


CHINESE = Translations.load(str(Path(__file__).resolve().parent.parent / "capa" / "translations"), ["zh_Hans_CN"])
CHART_TITLES = ("New, closed and open NCs per week", "New NCs by defect type (Pareto)", "New NCs by safety parameter")


def chinese(msgid: str, **values) -> str:
    """``msgid`` as the Chinese catalog translates it (so the test follows the catalog, not a copy of it)."""
    translated = CHINESE.gettext(msgid)
    assert translated != msgid, f"no Chinese for {msgid!r}"
    return translated % values if values else translated


ZH = {"Accept-Language": "zh-CN"}


def test_a_chinese_reader_gets_the_summary_page_downloads_and_charts_in_chinese(client, auth, built_week):
    auth.as_role("supervisor")
    page = client.get(f"/summaries/{built_week}", headers=ZH).text
    # Defect types and parameters by their Chinese names, dates as Chinese writes them.
    assert "污渍" in page and "甲醛超标" in page
    assert "CN-FORM 甲醛含量" in page
    assert "2026年11月16日" in page and "2026年11月22日" in page
    assert "2026年11月19日" in page  # the overdue action's due date
    assert chinese("0 to 7 days") in page

    table = list(csv.reader(io.StringIO(client.get(f"/summaries/{built_week}.csv", headers=ZH).text)))
    assert table[0] == [chinese(label) for label in ("Figure", "Of", "This week", "Average of 4 weeks")] + [
        chinese("Average of 12 weeks")
    ]
    values = {(r[0], r[1]): r[2] for r in table[1:]}
    assert values[(chinese("By defect type"), "污渍")] == "2"
    assert values[(chinese("By safety parameter"), "CN-FORM 甲醛含量")] == "1"

    # Chart text stays text in the SVG: its title, axes and bars are Chinese.
    pareto = client.get(f"/summaries/{built_week}/charts/pareto.svg", headers=ZH).data.decode()
    assert chinese("New NCs by defect type (Pareto)") in pareto and "污渍" in pareto
    assert chinese("cumulative share (%)") in pareto
    trend = client.get(f"/summaries/{built_week}/charts/trend.svg", headers=ZH).data.decode()
    assert chinese("New, closed and open NCs per week") in trend

    english = client.get(f"/summaries/{built_week}/charts/pareto.svg", headers={"Accept-Language": "en"})
    assert "New NCs by defect type (Pareto)" in english.data.decode() and "污渍" not in english.data.decode()


def test_the_summary_mail_goes_to_each_reader_in_their_language(mail_config, built_week):
    # The quality manager reading the first address chose Chinese; the buyer is nobody's account.
    reader = accounts.create_user(
        parse(
            NewUser, {"username": "qa.manager", "role": "quality_manager", "password": PASSWORD, "email": RECIPIENTS[0]}
        )
    )
    accounts.set_language(reader, "zh_Hans_CN")
    run_summaries(NOW)
    run_summaries(NOW)
    by_recipient = {tuple(rcpt): message for _sender, rcpt, message in mail_config.inbox.received}
    assert set(by_recipient) == {(RECIPIENTS[0],), (RECIPIENTS[1],)}

    figures = row(built_week).figures
    in_chinese = by_recipient[(RECIPIENTS[0],)]
    assert in_chinese["Subject"] == chinese(
        "CAPA weekly summary %(week)s: %(new)d new, %(closed)d closed, %(alerts)d alerts",
        week=built_week,
        new=figures["new_ncs"],
        closed=figures["closed"],
        alerts=len(figures["alerts"]),
    )
    html = in_chinese.get_body(preferencelist=("html",)).get_content()
    assert 'lang="zh-Hans-CN"' in html
    assert chinese("new non-conformances") in html and "2026年11月16日" in html
    assert {alt for _src, alt in image_sources(html)} == {chinese(title) for title in CHART_TITLES}

    in_english = by_recipient[(RECIPIENTS[1],)]
    assert in_english["Subject"].startswith(f"CAPA weekly summary {built_week}:")
    english_html = in_english.get_body(preferencelist=("html",)).get_content()
    assert "new non-conformances" in english_html and "Nov 16, 2026" in english_html
    assert row(built_week).mail_status == "sent"


def test_reminders_are_written_in_each_owners_language(mail_config, overdue):
    wang, zhao = overdue
    accounts.set_language(accounts.get_user(wang), "zh_Hans_CN")
    assert send_reminders() == 2
    by_recipient = {tuple(rcpt): message for _sender, rcpt, message in mail_config.inbox.received}
    to_wang = by_recipient[(f"{wang}@plant.example",)]
    assert to_wang["Subject"] == CHINESE.ngettext(
        "CAPA: %(num)d overdue action", "CAPA: %(num)d overdue actions", 2
    ) % {"num": 2}
    body = to_wang.get_content()
    assert chinese("These actions are overdue:") in body
    assert "年" in body and "Retrain the operators" in body
    to_zhao = by_recipient[(f"{zhao}@plant.example",)]
    assert to_zhao["Subject"] == "CAPA: 1 overdue action"
    assert "These actions are overdue:" in to_zhao.get_content()
