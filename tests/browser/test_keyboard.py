"""Filing an NC with the keyboard alone: from the home page to the NC page, Tab moves between the fields,
typing fills them, the arrow keys choose in lists, Enter opens the folded details and presses the buttons. Only reading
which element has the focus goes past the keyboard, to know when to stop pressing Tab."""

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.people import SUPERVISOR, Person


def tab_to(page: Page, target: Locator, most: int = 25) -> None:
    """Press Tab until ``target`` has the focus (it must, within ``most`` presses)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


def arrow_to(page: Page, field: Locator, value: str, most: int = 80) -> None:
    """Press the down arrow in the focused list ``field`` until the option ``value`` is the one chosen."""
    for _ in range(most):
        if field.evaluate("list => [...list.selectedOptions].map(option => option.value).join()") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"the down arrow never chose {value!r} in {field}")


@pytest.mark.parametrize(("size", "language"), [("phone", "zh_Hans_CN")], ids=["zh-phone"])
def test_filing_with_the_keyboard_alone(person, size, language):
    sup: Person = person(SUPERVISOR, size, language)
    page, keyboard = sup.page, sup.page.keyboard

    tab_to(page, sup.link(sup.t("File a non-conformance"), sup.main))
    keyboard.press("Enter")
    expect(sup.heading(sup.t("File a non-conformance"), level=1)).to_be_visible()

    # The title has the focus when the form opens; the arrow keys choose in a list.
    expect(sup.label("What is wrong")).to_be_focused()
    keyboard.type("Snaps come off the romper")
    for label, value in (("Defect type", "loose_button"), ("Line", "L1"), ("Found at", "end_of_line")):
        tab_to(page, sup.label(label))
        arrow_to(page, sup.label(label), value)
    tab_to(page, sup.label("Batch number"))
    keyboard.type("B-2301-01")
    tab_to(page, page.locator("summary").filter(has_text=sup.t("More details (optional)")))
    keyboard.press("Enter")
    tab_to(page, sup.label("Quantity affected"))
    keyboard.type("12")
    tab_to(page, sup.label("Severity"))
    arrow_to(page, sup.label("Severity"), "critical")
    tab_to(page, sup.label("Safety parameters concerned"))
    arrow_to(page, sup.label("Safety parameters concerned"), "CN-ATT-GT6")
    tab_to(page, sup.button("File it"))
    keyboard.press("Enter")

    number = sup.nc_number_in_heading()
    expect(sup.status(sup.t("%(number)s filed.", number=number))).to_be_visible()
    d2 = sup.open_section("Description", "D2 · ")
    for shown in ("L1", "B-2301-01", "12", sup.t("Critical"), sup.t("End-of-line inspection"), "CN-ATT-GT6"):
        expect(d2).to_contain_text(shown)
