"""The stories 2 to 5 from the factory floor (docs/product.md), end to end through the HTML pages.

Each story is played by the people in it, each with a browser of their own: the line supervisor files from
the floor, the quality manager contains, reviews, owns actions and retests, and closes. Every step is a form
post as the page renders it (with the hidden ``version`` the form carries); what a step stored is read back
from the pages and, where useful, from the database in an app context of its own. Master data (lines,
suppliers, styles, batches) is arranged through the master-data service, except in story 5 where creating the
style and the batch is the story. (Story 1 through the pages is in test_capa_pages.py.)

Story 2 shows a returned root cause: the supervisor's home page says "returned: answer the question" with the
question, and the next round's form is filled from the returned one under the question. Story 3 shows a failing
retest: the page names it as the reason in "What happens next" and above the root-cause form, which starts
from the approved analysis; once the new round is approved with the earlier action done the page asks for a
new action; the disposition of the held batch is the step after the passing retest; the 8D report (and its
PDF) shows both rounds with their reviewers and the disposition.
"""

import io
import os
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

from capa.capas import lookup, queries
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from tests.conftest import PASSWORD
from tests.pages import (
    elements,
    field_block,
    fields_with_errors,
    flashes,
    form_actions,
    form_at,
    has_field,
    input_value,
    link_texts,
    links,
    logged_in,
    one,
    parsed,
    row_linking,
    section,
    selected_value,
    selected_values,
    shown_state,
    table_rows,
    text,
    textarea_text,
    texts,
    title_of,
    under_heading,
    version_in,
)

NUMBER = r"NC-\d{4}-\d{5}"
#: An evidence file as the evidence store judges a PDF: ``%PDF-`` first, ``%%EOF`` last.
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% Finish FF-2 data sheet\ntrailer << >>\n%%EOF\n"


def _pdf_missing() -> str | None:
    """Why this machine cannot make the 8D report's PDF (WeasyPrint loads Pango when imported), or None."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as error:
        return str(error)
    return None


PDF_MISSING = _pdf_missing()
FISHBONE = ("man", "machine", "method", "material", "measurement", "environment")


# Helpers (as in test_capa_pages.py) ----------------------------------------------------------------------


def take(client, number: str, path: str, **data):
    """Open the NC page as a person would, then post the step's form with the version that form carries.

    Only fields the form renders may be given, as a browser sends nothing else."""
    action = path if path.startswith("/") else f"/nc/{number}/{path}"
    page = client.get(f"/nc/{number}")
    assert page.status_code == 200
    form = form_at(page.text, action)
    for name in data:
        assert has_field(form, name), f"the form posting to {action} has no field {name!r}"
    version = version_in(form) if has_field(form, "version") else None
    return client.post(action, data={**({"version": version} if version else {}), **data})


def done(response, location: str | None = None) -> None:
    """The step was taken: a redirect (to ``location`` when given)."""
    assert response.status_code == 302, response.text
    if location is not None:
        assert response.headers["Location"] == location


def file_through_the_page(client, data: dict) -> str:
    response = client.post("/nc/new", data=data)
    assert response.status_code == 302, response.text
    return re.fullmatch(rf"/nc/({NUMBER})", response.headers["Location"]).group(1)


def dispose_of_the_holds(app, client, number: str, **data) -> None:
    """The same disposition decided for each hold the NC still has, with that hold's form on the NC page, signed
    with the password (passing retests release nothing by themselves)."""
    with app.app_context():
        held = [hold.id for hold in lookup.get_nc(number).holds if hold.released_at is None]
    for hold_id in held:
        done(take(client, number, f"/nc/{number}/holds/{hold_id}/dispositions", password=PASSWORD, **data))


def complete_actions(app, number: str, by: dict) -> None:
    """Each open action completed by its owner on the NC page: ``by`` maps an owner's name to their browser."""
    with app.app_context():
        actions = [(a.id, a.owner.username, a.description) for a in lookup.get_nc(number).actions if a.status == "open"]
    for action_id, owner, description in actions:
        done(take(by[owner], number, f"/actions/{action_id}/complete", evidence=f"Done: {description}"))


def root_cause_in(form) -> dict:
    """The root-cause form's fields as the page fills them (the keys of :func:`root_cause`)."""
    fields = {f"why{i}": input_value(field_block(form, f"why{i}")) for i in range(1, 6)}
    bones = {name: textarea_text(field_block(form, name)) for name in FISHBONE}
    return (
        fields
        | bones
        | {
            "category": selected_value(field_block(form, "category")),
            "statement": textarea_text(field_block(form, "statement")),
        }
    )


def attachment_id(app, number: str) -> int:
    """The id of the NC's one evidence file."""
    with app.app_context():
        [attachment] = lookup.get_nc(number).attachments
        return attachment.id


def card_order(html: str) -> list[str]:
    """The ids of the NC page's cards in page order: ``next`` first, then the section of the step it waits for."""
    return [card.attributes["id"] for card in parsed(html).css("section.card")]


def proposed_results(html: str, app, number: str) -> list[SimpleNamespace]:
    """The results the disposition form of the NC's (first) hold proposes as evidence: each check box's
    ``value``, ``label`` and whether it is ``checked``."""
    with app.app_context():
        hold_id = lookup.get_nc(number).holds[0].id
    form = form_at(html, f"/nc/{number}/holds/{hold_id}/dispositions")
    return [
        SimpleNamespace(value=box.attributes["value"], label=text(item), checked="checked" in box.attributes)
        for item in form.css("li")
        if (box := item.css_first('input[name="results"]')) is not None
    ]


#: What "What happens next" tells the quality manager once the retests pass and goods are still on hold.
DISPOSE_STEP = (
    "Your step: the retests pass; decide what becomes of the goods on hold (release, rework, scrap, return or "
    "concession)."
)


def hold_lines(html: str) -> list[str]:
    """Each hold D3 of an NC page lists, as text: ``on hold Lot DL-7781 · 2026-…``."""
    return texts(section(html, "d3"), "ul.holds > li")


def retests(html: str) -> list[tuple[str, str, str]]:
    """The retests D6 of an NC page lists, newest first: ``(parameter, value, verdict)``, the verdict as its
    badge shows it."""
    found = []
    for row in table_rows(section(html, "d6")):
        _tested_at, parameter, value, verdict, _report = [cell for cell in elements(row) if cell.tag == "td"]
        badge = elements(verdict)[0]
        assert badge.tag == "span" and badge.attributes["class"].split() == ["badge", f"verdict-{text(badge)}"]
        found.append((text(parameter), text(value), text(badge)))
    return found


def listed_actions(html: str) -> list[tuple[str, str]]:
    """The actions D5 of an NC page lists: ``(kind as its badge shows it, what follows the badge)``."""
    found = []
    for row in table_rows(section(html, "d5")):
        first = elements(row)[0]
        badge = elements(first)[0]
        assert (badge.tag, badge.attributes["class"]) == ("span", "badge")
        found.append((text(badge), text(first).removeprefix(text(badge)).strip()))
    return found


def nc_items(html, number: str) -> list:
    """The list items that start with a link to NC ``number`` reading its number."""
    return [
        item
        for item in html.css("li")
        if elements(item)
        and elements(item)[0].attributes.get("href") == f"/nc/{number}"
        and text(elements(item)[0]) == number
        and text(item).startswith(number)
    ]


@pytest.fixture
def floor(app, make_user):
    """The people, each with a browser: ``floor.qm`` and ``floor.sup`` (clients), ``floor.qm_name``…"""
    qm = make_user("quality_manager", "li.qm")
    sup = make_user("supervisor", "wang.sup")
    return SimpleNamespace(qm=logged_in(app, qm), sup=logged_in(app, sup), qm_name=qm.username, sup_name=sup.username)


@pytest.fixture
def factory(app):
    """Lines L1 and L2; the romper RMP-2301 (A) with batches of snaps from SNAP-CO; the bib BIB-410 (A) with
    batch B-410-01 made from dye lot DL-7781 of DYE-01."""
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Line 1 (infant wear)"}))
    masterdata.create_line(parse(NewLine, {"code": "L2", "name": "Line 2 (bibs and accessories)"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "SNAP-CO", "name": "Snap Co trims"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "DYE-01", "name": "Sunrise Dye House"}))
    masterdata.create_style(parse(NewStyle, {"code": "RMP-2301", "name": "Infant romper", "category": "A"}))
    masterdata.create_style(parse(NewStyle, {"code": "BIB-410", "name": "Baby bib", "category": "A"}))
    for number in ("B-2301-01", "B-2301-02", "B-2301-03"):
        masterdata.create_batch(
            parse(
                NewBatch,
                {
                    "number": number,
                    "style": "RMP-2301",
                    "line": "L1",
                    "lots": [{"number": "SN-55", "kind": "trim", "supplier": "SNAP-CO"}],
                },
            )
        )
    masterdata.create_batch(
        parse(
            NewBatch,
            {
                "number": "B-410-01",
                "style": "BIB-410",
                "line": "L2",
                "lots": [{"number": "DL-7781", "kind": "dye_lot", "supplier": "DYE-01"}],
            },
        )
    )


def due(days: int) -> str:
    return (plant_today() + timedelta(days=days)).isoformat()


def root_cause(whys: list[str], category: str, statement: str, **fishbone: str) -> dict:
    """The root-cause form's fields: five why boxes (the unused ones left empty) and the fishbone lines."""
    fields = {f"why{i}": (whys[i - 1] if i <= len(whys) else "") for i in range(1, 6)}
    bones = {name: fishbone.get(name, "") for name in FISHBONE}
    return fields | bones | {"category": category, "statement": statement}


# Story 2: colorfastness to saliva ------------------------------------------------------------------------

SALIVA_FILING = {
    "title": "Bib fails colorfastness to saliva",
    "defect_type": "colorfastness_failure",
    "line": "L2",
    "source": "lab_test",
    "batch": "B-410-01",
    "style": "BIB-410",
    "quantity_affected": "",
    "severity": "critical",
    "description": "Lab report LR-7781: colorfastness to saliva grade 3 on the baby bib.",
    "parameters": ["CN-CF-SALIVA"],
}
QUESTION = "Why did incoming inspection not catch it?"
FIXING_AGENT = "The dye house changed the fixing agent without notice; incoming inspection has no lab-dip check."
SCAR = "SCAR to Sunrise Dye House: notify every change of chemicals."
LAB_DIP = "Lab-dip saliva fastness verification at incoming inspection."


def test_colorfastness_to_saliva_story_through_the_pages(app, factory, floor):
    qm, sup = floor.qm, floor.sup

    # D2: the supervisor files the lab failure as a colorfastness NC on the bib.
    number = file_through_the_page(sup, SALIVA_FILING)
    page = sup.get(f"/nc/{number}").text
    assert shown_state(page) == "Reported"
    d2 = section(page, "d2")
    assert "Colorfastness" in text(d2) and "Lab test" in text(d2) and "BIB-410" in texts(d2, "a")
    assert texts(d2, "span.badge.badge-cat") == ["A"]
    assert link_texts(d2).get("/parameters/CN-CF-SALIVA") == "CN-CF-SALIVA"
    assert "safety-critical" in page

    # The lab's grade 3 is judged against category A, which needs at least 4.
    done(take(qm, number, "tests", parameter="CN-CF-SALIVA", value="3", lab="SGS Shanghai", report_number="LR-7781"))
    page = qm.get(f"/nc/{number}").text
    assert shown_state(page) == "Reported"
    assert ("CN-CF-SALIVA", "3", "fail") in retests(page)
    with app.app_context():
        [first_test] = queries.tests_of(lookup.get_nc(number))
        assert (first_test.value, first_test.verdict) == ("3", "fail")

    # D3: the QM quarantines the dye lot (typed in lower case on the floor).
    done(take(qm, number, "contain", description="Dye lot DL-7781 quarantined at the fabric store.", hold="dl-7781"))
    page = qm.get(f"/nc/{number}").text
    assert shown_state(page) == "Investigation"
    assert "Dye lot DL-7781 quarantined at the fabric store." in text(section(page, "d3"))
    assert any(line.startswith("on hold Lot DL-7781 ") for line in hold_lines(page))
    with app.app_context():
        [hold] = lookup.get_nc(number).holds
        assert (hold.lot.number, hold.batch, hold.released_at) == ("DL-7781", None, None)

    # D4, round 1: "operator error" is returned with a question.
    first_whys = ["The bib bled in the saliva test.", "The fabric was not washed off well.", "Operator error."]
    first = root_cause(first_whys, "man", "Operator error.", man="Operator did not wash off")
    done(take(sup, number, "root-cause", **first))
    assert shown_state(qm.get(f"/nc/{number}").text) == "Review"
    done(take(qm, number, "review", decision="return", comment=QUESTION, password=PASSWORD))

    # The supervisor's home page lists the NC with "returned: answer the question" and the question.
    home = sup.get("/").text
    row = row_linking(under_heading(home, "My open non-conformances"), f"/nc/{number}")
    assert text(one(row, "p.returned-question")) == f"returned: answer the question «{QUESTION}»"
    # ... and the quality manager's lists it among the returned root causes.
    assert row_linking(under_heading(qm.get("/").text, "Returned root causes"), f"/nc/{number}")

    # The NC page: the question above the root-cause form, which starts from round 1 as it was returned.
    page = sup.get(f"/nc/{number}").text
    assert shown_state(page) == "Investigation"
    assert f"«{QUESTION}»" in text(section(page, "d4"))
    assert "Your step: submit the root-cause analysis." in text(one(page, "#next"))
    assert text(one(page, "#next-reason")) == f"The root cause was returned with a question: «{QUESTION}»"
    question = one(section(page, "d4"), "#round-question")
    assert text(question).startswith(f"Returned with a question: «{QUESTION}» {floor.qm_name} · ")
    form = form_at(section(page, "d4"), f"/nc/{number}/root-cause")
    assert section(page, "d4").html.index('id="round-question"') < section(page, "d4").html.index(form.html)
    assert "Filled from round 1: change what the new round finds." in text(form)
    assert root_cause_in(form) == first

    # Round 2, from the filled form: the first why stays, the rest answers the question; approved.
    second = root_cause_in(form) | {
        "why2": "The dye was not fixed.",
        "why3": "The dye house changed its fixing agent.",
        "why4": "Nobody told us, and incoming inspection did not test a lab dip.",
        "man": "",
        "material": "Fixing agent changed by the dye house",
        "measurement": "No lab-dip test at incoming inspection",
        "category": "material",
        "statement": FIXING_AGENT,
    }
    assert second["why1"] == first_whys[0]
    done(take(sup, number, "root-cause", **second))
    # Answered: the home page no longer says it waits for an answer.
    assert "returned: answer the question" not in text(sup.get("/").text)
    done(take(qm, number, "review", decision="approve", comment="Agreed.", password=PASSWORD))
    assert shown_state(qm.get(f"/nc/{number}").text) == "Action"

    # D5-D7: a SCAR owned by the QM, the lab-dip check owned by the supervisor; both completed.
    done(take(qm, number, "actions", kind="scar", description=SCAR, owner=floor.qm_name, due_date=due(30)))
    done(take(qm, number, "actions", kind="preventive", description=LAB_DIP, owner=floor.sup_name, due_date=due(14)))
    actions = listed_actions(qm.get(f"/nc/{number}").text)
    assert any(kind == "Supplier corrective action request (SCAR)" and what.startswith(SCAR) for kind, what in actions)
    assert any(kind == "Preventive action" and what.startswith(LAB_DIP) for kind, what in actions)
    complete_actions(app, number, {floor.qm_name: qm, floor.sup_name: sup})
    page = qm.get(f"/nc/{number}").text
    assert shown_state(page) == "Verification"
    assert texts(section(page, "d5"), "span.badge.state-closed").count("done") == 2

    # D6: the retest grade 4 passes, and releases nothing: the dye lot stays on hold, the next step is the quality
    # manager's disposition (D3 comes first), and closing waits for it.
    done(take(qm, number, "tests", parameter="CN-CF-SALIVA", value="4", lab="SGS Shanghai", report_number="LR-7790"))
    page = qm.get(f"/nc/{number}").text
    assert any(line.startswith("on hold Lot DL-7781 ") for line in hold_lines(page))
    assert DISPOSE_STEP in text(one(page, "#next"))
    assert card_order(page)[:2] == ["next", "d3"]
    assert [gate for gate in texts(section(page, "d8"), "li.fail") if "DL-7781" in gate] == [
        "Still on hold, without dispositions covering the whole quantity: DL-7781."
    ]
    assert "Waiting for a quality manager to decide what becomes of the goods on hold." in text(
        one(sup.get(f"/nc/{number}").text, "#next")
    )
    # The quality manager releases the dye lot on the passing retest the page proposes, ticked.
    [proposed] = proposed_results(page, app, number)
    assert proposed.label.startswith("CN-CF-SALIVA 4: ") and proposed.label.endswith("SGS Shanghai LR-7790")
    assert proposed.checked
    dispose_of_the_holds(app, qm, number, kind="release", reason="Grade 4 on retest.", results=proposed.value)
    page = qm.get(f"/nc/{number}").text
    assert shown_state(page) == "Verification"
    assert "Every gate is met but the effectiveness note." in page
    assert "Your step: check the gates and close the CAPA with an effectiveness note." in text(one(page, "#next"))
    [released] = hold_lines(page)
    assert released.startswith("released Lot DL-7781 ") and "Release: Grade 4 on retest." in released
    assert "CN-CF-SALIVA 4 (pass, " in released
    # Not closed yet: the parameter's page lists it among the open NCs, not the closed CAPAs.
    parameter_page = qm.get("/parameters/CN-CF-SALIVA").text
    assert number not in text(under_heading(parameter_page, "Closed CAPAs"))
    assert number in text(under_heading(parameter_page, "Open non-conformances"))

    # D8: closed.
    effectiveness = "Next two dye lots passed the lab dip at incoming inspection."
    done(take(qm, number, "close", effectiveness=effectiveness, password=PASSWORD), f"/nc/{number}")
    with app.app_context():
        nc = lookup.get_nc(number)
        assert nc.status == "closed" and nc.closed_at is not None
        assert [(a.round, a.statement, a.decision, a.review_comment) for a in nc.analyses] == [
            (1, "Operator error.", "return", QUESTION),
            (2, FIXING_AGENT, "approve", "Agreed."),
        ]
        assert [(a.kind, a.status) for a in nc.actions] == [("scar", "done"), ("preventive", "done")]
        assert [(r.value, r.verdict) for r in queries.tests_of(nc)] == [("4", "pass"), ("3", "fail")]

    # The NC page keeps both review rounds and the returned comment.
    page = qm.get(f"/nc/{number}").text
    assert "CAPA closed." in page
    assert shown_state(page) == "Closed"
    rounds = texts(section(page, "d4"), "article.round")
    assert len(rounds) == 2
    newest, oldest = rounds
    assert "Round 2" in newest and "approved" in newest and FIXING_AGENT in newest and "«Agreed.»" in newest
    assert "Round 1" in oldest and "returned" in oldest and "Operator error." in oldest
    assert f"«{QUESTION}»" in oldest
    assert "Fixing agent changed by the dye house" in newest
    assert effectiveness in text(section(page, "d8"))
    moves = re.findall(r"moved from (\w+) to (\w+)", text(section(page, "history")))
    assert list(reversed(moves)) == [
        ("Reported", "Investigation"),
        ("Investigation", "Review"),
        ("Review", "Investigation"),
        ("Investigation", "Review"),
        ("Review", "Action"),
        ("Action", "Verification"),
        ("Verification", "Closed"),
    ]

    # The supplier's record shows the safety-related failure.
    response = qm.get("/suppliers/DYE-01")
    assert response.status_code == 200
    listed = under_heading(response.text, "Non-conformances involving its material")
    [row] = nc_items(listed, number)
    assert SALIVA_FILING["title"] in text(row)
    assert "Closed · safety-related: CN-CF-SALIVA" in text(row)
    assert "No non-conformance involves this supplier" not in text(listed)
    assert number not in text(
        under_heading(qm.get("/suppliers/SNAP-CO").text, "Non-conformances involving its material")
    )

    # The parameter's page lists the closed CAPA.
    response = qm.get("/parameters/CN-CF-SALIVA")
    assert response.status_code == 200
    closed = under_heading(response.text, "Closed CAPAs")
    assert any(text(item).startswith(f"{number} {SALIVA_FILING['title']}") for item in nc_items(closed, number))
    assert "BIB-410" in text(closed)
    assert number not in text(under_heading(response.text, "Open non-conformances"))


def test_supplier_page_title_is_the_suppliers_code(app, factory, floor):
    number = file_through_the_page(floor.sup, SALIVA_FILING)
    page = floor.qm.get("/suppliers/DYE-01").text
    title = title_of(page)
    assert title == "DYE-01 · CAPA tracker"
    assert number not in title


def test_batch_page_shows_the_hold_of_its_dye_lot(app, factory, floor):
    number = file_through_the_page(floor.sup, SALIVA_FILING)
    done(take(floor.qm, number, "contain", description="Dye lot quarantined.", hold="DL-7781"))
    with app.app_context():
        assert queries.held_numbers(masterdata.get_batch("B-410-01")) == [number]
    page = floor.qm.get("/batches/B-410-01").text
    assert any(
        f"Held by {number}" in text(flash) and link_texts(flash).get(f"/nc/{number}") == number
        for flash in flashes(page, "error")
    )


# Story 3: formaldehyde -----------------------------------------------------------------------------------

FORMALDEHYDE_FILING = {
    "title": "Formaldehyde over the limit on infant romper",
    "defect_type": "formaldehyde_over_limit",
    "line": "L1",
    "source": "lab_test",
    "batch": "B-2301-02",
    "style": "RMP-2301",
    "quantity_affected": "",
    "severity": "critical",
    "description": "Lab report F-35: 35 mg/kg; category A allows 20.",
    "parameters": [],
}


def test_formaldehyde_story_through_the_pages(app, factory, floor):
    qm, sup = floor.qm, floor.sup
    number = file_through_the_page(sup, FORMALDEHYDE_FILING)
    page = qm.get(f"/nc/{number}").text
    # Filed without parameters: the defect type's usual one is linked.
    assert link_texts(section(page, "d2")).get("/parameters/CN-FORM") == "CN-FORM"

    # 35 mg/kg fails the category A limit of 20.
    done(take(qm, number, "tests", parameter="CN-FORM", value="35", lab="CTI", report_number="F-35"))
    assert ("CN-FORM", "35", "fail") in retests(qm.get(f"/nc/{number}").text)

    # Round 1: contain, a root cause, one action, to verification.
    done(take(qm, number, "contain", description="Batch B-2301-02 on hold.", hold="B-2301-02"))
    first = root_cause(
        ["Free formaldehyde on the fabric.", "Resin finish not washed off long enough."],
        "method",
        "The wash-off after resin finishing is too short.",
        method="Wash-off time not specified",
    )
    done(take(sup, number, "root-cause", **first))
    done(take(qm, number, "review", decision="approve", comment="", password=PASSWORD))
    wash_off = "Extend the wash-off after resin finishing."
    done(take(qm, number, "actions", kind="corrective", description=wash_off, owner=floor.qm_name, due_date=due(7)))
    complete_actions(app, number, {floor.qm_name: qm})
    assert shown_state(qm.get(f"/nc/{number}").text) == "Verification"

    # A failing retest after the first action sends the CAPA back to investigation, the failing result its reason:
    # in "What happens next", which names the step (a new root-cause round, for the supervisor or a quality
    # manager), and above the root-cause form, which starts from the approved analysis.
    done(take(qm, number, "tests", parameter="CN-FORM", value="28", lab="CTI", report_number="F-28"))
    page = sup.get(f"/nc/{number}").text
    assert shown_state(page) == "Investigation"
    assert card_order(page)[:2] == ["next", "d4"]
    assert "Your step: submit the root-cause analysis." in text(one(page, "#next"))
    reason = text(one(page, "#next-reason"))
    assert reason.startswith("Back from verification: the retest of CN-FORM failed, 28 (")
    assert reason.endswith(". The next round starts from the approved analysis.")
    assert "28 mg/kg" in reason and "20 mg/kg" in reason
    assert "Your step: submit the root-cause analysis." in text(one(qm.get(f"/nc/{number}").text, "#next"))
    d4 = section(page, "d4")
    above = text(one(d4, "#round-reason"))
    assert above.startswith("Back to investigation: the retest failed. CN-FORM ") and "28" in above
    assert above.endswith("CTI F-28")
    assert d4.html.index('id="round-reason"') < d4.html.index(f'action="/nc/{number}/root-cause"')
    assert parsed(page).css_first("#round-question") is None
    form = form_at(d4, f"/nc/{number}/root-cause")
    assert "Filled from round 1: change what the new round finds." in text(form)
    assert root_cause_in(form) == first
    events = section(page, "history").css("li")
    assert any(
        "moved from Verification to Investigation" in text(event)
        and texts(event, "small")[0].startswith("Failing retest of CN-FORM")
        for event in events
    )
    # The earlier action stays done and visible, answering round 1; the batch stays on hold; no closing.
    [wash_off_row] = table_rows(section(page, "d5"))
    assert wash_off in text(wash_off_row) and "Round 1" in text(wash_off_row)
    assert texts(wash_off_row, "span.badge.state-closed") == ["done"]
    assert any(line.startswith("on hold Batch B-2301-02 ") for line in hold_lines(page))
    assert link_texts(section(page, "d3")).get("/batches/B-2301-02") == "B-2301-02"
    with app.app_context():
        nc = lookup.get_nc(number)
        assert nc.status == "investigation"
        assert [(a.round, a.decision) for a in nc.analyses] == [(1, "approve")]
        assert [h.released_at for h in nc.holds] == [None]
    assert f"/nc/{number}/close" not in form_actions(qm.get(f"/nc/{number}").text)

    # Round 2, from the filled form: the resin itself releases formaldehyde.
    second = root_cause_in(form) | {
        "why3": "Still 28 mg/kg after a longer wash-off.",
        "why4": "The resin itself releases formaldehyde.",
        "material": "Resin finish with a formaldehyde-releasing cross-linker",
        "category": "material",
        "statement": "The resin finish releases formaldehyde whatever the wash-off.",
    }
    done(take(sup, number, "root-cause", **second))
    done(take(qm, number, "review", decision="approve", comment="Agreed: change the finish.", password=PASSWORD))

    # Approved while every earlier action is done: the page says to add an action, the quality manager's step,
    # with D5 first and its form unfolded; the earlier action is still listed, done.
    page = qm.get(f"/nc/{number}").text
    assert shown_state(page) == "Action"
    assert "Your step: add the actions the new root cause calls for." in text(one(page, "#next"))
    assert card_order(page)[:2] == ["next", "d5"]
    assert "open" in one(section(page, "d5"), "details:not(.fold)").attributes
    assert texts(section(page, "d5"), "span.badge.state-closed") == ["done"]
    assert "Waiting for a quality manager to add the actions the new root cause calls for." in text(
        one(sup.get(f"/nc/{number}").text, "#next")
    )
    resin = "Switch to a formaldehyde-free resin finish."
    done(take(qm, number, "actions", kind="corrective", description=resin, owner=floor.sup_name, due_date=due(21)))
    # Closing while the new action is open is refused.
    version = version_in(form_at(qm.get(f"/nc/{number}").text, f"/nc/{number}/actions"))
    refused = qm.post(
        f"/nc/{number}/close", data={"version": version, "effectiveness": "Too early", "password": PASSWORD}
    )
    assert refused.status_code == 409
    # The action's owner reads that the step is theirs.
    assert "Your step: finish your actions and record their evidence." in text(
        one(sup.get(f"/nc/{number}").text, "#next")
    )
    # Its owner finishes it on the page with the new finish's data sheet as the evidence file.
    with app.app_context():
        [resin_id] = [a.id for a in lookup.get_nc(number).actions if a.description == resin]
    evidence = {"evidence": "Finish FF-2 in use, data sheet attached.", "files": [(io.BytesIO(PDF), "FF-2 sheet.pdf")]}
    done(take(sup, number, f"/actions/{resin_id}/complete", **evidence))
    page = qm.get(f"/nc/{number}").text
    assert shown_state(page) == "Verification"
    resin_row = row_linking(section(page, "d5"), f"/nc/{number}/attachments/{attachment_id(app, number)}")
    assert resin in text(resin_row) and "Round 2" in text(resin_row) and "FF-2 sheet.pdf" in text(resin_row)
    assert texts(section(page, "d5"), "span.badge.state-closed") == ["done", "done"]

    # The retest passes; the next step is the disposition of the held batch, D3 first.
    done(take(qm, number, "tests", parameter="CN-FORM", value="12", lab="CTI", report_number="F-12"))
    page = qm.get(f"/nc/{number}").text
    assert DISPOSE_STEP in text(one(page, "#next"))
    assert card_order(page)[:2] == ["next", "d3"]
    assert "Every gate is met but the effectiveness note." not in page
    # The batch is reworked with the new finish on the passing retest the page proposes; until its re-inspection
    # it stays on hold and the disposition stays the next step; re-inspected, closing is.
    [proposed] = proposed_results(page, app, number)
    assert proposed.label.startswith("CN-FORM 12: ") and proposed.checked
    reworked = {"kind": "rework", "reason": "Refinished with the formaldehyde-free resin.", "results": proposed.value}
    dispose_of_the_holds(app, qm, number, **reworked)
    page = qm.get(f"/nc/{number}").text
    assert DISPOSE_STEP in text(one(page, "#next"))
    assert any(line.startswith("on hold Batch B-2301-02 ") for line in hold_lines(page))
    with app.app_context():
        [rework] = lookup.get_nc(number).holds[0].dispositions
    done(take(qm, number, f"/dispositions/{rework.id}/reinspection", passed="yes", note="F-12: 12 mg/kg."))
    page = qm.get(f"/nc/{number}").text
    assert "Your step: check the gates and close the CAPA with an effectiveness note." in text(one(page, "#next"))
    assert "Every gate is met but the effectiveness note." in page
    done(
        take(qm, number, "close", effectiveness="Two batches since at 12 and 9 mg/kg.", password=PASSWORD),
        f"/nc/{number}",
    )

    page = qm.get(f"/nc/{number}").text
    assert "CAPA closed." in page
    assert shown_state(page) == "Closed"
    assert [value for parameter, value, _ in retests(page) if parameter == "CN-FORM"] == ["12", "28", "35"]
    d5 = section(page, "d5")
    assert wash_off in text(d5) and resin in text(d5)
    assert texts(d5, "span.badge.state-closed").count("done") == 2
    assert "Round 1" in text(section(page, "d4")) and "Round 2" in text(section(page, "d4"))
    moves = re.findall(r"moved from (\w+) to (\w+)", text(section(page, "history")))
    assert list(reversed(moves)) == [
        ("Reported", "Investigation"),
        ("Investigation", "Review"),
        ("Review", "Action"),
        ("Action", "Verification"),
        ("Verification", "Investigation"),
        ("Investigation", "Review"),
        ("Review", "Action"),
        ("Action", "Verification"),
        ("Verification", "Closed"),
    ]
    with app.app_context():
        nc = lookup.get_nc(number)
        assert nc.status == "closed" and nc.closed_at is not None
        assert [(r.value, r.verdict) for r in queries.tests_of(nc)] == [("12", "pass"), ("28", "fail"), ("35", "fail")]
        assert [(a.round, a.decision) for a in nc.analyses] == [(1, "approve"), (2, "approve")]
        assert [h.released_at is not None for h in nc.holds] == [True]

    # The 8D report shows both rounds with who submitted and who reviewed them, both actions with the evidence
    # file, the three results, and the batch's rework with its re-inspection.
    report = qm.get(f"/nc/{number}/report")
    assert report.status_code == 200
    rounds = parsed(report.text).css("#d4 .round")
    assert [text(one(r, "h3")) for r in rounds] == ["Round 1 · Approved in review", "Round 2 · Approved in review"]
    for shown in rounds:
        facts = dict(zip(texts(shown, "dt"), texts(shown, "dd"), strict=True))
        assert facts["Submitted"].startswith(f"{floor.sup_name} · ")
        assert facts["Reviewed"].startswith(f"{floor.qm_name} · ")
    assert "The wash-off after resin finishing is too short." in text(rounds[0])
    assert "The resin finish releases formaldehyde whatever the wash-off." in text(rounds[1])
    actions = [[text(cell) for cell in elements(row)] for row in parsed(report.text).css("#d5 tbody tr")]
    assert [(row[0], row[2]) for row in actions] == [("1", wash_off), ("2", resin)]
    assert "FF-2 sheet.pdf" in actions[1][6]
    # The results in the order they were taken: the first failure, the retest that sent it back, the pass.
    assert [[text(cell) for cell in elements(row)][2] for row in parsed(report.text).css("#d6 tbody tr")] == [
        "35",
        "28",
        "12",
    ]
    [disposition] = [[text(cell) for cell in elements(row)] for row in parsed(report.text).css("#d3 tbody tr")]
    assert disposition[0] == "Rework, then re-inspect" and disposition[2].startswith(f"{floor.qm_name} · ")
    assert disposition[3].startswith("Refinished with the formaldehyde-free resin. CN-FORM 12: pass · CTI F-12")
    assert disposition[4].startswith(f"passed · {floor.qm_name} · ") and "F-12: 12 mg/kg." in disposition[4]
    # ... and downloads as a PDF holding the same (where WeasyPrint can run; CI requires it).
    if not PDF_MISSING or os.environ.get("CI"):
        pdf = qm.get(f"/nc/{number}/report.pdf")
        assert (pdf.status_code, pdf.mimetype) == (200, "application/pdf")
        content = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.data)).pages)
        for shown in (number, "Round 1", "Round 2", "Rework, then re-inspect", resin, "FF-2 sheet.pdf"):
            assert shown in content, shown


# Story 4: recurrence -------------------------------------------------------------------------------------

LOOSE_BUTTON = {
    "title": "Snap buttons come off the infant romper",
    "defect_type": "loose_button",
    "line": "L1",
    "source": "end_of_line",
    "batch": "B-2301-01",
    "style": "RMP-2301",
    "quantity_affected": "12",
    "severity": "critical",
    "description": "12 of 200 rompers lost a snap at a light pull.",
    "parameters": ["CN-ATT-GT6"],
}


def close_through_the_pages(app, floor, number: str) -> None:
    """A filed loose-button NC driven through every step to closed, on its page."""
    qm = floor.qm
    done(take(qm, number, "contain", description="Batch on hold; 100% pull test.", hold=""))
    cause = root_cause(["Stitch density low."], "machine", "Stitch density below standard.")
    done(take(floor.sup, number, "root-cause", **cause))
    done(take(qm, number, "review", decision="approve", comment="", password=PASSWORD))
    done(
        take(
            qm, number, "actions", kind="corrective", description="Reset density.", owner=floor.qm_name, due_date=due(3)
        )
    )
    complete_actions(app, number, {floor.qm_name: qm})
    done(take(qm, number, "tests", parameter="CN-ATT-GT6", value="90", lab="In-house", report_number="PT-1"))
    dispose_of_the_holds(app, qm, number, kind="release", reason="Pull test passed.", evidence="PT-1")
    done(take(qm, number, "close", effectiveness="No loose snap in three batches.", password=PASSWORD))
    assert shown_state(qm.get(f"/nc/{number}").text) == "Closed"


def test_recurrence_story_through_the_pages(app, factory, floor):
    first = file_through_the_page(floor.sup, LOOSE_BUTTON)
    page = floor.qm.get(f"/nc/{first}").text
    assert "Recurrence of" not in page and "Recurred as" not in page
    close_through_the_pages(app, floor, first)

    # A different defect on the same style is no recurrence.
    other = file_through_the_page(
        floor.sup, LOOSE_BUTTON | {"defect_type": "broken_stitch", "title": "Broken stitch", "parameters": []}
    )
    assert "Recurrence of" not in floor.sup.get(f"/nc/{other}").text

    # The same defect on the same style, another batch: flagged and linked to the first.
    again = file_through_the_page(floor.sup, LOOSE_BUTTON | {"batch": "B-2301-03", "title": "Snaps come off again"})
    page = floor.sup.get(f"/nc/{again}").text
    [flag] = [flash for flash in flashes(page, "error") if text(flash).startswith("Recurrence of ")]
    assert f"{first} ({LOOSE_BUTTON['title']})" in text(flag)
    assert link_texts(flag).get(f"/nc/{first}") == first
    assert f"flagged as a recurrence of: {first}" in text(section(page, "history"))
    with app.app_context():
        nc = lookup.get_nc(again)
        assert nc.recurrence_of is not None and nc.recurrence_of.number == first
        assert lookup.get_nc(other).recurrence_of is None
        assert [r.number for r in lookup.get_nc(first).recurrences] == [again]

    # The first NC's page shows it recurred, and stays closed.
    page = floor.qm.get(f"/nc/{first}").text
    [recurred] = [flash for flash in flashes(page, "error") if text(flash).startswith("Recurred as ")]
    assert text(recurred) == f"Recurred as {again}"
    assert [(node.tag, node.attributes, text(node)) for node in elements(recurred)] == [
        ("a", {"href": f"/nc/{again}"}, again)
    ]
    assert shown_state(page) == "Closed"
    assert f"recurred as: {again}" in text(section(page, "history"))


# Story 5: a tech pack requiring CMIA ---------------------------------------------------------------------


def coverage_rows(html: str) -> dict[str, str]:
    """The batch page's CMIA coverage: parameter code -> the status of the group it is listed under (passed,
    failed, missing, expired, not_applicable), read from each group's heading badge."""
    found = {}
    for group in one(html, "section.coverage").css("ul.coverage-rows"):
        heading = group.prev
        while heading is not None and heading.tag not in ("h4", "summary"):
            heading = heading.prev
        badge = heading.css_first("span.badge")
        status = next(name.removeprefix("status-") for name in badge.attributes["class"].split() if "-" in name)
        for item in group.css("li"):
            link = item.css_first("a")
            found[link.attributes["href"].removeprefix("/parameters/")] = status
    return found


def checkpoints(html: str) -> list:
    """The checkpoints of a style's quality plan (list items), in order."""
    return one(html, "section.plan").css("ol.checkpoints > li")


def opens_with(item, status: str) -> bool:
    """Whether a checkpoint starts with the badge of ``status``."""
    first = elements(item)[0]
    return (
        first.attributes.get("class", "").split() == ["badge", f"status-{status}"]
        and text(first) == status
        and text(item).startswith(f"{status} ")
    )


def test_cmia_tech_pack_story_through_the_pages(app, floor):
    qm = floor.qm
    masterdata.create_line(parse(NewLine, {"code": "L3", "name": "Line 3 (infant sets)"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "TRIM-09", "name": "New trims", "approval": "conditional"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "FAB-02", "name": "Cotton Mill"}))

    # The QM creates the style whose tech pack requires CMIA.
    response = qm.post(
        "/styles/new",
        data={
            "code": "SET-500",
            "name": "Infant two-piece set",
            "category": "A",
            "cmia_required": "y",
            "markets": "CN",
            "age_group": "infant",
        },
    )
    done(response, "/styles/SET-500")
    with app.app_context():
        style = masterdata.get_style("SET-500")
        assert (style.category, style.cmia_required) == ("A", True)

    # ... and a batch with a trim lot from the conditional supplier: refused until the QM records a concession.
    batch = {
        "number": "B-500-01",
        "style": "SET-500",
        "line": "L3",
        "lots-0-number": "TR-90",
        "lots-0-kind": "trim",
        "lots-0-supplier": "TRIM-09",
        "lots-1-number": "F-500",
        "lots-1-kind": "fabric",
        "lots-1-supplier": "FAB-02",
    }
    refused = qm.post("/batches/new", data=batch)
    assert refused.status_code == 400
    assert fields_with_errors(refused.text) == {"lots-0-concession"}
    assert "TRIM-09 is conditional." in text(field_block(refused.text, "lots-0-concession"))
    assert input_value(field_block(refused.text, "lots-1-number")) == "F-500"
    response = qm.post("/batches/new", data=batch | {"lots-0-concession": "Buyer concession BC-12, snaps pull-tested"})
    done(response, "/batches/B-500-01")
    assert "Buyer concession BC-12, snaps pull-tested" in text(one(qm.get("/batches/B-500-01").text, ".concession"))

    # The style page shows the quality plan and its three checkpoints.
    response = qm.get("/styles/SET-500")
    assert response.status_code == 200
    page = response.text
    assert "required by the tech pack" in page
    plan = one(page, "section.plan")
    assert "Quality plan (CMIA)" in texts(plan, "h2")
    required = [
        elements(row)[0].css_first("a").attributes["href"].removeprefix("/parameters/") for row in table_rows(plan)
    ]
    assert "CN-FORM" in required and "CN-CF-SALIVA" in required
    assert len(checkpoints(page)) == 3
    lab_dip, trims, final = checkpoints(page)
    assert "Verify the lab-dip test report for these parameters" in text(lab_dip)
    assert "open" in texts(lab_dip, "span.badge.status-open")
    assert "Confirm each trim supplier is approved" in text(trims)
    assert opens_with(trims, "open")
    assert link_texts(trims).get("/suppliers/TRIM-09") == "TRIM-09"
    assert "TRIM-09 (Conditional: TR-90)" in text(trims)
    assert "FAB-02" not in text(trims)
    assert "Final garment batch test" in text(final)
    assert opens_with(final, "open")
    assert link_texts(final).get("/batches/B-500-01") == "B-500-01"
    assert "CN-FORM" in text(final) and "missing" in text(final)

    # The batch page shows which required parameters still lack a passing result.
    response = qm.get("/batches/B-500-01")
    assert response.status_code == 200
    rows = coverage_rows(response.text)
    assert set(rows) == set(required)
    assert set(rows.values()) == {"missing"}
    assert f"0 failed, {len(required)} missing, 0 due for a retest; 0 passed." in text(one(response.text, "main"))
    assert "TR-90 (TRIM-09, conditional)" in response.text
    assert "/batches/B-500-01/results/new?parameter=CN-FORM" in links(response.text)

    # A passing formaldehyde result recorded through the batch's result form.
    form = qm.get("/batches/B-500-01/results/new?parameter=CN-FORM")
    assert form.status_code == 200
    assert selected_values(one(form.text, "main")) == ["CN-FORM"]
    response = qm.post(
        "/batches/B-500-01/results/new",
        data={
            "parameter": "CN-FORM",
            "value": "12",
            "lot": "",
            "lab": "CTI",
            "report_number": "F-500-1",
            "tested_at": plant_today().isoformat(),
        },
    )
    done(response, "/batches/B-500-01")
    page = qm.get("/batches/B-500-01").text
    assert "Result recorded: pass." in page
    rows = coverage_rows(page)
    assert rows["CN-FORM"] == "passed"
    assert {code for code, status in rows.items() if status == "missing"} == set(required) - {"CN-FORM"}
    assert f"0 failed, {len(required) - 1} missing, 0 due for a retest; 1 passed." in text(one(page, "main"))
    assert "CN-FORM" not in text(checkpoints(qm.get("/styles/SET-500").text)[2].css_first("ul"))
