"""Mailing a summary once: HTML with its charts inline, to CAPA_SUMMARY_RECIPIENTS over CAPA_SMTP_HOST.

Each mail is written in its reader's language: a recipient who is a user (by e-mail address) reads the
language chosen on their account; anyone else reads CAPA_MAIL_LANGUAGE (by default the first of
CAPA_LANGUAGES). The summary goes out as one message per language.

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
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select, update

from capa.accounts.models import User
from capa.common.display import local_date
from capa.common.types import utcnow
from capa.extensions import db
from capa.trends.charts import CHARTS, png
from capa.trends.figures import ALERT_KINDS, with_totals
from capa.trends.models import UNSENT, MailStatus, WeeklySummary
from capa.trends.service import STALE_CLAIM
from capa.trends.wording import CHART_TITLES, key_labels

log = logging.getLogger(__name__)


def smtp_configured() -> bool:
    return bool(current_app.config.get("CAPA_SMTP_HOST"))


def configured() -> bool:
    """Summaries are mailed when there is a mail server and someone to send them to."""
    return smtp_configured() and bool(recipients())


def recipients() -> list[str]:
    raw = current_app.config.get("CAPA_SUMMARY_RECIPIENTS") or ""
    return [address.strip() for address in raw.replace(";", ",").split(",") if address.strip()]


def _languages() -> list[str]:
    return [code.strip() for code in current_app.config["CAPA_LANGUAGES"].split(",") if code.strip()]


def mail_language(user: User | None = None) -> str:
    """The language a mail to ``user`` is written in: theirs, else CAPA_MAIL_LANGUAGE, else the first offered."""
    offered = _languages()
    for chosen in (getattr(user, "language", None), current_app.config.get("CAPA_MAIL_LANGUAGE")):
        if chosen in offered:
            return chosen
    return offered[0]


def recipients_by_language(addresses: list[str]) -> dict[str, list[str]]:
    """The addresses grouped by the language each reader reads (see mail_language), in one query."""
    users = {
        user.email.lower(): user
        for user in db.session.scalars(
            select(User).where(func.lower(User.email).in_([address.lower() for address in addresses]))
        )
    }
    grouped: dict[str, list[str]] = {}
    for address in addresses:
        grouped.setdefault(mail_language(users.get(address.lower())), []).append(address)
    return grouped


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


def message_for(summary: WeeklySummary, to: list[str] | None = None, language: str | None = None) -> EmailMessage:
    """The summary's mail to ``to`` (all recipients by default), written in ``language``."""
    with force_locale(language or mail_language()):
        return _message(summary, recipients() if to is None else to, language or mail_language())


def _message(summary: WeeklySummary, to: list[str], language: str) -> EmailMessage:
    config = current_app.config
    figures = with_totals(summary.figures)
    message = EmailMessage()
    message["Subject"] = _(
        "CAPA weekly summary %(week)s: %(new)d new, %(closed)d closed, %(alerts)d alerts",
        week=summary.week,
        new=figures["new_ncs"],
        closed=figures["closed"],
        alerts=sum(figures["totals"].get(kind, 0) for kind in ALERT_KINDS),
    )
    message["From"] = config.get("CAPA_MAIL_FROM") or "capa@localhost"
    message["To"] = ", ".join(to)
    link = f"{config['CAPA_BASE_URL'].rstrip('/')}/summaries/{summary.week}"
    chart_ids = {name: make_msgid(domain="capa.local") for name in CHARTS}
    message.set_content(_("Weekly summary %(week)s: %(link)s", week=summary.week, link=link))
    html = render_template(
        "trends/mail.html",
        summary=summary,
        figures=figures,
        link=link,
        chart_ids={name: cid[1:-1] for name, cid in chart_ids.items()},
        chart_titles=CHART_TITLES,
        key_labels=key_labels(),
        html_lang=language.replace("_", "-"),
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


def send_list(user: User, subject, heading, lines) -> None:
    """Mail ``user`` a greeting, a ``heading`` and one line per record; the texts are made by the callables given,
    in the user's language. SMTP errors propagate to the caller."""
    config = current_app.config
    message = EmailMessage()
    base = config["CAPA_BASE_URL"].rstrip("/")
    with force_locale(mail_language(user)):
        message["Subject"] = subject()
        greeting = _("Hello %(name)s,", name=user.username)
        body = [heading(), *lines(base)]
    message["From"] = config.get("CAPA_MAIL_FROM") or "capa@localhost"
    message["To"] = user.email
    message.set_content(f"{greeting}\n\n" + "\n".join(body) + "\n")
    with _smtp() as smtp:
        smtp.send_message(message)


def send_reminder(owner, actions) -> None:
    """Mail ``owner`` the list of their overdue ``actions``, in the owner's language; SMTP errors propagate to
    the caller."""
    send_list(
        owner,
        lambda: ngettext("CAPA: %(num)d overdue action", "CAPA: %(num)d overdue actions", len(actions)),
        lambda: _("These actions are overdue:"),
        lambda base: [
            _(
                "- %(nc)s: %(action)s (due %(due)s) %(link)s",
                nc=a.nc.number,
                action=a.description,
                due=local_date(a.due_date),
                link=base + "/nc/" + a.nc.number,
            )
            for a in actions
        ],
    )


def send_review_reminder(manager: User, ncs) -> None:
    """Mail the quality manager ``manager`` the closed CAPAs in ``ncs`` whose effectiveness review is due, in the
    manager's language; SMTP errors propagate to the caller."""
    send_list(
        manager,
        lambda: ngettext("CAPA: %(num)d effectiveness review due", "CAPA: %(num)d effectiveness reviews due", len(ncs)),
        lambda: _("The effectiveness review of these closed CAPAs is due: did the problem come back?"),
        lambda base: [
            _(
                "- %(nc)s: %(title)s (due %(due)s) %(link)s",
                nc=nc.number,
                title=nc.title,
                due=local_date(nc.effectiveness_due),
                link=base + "/nc/" + nc.number + "#d8",
            )
            for nc in ncs
        ],
    )


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
            for language, addresses in recipients_by_language(recipients()).items():
                smtp.send_message(message_for(summary, addresses, language))
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
