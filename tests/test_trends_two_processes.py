"""Exactly once, with real concurrency: two processes (or two threads) build and mail the same week at the same
moment, and the database's unique key per week lets only one of them do it.

PostgreSQL only: SQLite serializes every writer, so the race these tests look for cannot happen there. The
test data is committed by the services first, so the other processes see it.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from capa.extensions import db
from capa.trends.models import WeeklySummary
from capa.trends.scheduler import run_summaries
from tests.conftest import POSTGRES_URL
from tests.test_trends_figures import Plant, at
from tests.test_trends_running import (
    BASE_URL,
    MAIL_FROM,
    NOW,
    RECIPIENTS,
    Inbox,
    free_port,
    in_week,
    last_complete_week,
    smtp_settings,
)

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="two writers at once need PostgreSQL")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).parent / "flask")


@pytest.fixture
def smtp(request, app_config):
    """A real SMTP server on a free port, configured for the app (and the processes it starts)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.inbox = inbox
    app_config.update(smtp_settings(controller.port))
    yield controller
    controller.stop()


@pytest.fixture
def plant(smtp, app, make_user) -> Plant:
    return Plant(make_user("quality_manager", "qm.li"))


@pytest.fixture
def environment(app, smtp) -> dict[str, str]:
    """What a process of the app started beside this test needs: the test's database and instance folder."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CAPA_INSTANCE_PATH": app.instance_path,
        "SECRET_KEY": "test-secret",
        "CAPA_TIMEZONE": "Asia/Shanghai",
        "CAPA_SMTP_HOST": "127.0.0.1",
        "CAPA_SMTP_PORT": str(smtp.port),
        "CAPA_MAIL_FROM": MAIL_FROM,
        "CAPA_SUMMARY_RECIPIENTS": ", ".join(RECIPIENTS),
        "CAPA_BASE_URL": BASE_URL,
    }
    env.pop("CAPA_TEST_DATABASE_URL", None)
    return env


def summary_rows() -> list[tuple[str, str, str]]:
    db.session.expire_all()
    db.session.commit()  # a fresh snapshot of what the other processes wrote
    return [
        (s.week, s.status, s.mail_status)
        for s in db.session.scalars(select(WeeklySummary).order_by(WeeklySummary.monday))
    ]


def start_together(command: list[str], env: dict[str, str], count: int = 2) -> list[subprocess.Popen]:
    """Start ``count`` processes, all before waiting for any."""
    return [
        subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]


def finish(processes: list[subprocess.Popen], timeout: float = 60) -> list[tuple[int, str]]:
    results = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        results.append((process.returncode, out + err))
    return results


def run_twice_at_once(environment: dict[str, str]) -> list[tuple[int, str]]:
    command = [FLASK, "--app", "capa", "summary", "run", "--week", "2026-W47"]
    return finish(start_together(command, environment))


def test_two_summary_run_processes_at_once_make_one_summary(plant, environment):
    plant.file(at(2026, 11, 17))
    plant.file(at(2026, 11, 18), "open_seam", "L2")
    results = run_twice_at_once(environment)
    assert [code for code, _output in results] == [0, 0], results
    outputs = [output for _code, output in results]
    assert sum("Built 2026-W47: 2 new" in output for output in outputs) == 1, outputs
    assert sum("exists already" in output for output in outputs) == 1, outputs
    assert [(week, status) for week, status, _mail in summary_rows()] == [("2026-W47", "built")]


def test_two_summary_run_processes_at_once_send_one_mail(plant, smtp, environment):
    plant.file(at(2026, 11, 17))
    results = run_twice_at_once(environment)
    assert [code for code, _output in results] == [0, 0], results
    assert len(smtp.inbox.messages) == 1


def test_two_schedulers_started_by_mistake_build_and_mail_each_missed_week_once(plant, smtp, environment):
    week = last_complete_week()
    plant.file(in_week(week, 2))
    schedulers = start_together([FLASK, "--app", "capa", "scheduler"], environment)
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and not (
            summary_rows() == [(week, "built", "sent")] and len(smtp.inbox.messages) >= 1
        ):
            assert all(process.poll() is None for process in schedulers), finish(schedulers, 5)
            time.sleep(0.2)
        time.sleep(1.0)  # room for a second mail, should one be on its way
        assert all(process.poll() is None for process in schedulers)  # both still running
    finally:
        for process in schedulers:
            process.send_signal(signal.SIGINT)
        finish(schedulers, 15)
    assert summary_rows() == [(week, "built", "sent")]
    messages = smtp.inbox.messages
    assert len(messages) == 1, [m["Subject"] for m in messages]
    assert week in messages[0]["Subject"]


def test_two_run_summaries_in_two_threads_build_and_mail_each_week_once(plant, smtp, app):
    plant.file(at(2026, 11, 3))  # 2026-W45: the catch-up starts here
    plant.file(at(2026, 11, 17))
    weeks = ["2026-W45", "2026-W46", "2026-W47"]
    barrier = threading.Barrier(2)
    built: list[list[str]] = []
    errors: list[BaseException] = []

    def scheduler_run() -> None:
        with app.app_context():
            try:
                barrier.wait(10)
                built.append(run_summaries(NOW))
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scheduler_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(week for weeks_built in built for week in weeks_built) == weeks
    assert summary_rows() == [(week, "built", "sent") for week in weeks]
    subjects = sorted(message["Subject"] for message in smtp.inbox.messages)
    assert len(subjects) == 3, subjects
    assert all(week in subject for week, subject in zip(weeks, subjects, strict=True))
