"""The weekly summary's figures by supplier and its effectiveness reviews, through the API and the pages.

An NC is charged to a supplier only through material of that supplier it concerns: the lots it names (held,
the lot of the result it was raised from, its retests' lots), else its batch's lots of the kind its defect
concerns (fabric for formaldehyde or colour fastness, trims for an attachment), else to no supplier. The
expected counts are written out by hand from the stories below, never computed with the app's queries.
"""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from capa.capas.models import NonConformance
from capa.common.clock import plant_today, plant_zone
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.safety.models import LabResult
from capa.trends import service as summaries
from capa.trends.figures import compute
from capa.trends.mail import message_for
from capa.trends.models import WeeklySummary
from capa.trends.weeks import Week
from tests.pages import cells, table_rows, text, under_heading
from tests.test_trends_figures import HOUR, Plant, at, week_bounds

WEEK = "2026-W47"  # Monday 2026-11-16 to Sunday 2026-11-22, Asia/Shanghai


@pytest.fixture
def qm(api):
    return api("quality_manager")


@pytest.fixture
def kids(qm):
    """Batch B-KID of a category A romper: fabric and its dye lot from SUP-F, snaps (a trim lot) from SUP-S.
    Batch B-TWO: two fabric lots of two mills (SUP-F, SUP-G) and the snaps of SUP-S."""
    for code in ("SUP-F", "SUP-G", "SUP-S"):
        assert qm.post("/api/v1/suppliers", json={"code": code, "name": f"Supplier {code}"}).status_code == 201
    assert qm.post("/api/v1/lines", json={"code": "L1", "name": "Line 1"}).status_code == 201
    style = {"code": "ROMPER", "name": "Infant romper", "category": "A", "trims": ["medium"], "metal_parts": True}
    assert qm.post("/api/v1/styles", json=style).status_code == 201
    batches = {
        "B-KID": [("FAB-1", "fabric", "SUP-F"), ("DYE-1", "dye_lot", "SUP-F"), ("SNAP-1", "trim", "SUP-S")],
        "B-TWO": [("FAB-2", "fabric", "SUP-F"), ("FAB-3", "fabric", "SUP-G"), ("SNAP-2", "trim", "SUP-S")],
    }
    for number, lots in batches.items():
        body = {
            "number": number,
            "style": "ROMPER",
            "line": "L1",
            "lots": [{"number": n, "kind": k, "supplier": s} for n, k, s in lots],
        }
        assert qm.post("/api/v1/batches", json=body).status_code == 201, body
    return qm


def file(client, defect: str, *, batch: str | None = "B-KID", moment: datetime | None = None, **extra) -> str:
    """File an NC through the API (back-dated into the week); its number."""
    body = {
        "title": f"A {defect}",
        "defect_type": defect,
        "source": "end_of_line",
        "line": "L1",
        "reported_at": (moment or at(2026, 11, 17, 10)).isoformat(),
        **extra,
    }
    if batch:
        body["batch"] = batch
    else:
        body["category"] = "A"
    response = client.post("/api/v1/nonconformances", json=body)
    assert response.status_code == 201, response.json
    return response.json["number"]


def hold(client, number: str, *goods: str) -> None:
    body = {"description": "Stopped the goods.", "hold": list(goods)}
    response = client.post(f"/api/v1/nonconformances/{number}/containment", json=body)
    assert response.status_code == 200, response.json


def summary(client, week: str = WEEK) -> dict:
    summaries.build(Week.parse(week), force=True)
    response = client.get(f"/api/v1/summaries/{week}")
    assert response.status_code == 200
    return response.json


# Attribution ------------------------------------------------------------------------------------------------


def test_an_nc_is_charged_to_the_supplier_of_the_material_its_defect_concerns(app, kids):
    # Formaldehyde (CN-FORM, from its defect type) is the fabric's: SUP-F (once for its two lots), never the
    # snaps' SUP-S.
    file(kids, "formaldehyde_over_limit")
    # A snap pulled off (attachment strength) is the trims': SUP-S alone.
    file(kids, "loose_button")
    # Colour fastness to saliva is the dyed fabric's, also on a batch with two mills: both fabric lots.
    file(kids, "colorfastness_failure", batch="B-TWO", parameters=["CN-CF-SALIVA"])
    # An open seam, a drawstring too long, a stain on no batch: no supplier's material.
    file(kids, "open_seam")
    file(kids, "drawstring_non_compliant")
    file(kids, "stain", batch=None)
    # The week before, for the averages: a formaldehyde failure of SUP-F and a seam.
    file(kids, "formaldehyde_over_limit", moment=at(2026, 11, 10, 10))
    file(kids, "open_seam", moment=at(2026, 11, 11, 10))

    body = summary(kids)
    assert body["new_ncs"] == 6
    assert body["by_supplier"] == {"SUP-F": 2, "SUP-G": 1, "SUP-S": 1}
    assert body["unattributed_ncs"] == 3
    assert body["averages"]["by_supplier"] == {
        "SUP-F": {"4w": 0.25, "12w": 0.08},
        "SUP-G": {"4w": 0.0, "12w": 0.0},
        "SUP-S": {"4w": 0.0, "12w": 0.0},
    }
    assert body["averages"]["unattributed_ncs"] == {"4w": 0.25, "12w": 0.08}


def test_the_lots_an_nc_names_decide_before_its_batch(app, kids):
    # Formaldehyde on B-KID, but the quality manager held the snaps' lot: the NC names SUP-S's lot alone.
    formaldehyde = file(kids, "formaldehyde_over_limit")
    hold(kids, formaldehyde, "SNAP-1")
    # A seam concerns no material, but it held a fabric lot: SUP-F.
    seam = file(kids, "open_seam")
    hold(kids, seam, "FAB-1")
    # Holding the whole batch names no lot: still no supplier's.
    whole = file(kids, "open_seam")
    hold(kids, whole, "B-KID")
    # A retest on a lot names it. Retests are recorded on the garment today (the retest form takes no lot),
    # so the lot a laboratory would name is written on the stored row.
    retested = file(kids, "formaldehyde_over_limit", batch="B-TWO", moment=at(2026, 11, 18, 10))
    response = kids.post(f"/api/v1/nonconformances/{retested}/tests", json={"parameter": "CN-FORM", "value": "12"})
    assert response.status_code == 201, response.json
    lot = masterdata.get_lot("FAB-3")
    db.session.execute(update(LabResult).where(LabResult.id == response.json["id"]).values(lot_id=lot.id))
    db.session.commit()

    body = summary(kids)
    assert body["by_supplier"] == {"SUP-F": 1, "SUP-G": 1, "SUP-S": 1}
    assert body["unattributed_ncs"] == 1


def test_an_nc_raised_from_a_result_on_a_lot_is_charged_to_that_lot_s_supplier(app, kids):
    # Formaldehyde 35 mg/kg (category A: at most 20) on FAB-3 of B-TWO, whose other fabric lot is SUP-F's.
    result = {
        "parameter": "CN-FORM",
        "value": "35",
        "lab": "SGS Shanghai",
        "report_number": "SH-9",
        "tested_at": plant_today().isoformat(),
        "lot": "FAB-3",
    }
    recorded = kids.post("/api/v1/batches/B-TWO/results", json=result)
    assert recorded.status_code == 201, recorded.json
    assert recorded.json["verdict"] == "fail"
    raised = kids.post(f"/api/v1/results/{recorded.json['id']}/raise-nc", json={})
    assert raised.status_code == 201, raised.json
    # The same failure on the garment (no lot): B-TWO's fabric lots, both mills.
    on_garment = dict(result, report_number="SH-10")
    del on_garment["lot"]
    garment = kids.post("/api/v1/batches/B-TWO/results", json=on_garment)
    assert kids.post(f"/api/v1/results/{garment.json['id']}/raise-nc", json={}).status_code == 201

    computed = compute(Week.containing(plant_today()), plant_zone())
    assert computed["by_supplier"] == {"SUP-G": 2, "SUP-F": 1}
    assert computed["unattributed_ncs"] == 0


# Effectiveness reviews ----------------------------------------------------------------------------------------


@pytest.fixture
def plant(app, make_user) -> Plant:
    return Plant(make_user("quality_manager", "qm.li"))


def test_effectiveness_reviews_due_done_failed_and_outstanding_in_a_week(app, plant, api):
    """Closed CAPAs with their review dates and verdicts. The review itself is recorded by its own step; here
    its columns are written as that step leaves them."""
    start, end = week_bounds(WEEK)
    # (name, review due, reviewed at, verdict)
    reviews = [
        ("due on Monday, reviewed within", date(2026, 11, 16), at(2026, 11, 18, 10), "effective"),
        ("due on Sunday, never reviewed", date(2026, 11, 22), None, None),
        ("due the week before, failed within", date(2026, 11, 10), at(2026, 11, 19, 10), "not_effective"),
        ("due long before, never reviewed", date(2026, 11, 2), None, None),
        ("due within, reviewed after", date(2026, 11, 19), end + HOUR, "effective"),
        ("due after, reviewed early within", date(2026, 11, 25), at(2026, 11, 20, 10), "effective"),
        ("due after, not yet", date(2026, 11, 25), None, None),
        ("due within, reviewed the week before", date(2026, 11, 21), start - HOUR, "not_effective"),
        ("due after, failed early within", date(2026, 12, 1), end - timedelta(minutes=1), "not_effective"),
    ]
    for name, due, reviewed, verdict in reviews:
        rec = plant.closed_nc(at(2026, 10, 1), at(2026, 10, 20), title=name)
        db.session.execute(
            update(NonConformance)
            .where(NonConformance.id == rec.id)
            .values(effectiveness_due=due, effectiveness_reviewed_at=reviewed, effectiveness_verdict=verdict)
        )
    # Open, never closed: nothing is due.
    plant.file(at(2026, 11, 2), title="still open")
    db.session.commit()

    def counted(week: str) -> dict[str, int]:
        start, end = week_bounds(week)
        monday = date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
        sunday = monday + timedelta(days=6)
        done = [(r, v) for _n, _d, r, v in reviews if r is not None and start <= r < end]
        return {
            "due": sum(monday <= d <= sunday for _n, d, _r, _v in reviews),
            "done": len(done),
            "failed": sum(v == "not_effective" for _r, v in done),
            "outstanding": sum(d <= sunday and (r is None or r >= end) for _n, d, r, _v in reviews),
        }

    assert counted(WEEK) == {"due": 4, "done": 4, "failed": 2, "outstanding": 3}
    assert summary(api("supervisor"))["effectiveness"] == counted(WEEK)
    # The week before: due on the 10th; reviewed (and failed) late on Sunday; due on the 2nd and the 10th and
    # neither reviewed by its end.
    assert counted("2026-W46") == {"due": 1, "done": 1, "failed": 1, "outstanding": 2}
    assert compute(Week.parse("2026-W46"), plant_zone())["effectiveness"] == counted("2026-W46")


def test_a_week_without_reviews_counts_zeros(app, api):
    assert summary(api("supervisor"))["effectiveness"] == {"due": 0, "done": 0, "failed": 0, "outstanding": 0}


# Pages, downloads and mail ------------------------------------------------------------------------------------


@pytest.fixture
def built(app, kids):
    """W47 with a formaldehyde NC (SUP-F) and a seam (no supplier), and a CAPA of September closed, whose
    review fell due and was found not effective in the week (its columns written as the review leaves them),
    built."""
    file(kids, "formaldehyde_over_limit")
    file(kids, "open_seam")
    reviewed = file(kids, "stain", batch=None, moment=at(2026, 9, 1, 10))
    db.session.execute(
        update(NonConformance)
        .where(NonConformance.number == reviewed)
        .values(
            status="closed",
            closed_at=datetime(2026, 9, 20, tzinfo=UTC),
            effectiveness_due=date(2026, 11, 18),
            effectiveness_reviewed_at=at(2026, 11, 19, 10),
            effectiveness_verdict="not_effective",
        )
    )
    db.session.commit()
    summaries.build(Week.parse(WEEK))
    return WEEK


def shown_rows(node) -> dict[str, str]:
    return {cells(row)[0]: cells(row)[1] for row in table_rows(node.html)}


def test_the_summary_page_shows_the_suppliers_the_unattributed_and_the_reviews(client, auth, built):
    auth.as_role("supervisor")
    page = client.get(f"/summaries/{built}")
    assert page.status_code == 200
    suppliers = shown_rows(under_heading(page.text, "By supplier", "h3"))
    assert suppliers["SUP-F"].startswith("1 ")
    assert "SUP-S" not in suppliers
    assert suppliers["Not charged to any supplier"].startswith("1 ")
    reviews = under_heading(page.text, "Effectiveness reviews")
    tiles = [text(tile) for tile in reviews.css(".tile")]
    assert tiles == [
        "1 reviews fell due this week",
        "1 reviews done this week",
        "1 found not effective",
        "0 due by Sunday and still not done",
    ]

    table = list(csv.reader(io.StringIO(client.get(f"/summaries/{built}.csv").text)))
    values = {(r[0], r[1]): r[2] for r in table[1:]}
    assert values[("By supplier", "SUP-F")] == "1"
    assert ("By supplier", "SUP-S") not in values
    assert values[("New NCs charged to no supplier", "")] == "1"
    assert values[("Effectiveness reviews", "found not effective")] == "1"
    assert values[("Effectiveness reviews", "reviews fell due this week")] == "1"


def test_the_summary_mail_counts_the_reviews(app, built):
    with app.test_request_context():
        message = message_for(db.session.scalar(db.select(WeeklySummary)), to=["qa@plant.example"], language="en")
    html = message.get_body(preferencelist=("html",)).get_content()
    reviews = under_heading(html, "Effectiveness reviews")
    shown = [
        (text(cell.css_first("strong")), text(cell).removeprefix(text(cell.css_first("strong"))))
        for cell in reviews.css("td")
    ]
    assert shown == [
        ("1", "reviews fell due this week"),
        ("1", "reviews done this week"),
        ("1", "found not effective"),
        ("0", "due by Sunday and still not done"),
    ]


def test_a_summary_built_before_these_figures_still_reads(app, client, auth, api, built):
    """A week stored by an earlier version has neither ``effectiveness`` nor ``unattributed_ncs``."""
    stored = db.session.scalar(db.select(WeeklySummary))
    old = {k: v for k, v in stored.figures.items() if k not in ("effectiveness", "unattributed_ncs")}
    old["averages"] = {k: v for k, v in old["averages"].items() if k != "unattributed_ncs"}
    stored.figures = old
    db.session.commit()
    auth.as_role("supervisor")
    page = client.get(f"/summaries/{built}")
    assert page.status_code == 200
    assert "Not charged to any supplier" not in page.text
    reviews = under_heading(page.text, "Effectiveness reviews")
    assert text(reviews) == "This summary was built before effectiveness reviews were counted."
    download = client.get(f"/summaries/{built}.csv")
    assert download.status_code == 200
    assert "Effectiveness reviews" not in download.text
    assert client.get(f"/summaries/{built}.xlsx").status_code == 200
    body = api("supervisor").get(f"/api/v1/summaries/{built}").json
    assert (body["effectiveness"], body["unattributed_ncs"]) == (None, None)
    with app.test_request_context():
        stored = db.session.scalar(db.select(WeeklySummary))
        html = message_for(stored, to=["qa@plant.example"], language="en").get_body(preferencelist=("html",))
    assert "Effectiveness reviews" not in html.get_content()
