"""Reminders of supplier corrective action requests, mailed by the scheduler's daily job to the supplier's active
accounts with an e-mail address, in each one's language: once when the answer is due within
:data:`capa.suppliers.scars.REMIND_DAYS` days, once when it is late (the rules: :mod:`capa.suppliers.scars`)."""

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
from capa.trends import mail

log = logging.getLogger(__name__)


def send_scar_reminders() -> int:
    """Mail the reminders due today; returns how many requests were announced. Each reminder is claimed before it
    is mailed (of two schedulers only one mails it); those no account of their supplier could be mailed, or not
    reached because something failed on the way, are given back for the hourly retry."""
    if not mail.smtp_configured():
        return 0
    soon_ids, late_ids = scars.claim_reminders(plant_today())
    db.session.commit()
    announced = 0
    for ids, late in ((soon_ids, False), (late_ids, True)):
        unannounced = set(ids)
        try:
            by_supplier: dict = defaultdict(list)
            for request in scars.requests_with_ids(ids):
                by_supplier[request.supplier].append(request)
            for supplier, requests in by_supplier.items():
                if _mail_accounts(supplier, requests, late=late):
                    announced += len(requests)
                    unannounced -= {request.id for request in requests}
        finally:
            if unannounced:
                db.session.rollback()
                scars.unclaim(sorted(unannounced), late=late)
    return announced


def _mail_accounts(supplier, requests: list[ScarRequest], *, late: bool) -> int:
    """Mail each active account of ``supplier`` with an address; how many were mailed."""
    mailed = 0
    for account in accounts_of(supplier):
        if not account.email:
            continue
        try:
            _send(account, requests, late=late)
            mailed += 1
        except Exception:
            log.exception("reminding %s of its requests failed; the retry sends it again", account.username)
    return mailed


def _send(account, requests: list[ScarRequest], *, late: bool) -> None:
    count = len(requests)

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
        return _("Your answer to these requests is late:") if late else _("Your answer to these requests is due soon:")

    def lines(base: str) -> list[str]:
        return [
            _(
                "- %(number)s: %(title)s (answer due %(due)s) %(link)s",
                number=request.number,
                title=request.action.nc.title,
                due=local_date(request.answer_due),
                link=f"{base}/scars/{request.id}",
            )
            for request in requests
        ]

    mail.send_list(account, subject, heading, lines)
