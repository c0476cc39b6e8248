"""Every kind of page under the app's Content-Security-Policy (capa/http/headers.py), in Chromium: no inline
script, event handler, style attribute or <style> element anywhere, and what the scripts do still works.

Each visit fails on any report of a violation (a ``securitypolicyviolation`` event, or Chromium's console
message naming the Content Security Policy) and on any script error, and checks that the page was answered
with the strict policy. The pages: login (and logging in), the home page of each role, the NC list, the filing
form, NC pages in every state (one with photos, holds and a disposition, one closed with evidence files), the 8D
report, the catalog, a parameter and its forms, lab report pages and forms, styles, batches, suppliers, lines,
defect types and their forms, the weekly summaries with their charts, users, the API documentation, error
pages. What the scripts do: the filing form's photo thumbnails (photos.js, ``blob:`` images) and the phone's
outbox sending and keeping a filing (outbox.js, requests to the app), the NC page's photo thumbnails, the 8D
report's Print button (report.js) and its running head (a stylesheet of its own), the charts drawn in the page
and opened on their own.
"""

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import ConsoleMessage, Page, expect

from capa.accounts import service as accounts
from capa.capas import dispositions, lookup, photos, steps
from capa.capas.commands import (
    Close,
    CompleteAction,
    Contain,
    Dispose,
    FileNC,
    NewAction,
    Retest,
    Review,
    RootCause,
)
from capa.capas.filing import file_nc
from capa.capas.photos import Upload
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.safety import reports
from capa.safety.commands import NewLabReport
from tests.browser.conftest import serve
from tests.browser.people import ADMIN, NUMBER, QUALITY_MANAGER, SUPERVISOR, Person, new_page
from tests.browser.test_main_pages import seed_site
from tests.conftest import PASSWORD
from tests.test_security_headers import PAGE_POLICY

#: The policy every page of the app is answered with.
STRICT = "; ".join(f"{name} {' '.join(values)}" for name, values in PAGE_POLICY.items())

#: Reports every violation the page's document sees as a console error (the console is watched across loads).
REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (event) => console.error(
  `Content Security Policy violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
  + ` in ${event.sourceFile || document.URL}:${event.lineNumber} (${event.sample})`));"""

#: The colour of the Pareto chart's bars (capa.trends.charts.ACCENT), as the browser computes it.
ACCENT = "rgb(11, 110, 79)"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def image(kind: str, colour=(30, 120, 200), size=(320, 240)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, colour).save(output, kind)
    return output.getvalue()


class Watched:
    """A page whose violations of the policy and script errors are collected, across every load."""

    def __init__(self, page: Page):
        self.page = page
        self.problems: list[str] = []
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error on {page.url}: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.problems.append(f"{self.page.url}: {message.text}")

    def open(self, path: str, status: int = 200, policy: str | None = STRICT):
        """Load ``path``: answered with ``status`` and, unless None, ``policy``."""
        response = self.page.goto(path)
        assert response.status == status, f"{path}: {response.status}"
        if policy is not None:
            assert response.header_value("content-security-policy") == policy, path
        self.settled()
        return response

    def settled(self) -> None:
        """Everything the page loads is in, and the violations its document saw were reported."""
        self.page.wait_for_load_state("load")
        # A violation event is dispatched as a task of its own: one more turn of the page's event loop.
        self.page.evaluate("() => new Promise((done) => setTimeout(done, 0))")

    def assert_clean(self) -> None:
        assert self.problems == []


# The plant -------------------------------------------------------------------------------------------------


def _nc_with_photos_and_holds(qm, sup) -> str:
    """An NC in investigation with two photos, the batch and a lot on hold, and part of the batch reworked."""
    values = {"title": "Loose snaps, photographed", "defect_type": "loose_button", "line": "L1"}
    values |= {"source": "inline", "batch": "B-2301-02", "parameters": ["CN-ATT-GT6"], "severity": "major"}
    number = file_nc(parse(FileNC, values), sup).number
    photos.add_photos(
        lookup.get_nc(number),
        [Upload("snap.jpg", image("JPEG")), Upload("label.png", image("PNG", (200, 40, 40)))],
        sup,
    )
    contain = {"description": "Batch and snap lot held.", "hold": ["B-2301-02", "SN-55"]}
    steps.contain(lookup.get_nc(number), parse(Contain, contain | {"quantities": {"B-2301-02": 120}}), qm)
    [batch_hold] = [h for h in lookup.get_nc(number).holds if h.batch is not None]
    rework = {"kind": "rework", "quantity": 20, "reason": "Snaps re-set by hand", "password": PASSWORD}
    dispositions.dispose(lookup.get_nc(number), batch_hold.id, parse(Dispose, rework), qm)
    return number


def _closed_with_evidence(qm, sup) -> str:
    """An NC closed with a photo, a held batch released, an action done with a photo and a PDF as evidence,
    a passing retest and the closing's own evidence file."""
    values = {"title": "Snap pulls off, closed with evidence", "defect_type": "loose_button", "line": "L1"}
    values |= {"source": "end_of_line", "batch": "B-2301-03", "parameters": ["CN-ATT-GT6"], "severity": "critical"}
    number = file_nc(parse(FileNC, values), sup).number
    photos.add_photos(lookup.get_nc(number), [Upload("torn.jpg", image("JPEG", (220, 20, 20)))], sup)
    contain = {"description": "Batch held.", "hold": ["B-2301-03"], "quantities": {"B-2301-03": 50}}
    steps.contain(lookup.get_nc(number), parse(Contain, contain), qm)
    cause = {
        "whys": ["Snaps come off at a light pull.", "Stitch density below standard."],
        "fishbone": {"machine": ["Stitch density set below standard"]},
        "category": "machine",
        "statement": "The button machine's stitch density was set below the standard.",
    }
    steps.submit_root_cause(lookup.get_nc(number), parse(RootCause, cause), sup)
    review = {"decision": "approve", "comment": "Agreed.", "password": PASSWORD}
    steps.review(lookup.get_nc(number), parse(Review, review), qm)
    due = (plant_today() + timedelta(days=14)).isoformat()
    action = {"kind": "training", "description": "Retrain the operators.", "owner": sup.username, "due_date": due}
    steps.add_action(lookup.get_nc(number), parse(NewAction, action), qm)
    [open_action] = lookup.get_nc(number).actions
    files = [Upload("training.jpg", image("JPEG", (20, 160, 60))), Upload("sign-off.pdf", PDF)]
    done = {"evidence": "Sign-off sheet TR-7.", "trained": "Zhang Wei", "files": files}
    steps.complete_action(open_action, parse(CompleteAction, done), sup)
    retest = {"parameter": "CN-ATT-GT6", "value": "90", "lab": "In-house lab", "report_number": "PT-9"}
    steps.record_test(lookup.get_nc(number), parse(Retest, retest), qm)
    [hold] = lookup.get_nc(number).holds
    release = {"kind": "release", "reason": "Sorted 100%.", "evidence": "The retest passed.", "password": PASSWORD}
    dispositions.dispose(lookup.get_nc(number), hold.id, parse(Dispose, release), qm)
    closing = {
        "effectiveness": "No loose snap since.",
        "files": [Upload("closing-audit.pdf", PDF)],
        "password": PASSWORD,
    }
    steps.close(lookup.get_nc(number), parse(Close, closing), qm)
    return number


def _lab_report(qm) -> int:
    today = plant_today().isoformat()
    report = {
        "laboratory": {"name": "SGS Shanghai", "cnas_number": "L0599"},
        "number": "SGS-CSP-0001",
        "component": "whole_garment",
        "batch": "B-500-01",
        "test_date": today,
        "report_date": today,
        "results": [{"parameter": "CN-PH", "value": "6,5"}, {"parameter": "CN-FORM", "value": "ND"}],
    }
    return reports.record_report(parse(NewLabReport, report), qm, pdf=("SGS-CSP-0001.pdf", PDF)).id


@dataclass
class Site:
    base_url: str
    values: dict[str, str]  # what the paths name: {reported} … {closed}, {photos}, {evidence}, {week}, {report}


@pytest.fixture(scope="module")
def site(module_app: Flask) -> Iterator[Site]:
    module_app.config["WTF_CSRF_ENABLED"] = True  # as in production: the forms carry their token
    with module_app.app_context():
        numbers, week = seed_site()
        qm, sup = accounts.get_user(QUALITY_MANAGER), accounts.get_user(SUPERVISOR)
        values = {
            **numbers,
            "week": week,
            "photos": _nc_with_photos_and_holds(qm, sup),
            "evidence": _closed_with_evidence(qm, sup),
            "report": str(_lab_report(qm)),
        }
    base_url, stop = serve(module_app)
    yield Site(base_url, values)
    stop()


@pytest.fixture(scope="module")
def logins(browser, site) -> dict:
    """The cookies of each person, logged in once (watched too): ``username -> storage state``."""
    states = {}

    def of(username: str) -> dict:
        if username not in states:
            page = new_page(browser, site.base_url, "desktop")
            watched = Watched(page)
            Person(page, username, "desktop", "en").log_in()  # the login form's post and the redirect home
            watched.settled()
            watched.assert_clean()
            states[username] = page.context.storage_state()
            page.context.close()
        return states[username]

    return of


@pytest.fixture
def visitor(browser, site, logins) -> Iterator:
    """``visitor(QUALITY_MANAGER)``: a watched page of that person (None: nobody logged in) on the site."""
    pages = []

    def at(username: str | None, size: str = "desktop") -> Watched:
        page = new_page(browser, site.base_url, size, storage_state=logins(username) if username else None)
        pages.append(page)
        return Watched(page)

    yield at
    for page in pages:
        page.context.close()


# Every kind of page ----------------------------------------------------------------------------------------

PAGES = [
    (None, "/login"),
    (SUPERVISOR, "/"),
    (QUALITY_MANAGER, "/"),
    (ADMIN, "/"),
    (QUALITY_MANAGER, "/nc"),
    (QUALITY_MANAGER, "/nc?status=closed&q=snap"),
    (SUPERVISOR, "/nc/new"),
    *((QUALITY_MANAGER, f"/nc/{{{state}}}") for state in ("reported", "investigation", "review", "action")),
    *((QUALITY_MANAGER, f"/nc/{{{state}}}") for state in ("verification", "closed")),
    (SUPERVISOR, "/nc/{action}"),
    (QUALITY_MANAGER, "/nc/{photos}"),
    (SUPERVISOR, "/nc/{photos}"),
    (QUALITY_MANAGER, "/nc/{evidence}"),
    (QUALITY_MANAGER, "/nc/{closed}/report"),
    (QUALITY_MANAGER, "/parameters"),
    (QUALITY_MANAGER, "/parameters/CN-ATT-GT6"),
    (QUALITY_MANAGER, "/parameters/new"),
    (QUALITY_MANAGER, "/parameters/CN-ATT-GT6/limits/A"),
    (QUALITY_MANAGER, "/batches/B-500-01/lab-reports/new"),
    (QUALITY_MANAGER, "/batches/B-500-01/results/new"),
    (QUALITY_MANAGER, "/lab-reports/import"),
    (QUALITY_MANAGER, "/lab-reports/{report}"),
    (QUALITY_MANAGER, "/styles"),
    (QUALITY_MANAGER, "/styles/SET-500"),
    (QUALITY_MANAGER, "/styles/SET-500/edit"),
    (QUALITY_MANAGER, "/styles/new"),
    (QUALITY_MANAGER, "/batches"),
    (QUALITY_MANAGER, "/batches/B-500-01"),
    (QUALITY_MANAGER, "/batches/B-2301-02"),
    (QUALITY_MANAGER, "/batches/new"),
    (QUALITY_MANAGER, "/batches/B-500-01/lots"),
    (QUALITY_MANAGER, "/suppliers"),
    (QUALITY_MANAGER, "/suppliers/SNAP-CO"),
    (QUALITY_MANAGER, "/suppliers/SNAP-CO/edit"),
    (QUALITY_MANAGER, "/suppliers/new"),
    (QUALITY_MANAGER, "/lines"),
    (QUALITY_MANAGER, "/lines/new"),
    (QUALITY_MANAGER, "/defect-types"),
    (QUALITY_MANAGER, "/defect-types/new"),
    (QUALITY_MANAGER, "/summaries"),
    (QUALITY_MANAGER, "/summaries/{week}"),
    (ADMIN, "/users"),
    (ADMIN, "/users/new"),
    (ADMIN, f"/users/{SUPERVISOR}"),
]


@pytest.mark.parametrize(("who", "path"), PAGES, ids=[f"{who or 'anonymous'}:{path}" for who, path in PAGES])
def test_the_page_runs_under_the_policy(visitor, site, who, path):
    someone = visitor(who)
    someone.open(path.format(**site.values))
    # Every image the page shows was allowed to load (photos, thumbnails of evidence, charts).
    broken = someone.page.evaluate(
        "() => [...document.images].filter((i) => i.complete && !i.naturalWidth).map((i) => i.src)"
    )
    assert broken == []
    someone.assert_clean()


def test_error_pages_run_under_the_policy(visitor):
    someone = visitor(SUPERVISOR)
    someone.open("/no-such-page", status=404)
    someone.open("/users", status=403)
    someone.open("/nc/NC-2000-99999", status=404)
    someone.assert_clean()


def test_the_language_switch_posts_and_comes_back_under_the_policy(visitor):
    # Before logging in: the choice is kept for this browser, not on an account other tests read.
    someone = visitor(None)
    someone.open("/login")
    Person(someone.page, "", "desktop", "zh_Hans_CN").choose_language()  # a post, and the redirect back
    someone.settled()
    expect(someone.page.get_by_role("heading", level=1)).to_have_text("登录")
    someone.page.locator("#language-choice").select_option("en")
    someone.page.locator("form.language button").click()
    expect(someone.page.locator("html")).to_have_attribute("lang", "en")
    someone.settled()
    someone.assert_clean()


# What the scripts do ----------------------------------------------------------------------------------------


def test_the_8d_report_prints_with_its_button_and_names_the_nc_at_the_top_of_each_page(visitor, site):
    someone = visitor(QUALITY_MANAGER)
    number = site.values["evidence"]
    someone.open(f"/nc/{number}/report")
    page = someone.page
    printing = page.get_by_role("button", name="Print", exact=True)
    expect(printing).to_be_visible()  # report.js shows it
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    printing.click()
    assert page.evaluate("window.printed") == 1
    # The running head: the report's own stylesheet, read by the browser.
    rules = page.evaluate(
        """() => [...document.styleSheets].filter((s) => s.href && s.href.endsWith("/report-head.css"))
                 .flatMap((s) => [...s.cssRules].map((r) => r.cssText))"""
    )
    assert len(rules) == 1 and f'"8D report · {number}"' in rules[0]
    # Photos of the defect and of the evidence, as thumbnails.
    expect(page.locator("figure.thumb img")).to_have_count(2)
    someone.assert_clean()


def test_the_charts_draw_in_the_page_and_on_their_own(visitor, site):
    someone = visitor(QUALITY_MANAGER)
    someone.open(f"/summaries/{site.values['week']}")
    charts = someone.page.locator("img.chart")
    expect(charts).to_have_count(3)
    for src in charts.evaluate_all("(images) => images.map((i) => i.getAttribute('src'))"):
        assert someone.page.evaluate("(src) => document.querySelector(`img[src='${src}']`).naturalWidth", src) > 0
    # The Pareto opened on its own (its answer's policy allows no inline style): its bars keep their colour.
    someone.open(
        f"/summaries/{site.values['week']}/charts/pareto.svg", policy="default-src 'none'; frame-ancestors 'none'"
    )
    fills = someone.page.evaluate("() => [...document.querySelectorAll('path')].map((p) => getComputedStyle(p).fill)")
    assert ACCENT in fills
    someone.open("/", policy=STRICT)
    expect(someone.page.locator("img.chart")).to_have_count(1)
    assert someone.page.locator("img.chart").evaluate("(i) => i.naturalWidth") > 0
    someone.assert_clean()


def test_photos_chosen_on_the_nc_page_show_as_thumbnails(visitor, site):
    someone = visitor(SUPERVISOR, "phone")
    someone.open(f"/nc/{site.values['photos']}")
    page = someone.page
    expect(page.locator(".photos img")).to_have_count(2)
    page.locator("input[type=file][data-photo-room]").set_input_files(
        [{"name": "more.jpg", "mimeType": "image/jpeg", "buffer": image("JPEG", (90, 90, 90))}]
    )
    thumbnail = page.locator("ul.photo-previews img")
    expect(thumbnail).to_have_attribute("alt", "more.jpg")
    expect(thumbnail).to_have_js_property("complete", True)
    assert thumbnail.evaluate("(i) => i.src.startsWith('blob:') && i.naturalWidth > 0")
    someone.assert_clean()


def test_the_api_documentation_runs_with_only_its_own_inline_parts(visitor):
    someone = visitor(None)
    response = someone.open("/api/v1/docs", policy=None)
    policy = response.header_value("content-security-policy")
    assert "unsafe" not in policy and "script-src 'self' 'sha256-" in policy
    expect(someone.page.locator(".swagger-ui .info .title")).to_contain_text("CAPA tracker API")
    expect(someone.page.locator(".opblock").first).to_be_visible()
    someone.settled()
    someone.assert_clean()


# The filing form and the phone's outbox (they file NCs: a database of their own) ----------------------------


def test_filing_on_a_phone_shows_thumbnails_and_sends_through_the_outbox_under_the_policy(app, person):
    sup = person(SUPERVISOR, "phone", "en")
    watched = Watched(sup.page)
    page = sup.page
    watched.open("/nc/new")
    sup.label("What is wrong").fill("Snap buttons come off the romper")
    sup.label("Defect type").select_option("loose_button")
    sup.label("Line").select_option("L1")
    sup.label("Photos (JPEG, PNG or HEIC)").set_input_files(
        [{"name": "snap.jpg", "mimeType": "image/jpeg", "buffer": image("JPEG", size=(2400, 1800))}]
    )
    thumbnail = page.locator("ul.photo-previews img")
    expect(thumbnail).to_have_attribute("alt", "snap.jpg")
    assert thumbnail.evaluate("(i) => i.src.startsWith('blob:')")
    expect(sup.button("File it")).to_be_enabled()  # photos.js has shrunk the photo
    sup.button("File it").click()
    number = sup.nc_number_in_heading()  # outbox.js sent it and opened the NC's page
    assert NUMBER.fullmatch(number)
    watched.settled()

    # Without network the outbox keeps the next one on the phone, and sends it when the network returns.
    watched.open("/nc/new")
    sup.label("What is wrong").fill("Second loose snap")
    sup.label("Defect type").select_option("loose_button")
    sup.label("Line").select_option("L1")
    page.context.set_offline(True)
    sup.button("File it").click()
    expect(page.locator('#outbox li[data-state="waiting"]')).to_contain_text("Saved on this phone, not sent yet")
    page.context.set_offline(False)
    sent = page.locator('#outbox li[data-state="sent"]')
    expect(sent).to_contain_text(re.compile(r"Sent as NC-\d{4}-\d{5}"))
    watched.settled()
    watched.assert_clean()


def test_a_violation_would_be_seen(visitor):
    """The watch itself: an inline style slipped into a page is reported, so a clean page means something."""
    someone = visitor(QUALITY_MANAGER)
    someone.open("/nc")
    someone.page.evaluate("() => document.body.setAttribute('style', 'color: red')")
    someone.settled()
    assert any("style-src" in problem for problem in someone.problems), someone.problems
