"""Every main page in Chromium, at both sizes and in both languages, on a plant seeded once per module: a
screenshot of each is written (CAPA_SCREENSHOTS, default build/screenshots); every field has a label; the
pages fit a 360 px phone without sideways scrolling; axe-core finds no serious or critical accessibility
problem; every link, button, field and folded section can be reached with the Tab key (the screenshots, axe and
the keyboard in the SQLite pass only: they read markup that is the same on PostgreSQL).

axe-core comes inside the axe-playwright-python package and is injected into the page from that file: no
request leaves the machine.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Page, expect

from capa.accounts import service as accounts
from capa.accounts.commands import NewUser
from capa.capas import lookup
from capa.capas.models import Action
from capa.changes import service as changes
from capa.changes.commands import NewChange, NewCondition
from capa.common.clock import plant_zone
from capa.common.commands import parse
from capa.common.types import utcnow
from capa.documents import service as documents
from capa.documents.commands import NewDocument, NewRevision
from capa.extensions import db
from capa.inspections import incoming, specs
from capa.inspections.commands import MeasurementSpecChange, NewIncomingInspection
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewBuyer, NewStyle
from capa.suppliers import accounts as supplier_accounts
from capa.suppliers import scars
from capa.suppliers.commands import NewScarRequest
from capa.trends import service as trends
from capa.trends.weeks import last_complete_week
from tests.browser import records
from tests.browser.conftest import seed_plant, serve
from tests.browser.people import ADMIN, LANGUAGES, QUALITY_MANAGER, SIZES, SUPERVISOR, SUPPLIER, Person, new_page
from tests.conftest import PASSWORD, POSTGRES_URL

AXE = Axe()


@dataclass
class Site:
    base_url: str
    numbers: dict[str, str]  # state -> the number of an NC in that state
    week: str  # the week of the built summary


def seed_site() -> tuple[dict[str, str], str]:
    """The stories' plant with a CMIA style and its batch, an NC in each main state, a few weeks of NCs
    before, and the last complete week's summary built from them."""
    seed_plant()
    author = accounts.get_user(QUALITY_MANAGER)
    register = documents.create_document(
        parse(NewDocument, {"code": "QP-07", "title": "Incoming inspection procedure", "kind": "procedure"}), author
    )
    revision = {"revision": "4", "changes": "Saliva fastness tested on every dye lot", "effective_on": "2026-11-02"}
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    documents.add_revision(register, parse(NewRevision, revision), ("qp-07-rev4.pdf", pdf), author)
    masterdata.create_buyer(parse(NewBuyer, {"code": "KIDCO", "name": "KidCo Retail"}))
    masterdata.create_style(
        parse(
            NewStyle,
            {
                "code": "SET-500",
                "name": "Infant two-piece set",
                "category": "A",
                "cmia_required": True,
                "buyer": "KIDCO",
            },
        )
    )
    lots = [
        {"number": "TR-90", "kind": "trim", "supplier": "TRIM-09", "concession": "Buyer concession BC-12"},
        {"number": "F-500", "kind": "fabric", "supplier": "FAB-02"},
    ]
    masterdata.create_batch(parse(NewBatch, {"number": "B-500-01", "style": "SET-500", "line": "L3", "lots": lots}))
    # The snaps sampled on receipt: more major defects than their plan accepts (125 pieces, Ac 7).
    received = {"lot": "TR-90", "lot_size": 3000, "major_found": 11, "minor_found": 2, "note": "Bent prongs"}
    incoming.record_incoming_inspection(parse(NewIncomingInspection, received), author)
    # This shift's checks: line L1 over the alert level at the end of the line, L2 under it.
    records.check_line("L1", "end_of_line", 20, 3, {"SEW-01": 2, "SEW-06": 2})
    records.check_line("L1", "inline", 30, 1, {"SEW-03": 1})
    records.check_line("L2", "end_of_line", 50, 1, {"PAC-01": 1})
    missing_fragment = records.needle_control()
    # A measurement spec: the tally sheet of the style's batch offers its grid.
    specs.set_measurement_spec(
        masterdata.get_style("SET-500"),
        parse(
            MeasurementSpecChange,
            {
                "unit": "cm",
                "sizes": ["66", "73", "80"],
                "points": [
                    {
                        "point": "A",
                        "description": "Chest width",
                        "tol_minus": 1,
                        "tol_plus": 1,
                        "targets": {"66": 24, "73": 25, "80": 26},
                    },
                    {
                        "point": "B",
                        "description": "Body length",
                        "tol_minus": 1,
                        "tol_plus": 1,
                        "targets": {"66": 36, "73": 38, "80": 40},
                    },
                ],
                "reason": "Tech pack rev 1",
            },
        ),
        accounts.get_user(QUALITY_MANAGER),
    )

    # Four weeks of NCs before this one, the last complete week the busiest: the summary and the live chart.
    week = last_complete_week(utcnow(), plant_zone())
    kinds = [
        ("loose_button", "L1", "B-2301-02", "Snap comes off at the pull test"),
        ("broken_stitch", "L1", None, "Broken stitch at the crotch seam"),
        ("colorfastness_failure", "L2", "B-410-01", "Bib bleeds in the saliva test"),
        ("stain", "L3", None, "Oil stain on the front panel"),
    ]
    # The older ones are closed by now, last week's are at each step.
    states = {0: ("reported", "investigation", "action"), 1: ("verification", "closed"), 2: ("closed",), 3: ("closed",)}
    for weeks_back, count in ((0, 9), (1, 4), (2, 3), (3, 2)):
        monday = week.shifted(-weeks_back).monday
        for i in range(count):
            defect_type, line, batch, title = kinds[i % len(kinds)]
            day = datetime(monday.year, monday.month, monday.day, 9 + i, tzinfo=plant_zone()) + timedelta(days=i % 5)
            number = records.file(
                title=title, defect_type=defect_type, line=line, batch=batch, reported_at=day.astimezone(UTC)
            )
            records.advance(number, states[weeks_back][i % len(states[weeks_back])])
    trends.build(week)

    numbers = {"missing_fragment": str(missing_fragment)}
    for state in records.ORDER:
        numbers[state] = records.file(
            title=f"Snap buttons come off the infant romper ({state})",
            defect_type="loose_button",
            line="L1",
            source="end_of_line",
            batch="B-2301-01",
            parameters=["CN-ATT-GT6"],
            severity="critical",
        )
        records.advance(numbers[state], state, hold="B-2301-01" if state == "investigation" else "")
    _seed_supplier_and_change(numbers["action"])
    return numbers, str(week)


def _seed_supplier_and_change(number: str) -> None:
    """An account at the dye house, a SCAR request sent to it (request 1) on the NC ``number``, and a change
    request of the dye house's fixing agent (change 1) with a lab-dip condition, approved."""
    qm = accounts.get_user(QUALITY_MANAGER)
    supplier_accounts.create_account(
        parse(NewUser, {"username": SUPPLIER, "role": "supplier", "password": PASSWORD}), "DYE-01"
    )
    nc = lookup.get_nc(number)
    action = Action(nc=nc, kind="scar", description="SCAR to the dye house", owner=qm, due_date=date(2030, 1, 31))
    db.session.add(action)
    db.session.commit()
    request = {"supplier": "DYE-01", "containment_due": "2030-01-10", "answer_due": "2030-01-31"}
    scars.send(action, parse(NewScarRequest, request), qm)
    change = changes.raise_change(
        parse(
            NewChange,
            {
                "subject": "chemical",
                "title": "Fixing agent FA-2 replaced by FA-7",
                "reason": "FA-2 discontinued",
                "effective_from": "2030-01-01",
                "supplier": "DYE-01",
                "lot_kind": "dye_lot",
                "ncs": [number],
            },
        ),
        qm,
    )
    changes.add_condition(change, parse(NewCondition, {"kind": "lab_test", "parameter": "CN-CF-SALIVA"}), qm)
    changes.approve(change, qm)


@pytest.fixture(scope="module")
def site(module_app: Flask) -> Iterator[Site]:
    module_app.config["WTF_CSRF_ENABLED"] = True  # as in production: the forms carry their token
    with module_app.app_context():
        numbers, week = seed_site()
    base_url, stop = serve(module_app)
    yield Site(base_url, numbers, week)
    stop()


@pytest.fixture(scope="module")
def logins(browser, site) -> dict:
    """The cookies of each person logged in once per language (the language chosen before logging in, so
    it is kept by the session, not written on the account): ``(username, language) -> storage state``."""
    states = {}

    def of(username: str, language: str) -> dict:
        if (username, language) not in states:
            page = new_page(browser, site.base_url, "desktop")
            Person(page, username, "desktop", language).log_in()
            states[username, language] = page.context.storage_state()
            page.context.close()
        return states[username, language]

    return of


@dataclass(frozen=True)
class MainPage:
    name: str
    who: str | None  # the user looking at it; None: not logged in
    path: str  # may name {reported}… (an NC in that state) or {week}
    heading: str | None = None  # a msgid the page's h1 reads, when it is plain text


MAIN_PAGES = [
    MainPage("login", None, "/login", "Log in"),
    MainPage("home-supervisor", SUPERVISOR, "/"),
    MainPage("home-qm", QUALITY_MANAGER, "/"),
    MainPage("home-admin", ADMIN, "/"),
    MainPage("filing", SUPERVISOR, "/nc/new", "File a non-conformance"),
    MainPage("nc-list", QUALITY_MANAGER, "/nc", "Non-conformances"),
    *(MainPage(f"nc-{state}", QUALITY_MANAGER, f"/nc/{{{state}}}") for state in records.ORDER),
    MainPage("nc-reported-supervisor", SUPERVISOR, "/nc/{reported}"),
    MainPage("report", QUALITY_MANAGER, "/nc/{closed}/report"),
    MainPage("summaries", QUALITY_MANAGER, "/summaries", "Weekly summaries"),
    MainPage("summary", QUALITY_MANAGER, "/summaries/{week}"),
    MainPage("catalog", QUALITY_MANAGER, "/parameters"),
    MainPage("parameter", QUALITY_MANAGER, "/parameters/CN-ATT-GT6"),
    MainPage("batches", QUALITY_MANAGER, "/batches", "Batches"),
    MainPage("batch", QUALITY_MANAGER, "/batches/B-500-01"),
    MainPage("styles", QUALITY_MANAGER, "/styles", "Styles"),
    MainPage("style", QUALITY_MANAGER, "/styles/SET-500"),
    MainPage("style-edit", QUALITY_MANAGER, "/styles/SET-500/edit"),
    MainPage("lab-report-new", QUALITY_MANAGER, "/batches/B-500-01/lab-reports/new"),
    MainPage("lab-report-import", QUALITY_MANAGER, "/lab-reports/import"),
    MainPage("suppliers", QUALITY_MANAGER, "/suppliers", "Suppliers"),
    MainPage("supplier", QUALITY_MANAGER, "/suppliers/SNAP-CO"),
    MainPage("buyers", QUALITY_MANAGER, "/buyers", "Buyers"),
    MainPage("documents", QUALITY_MANAGER, "/documents", "Documents"),
    MainPage("document", QUALITY_MANAGER, "/documents/QP-07"),
    MainPage("changes", QUALITY_MANAGER, "/changes", "Change requests"),
    MainPage("change-new", SUPERVISOR, "/changes/new", "Raise a change request"),
    MainPage("scars", QUALITY_MANAGER, "/scars", "Corrective action requests"),
    MainPage("scars-supplier", SUPPLIER, "/scars", "Corrective action requests"),
    MainPage("scar-supplier", SUPPLIER, "/scars/1"),
    MainPage("scar-qm", QUALITY_MANAGER, "/scars/1"),
    MainPage("change", QUALITY_MANAGER, "/changes/1"),
    MainPage("buyer", QUALITY_MANAGER, "/buyers/KIDCO"),
    MainPage("users", ADMIN, "/users", "Users"),
    MainPage("sampling-plan", SUPERVISOR, "/sampling-plan", "Sampling plan"),
    MainPage("defect-library", SUPERVISOR, "/defect-codes", "Defect library"),
    MainPage("defect-code", QUALITY_MANAGER, "/defect-codes/SAF-02"),
    MainPage("inspections", QUALITY_MANAGER, "/inspections", "Final inspections"),
    MainPage("inspection-new", SUPERVISOR, "/inspections/new?batch=B-500-01", "Record a final inspection"),
    MainPage("fabric-inspections", QUALITY_MANAGER, "/fabric-inspections", "Fabric inspections"),
    MainPage("fabric-inspection-new", SUPERVISOR, "/fabric-inspections/new", "Inspect a fabric lot"),
    MainPage("incoming-inspections", QUALITY_MANAGER, "/incoming-inspections", "Incoming inspections"),
    MainPage("incoming-inspection", QUALITY_MANAGER, "/incoming-inspections/1"),
    MainPage("incoming-inspection-new", SUPERVISOR, "/incoming-inspections/new", "Inspect a lot on receipt"),
    MainPage("line-checks", QUALITY_MANAGER, "/line-checks", "Line checks"),
    MainPage("line-check-new", SUPERVISOR, "/line-checks/new?line=L1", "Record a line check"),
    MainPage("line", QUALITY_MANAGER, "/lines/L1"),
    MainPage("needle-control", QUALITY_MANAGER, "/needle-control", "Needle control"),
    MainPage("needle-break-new", SUPERVISOR, "/needle-control/needle-breaks/new", "Log a broken needle"),
    MainPage("detector-check-new", SUPERVISOR, "/needle-control/detector-checks/new", "Check a metal detector"),
    MainPage("metal-detection-new", SUPERVISOR, "/needle-control/metal-detections/new", "Record a metal detection"),
    MainPage(
        "bundle-pass",
        SUPERVISOR,
        "/needle-control/needle-breaks/{missing_fragment}/bundle-pass",
        "Pass the isolated bundle through a metal detector",
    ),
    MainPage(
        "sampling-plan-arrows",
        QUALITY_MANAGER,
        "/sampling-plan?lot_size=5&level=II&severity=normal&major=0.65&minor=4.0",
        "Sampling plan",
    ),
]


def visit(browser, site: Site, logins, main_page: MainPage, size: str, language: str) -> Person:
    """A new context at ``size``, logged in as the page's user in ``language``, on the page."""
    state = logins(main_page.who, language) if main_page.who else None
    page = new_page(browser, site.base_url, size, storage_state=state)
    someone = Person(page, main_page.who or "", size, language)
    if main_page.who is None and language != "en":
        page.goto("/login")
        someone.choose_language()
    response = page.goto(main_page.path.format(**site.numbers, week=site.week))
    assert response.status == 200, f"{main_page.path}: {response.status}"
    expect(page.locator("html")).to_have_attribute("lang", language.replace("_", "-"))
    if main_page.heading:
        expect(someone.heading(someone.t(main_page.heading), level=1)).to_be_visible()
    return someone


def serious_violations(page: Page) -> list[str]:
    results = AXE.run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(", ".join(node["target"]) for node in violation["nodes"][:5])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


#: Every field without a name a screen reader could read, folded ones included: no label of its own (the
#: browser's ``labels``, so a label whose ``for`` names another field's id does not count) and no aria-label.
UNLABELLED_FIELDS = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter(el => el.type !== "hidden")
  .filter(el => !el.labels.length && !el.ariaLabel && !el.getAttribute("aria-labelledby"))
  .map(el => el.outerHTML.slice(0, 120))"""

#: The visible things a person acts on, each marked with its index; each one focused is noted in order. A group of
#: radio buttons is one stop of the Tab key (its choices are taken with the arrow keys): its first button stands
#: for it.
MARK_ACTIONABLE = """() => {
  const groups = new Set();
  const found = [...document.querySelectorAll("a[href], button, input, select, textarea, summary")]
    .filter(el => el.type !== "hidden" && !el.disabled && el.checkVisibility())
    .filter(el => el.type !== "radio" || (!groups.has(el.name) && groups.add(el.name)));
  found.forEach((el, i) => el.dataset.kb = i);
  window.reached = [];
  document.addEventListener("focusin", event => window.reached.push(event.target.dataset.kb));
  // Tab starts from the top of the page, not from a field focused on load.
  document.body.tabIndex = -1;
  document.body.focus();
  return found.map(el => el.outerHTML.slice(0, 100));
}"""


def unreachable_by_keyboard(page: Page) -> list[str]:
    """What pressing Tab from the top of the page never reaches: every link, button, field and folded
    section (summary) visible on it should be reached."""
    actionable = page.evaluate(MARK_ACTIONABLE)
    # A press per thing at least; more where Chromium also stops elsewhere (a scrolling box, say).
    presses, reached = len(actionable) + 1, set()
    for _ in range(presses):
        page.keyboard.press("Tab")
    while True:
        reached = {int(index) for index in page.evaluate("window.reached") if index is not None}
        if len(reached) == len(actionable) or presses > 2 * len(actionable) + 10:
            break
        for _ in range(10):
            page.keyboard.press("Tab")
        presses += 10
    return [html for i, html in enumerate(actionable) if i not in reached]


#: Where axe runs: each language once, each size once (its rules read the markup, which neither changes much;
#: axe is the slowest part of a visit). Axe and the keyboard's walk run in the SQLite pass: the markup they read
#: is the same on either engine, and they were most of the PostgreSQL pass's minutes here; that pass still loads
#: every page at both sizes in both languages and checks its labels and width.
AXE_RUNS = set() if POSTGRES_URL else {("desktop", "en"), ("phone", "zh_Hans_CN")}
KEYBOARD_RUNS = set() if POSTGRES_URL else {("desktop", "en")}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("main_page", MAIN_PAGES, ids=lambda p: p.name)
def test_main_page(browser, site, logins, main_page, language):
    """The page on a phone, then the same page widened to a desktop's screen (one load for both sizes)."""
    someone = visit(browser, site, logins, main_page, "phone", language)
    page = someone.page
    for size in ("phone", "desktop"):
        if size == "desktop":
            page.set_viewport_size(SIZES["desktop"])
            someone.size = "desktop"
        someone.screenshot(main_page.name)
        assert page.evaluate(UNLABELLED_FIELDS) == []
        if size == "phone":
            # Nothing scrolls sideways on a 360 px phone: the page is no wider than the screen.
            wide, screen = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
            assert wide <= screen, f"{main_page.path} is {wide} px wide on a {screen} px phone"
        if (size, language) in AXE_RUNS:
            assert serious_violations(page) == [], size
        if (size, language) in KEYBOARD_RUNS:  # what the keyboard reaches depends on neither
            assert unreachable_by_keyboard(page) == []
    page.context.close()


def test_8d_report_has_landmarks(browser, site, logins):
    """The printable 8D report is read page by page: its header, its main part and a heading per step."""
    [report] = [p for p in MAIN_PAGES if p.name == "report"]
    someone = visit(browser, site, logins, report, "desktop", "en")
    page = someone.page
    expect(page.get_by_role("banner")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("banner").get_by_role("heading", level=1)).to_contain_text(site.numbers["closed"])
    steps = page.get_by_role("main").get_by_role("heading", level=2)
    expect(steps.first).to_contain_text("D1")
    expect(steps.last).to_contain_text("D8")
    page.context.close()
