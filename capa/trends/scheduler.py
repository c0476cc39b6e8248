"""The scheduler process (``flask --app capa scheduler``): weekly summaries and daily overdue reminders.

Run exactly one beside the web workers, which never start one. Should two run by mistake, the database
still lets each week be built and mailed once (see capa.trends.service and capa.trends.mail). Every job
runs in an app context, logs its failures and leaves them to be retried; none stops the scheduler.
"""

import logging
from collections import defaultdict
from datetime import datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from capa.capas.models import Action, ActionStatus
from capa.common.clock import plant_today, plant_zone
from capa.common.types import utcnow
from capa.extensions import db
from capa.trends import mail, service
from capa.trends.models import JobClaim, WeeklySummary

log = logging.getLogger(__name__)

WEEKLY_JOB = "weekly-summary"
RETRY_JOB = "summary-retry"
CATCH_UP_JOB = "summary-catch-up"
REMINDER_JOB = "overdue-reminders"


def run_summaries(now: datetime | None = None) -> list[str]:
    """Build every missing week up to the last complete one, oldest first, then mail every built summary
    not yet mailed. Returns the weeks built. A failure is logged and left for the next run."""
    built = []
    for week in service.missing_weeks(now or utcnow()):
        try:
            _summary, did_build = service.build(week)
        except Exception:
            log.exception("building the summary of %s failed; it will be retried", week)
            continue
        if did_build:
            built.append(str(week))
    for summary in db.session.scalars(
        select(WeeklySummary)
        .where(WeeklySummary.status == "built", WeeklySummary.mail_status.in_(["pending", "failed"]))
        .order_by(WeeklySummary.monday)
    ):
        try:
            mail.send(summary)
        except Exception:
            db.session.rollback()
            log.exception("mailing the summary of %s failed; it will be retried", summary.week)
    return built


def claim(job: str, key: str) -> bool:
    """True for the one caller that claims (job, key) first."""
    try:
        db.session.add(JobClaim(job=job, key=key))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def send_reminders() -> int:
    """Once a day: mail each owner their overdue actions. Returns how many owners were reminded."""
    today = plant_today()
    if not mail.configured() or not claim(REMINDER_JOB, today.isoformat()):
        return 0
    by_owner: dict = defaultdict(list)
    for action in db.session.scalars(
        select(Action).where(Action.status == ActionStatus.OPEN, Action.due_date < today).order_by(Action.due_date)
    ):
        by_owner[action.owner].append(action)
    reminded = 0
    for owner, actions in by_owner.items():
        if not owner.email or not owner.active:
            continue
        try:
            mail.send_reminder(owner, actions)
            reminded += 1
        except Exception:
            log.exception("reminding %s failed", owner.username)
    return reminded


def _in_context(app: Flask, job):
    def run() -> None:
        with app.app_context():
            try:
                job()
            except Exception:
                db.session.rollback()
                log.exception("scheduled job %s failed; the scheduler goes on", job.__name__)
            finally:
                db.session.remove()

    run.__name__ = job.__name__
    return run


def create_scheduler(app: Flask) -> BlockingScheduler:
    """A blocking scheduler with the app's jobs, each with an explicit id and run in an app context."""
    with app.app_context():
        zone = plant_zone()
    scheduler = BlockingScheduler(timezone=zone)
    weekly = CronTrigger.from_crontab(app.config["CAPA_SUMMARY_CRON"], timezone=zone)
    daily = CronTrigger.from_crontab(app.config["CAPA_REMINDER_CRON"], timezone=zone)
    options = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600, "replace_existing": True}
    scheduler.add_job(_in_context(app, run_summaries), weekly, id=WEEKLY_JOB, **options)
    scheduler.add_job(_in_context(app, run_summaries), IntervalTrigger(hours=1, timezone=zone), id=RETRY_JOB, **options)
    scheduler.add_job(_in_context(app, run_summaries), id=CATCH_UP_JOB, **options)  # once, now: catch up
    scheduler.add_job(_in_context(app, send_reminders), daily, id=REMINDER_JOB, **options)
    return scheduler
