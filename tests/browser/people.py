"""The people of the browser tests: a person is a logged-in page of Chromium, at the size of their screen, in
the language they chose with the switch on the page; and the words they read, taken from the catalog.

A test names what a person sees in English (the msgid) and ``person.t(...)`` gives it in the person's
language, from the same catalog the app speaks: a Chinese test reads like the English one, and a missing or
changed translation is found, not hard-coded in the test.
"""

import functools
import os
import re
from pathlib import Path

from babel.support import Translations
from playwright.sync_api import Browser, Locator, Page, expect

from tests.conftest import PASSWORD, POSTGRES_URL

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "capa" / "translations"

#: The people of the stories (docs/product.md), by role.
SUPERVISOR, QUALITY_MANAGER, ADMIN = "wang.sup", "li.qm", "zhou.admin"
#: An account at the dye house DYE-01: it answers the requests sent to its supplier.
SUPPLIER = "dye.chen"

#: The two screens: a supervisor's phone on the line, a quality manager's desktop in the office.
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
LANGUAGES = ("en", "zh_Hans_CN")
#: The languages' names as the switch offers them (each named in itself).
LANGUAGE_NAMES = {"en": "English", "zh_Hans_CN": "简体中文"}

#: Where the screenshots of the main pages go (never committed; the README shows copies in docs/screenshots).
SCREENSHOTS = Path(os.environ.get("CAPA_SCREENSHOTS") or ROOT / "build" / "screenshots")

NUMBER = re.compile(r"NC-\d{4}-\d{5}")


@functools.cache
def catalog(language: str) -> Translations:
    """The compiled catalog of ``language`` (``make install`` builds it); English is the msgids themselves."""
    return Translations.load(str(CATALOGS), [language], domain="messages")


def translate(language: str, msgid: str, **values) -> str:
    """``msgid`` as the app shows it in ``language``, its ``%(name)s`` placeholders filled from ``values``."""
    text = catalog(language).gettext(msgid)
    return text % values if values else text


def new_page(browser: Browser, base_url: str, size: str, **options) -> Page:
    """A page in a new browser context (its own cookies), at the given screen size. The browser asks for
    English, so Chinese comes only from the switch on the page."""
    context = browser.new_context(
        base_url=base_url,
        viewport=SIZES[size],
        locale="en-US",
        device_scale_factor=1,
        has_touch=size == "phone",
        # Not Chromium's mobile emulation: it zooms out to fit a page that is too wide, so window.innerWidth
        # grows with the page and the sideways scrolling a phone would show could never be seen.
        is_mobile=False,
        **options,
    )
    # A step that finds nothing fails within seconds, not after Playwright's default 30 s.
    context.set_default_timeout(10_000)
    return context.new_page()


class Person:
    """Someone at a browser: ``person.t("Save")`` is what they read for "Save", ``person.label("Line")`` the
    field they fill, ``person.button("File it")`` the button they press."""

    def __init__(self, page: Page, username: str, size: str, language: str):
        self.page, self.username, self.size, self.language = page, username, size, language

    def t(self, msgid: str, **values) -> str:
        return translate(self.language, msgid, **values)

    # Locators by what the person reads --------------------------------------------------------------------

    def label(self, msgid: str, within: Page | Locator | None = None) -> Locator:
        return (within or self.page).get_by_label(self.t(msgid), exact=True)

    def button(self, msgid: str, within: Page | Locator | None = None) -> Locator:
        return (within or self.page).get_by_role("button", name=self.t(msgid), exact=True)

    def link(self, name: str, within: Page | Locator | None = None) -> Locator:
        return (within or self.page).get_by_role("link", name=name, exact=True)

    @property
    def main(self) -> Locator:
        """The page's main content, without the header's menu."""
        return self.page.get_by_role("main")

    def heading(self, name: str, level: int | None = None) -> Locator:
        return self.page.get_by_role("heading", name=name, level=level)

    def disclose(self, summary_msgid: str, within: Page | Locator | None = None) -> None:
        """Open the folded part of a form (``<details>``) whose summary reads ``summary_msgid``, if closed."""
        summary = (within or self.page).locator("summary").filter(has_text=self.t(summary_msgid))
        if summary.locator("xpath=..").get_attribute("open") is None:
            summary.click()

    def status(self, text: str) -> Locator:
        """A message the page announces (``role=status``): the flashes after a step."""
        return self.page.get_by_role("status").filter(has_text=text)

    def open_section(self, heading_msgid: str, prefix: str = "") -> Locator:
        """The section of the NC page under the heading ``prefix + t(heading_msgid)`` ("D3 · " + "Containment"),
        unfolded by a tap on its heading if it was folded (the page unfolds only the step the CAPA is at)."""
        heading = self.page.get_by_role("heading", name=prefix + self.t(heading_msgid), exact=True, level=2)
        section = self.page.locator("section").filter(has=heading)
        fold = section.locator("details.fold")
        if fold.count() and fold.get_attribute("open") is None:
            section.get_by_role("heading", level=2).click()
            expect(fold).to_have_attribute("open", "")
        return section

    # Steps every person takes ------------------------------------------------------------------------------

    def choose_language(self) -> None:
        """The switch in the page's header: pick the language, press "Switch" (both read in the current
        language, English until now)."""
        self.page.get_by_label(translate("en", "Language"), exact=True).select_option(
            label=LANGUAGE_NAMES[self.language]
        )
        self.page.get_by_role("button", name=translate("en", "Switch"), exact=True).click()
        expect(self.page.locator("html")).to_have_attribute("lang", self.language.replace("_", "-"))

    def log_in(self) -> None:
        """From the login page: the language first (a newcomer can read the form; chosen there, it is remembered on
        the account, so it is chosen even when it is English), then name and password."""
        self.page.goto("/login")
        self.choose_language()
        expect(self.heading(self.t("Log in"), level=1)).to_be_visible()
        self.label("User name").fill(self.username)
        self.label("Password").fill(PASSWORD)
        self.button("Log in").click()
        # A supplier's account lands on its requests, everyone else on the home page.
        landing = (
            self.t("Corrective action requests")
            if self.username == SUPPLIER
            else self.t("Good day, %(name)s", name=self.username)
        )
        expect(self.heading(landing, level=1)).to_be_visible()

    def nc_number_in_heading(self) -> str:
        """The NC number the page's main heading shows, once it shows one: the filing form is sent by a script
        (outbox.js), which opens the NC's page when the answer is in, after the click has returned."""
        expect(self.page.get_by_role("heading", level=1)).to_contain_text(NUMBER)
        found = NUMBER.search(self.page.get_by_role("heading", level=1).inner_text())
        assert found, self.page.get_by_role("heading", level=1).inner_text()
        return found.group(0)

    def shows_state(self, state_msgid: str) -> None:
        """The NC page's heading shows the state ``state_msgid`` (its badge, in the person's language)."""
        heading = self.page.get_by_role("heading", level=1)
        expect(heading).to_contain_text(NUMBER)
        expect(heading.locator(".badge.state")).to_have_text(self.t(state_msgid))

    def no_sideways_scrolling(self) -> bool:
        """Whether the page fits the screen's width: nothing to scroll sideways."""
        return self.page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")

    def screenshot(self, name: str) -> Path | None:
        """A full-page screenshot ``<name>-<size>-<language>.png`` in the screenshots folder, taken in the SQLite
        pass: the PostgreSQL pass draws the same pages (and checks them alike), and encoding some two hundred
        full-page PNGs again was a minute of its time."""
        if POSTGRES_URL:
            return None
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}-{self.size}-{self.language}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path
