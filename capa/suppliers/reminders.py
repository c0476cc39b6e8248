"""Reminders of supplier corrective action requests, mailed by the scheduler's daily job to the supplier's active
accounts with an e-mail address, in each one's language: once when the containment or the answer is due within
:data:`capa.suppliers.scars.REMIND_DAYS` days, once when it is late (the rules: :mod:`capa.suppliers.scars`). An
account gets one mail of what is due soon and one of what is late, however many requests and reminders."""

import logging
from collections import defaultdict

from flask_babel import gettext as _
from flask_babel import ngettext

from capa.common.clock import plant_today
from capa.common.display import local_date
from capa.extensions import db
from capa.suppliers import scars
from capa.suppliers.accounts import accounts_of
from capa.suppliers.models import ScarRequest
from capa.suppliers.scars import ANSWER, Reminder
from capa.trends import mail

log = logging.getLogger(__name__)


def send_scar_reminders() -> int:
    """Mail the reminders due today; returns how many requests were announced. Each reminder is claimed before it
    is mailed (of two schedulers only one mails it); those no account of their supplier could be mailed, or not
    reached because something failed on the way, are given back for the hourly retry."""
    if not mail.smtp_configured():
        return 0
    claimed = scars.claim_reminders(plant_today())
    db.session.commit()
    unannounced = {(reminder, request_id) for reminder, ids in claimed.ids.items() for request_id in ids}
    if not unannounced:
        return 0
    announced: set[int] = set()
    try:
        requests = {request.id: request for request in scars.requests_with_ids(sorted({i for _r, i in unannounced}))}
        for late in (False, True):
            by_supplier: dict = defaultdict(list)
            due_now = sorted(
                ((reminder, request_id) for reminder, request_id in unannounced if reminder.late == late),
                key=lambda pair: (pair[1], pair[0].what == ANSWER),
            )
            for reminder, request_id in due_now:
                by_supplier[requests[request_id].supplier].append((requests[request_id], reminder))
            for supplier, due in by_supplier.items():
                if _mail_accounts(supplier, due, late=late):
                    announced.update(request.id for request, _reminder in due)
                    unannounced -= {(reminder, request.id) for request, reminder in due}
    finally:
        # Whatever was not mailed, by either pass, is given back: a failure in one never loses the other's.
        if unannounced:
            db.session.rollback()
            for reminder in scars.REMINDERS:
                if given_back := sorted(i for r, i in unannounced if r == reminder):
                    scars.unclaim(given_back, reminder, claimed.at)
    return len(announced)


def _mail_accounts(supplier, due: list[tuple[ScarRequest, Reminder]], *, late: bool) -> int:
    """Mail each active account of ``supplier`` with an address; how many were mailed."""
    mailed = 0
    for account in accounts_of(supplier):
        if not account.email:
            continue
        try:
            _send(account, due, late=late)
            mailed += 1
        except Exception:
            log.exception("reminding %s of its requests failed; the retry sends it again", account.username)
    return mailed


def _send(account, due: list[tuple[ScarRequest, Reminder]], *, late: bool) -> None:
    count = len({request.id for request, _reminder in due})

    def subject() -> str:
        if late:
            return ngettext(
                "CAPA: %(num)d corrective action request is late",
                "CAPA: %(num)d corrective action requests are late",
                count,
            )
        return ngettext(
            "CAPA: %(num)d corrective action request is due soon",
            "CAPA: %(num)d corrective action requests are due soon",
            count,
        )

    def heading() -> str:
        return _("Your reply to these requests is late:") if late else _("Your reply to these requests is due soon:")

    def line(request: ScarRequest, reminder: Reminder, base: str) -> str:
        values = {
            "number": request.number,
            "title": request.action.nc.title,
            "due": local_date(reminder.due(request)),
            "link": f"{base}/scars/{request.id}",
        }
        if reminder.what == ANSWER and not request.answers and request.containment_due == request.answer_due:
            return _("- %(number)s: %(title)s (containment and answer due %(due)s) %(link)s", **values)
        if reminder.what == ANSWER:
            return _("- %(number)s: %(title)s (answer due %(due)s) %(link)s", **values)
        return _("- %(number)s: %(title)s (containment due %(due)s) %(link)s", **values)

    mail.send_list(account, subject, heading, lambda base: [line(request, reminder, base) for request, reminder in due])
