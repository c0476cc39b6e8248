"""``flask --app capa summary run``: build a week's summary now."""

import contextlib

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from capa.common.clock import plant_zone
from capa.common.types import utcnow
from capa.trends import mail, service
from capa.trends.models import MailStatus
from capa.trends.scheduler import create_scheduler
from capa.trends.weeks import InvalidWeek, Week, last_complete_week

summary_cli = AppGroup("summary", help="Weekly trend summaries.")


@summary_cli.command("run")
@click.option("--week", "week_text", help="The ISO week, e.g. 2026-W47 (default: the last complete week).")
@click.option("--force", is_flag=True, help="Rebuild the summary even if it exists.")
def run(week_text: str | None, force: bool) -> None:
    """Build the summary of a week; an existing summary is kept unless --force is given."""
    try:
        week = Week.parse(week_text) if week_text else last_complete_week(utcnow(), plant_zone())
    except InvalidWeek as exc:
        raise click.ClickException(str(exc)) from None
    try:
        summary, built = service.build(week, force=force)
    except Exception as exc:
        raise click.ClickException(f"Building {week} failed and will be retried: {type(exc).__name__}: {exc}") from exc
    figures = summary.figures or {}
    if built:
        click.echo(
            f"Built {week}: {figures.get('new_ncs', 0)} new, {figures.get('closed', 0)} closed, "
            f"{figures.get('open_at_end', 0)} open at the end, {len(figures.get('alerts', []))} alerts."
        )
        status = mail.send(summary)
        if status != MailStatus.NOT_CONFIGURED:
            click.echo(f"Mail: {status}{' (' + summary.mail_error + ')' if summary.mail_error else ''}.")
    else:
        click.echo(f"The summary of {week} exists already ({summary.status}); use --force to rebuild it.")


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduler in the foreground: weekly summaries (CAPA_SUMMARY_CRON) and daily reminders."""
    app = current_app._get_current_object()
    scheduler = create_scheduler(app)
    click.echo(
        f"Scheduler started: summaries at '{app.config['CAPA_SUMMARY_CRON']}', reminders at "
        f"'{app.config['CAPA_REMINDER_CRON']}' ({app.config['CAPA_TIMEZONE']}). Missed weeks are built now."
    )
    with contextlib.suppress(KeyboardInterrupt, SystemExit):  # stopping it is the normal way out
        scheduler.start()
