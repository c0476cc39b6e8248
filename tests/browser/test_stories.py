"""The five stories of docs/product.md, clicked in Chromium as the line supervisor and the quality manager
would: each logs in, chooses the language with the switch on the page, and takes the steps through the
forms and buttons as they read them (labels and button names from the catalog, in their language).

Each story is played on both screens: in Chinese the supervisor files from a phone (360 x 740) and the quality
manager works at a desktop (1280 x 800); in English the other way round. Stories 1 and 3 are played in
Chinese, 2 and 4 in English, story 5 (the quality manager's alone) in both.
What the tests check is what the people see: the flash after each step, the NC number, the state in the
NC page's heading, the holds, retests and actions, the closed CAPA on its parameter's page.
"""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from capa.common.clock import plant_today
from tests.browser import records
from tests.browser.people import NUMBER, QUALITY_MANAGER, SUPERVISOR, Person
from tests.conftest import PASSWORD

#: A data sheet as a PDF, as the evidence store judges one: ``%PDF-`` first, ``%%EOF`` last.
DATA_SHEET = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% Finish FF-2 data sheet\ntrailer << >>\n%%EOF\n"

#: The crews: the language both read, the supervisor's screen, the quality manager's screen. Each story is played
#: by one crew (so on both screens); each crew plays two stories (so each language on both screens).
CHINESE = pytest.param(("zh_Hans_CN", "phone", "desktop"), id="zh-supervisor_phone-qm_desktop")
ENGLISH = pytest.param(("en", "desktop", "phone"), id="en-supervisor_desktop-qm_phone")


@pytest.fixture
def crew(request, person):
    """The supervisor and the quality manager of a story, logged in on their screens in their language."""
    language, sup_size, qm_size = request.param
    return person(SUPERVISOR, sup_size, language), person(QUALITY_MANAGER, qm_size, language)


def due(days: int) -> str:
    return (plant_today() + timedelta(days=days)).isoformat()


# The steps, as a person takes them on the pages --------------------------------------------------------------


def file_nc(sup: Person, *, title, defect_type, line, source, batch, severity, parameters=(), shot=None, **more):
    """From the home page, the supervisor files an NC on the filing form; answers its number, read from the
    flash and the heading of the NC page the form leads to. ``shot``: the name of a screenshot of the form filled."""
    page = sup.page
    page.goto("/")
    sup.link(sup.t("File a non-conformance"), sup.main).click()
    expect(sup.heading(sup.t("File a non-conformance"), level=1)).to_be_visible()
    sup.label("What is wrong").fill(title)
    sup.label("Defect type").select_option(defect_type)
    sup.label("Line").select_option(line)
    sup.label("Found at").select_option(source)
    sup.label("Batch number").fill(batch)
    # The rest hides under "More details (optional)", as on the floor most filings need none of it.
    sup.disclose("More details (optional)")
    sup.label("Severity").select_option(severity)
    if "quantity" in more:
        sup.label("Quantity affected").fill(more["quantity"])
    if "description" in more:
        sup.label("Details").fill(more["description"])
    if parameters:
        sup.label("Safety parameters concerned").select_option(list(parameters))
    if shot:
        sup.screenshot(shot)
    sup.button("File it").click()
    number = sup.nc_number_in_heading()
    expect(sup.status(sup.t("%(number)s filed.", number=number))).to_be_visible()
    sup.shows_state("Reported")
    return number


def open_nc(someone: Person, number: str) -> None:
    """To an NC's page the way people get there: its number in the list of non-conformances."""
    someone.page.goto("/nc")
    someone.link(number).click()
    expect(someone.page.get_by_role("heading", level=1)).to_contain_text(number)


def contain(qm: Person, *, what: str, hold: str) -> None:
    d3 = qm.open_section("Containment", "D3 · ")
    qm.label("Containment", d3).fill(what)
    qm.label("Put on hold: batch or lot numbers, separated by commas", d3).fill(hold)
    qm.button("Save containment", d3).click()
    expect(qm.status(qm.t("Containment recorded."))).to_be_visible()
    qm.shows_state("Investigation")
    expect(
        qm.open_section("Containment", "D3 · ").get_by_role("listitem").filter(has_text=hold.upper())
    ).to_contain_text(qm.t("on hold"))


def submit_root_cause(someone: Person, *, whys: list[str], category: str, statement: str, **fishbone: str) -> None:
    d4 = someone.open_section("Root cause", "D4 · ")
    for i, why in enumerate(whys, start=1):
        someone.label(f"Why? ({i})", d4).fill(why)
    labels = {"man": "Man (people)", "machine": "Machine", "method": "Method", "material": "Material"}
    for name, cause in fishbone.items():
        someone.label(labels[name], d4).fill(cause)
    someone.label("Root-cause category", d4).select_option(category)
    someone.label("Root cause", d4).fill(statement)
    someone.button("Submit for review", d4).click()
    expect(someone.status(someone.t("Root cause submitted for review."))).to_be_visible()
    someone.shows_state("Review")


def review(qm: Person, *, approve: bool, comment: str = "") -> None:
    d4 = qm.open_section("Root cause", "D4 · ")
    # The decision has no default: the quality manager picks one of the two.
    qm.label("Approve" if approve else "Return with a question", d4).check()
    qm.label("Comment (required to return)", d4).fill(comment)
    # Signed electronically: the password again.
    qm.label("Your password (electronic signature)", d4).fill(PASSWORD)
    qm.button("Record the review", d4).click()
    expect(qm.status(qm.t("Review recorded."))).to_be_visible()
    qm.shows_state("Action" if approve else "Investigation")


def add_action(qm: Person, *, kind: str, what: str, owner: str, days: int) -> None:
    d5 = qm.open_section("Actions", "D5–D7 · ")
    qm.disclose("Add an action", d5)
    qm.label("Kind", d5).select_option(kind)
    qm.label("What will be done", d5).fill(what)
    qm.label("Owner", d5).select_option(owner)
    qm.label("Due", d5).fill(due(days))
    qm.button("Add the action", d5).click()
    expect(qm.status(qm.t("Action added."))).to_be_visible()
    expect(qm.open_section("Actions", "D5–D7 · ").get_by_role("row").filter(has_text=what)).to_be_visible()


#: The fields an action's kind asks for when it is completed, by the name the story gives them.
KIND_FIELDS = {"document": "Document revised", "revision": "New revision", "trained": "Who was trained"}


def complete_action(
    owner: Person, number: str, *, what: str, evidence: str, files: dict[str, bytes] | None = None, **kind_fields: str
) -> None:
    """The action's owner, on the NC page, writes the evidence in the action's row (and what its kind asks for:
    a standard revision's document and new revision, a retraining's trained people), chooses its evidence
    ``files`` (name -> PDF bytes), and presses Done."""
    open_nc(owner, number)
    row = owner.open_section("Actions", "D5–D7 · ").get_by_role("row").filter(has_text=what)
    owner.disclose("Finish this action", row)
    owner.label("Evidence", row).fill(evidence)
    for name, value in kind_fields.items():
        owner.label(KIND_FIELDS[name], row).fill(value)
    if files:
        chosen = [{"name": name, "mimeType": "application/pdf", "buffer": data} for name, data in files.items()]
        owner.label("Evidence files (PDF, XLSX or photos)", row).set_input_files(chosen)
    owner.button("Done", row).click()
    expect(owner.status(owner.t("Action done."))).to_be_visible()
    row = owner.open_section("Actions", "D5–D7 · ").get_by_role("row").filter(has_text=what)
    expect(row).to_contain_text(evidence)
    expect(row).to_contain_text(owner.t("done"))
    for value in kind_fields.values():
        expect(row).to_contain_text(value)
    for name in files or {}:
        expect(row.get_by_role("link", name=name, exact=True)).to_be_visible()


def retest(qm: Person, *, parameter: str, value: str, lab: str, report: str) -> None:
    d6 = qm.open_section("Verification: retests", "D6 · ")
    qm.disclose("Record a retest", d6)
    qm.label("Parameter", d6).select_option(parameter)
    qm.label("Result", d6).fill(value)
    qm.label("Laboratory", d6).fill(lab)
    qm.label("Report number", d6).fill(report)
    qm.button("Record and judge", d6).click()
    expect(qm.status(qm.t("Retest recorded."))).to_be_visible()


def dispose(qm: Person, *, hold: str, kind: str, reason: str, proposed: str) -> None:
    """The quality manager decides a disposition of the goods ``hold`` in D3, resting on the evidence the page
    proposes: the passing retest of lab report ``proposed``, ticked (passing retests release nothing by
    themselves)."""
    item = qm.open_section("Containment", "D3 · ").locator("ul.holds > li").filter(has_text=hold)
    qm.disclose("Decide a disposition", item)
    expect(item.get_by_label(proposed)).to_be_checked()
    qm.label("Disposition", item).select_option(kind)
    qm.label("Why", item).fill(reason)
    qm.label("Your password (electronic signature)", item.locator("form.disposition")).fill(PASSWORD)
    qm.button("Record the disposition", item).click()
    expect(qm.status(qm.t("Disposition recorded."))).to_be_visible()


def what_happens_next(someone: Person):
    """The NC page's "What happens next" box: the step that moves the CAPA on, whose it is, and why."""
    box = someone.page.locator("section#next")
    expect(box.get_by_role("heading", name=someone.t("What happens next"))).to_be_visible()
    return box


def retest_row(qm: Person, report: str):
    """The row of the retest table for lab report ``report``."""
    return qm.open_section("Verification: retests", "D6 · ").get_by_role("row").filter(has_text=report)


def close(qm: Person, *, effectiveness: str) -> None:
    d8 = qm.open_section("Closing", "D8 · ")
    expect(d8).to_contain_text(qm.t("Every gate is met but the effectiveness note."))
    qm.label("Effectiveness check (D8)", d8).fill(effectiveness)
    qm.label("Your password (electronic signature)", d8).fill(PASSWORD)
    qm.button("Close the CAPA", d8).click()
    expect(qm.status(qm.t("CAPA closed."))).to_be_visible()
    qm.shows_state("Closed")
    expect(qm.open_section("Closing", "D8 · ")).to_contain_text(effectiveness)


# Story 1: loose button ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("crew", [CHINESE], indirect=True)
def test_loose_button(plant, crew):
    """End-of-line inspection finds loose snaps on the infant romper; the CAPA is driven to closed and appears
    on the attachment-strength parameter's page."""
    sup, qm = crew
    number = file_nc(
        sup,
        title="婴儿连体衣四合扣一拉就脱落",  # the supervisor writes Chinese: "the romper's snaps come off at a pull"
        defect_type="loose_button",
        line="L1",
        source="end_of_line",
        batch="b-2301-01",  # typed in lower case on the floor
        severity="critical",
        quantity="12",
        parameters=["CN-ATT-GT6"],
        shot="filing-filled",
    )
    expect(sup.page.locator(".lead")).to_contain_text("婴儿连体衣四合扣一拉就脱落")
    # Category A and a safety parameter: safety-critical, said on the NC page.
    expect(sup.page.locator(".lead")).to_contain_text(sup.t("safety-critical"))
    expect(sup.open_section("Description", "D2 · ")).to_contain_text("B-2301-01")

    # The quality manager finds it in "To contain" on the home page and holds the batch.
    qm.page.goto("/")
    to_contain = qm.page.get_by_role("heading", name=qm.t("To contain"), exact=True)
    expect(to_contain).to_be_visible()
    qm.page.get_by_role("link", name=number, exact=True).first.click()
    contain(qm, what="Batch B-2301-01 on hold; 100% pull test ordered.", hold="B-2301-01")

    # D4: the supervisor's five whys; the quality manager approves them.
    open_nc(sup, number)
    submit_root_cause(
        sup,
        whys=["Snaps come off at a light pull.", "The snap is not set firmly.", "Stitch density below standard."],
        category="machine",
        statement="The button machine's stitch density was set below the standard.",
        machine="Stitch density set below standard",
    )
    qm.page.reload()
    review(qm, approve=True, comment="Agreed.")

    # D5–D7: three actions, one owned by the supervisor, completed with their evidence by their owners.
    actions = [
        ("standard_revision", "Revise the stitch-density standard for snap setting.", QUALITY_MANAGER),
        ("training", "Retrain the button-machine operators.", SUPERVISOR),
        ("preventive", "Add a pull test to the inline checks.", QUALITY_MANAGER),
    ]
    for kind, what, owner in actions:
        add_action(qm, kind=kind, what=what, owner=owner, days=14)
    # The retraining names who was trained; the standard revision (below) its document and new revision.
    trained = "张伟、李娜、陈杰 (A 班四合扣机)"  # "Zhang Wei, Li Na, Chen Jie (shift A, snap machines)"
    complete_action(
        sup, number, what=actions[1][1], evidence="12 operators trained, sign-off sheet TR-7.", trained=trained
    )
    revised = {"standard_revision": {"document": "QS-ACC-07", "revision": "C"}}
    for kind, what, owner in actions:
        if owner == QUALITY_MANAGER:
            complete_action(qm, number, what=what, evidence=f"Done: {what}", **revised.get(kind, {}))
    qm.shows_state("Verification")

    # D6: the pull force retest passes; the quality manager releases the batch on it.
    retest(qm, parameter="CN-ATT-GT6", value="92", lab="In-house lab", report="PT-2301")
    expect(retest_row(qm, "PT-2301")).to_contain_text(qm.t("pass"))
    expect(qm.open_section("Containment", "D3 · ").locator("ul.holds > li")).to_contain_text(qm.t("on hold"))
    dispose(qm, hold="B-2301-01", kind="release", reason="100% pull test passed.", proposed="PT-2301")
    expect(qm.open_section("Containment", "D3 · ")).to_contain_text(qm.t("released"))

    # D8: closed; the parameter's page lists the closed CAPA.
    close(qm, effectiveness="No loose snap in the next three batches.")
    qm.link("CN-ATT-GT6", qm.open_section("Description", "D2 · ")).click()
    closed = qm.page.get_by_role("heading", name=qm.t("Closed CAPAs"), exact=True)
    expect(closed).to_be_visible()
    expect(closed.locator("xpath=following-sibling::ul[1]")).to_contain_text(number)


# Story 2: colorfastness to saliva ----------------------------------------------------------------------------


@pytest.mark.parametrize("crew", [ENGLISH], indirect=True)
def test_colorfastness_to_saliva(plant, crew):
    """Grade 3 fails category A's 4; the first root cause is returned with a question, which the supervisor's
    home page shows beside the NC and the NC page above the next round's form, filled from the first; the second
    is approved; a SCAR and a lab-dip check; the retest grade 4 passes and the dye lot is released on it; the
    supplier's page shows the failure."""
    sup, qm = crew
    number = file_nc(
        sup,
        title="Bib fails colorfastness to saliva",
        defect_type="colorfastness_failure",
        line="L2",
        source="lab_test",
        batch="B-410-01",
        severity="critical",
        description="Lab report LR-7781: colorfastness to saliva grade 3.",
        parameters=["CN-CF-SALIVA"],
    )
    open_nc(qm, number)
    retest(qm, parameter="CN-CF-SALIVA", value="3", lab="SGS Shanghai", report="LR-7781")
    expect(retest_row(qm, "LR-7781")).to_contain_text(qm.t("fail"))
    contain(qm, what="Dye lot DL-7781 quarantined at the fabric store.", hold="dl-7781")

    # Round 1, "operator error", returned with a question the supervisor then reads on the NC page.
    open_nc(sup, number)
    submit_root_cause(
        sup, whys=["The bib bled in the test.", "Operator error."], category="man", statement="Operator error."
    )
    question = "Why did incoming inspection not catch it?"
    qm.page.reload()
    review(qm, approve=False, comment=question)
    # The supervisor's home page lists the NC as returned, with the question; its link leads to the NC page.
    sup.page.goto("/")
    mine = sup.page.get_by_role("heading", name=sup.t("My open non-conformances"), exact=True)
    row = mine.locator("xpath=following-sibling::table[1]").get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text(sup.t("returned: answer the question"))
    expect(row).to_contain_text(f"«{question}»")
    sup.link(number, row).click()
    sup.shows_state("Investigation")
    expect(what_happens_next(sup)).to_contain_text(sup.t("Your step: submit the root-cause analysis."))
    expect(what_happens_next(sup)).to_contain_text(f"«{question}»")
    d4 = sup.open_section("Root cause", "D4 · ")
    expect(d4).to_contain_text(sup.t("returned"))
    expect(d4.locator("#round-question")).to_contain_text(f"«{question}»")
    # The next round's form starts from round 1 as it was returned.
    expect(d4).to_contain_text(sup.t("Filled from round %(n)d: change what the new round finds.", n=1))
    expect(sup.label("Why? (1)", d4)).to_have_value("The bib bled in the test.")
    expect(sup.label("Why? (2)", d4)).to_have_value("Operator error.")
    expect(sup.label("Root-cause category", d4)).to_have_value("man")
    expect(sup.label("Root cause", d4)).to_have_value("Operator error.")

    # Round 2 finds the changed fixing agent, and is approved.
    submit_root_cause(
        sup,
        whys=["The dye was not fixed.", "The dye house changed its fixing agent without notice."],
        category="material",
        statement="The dye house changed the fixing agent; incoming inspection has no lab-dip check.",
        material="Fixing agent changed by the dye house",
    )
    qm.page.reload()
    review(qm, approve=True, comment="Agreed.")
    scar = "SCAR to Sunrise Dye House: notify every change of chemicals."
    lab_dip = "Lab-dip saliva fastness check at incoming inspection."
    add_action(qm, kind="scar", what=scar, owner=QUALITY_MANAGER, days=30)
    add_action(qm, kind="preventive", what=lab_dip, owner=QUALITY_MANAGER, days=14)
    complete_action(qm, number, what=scar, evidence="SCAR-2026-04 answered by the dye house.")
    complete_action(qm, number, what=lab_dip, evidence="Incoming inspection procedure QP-12 rev. 3.")

    retest(qm, parameter="CN-CF-SALIVA", value="4", lab="SGS Shanghai", report="LR-7790")
    expect(retest_row(qm, "LR-7790")).to_contain_text(qm.t("pass"))
    dispose(qm, hold="DL-7781", kind="release", reason="Grade 4 on retest.", proposed="LR-7790")
    close(qm, effectiveness="The next two dye lots passed the lab dip at incoming inspection.")

    # The supplier's record shows the safety-related failure.
    qm.page.goto("/suppliers")
    qm.link("DYE-01").click()
    item = qm.page.get_by_role("listitem").filter(has=qm.page.get_by_role("link", name=number, exact=True))
    expect(item).to_contain_text("CN-CF-SALIVA")
    expect(item).to_contain_text(qm.t("Closed"))


# Story 3: formaldehyde ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("crew", [CHINESE], indirect=True)
def test_formaldehyde_failing_retest_sends_it_back(plant, crew):
    """35 mg/kg against category A's 20; after the first action the retest still fails (28), which sends the
    CAPA back to investigation, "What happens next" naming the failing result; the new round approved, the page
    asks for an action; a different resin finish, done with its data sheet, passes (12); the page asks for the
    disposition of the held batch, then the close."""
    sup, qm = crew
    number = file_nc(
        sup,
        title="Formaldehyde over the limit on infant romper",
        defect_type="formaldehyde_over_limit",
        line="L1",
        source="lab_test",
        batch="B-2301-02",
        severity="critical",
    )
    # Filed without parameters: the defect type's usual one is linked.
    expect(sup.open_section("Description", "D2 · ").get_by_role("link", name="CN-FORM", exact=True)).to_be_visible()
    open_nc(qm, number)
    retest(qm, parameter="CN-FORM", value="35", lab="CTI", report="F-35")
    expect(retest_row(qm, "F-35")).to_contain_text(qm.t("fail"))
    contain(qm, what="Batch B-2301-02 on hold.", hold="B-2301-02")
    submit_root_cause(
        qm, whys=["Resin finish not washed off long enough."], category="method", statement="Wash-off too short."
    )
    review(qm, approve=True)
    wash_off = "Extend the wash-off after resin finishing."
    add_action(qm, kind="corrective", what=wash_off, owner=SUPERVISOR, days=7)
    complete_action(sup, number, what=wash_off, evidence="Wash-off now 20 minutes, finishing sheet FS-3.")

    # The failing retest during verification sends the CAPA back to investigation: "What happens next" names the
    # step and the failing result as its reason, which D4 shows above the root-cause form too, filled from the
    # approved round; the first action stays done.
    qm.page.reload()
    qm.shows_state("Verification")
    retest(qm, parameter="CN-FORM", value="28", lab="CTI", report="F-28")
    qm.shows_state("Investigation")
    expect(retest_row(qm, "F-28")).to_contain_text(qm.t("fail"))
    expect(what_happens_next(qm)).to_contain_text(qm.t("Your step: submit the root-cause analysis."))
    expect(what_happens_next(qm).locator("#next-reason")).to_contain_text("CN-FORM")
    expect(what_happens_next(qm).locator("#next-reason")).to_contain_text("28")
    d4 = qm.open_section("Root cause", "D4 · ")
    expect(d4.locator("#round-reason")).to_contain_text(qm.t("Back to investigation: the retest failed."))
    expect(d4.locator("#round-reason")).to_contain_text("CTI F-28")
    expect(qm.label("Root cause", d4)).to_have_value("Wash-off too short.")
    expect(qm.label("Why? (1)", d4)).to_have_value("Resin finish not washed off long enough.")
    row = qm.open_section("Actions", "D5–D7 · ").get_by_role("row").filter(has_text=wash_off)
    expect(row).to_contain_text(qm.t("done"))
    expect(row).to_contain_text(qm.t("Round %(n)d", n=1))
    history = qm.open_section("History")
    expect(history).to_contain_text(
        qm.t("moved from %(old)s to %(new)s", old=qm.t("Verification"), new=qm.t("Investigation"))
    )
    expect(qm.open_section("Closing", "D8 · ").get_by_role("button", name=qm.t("Close the CAPA"))).to_have_count(0)

    # Round 2: a different resin finish.
    submit_root_cause(
        qm,
        whys=["Still 28 mg/kg after a longer wash-off.", "The resin itself releases formaldehyde."],
        category="material",
        statement="The resin finish releases formaldehyde whatever the wash-off.",
    )
    review(qm, approve=True, comment="Change the finish.")
    # Approved with the earlier action done: the next step is adding an action.
    expect(what_happens_next(qm)).to_contain_text(qm.t("Your step: add the actions the new root cause calls for."))
    resin = "Switch to a formaldehyde-free resin finish."
    add_action(qm, kind="corrective", what=resin, owner=QUALITY_MANAGER, days=21)
    complete_action(
        qm,
        number,
        what=resin,
        evidence="Finish changed to a non-formaldehyde resin, PO 5512.",
        files={"FF-2 data sheet.pdf": DATA_SHEET},
    )
    retest(qm, parameter="CN-FORM", value="12", lab="CTI", report="F-12")
    expect(retest_row(qm, "F-12")).to_contain_text(qm.t("pass"))
    # The retest passes: the next step is the disposition of the held batch.
    expect(what_happens_next(qm)).to_contain_text(
        qm.t(
            "Your step: the retests pass; decide what becomes of the goods on hold (release, rework, scrap, return "
            "or concession)."
        )
    )
    dispose(qm, hold="B-2301-02", kind="release", reason="Refinished batch at 12 mg/kg.", proposed="F-12")
    expect(what_happens_next(qm)).to_contain_text(
        qm.t("Your step: check the gates and close the CAPA with an effectiveness note.")
    )
    close(qm, effectiveness="Two batches since at 12 and 9 mg/kg.")
    expect(qm.open_section("Root cause", "D4 · ")).to_contain_text(qm.t("Round %(n)d", n=2))


# Story 4: recurrence ------------------------------------------------------------------------------------------


def closed_loose_button_capa() -> str:
    """Story 1's CAPA, closed through the services (its clicking is story 1's test): its number."""
    number = records.file(
        title="Snap buttons come off the infant romper",
        defect_type="loose_button",
        line="L1",
        source="end_of_line",
        batch="B-2301-01",
        parameters=["CN-ATT-GT6"],
    )
    records.advance(number, "closed", hold="B-2301-01")
    return number


@pytest.mark.parametrize("crew", [ENGLISH], indirect=True)
def test_recurrence_is_flagged_and_linked(plant, crew):
    """A new loose-button NC on the same style, another batch, after the first CAPA closed: the NC page says
    it recurs and links the first, whose page says it recurred."""
    sup, qm = crew
    first = closed_loose_button_capa()
    again = file_nc(
        sup,
        title="Snaps come off again",
        defect_type="loose_button",
        line="L1",
        source="inline",
        batch="B-2301-03",
        severity="critical",
        parameters=["CN-ATT-GT6"],
    )
    assert again != first
    flag = sup.page.locator(".flash").filter(has_text=sup.t("Recurrence of"))
    expect(flag).to_contain_text(f"{first} (Snap buttons come off the infant romper)")

    # The quality manager follows the link to the first CAPA: closed, and it says it recurred.
    open_nc(qm, again)
    qm.link(first, qm.page.locator(".flash").filter(has_text=qm.t("Recurrence of"))).click()
    qm.shows_state("Closed")
    recurred = qm.page.locator(".flash").filter(has_text=qm.t("Recurred as"))
    expect(recurred.get_by_role("link", name=again, exact=True)).to_be_visible()
    # The list shows the new NC with its recurrence badge.
    qm.page.goto("/nc")
    row = qm.page.get_by_role("row").filter(has=qm.page.get_by_role("link", name=again, exact=True))
    expect(row).to_contain_text(qm.t("recurrence of %(number)s", number=first))
    assert NUMBER.fullmatch(again)


# Story 5: a tech pack requiring CMIA ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "size"), [("en", "desktop"), ("zh_Hans_CN", "phone")], ids=["en-desktop", "zh-phone"]
)
def test_cmia_tech_pack_quality_plan(plant, person, language, size):
    """The quality manager creates a style whose tech pack requires CMIA and its first batch (a trim lot from
    a conditional supplier): the style shows its quality plan's three checkpoints, the batch which required
    parameters lack a passing result; a passing formaldehyde result moves CN-FORM to passed."""
    qm = person(QUALITY_MANAGER, size, language)
    page = qm.page
    page.goto("/styles")
    qm.link(qm.t("New style")).click()
    qm.label("Code").fill("SET-500")
    qm.label("Name").fill("Infant two-piece set")
    qm.label("Safety category (GB 18401)").select_option("A")
    qm.label("Tech pack requires CMIA compliance").check()
    qm.label("Age group").select_option("infant")
    # Sold in China: the box is ticked for a new style; snaps over 6 mm bring the attachment pull test.
    expect(page.get_by_role("group", name=qm.t("Sold in")).get_by_role("checkbox", name=qm.t("China"))).to_be_checked()
    page.get_by_role("group", name=qm.t("Trims and attachments, by largest dimension")).get_by_role(
        "checkbox", name=qm.t("Large: over 6 mm")
    ).check()
    qm.button("Save").click()
    expect(qm.heading("SET-500 · Infant two-piece set", level=1)).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(qm.t("required by the tech pack"))

    plan = page.locator("section.plan")
    expect(plan.get_by_role("heading", name=qm.t("Quality plan (CMIA)"))).to_be_visible()
    expect(plan.get_by_role("link", name="CN-FORM", exact=True)).to_be_visible()
    expect(plan.get_by_role("link", name="CN-ATT-GT6", exact=True)).to_be_visible()
    expect(plan.get_by_role("link", name="CN-ATT-3TO6", exact=True)).to_have_count(0)
    checkpoints = plan.locator("ol.checkpoints > li")
    expect(checkpoints).to_have_count(3)
    expect(checkpoints.nth(0)).to_contain_text(qm.t("Verify the lab-dip test report for these parameters"))
    expect(checkpoints.nth(1)).to_contain_text(qm.t("Confirm each trim supplier is approved"))
    expect(checkpoints.nth(2)).to_contain_text(qm.t("Final garment batch test"))

    # Its first batch, with a trim lot from the conditional supplier: one row of lots after the other.
    page.goto("/batches")
    qm.link(qm.t("New batch")).click()
    qm.label("Batch number").fill("B-500-01")
    qm.label("Style").select_option("SET-500")
    qm.label("Line").select_option("L3")
    for row, (lot, kind, supplier) in enumerate([("TR-90", "trim", "TRIM-09"), ("F-500", "fabric", "FAB-02")]):
        qm.label("Lot number").nth(row).fill(lot)
        qm.label("Kind").nth(row).select_option(kind)
        qm.label("Supplier").nth(row).select_option(supplier)
    qm.button("Save").click()
    # A conditional supplier's lot goes into a CMIA batch only under a concession: the rows come back as typed.
    concession = qm.label("Concession: why, if its supplier is not approved for it").nth(0)
    expect(concession).to_have_attribute("aria-invalid", "true")
    expect(qm.label("Lot number").nth(1)).to_have_value("F-500")
    concession.fill("Buyer concession BC-12")
    qm.button("Save").click()
    expect(qm.heading(f"{qm.t('Batch')} B-500-01", level=1)).to_be_visible()

    coverage = page.locator("section.coverage")
    # The supplier's approval in the reader's language (有条件合格 in Chinese).
    expect(coverage).to_contain_text(f"TR-90 (TRIM-09, {qm.t('Conditional').lower()})")
    cn_form = coverage.get_by_role("listitem").filter(has=page.get_by_role("link", name="CN-FORM", exact=True))
    expect(coverage.locator("ul.coverage-missing")).to_contain_text("CN-FORM")

    # A passing formaldehyde result, through the "Record" link of its row.
    qm.link(qm.t("Record"), cn_form).click()
    qm.label("Result").fill("12")
    qm.label("Laboratory").fill("CTI")
    qm.label("Report number").fill("F-500-1")
    qm.label("Test date").fill(plant_today().isoformat())
    qm.button("Record and judge").click()
    recorded = qm.t("Result recorded: %(verdict)s. %(why)s", verdict="pass", why="").strip()
    expect(qm.status(recorded)).to_be_visible()
    coverage = page.locator("section.coverage")
    expect(coverage.locator("ul.coverage-missing")).not_to_contain_text("CN-FORM")
    passed = coverage.locator("details").filter(has_text=qm.t("Passed (%(n)d)", n=1))
    passed.locator("summary").click()
    expect(passed.get_by_role("link", name="CN-FORM", exact=True)).to_be_visible()

    # The style's plan: the final batch test no longer lists CN-FORM among the missing.
    qm.link("SET-500").click()
    final = page.locator("ol.checkpoints > li").nth(2)
    expect(final).to_contain_text("B-500-01")
    expect(final.locator("ul")).to_contain_text(qm.t("missing"))
    expect(final.locator("ul")).not_to_contain_text("CN-FORM")
