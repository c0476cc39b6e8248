"""The scheduler process (``flask --app capa scheduler``): weekly summaries, daily overdue reminders, daily
reminders of the effectiveness reviews due and of the supplier corrective action requests due or late.

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
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from capa.accounts.models import Role, User
from capa.capas import effectiveness
from capa.capas.models import Action, ActionStatus, NonConformance
from capa.capas.states import State
from capa.common.clock import plant_today, plant_zone
from capa.common.types import utcnow
from capa.extensions import db
from capa.suppliers.reminders import send_scar_reminders
from capa.trends import mail, service
from capa.trends.models import UNSENT, JobClaim, SummaryStatus, WeeklySummary

log = logging.getLogger(__name__)

WEEKLY_JOB = "weekly-summary"
RETRY_JOB = "summary-retry"
CATCH_UP_JOB = "summary-catch-up"
REMINDER_JOB = "overdue-reminders"
REVIEW_REMINDER_JOB = "effectiveness-reminders"
SCAR_REMINDER_JOB = "scar-reminders"


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
        .where(
            WeeklySummary.status == SummaryStatus.BUILT,
            WeeklySummary.mail_status.in_(UNSENT),
        )
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


def send_reminders(*, retry: bool = False) -> int:
    """Mail each owner their overdue actions, once a day per owner. The daily job opens the day; the hourly
    retry (``retry``) only resends, the same day, to owners whose mail failed. Returns how many were reminded."""
    today = plant_today()
    if not mail.smtp_configured():
        return 0
    day = today.isoformat()
    opened = not claim(REMINDER_JOB, day)  # True when the day's run was opened before
    if retry and not opened:
        # The day's run has not started yet: give back the claim just taken, it belongs to the daily job.
        db.session.execute(delete(JobClaim).where(JobClaim.job == REMINDER_JOB, JobClaim.key == day))
        db.session.commit()
        return 0
    by_owner: dict = defaultdict(list)
    for action in db.session.scalars(
        select(Action)
        .join(NonConformance, NonConformance.id == Action.nc_id)
        .where(Action.status == ActionStatus.OPEN, Action.due_date < today, NonConformance.status != State.CANCELLED)
        .order_by(Action.due_date)
    ):
        by_owner[action.owner].append(action)
    reminded = 0
    for owner, actions in by_owner.items():
        if not owner.email or not owner.active or not claim(f"{REMINDER_JOB}:owner", f"{day}:{owner.id}"):
            continue
        try:
            mail.send_reminder(owner, actions)
            reminded += 1
        except Exception:
            log.exception("reminding %s failed; the hourly retry sends it again", owner.username)
            # Give the claim back so that the retry may send it.
            db.session.execute(
                delete(JobClaim).where(JobClaim.job == f"{REMINDER_JOB}:owner", JobClaim.key == f"{day}:{owner.id}")
            )
            db.session.commit()
    return reminded


def send_review_reminders(*, retry: bool = False) -> int:
    """Mail every active quality manager with an e-mail address the effectiveness reviews due today (or
    before) that no reminder announced yet, in their language; each review is announced once. Returns how many
    reviews were announced.

    Each review is claimed by setting its ``effectiveness_reminded_at`` in one UPDATE that skips those already
    set, so of two schedulers only one announces it. When every mail fails the claims are given back, for the
    hourly retry (``retry``), which only runs on a day the daily job opened. With no quality manager to mail,
    nothing is claimed: the reviews are announced once someone can read it. A reminder is bookkeeping, not a
    change of the CAPA: no history entry, no new version. At most DUE_LIMIT reviews a run; the rest the next.
    """
    if not mail.smtp_configured():
        return 0
    today = plant_today()
    day = today.isoformat()
    if retry:
        opened = db.session.scalar(select(JobClaim.id).where(JobClaim.job == REVIEW_REMINDER_JOB, JobClaim.key == day))
        if opened is None:
            return 0
    else:
        claim(REVIEW_REMINDER_JOB, day)
    managers = list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.QUALITY_MANAGER, User.active.is_(True), User.email.is_not(None), User.email != "")
            .order_by(User.username)
        )
    )
    if not managers:
        return 0
    unreminded = effectiveness.unreminded_due_clause(today)
    first = (
        select(NonConformance.id)
        .where(unreminded)
        .order_by(NonConformance.effectiveness_due, NonConformance.number)
        .limit(effectiveness.DUE_LIMIT)
    )
    claimed = list(
        db.session.scalars(
            update(NonConformance)
            .where(unreminded, NonConformance.id.in_(first.scalar_subquery()))
            .values(effectiveness_reminded_at=utcnow())
            .returning(NonConformance.id),
            execution_options={"synchronize_session": False},
        )
    )
    db.session.commit()
    if not claimed:
        return 0
    ncs = list(
        db.session.scalars(
            select(NonConformance)
            .where(NonConformance.id.in_(claimed))
            .order_by(NonConformance.effectiveness_due, NonConformance.number)
        )
    )
    mailed = 0
    for manager in managers:
        try:
            mail.send_review_reminder(manager, ncs)
            mailed += 1
        except Exception:
            log.exception("reminding %s of the effectiveness reviews due failed", manager.username)
    if not mailed:
        # Nobody was told: give the claims back so that the hourly retry announces them.
        db.session.execute(
            update(NonConformance)
            .where(NonConformance.id.in_(claimed))
            .values(effectiveness_reminded_at=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return 0
    return len(claimed)


def send_supplier_reminders(*, retry: bool = False) -> int:
    """Remind suppliers of the corrective action requests due soon or late (capa.suppliers.reminders). The daily
    job opens the day; the hourly retry (``retry``) runs only on a day the daily job opened, and sends those given
    back after a failed mail. Returns how many requests were announced."""
    day = plant_today().isoformat()
    if retry:
        opened = db.session.scalar(select(JobClaim.id).where(JobClaim.job == SCAR_REMINDER_JOB, JobClaim.key == day))
        if opened is None:
            return 0
    else:
        claim(SCAR_REMINDER_JOB, day)
    return send_scar_reminders()


def retry_failures() -> None:
    """The hourly job: summaries not built or not mailed, and reminders that failed today."""
    run_summaries()
    send_reminders(retry=True)
    send_review_reminders(retry=True)
    send_supplier_reminders(retry=True)


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
    scheduler.add_job(
        _in_context(app, retry_failures), IntervalTrigger(hours=1, timezone=zone), id=RETRY_JOB, **options
    )
    scheduler.add_job(_in_context(app, run_summaries), id=CATCH_UP_JOB, **options)  # once, now: catch up
    scheduler.add_job(_in_context(app, send_reminders), daily, id=REMINDER_JOB, **options)
    scheduler.add_job(_in_context(app, send_review_reminders), daily, id=REVIEW_REMINDER_JOB, **options)
    scheduler.add_job(_in_context(app, send_supplier_reminders), daily, id=SCAR_REMINDER_JOB, **options)
    return scheduler
