"""Mailing a summary once: HTML with its charts inline, to CAPA_SUMMARY_RECIPIENTS over CAPA_SMTP_HOST.

Sending is claimed like building: the row moves from pending (or failed) to sending in one UPDATE, so of two
processes only one sends. A failure is recorded on the summary, logged and retried by the next run; the
summary itself is never lost.
"""

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app, render_template
from sqlalchemy import and_, or_, update

from capa.common.types import utcnow
from capa.extensions import db
from capa.trends.charts import CHARTS, png
from capa.trends.models import UNSENT, MailStatus, WeeklySummary
from capa.trends.service import STALE_CLAIM

log = logging.getLogger(__name__)


def smtp_configured() -> bool:
    return bool(current_app.config.get("CAPA_SMTP_HOST"))


def configured() -> bool:
    """Summaries are mailed when there is a mail server and someone to send them to."""
    return smtp_configured() and bool(recipients())


def recipients() -> list[str]:
    raw = current_app.config.get("CAPA_SUMMARY_RECIPIENTS") or ""
    return [address.strip() for address in raw.replace(";", ",").split(",") if address.strip()]


def _claim(summary: WeeklySummary) -> bool:
    # A mailing claimed long ago belongs to a process that died: take it over.
    stale = and_(
        WeeklySummary.mail_status == MailStatus.SENDING, WeeklySummary.mail_claimed_at < utcnow() - STALE_CLAIM
    )
    taken = db.session.execute(
        update(WeeklySummary)
        .where(
            WeeklySummary.id == summary.id,
            or_(WeeklySummary.mail_status.in_(UNSENT), stale),
        )
        .values(mail_status=MailStatus.SENDING, mail_claimed_at=utcnow(), mail_attempts=WeeklySummary.mail_attempts + 1)
    ).rowcount
    db.session.commit()
    db.session.refresh(summary)
    return bool(taken)


def message_for(summary: WeeklySummary) -> EmailMessage:
    config = current_app.config
    figures = summary.figures
    message = EmailMessage()
    message["Subject"] = (
        f"CAPA weekly summary {summary.week}: {figures['new_ncs']} new, {figures['closed']} closed, "
        f"{len(figures['alerts'])} alerts"
    )
    message["From"] = config.get("CAPA_MAIL_FROM") or "capa@localhost"
    message["To"] = ", ".join(recipients())
    link = f"{config['CAPA_BASE_URL'].rstrip('/')}/summaries/{summary.week}"
    chart_ids = {name: make_msgid(domain="capa.local") for name in CHARTS}
    message.set_content(f"Weekly summary {summary.week}: {link}")
    html = render_template(
        "trends/mail.html",
        summary=summary,
        figures=figures,
        link=link,
        chart_ids={name: cid[1:-1] for name, cid in chart_ids.items()},
    )
    message.add_alternative(html, subtype="html")
    html_part = message.get_payload()[1]
    for name, cid in chart_ids.items():
        html_part.add_related(png(name, figures), maintype="image", subtype="png", cid=cid, filename=f"{name}.png")
    return message


def _smtp() -> smtplib.SMTP:
    config = current_app.config
    smtp = smtplib.SMTP(config["CAPA_SMTP_HOST"], int(config.get("CAPA_SMTP_PORT") or 25), timeout=30)
    if config.get("CAPA_SMTP_STARTTLS"):
        smtp.starttls(context=ssl.create_default_context())
    if config.get("CAPA_SMTP_USER"):
        smtp.login(config["CAPA_SMTP_USER"], config.get("CAPA_SMTP_PASSWORD") or "")
    return smtp


def send_reminder(owner, actions) -> None:
    """Mail ``owner`` the list of their overdue ``actions``; SMTP errors propagate to the caller."""
    config = current_app.config
    message = EmailMessage()
    message["Subject"] = f"CAPA: {len(actions)} overdue action(s)"
    message["From"] = config.get("CAPA_MAIL_FROM") or "capa@localhost"
    message["To"] = owner.email
    base = config["CAPA_BASE_URL"].rstrip("/")
    lines = [
        f"- {a.nc.number}: {a.description} (due {a.due_date.isoformat()}) {base}/nc/{a.nc.number}" for a in actions
    ]
    message.set_content(f"Hello {owner.username},\n\nThese actions are overdue:\n" + "\n".join(lines) + "\n")
    with _smtp() as smtp:
        smtp.send_message(message)


def send(summary: WeeklySummary) -> str:
    """Mail ``summary`` unless it was mailed (or is being mailed); returns the mail status afterwards."""
    if not configured():
        if summary.mail_status == MailStatus.PENDING:
            summary.mail_status = MailStatus.NOT_CONFIGURED
            db.session.commit()
        return summary.mail_status
    if not _claim(summary):
        return summary.mail_status
    try:
        with _smtp() as smtp:
            smtp.send_message(message_for(summary))
    except Exception as exc:  # whatever went wrong, the claim must not stay "sending": record it, retry later
        db.session.rollback()
        summary.mail_status, summary.mail_error = MailStatus.FAILED, f"{type(exc).__name__}: {exc}"
        db.session.commit()
        log.warning("mailing the summary of %s failed (will retry): %s", summary.week, exc)
        return summary.mail_status
    summary.mail_status, summary.mail_error, summary.mailed_at = MailStatus.SENT, "", utcnow()
    db.session.commit()
    log.info("mailed the summary of %s to %d recipients", summary.week, len(recipients()))
    return summary.mail_status
