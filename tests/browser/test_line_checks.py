"""The line check tally in Chromium on an inspector's phone: a tap per defect, and a check made without network
kept on the phone by the outbox (outbox.js, the same queue as NC filing) and recorded once when the network
returns, in the shift it was made in. What was recorded is read from the database."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from capa.common.types import utcnow
from capa.extensions import db
from capa.inspections.models import LineCheck
from tests.browser.conftest import SUPERVISOR
from tests.browser.people import Person


def checks() -> list[tuple[str, str, int, int, int, dict[str, int]]]:
    db.session.expire_all()
    return [
        (
            check.line.code,
            check.stage,
            check.units_checked,
            check.defective_units,
            check.defects,
            {found.defect_code.code: found.count for found in check.found},
        )
        for check in db.session.scalars(select(LineCheck).order_by(LineCheck.id))
    ]


def tap(sup: Person, msgid: str, what: str, times: int = 1) -> None:
    button = sup.page.get_by_role("button", name=sup.t(msgid, what=what), exact=True)
    for _ in range(times):
        button.click()


@pytest.mark.parametrize("language", ["en", "zh_Hans_CN"])
def test_a_check_tallied_offline_is_kept_on_the_phone_and_recorded_once_when_the_network_returns(app, person, language):
    sup = person(SUPERVISOR, "phone", language)
    page = sup.page
    page.goto("/line-checks/new?line=L1")
    expect(sup.label("Line")).to_have_value("L1")
    units = sup.t("Units checked")
    tap(sup, "Ten more: %(what)s", units, 2)
    tap(sup, "One more: %(what)s", units)
    tap(sup, "One less: %(what)s", units)
    tap(sup, "One more: %(what)s", sup.t("Defective units"))
    tap(sup, "One more: %(what)s", "SEW-01", 2)
    expect(sup.label("Units checked")).to_have_value("20")
    expect(sup.label("Defective units")).to_have_value("1")
    expect(page.locator("#count-SEW-01")).to_have_value("2")

    page.context.set_offline(True)
    sup.button("Record the check").click()
    waiting = page.locator('#outbox li[data-state="waiting"]')
    expect(waiting).to_contain_text(sup.t("Saved on this phone, not sent yet"))
    expect(waiting).to_contain_text(sup.t("Line check") + " L1")
    # The tally is empty again for the next check.
    expect(page.locator("#count-SEW-01")).to_have_value("")
    with app.app_context():
        assert checks() == []

    page.context.set_offline(False)
    sent = page.locator('#outbox li[data-state="sent"]')
    expect(sent.locator("a")).to_have_attribute("href", "/line-checks/new?line=L1&stage=end_of_line")
    with app.app_context():
        assert checks() == [("L1", "end_of_line", 20, 1, 2, {"SEW-01": 2})]
        first = db.session.scalar(select(LineCheck.id))
        # Made when it was saved on the phone, not when it arrived.
        made = db.session.scalar(select(LineCheck.checked_at))
        assert utcnow() - made < timedelta(minutes=5)
    expect(sent).to_contain_text(sup.t("Sent as %(number)s", number=sup.t("check %(id)d", id=first)))

    # Online, the tally is recorded at once and comes back for the next check with the shift so far.
    page.goto("/line-checks/new?line=L1")
    tap(sup, "Ten more: %(what)s", units)
    sup.button("Record the check").click()
    expect(
        sup.status(
            sup.t(
                "Check %(id)d recorded on %(line)s: DHU %(dhu)s; the shift so far %(shift_dhu)s.",
                id=first + 1,
                line="L1",
                dhu="0.00",
                shift_dhu="6.67",
            )
        )
    ).to_be_visible()
    with app.app_context():
        assert len(checks()) == 2
