"""Coverage of a batch per colourway and dye lot (capa/safety/coverage.py): the worst current result governs.

A navy dye lot that failed is not hidden by a red lot that passed later; fabric and lab-dip results do not
count for the final garment test; expired results are a retest due, never a pass; results judged against
another category do not count; not-applicable rows stand apart; a batch is releasable for CMIA only when every
required parameter passed for every colourway. Read through the service, the API and the batch page, in a
constant number of statements however many results, lots, colourways and batches.

Results are stored directly (as a lab report or the record form would store them), so each case sets exactly
the colourway, component, lot, category and date it is about.
"""

from contextlib import contextmanager
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from capa.safety import service
from capa.safety.judging import Outcome
from capa.safety.models import LabResult
from tests.conftest import new_user
from tests.pages import text

# Helpers -------------------------------------------------------------------------------------------------


def days_ago(days: int) -> date:
    return plant_today() - timedelta(days=days)


def add_result(
    batch_number: str | None,
    code: str,
    value: str = "12",
    *,
    verdict: str | None = None,
    colourway: str = "",
    component: str | None = "whole_garment",
    lot: str | None = None,
    tested_at: date | None = None,
    category: str | None = None,
    report_number: str = "SH-1",
    na_reason: str = "",
) -> int:
    """Store one result on a batch, judged against its style (or ``category``), or with the ``verdict`` given
    (for a parameter whose passing value does not matter to the case). Returns its id."""
    batch = masterdata.get_batch(batch_number) if batch_number else None
    parameter = service.get_parameter(code)
    recorder = new_user("quality_manager")
    origin = SimpleNamespace(lab="SGS Shanghai", report_number=report_number, tested_at=tested_at or days_ago(10))
    if verdict is None:
        evaluation = service.evaluate(parameter, category or batch.style, value)
        result = service.result_from(
            evaluation, batch=batch, lot=masterdata.get_lot(lot) if lot else None, report=origin, actor=recorder
        )
    else:
        result = LabResult(
            batch=batch,
            lot=masterdata.get_lot(lot) if lot else None,
            parameter=parameter,
            value=value,
            verdict=verdict,
            category=category or batch.style.category,
            unit=parameter.unit,
            explanation=na_reason or f"{verdict} as given",
            lab=origin.lab,
            report_number=report_number,
            tested_at=origin.tested_at,
            recorded_by=recorder,
        )
    result.colourway = colourway
    result.component = component
    result.na_reason = na_reason
    with unit_of_work() as session:
        session.add(result)
    return result.id


def required_codes(style_code: str) -> list[str]:
    required, _added, _dropped = service.plan_parameters(masterdata.get_style(style_code))
    return [parameter.code for parameter in required]


def pass_everything(batch_number: str, style_code: str, **where) -> None:
    for code in required_codes(style_code):
        add_result(batch_number, code, "ok", verdict=Outcome.PASS, **where)


def statuses(answer: dict) -> dict[str, str]:
    return {entry["code"]: entry["status"] for entry in answer["parameters"]}


def colourway(answer: dict, name: str) -> dict[str, dict]:
    """The rows of one colourway in a coverage answer, by parameter code."""
    [found] = [entry for entry in answer["colourways"] if entry["colourway"] == name]
    return {row["code"]: row for row in found["parameters"]}


@contextmanager
def counting_statements():
    """Count the SQL statements sent inside the block: ``with counting_statements() as count: …; count[0]``."""
    count = [0]

    def seen(*_args):
        count[0] += 1

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield count
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


@pytest.fixture
def qm(api):
    return api("quality_manager")


@pytest.fixture
def plant(app):
    """A category A style requiring CMIA; batch B-1 in navy and red from dye lots DL-N and DL-R, with fabric F-1
    and snaps SN-1; batch B-2 listing no colourways; a category B style's batch T-1."""
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "DYE-01", "name": "Sunrise Dye House"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "TRIM-OK", "name": "Approved trims"}))
    masterdata.create_style(
        parse(NewStyle, {"code": "RMP-A", "name": "Infant romper", "category": "A", "cmia_required": True})
    )
    masterdata.create_style(
        parse(NewStyle, {"code": "TEE-B", "name": "Kids tee", "category": "B", "cmia_required": True})
    )
    lots = [
        {"number": "DL-N", "kind": "dye_lot", "supplier": "DYE-01"},
        {"number": "DL-R", "kind": "dye_lot", "supplier": "DYE-01"},
        {"number": "F-1", "kind": "fabric", "supplier": "DYE-01"},
        {"number": "SN-1", "kind": "trim", "supplier": "TRIM-OK"},
    ]
    masterdata.create_batch(
        parse(
            NewBatch,
            {"number": "B-1", "style": "RMP-A", "line": "L1", "lots": lots, "colourways": ["navy", "red"]},
        )
    )
    masterdata.create_batch(parse(NewBatch, {"number": "B-2", "style": "RMP-A", "line": "L1"}))
    masterdata.create_batch(parse(NewBatch, {"number": "T-1", "style": "TEE-B", "line": "L1"}))


# The case: the worst result governs -----------------------------------------------------------------


def test_a_failing_navy_lot_is_not_hidden_by_a_red_lot_passing_later(plant, qm):
    navy = add_result("B-1", "CN-FORM", "35", colourway="navy", lot="DL-N", tested_at=days_ago(20), report_number="N-7")
    add_result("B-1", "CN-FORM", "12", colourway="red", lot="DL-R", tested_at=days_ago(5), report_number="R-9")

    answer = qm.get("/api/v1/batches/B-1/coverage").json
    assert statuses(answer)["CN-FORM"] == "failed"
    assert "CN-FORM" in answer["failed"]
    assert "CN-FORM" not in answer["passed"]
    assert answer["releasable"] is False
    assert answer["complete"] is False
    assert [entry["colourway"] for entry in answer["colourways"]] == ["navy", "red"]
    failing = colourway(answer, "navy")["CN-FORM"]
    assert failing["status"] == "failed"
    assert (failing["governing"]["id"], failing["governing"]["value"]) == (navy, "35")
    assert (failing["governing"]["lot"], failing["governing"]["report_number"]) == ("DL-N", "N-7")
    assert colourway(answer, "red")["CN-FORM"]["status"] == "passed"
    overall = next(entry for entry in answer["parameters"] if entry["code"] == "CN-FORM")
    assert overall["latest"]["id"] == navy


def test_a_failure_is_cleared_only_by_a_later_result_of_the_same_colourway_and_lot(plant):
    add_result("B-1", "CN-FORM", "35", colourway="navy", lot="DL-N", tested_at=days_ago(30))
    # A later pass of the navy garment without a lot, and of the red lot: neither clears the navy lot.
    add_result("B-1", "CN-FORM", "10", colourway="navy", tested_at=days_ago(20))
    add_result("B-1", "CN-FORM", "10", colourway="red", lot="DL-R", tested_at=days_ago(20))
    found = service.coverage_for(masterdata.get_batch("B-1"))
    by_colourway = {cw.colourway: {row.parameter.code: row for row in cw.parameters} for cw in found.colourways}
    assert by_colourway["navy"]["CN-FORM"].status == "failed"
    assert [r.lot.number if r.lot else None for r in by_colourway["navy"]["CN-FORM"].failures] == ["DL-N"]

    # The navy lot retested later and passing clears it; an earlier retest would not have.
    add_result("B-1", "CN-FORM", "8", colourway="navy", lot="DL-N", tested_at=days_ago(40))
    assert service.coverage_for(masterdata.get_batch("B-1")).codes("failed") == ["CN-FORM"]
    add_result("B-1", "CN-FORM", "8", colourway="navy", lot="DL-N", tested_at=days_ago(10))
    found = service.coverage_for(masterdata.get_batch("B-1"))
    assert "CN-FORM" in found.codes("passed")


def test_a_result_naming_no_colourway_counts_for_every_colourway(plant):
    add_result("B-1", "CN-FORM", "35", tested_at=days_ago(10))
    found = service.coverage_for(masterdata.get_batch("B-1"))
    rows = {cw.colourway: next(r for r in cw.parameters if r.parameter.code == "CN-FORM") for cw in found.colourways}
    assert {name: row.status for name, row in rows.items()} == {"navy": "failed", "red": "failed"}
    # A later navy pass clears navy only.
    add_result("B-1", "CN-FORM", "10", colourway="navy", tested_at=days_ago(2))
    found = service.coverage_for(masterdata.get_batch("B-1"))
    rows = {cw.colourway: next(r for r in cw.parameters if r.parameter.code == "CN-FORM") for cw in found.colourways}
    assert {name: row.status for name, row in rows.items()} == {"navy": "passed", "red": "failed"}


def test_a_batch_listing_no_colourways_takes_those_its_results_name_or_one_unnamed(plant, qm):
    answer = qm.get("/api/v1/batches/B-2/coverage").json
    assert [entry["colourway"] for entry in answer["colourways"]] == [""]
    add_result("B-2", "CN-FORM", "12", colourway="Sky")
    add_result("B-2", "CN-FORM", "12", colourway="sky ")
    add_result("B-2", "CN-FORM", "40", colourway="Pink")
    answer = qm.get("/api/v1/batches/B-2/coverage").json
    # "Sky" and "sky " are one colourway, named as its latest result names it.
    assert [entry["colourway"] for entry in answer["colourways"]] == ["Pink", "sky"]
    assert colourway(answer, "Pink")["CN-FORM"]["status"] == "failed"
    assert colourway(answer, "sky")["CN-FORM"]["status"] == "passed"
    assert len(colourway(answer, "sky")["CN-FORM"]["results"]) == 2


def test_releasable_only_when_every_required_parameter_passed_for_every_colourway(plant, qm):
    pass_everything("B-1", "RMP-A", colourway="red")
    answer = qm.get("/api/v1/batches/B-1/coverage").json
    assert answer["releasable"] is False
    assert set(answer["missing"]) == set(required_codes("RMP-A"))  # navy lacks everything
    assert {row["status"] for row in colourway(answer, "red").values()} == {"passed"}

    pass_everything("B-1", "RMP-A", colourway="navy")
    answer = qm.get("/api/v1/batches/B-1/coverage").json
    assert (answer["releasable"], answer["complete"]) == (True, True)
    assert answer["failed"] == answer["missing"] == answer["expired"] == []
    assert sorted(answer["passed"]) == sorted(required_codes("RMP-A"))

    add_result("B-1", "CN-FORM", "35", colourway="navy", lot="DL-N", tested_at=days_ago(1))
    answer = qm.get("/api/v1/batches/B-1/coverage").json
    assert answer["releasable"] is False
    assert answer["failed"] == ["CN-FORM"]


def test_a_style_not_requiring_cmia_is_never_releasable_and_requires_nothing(plant, qm):
    masterdata.create_style(parse(NewStyle, {"code": "BIB-X", "name": "Plain bib", "category": "A"}))
    masterdata.create_batch(parse(NewBatch, {"number": "X-1", "style": "BIB-X", "line": "L1"}))
    answer = qm.get("/api/v1/batches/X-1/coverage").json
    assert answer["parameters"] == []
    assert answer["releasable"] is False
    assert answer["not_applicable"] == []


# What counts for the final garment test -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("component", "lot", "counts"),
    [
        ("whole_garment", None, True),
        ("print", None, True),
        ("trim", "SN-1", True),
        ("whole_garment", "DL-N", True),  # the garment, made from that dye lot
        ("fabric", None, False),
        ("fabric", "F-1", False),
        (None, None, True),  # entered before lab reports: the garment
        (None, "SN-1", True),  # entered before lab reports on a trim lot: the trim
        (None, "F-1", False),  # entered before lab reports on fabric: a lab dip
        (None, "DL-N", False),  # … on a dye lot: a lab dip
    ],
)
def test_only_results_on_the_finished_garment_count_for_the_final_test(plant, qm, component, lot, counts):
    add_result("B-2", "CN-FORM", "12", component=component, lot=lot)
    assert statuses(qm.get("/api/v1/batches/B-2/coverage").json)["CN-FORM"] == ("passed" if counts else "missing")


def test_a_failing_lab_dip_does_not_fail_the_final_test_either(plant):
    add_result("B-2", "CN-FORM", "35", component="fabric", lot="F-1")
    add_result("B-2", "CN-FORM", "35", component=None, lot="DL-N")
    found = service.coverage_for(masterdata.get_batch("B-2"))
    assert "CN-FORM" in found.codes("missing")


def test_a_result_judged_against_another_category_does_not_count(plant, qm):
    # 35 mg/kg passes category B's 75 but not category A's 20: judged for B, it says nothing about this style.
    add_result("B-2", "CN-FORM", "35", category="B")
    answer = qm.get("/api/v1/batches/B-2/coverage").json
    assert statuses(answer)["CN-FORM"] == "missing"
    assert colourway(answer, "")["CN-FORM"]["results"] == []
    add_result("B-2", "CN-FORM", "35")
    assert statuses(qm.get("/api/v1/batches/B-2/coverage").json)["CN-FORM"] == "failed"


# Expired results -----------------------------------------------------------------------------------------


def test_a_result_past_its_validity_is_a_retest_due_never_a_pass(plant, qm):
    old = add_result("B-2", "CN-FORM", "12", tested_at=days_ago(800))
    answer = qm.get("/api/v1/batches/B-2/coverage").json
    assert statuses(answer)["CN-FORM"] == "expired"
    assert "CN-FORM" in answer["expired"]
    assert "CN-FORM" not in answer["passed"]
    row = colourway(answer, "")["CN-FORM"]
    assert row["governing"]["id"] == old
    assert [(r["id"], r["current"]) for r in row["results"]] == [(old, False)]
    assert date.fromisoformat(row["results"][0]["valid_until"]) < plant_today()

    fresh = add_result("B-2", "CN-FORM", "12", tested_at=days_ago(3))
    row = colourway(qm.get("/api/v1/batches/B-2/coverage").json, "")["CN-FORM"]
    assert (row["status"], row["governing"]["id"]) == ("passed", fresh)
    assert [(r["id"], r["current"]) for r in row["results"]] == [(fresh, True), (old, False)]


def test_an_expired_failure_is_a_retest_due_too(plant):
    add_result("B-2", "CN-FORM", "35", tested_at=days_ago(800))
    assert "CN-FORM" in service.coverage_for(masterdata.get_batch("B-2")).codes("expired")


@pytest.fixture
def validity_of_three_years(app_config):
    app_config["CAPA_REPORT_VALIDITY_MONTHS"] = "chemical=36"


def test_the_validity_setting_decides_when_a_result_expires(validity_of_three_years, plant):
    add_result("B-2", "CN-FORM", "12", tested_at=days_ago(800))
    assert "CN-FORM" in service.coverage_for(masterdata.get_batch("B-2")).codes("passed")


# Not applicable ------------------------------------------------------------------------------------------


def test_parameters_marked_not_applicable_stand_apart_from_the_required_ones(plant, qm):
    style = masterdata.get_style("RMP-A")
    required, _added, _dropped = service.plan_parameters(style)
    droppable = next(
        parameter.code for parameter in required if not parameter.mandatory and parameter.code != "CN-FORM"
    )
    response = qm.post(
        "/api/v1/styles/RMP-A/plan", json={"parameter": droppable, "included": False, "reason": "No such part"}
    )
    assert response.status_code == 200, response.json
    answer = qm.get("/api/v1/batches/B-1/coverage").json
    assert droppable not in statuses(answer)
    assert droppable in answer["not_applicable"]
    assert droppable not in answer["missing"]


def test_a_not_applicable_result_of_a_parameter_the_plan_requires_does_not_count(plant, qm):
    # Recorded as N/A before the style or the catalog made the parameter apply: no result for it now.
    for code in required_codes("RMP-A"):
        if code != "CN-FORM":
            add_result("B-2", code, "ok", verdict=Outcome.PASS)
    add_result("B-2", "CN-FORM", "N/A", verdict=Outcome.NOT_APPLICABLE, na_reason="No resin finish")
    answer = qm.get("/api/v1/batches/B-2/coverage").json
    assert statuses(answer)["CN-FORM"] == "missing"
    assert "CN-FORM" not in answer["not_applicable"]
    assert answer["releasable"] is False
    add_result("B-2", "CN-FORM", "12")
    answer = qm.get("/api/v1/batches/B-2/coverage").json
    assert (statuses(answer)["CN-FORM"], answer["releasable"]) == ("passed", True)


def test_an_expired_newer_result_is_not_replaced_by_an_older_current_one(plant, qm, app):
    with app.app_context():
        app.config["CAPA_REPORT_VALIDITY_MONTHS"] = "chemical=1"
    today = plant_today()
    add_result("B-2", "CN-FORM", "10", tested_at=today - timedelta(days=20))
    add_result("B-2", "CN-FORM", "45", tested_at=today - timedelta(days=45))
    add_result("B-2", "CN-FORM", "12", tested_at=today - timedelta(days=40))
    # The latest result is current and passes: passed.
    assert statuses(qm.get("/api/v1/batches/B-2/coverage").json)["CN-FORM"] == "passed"
    add_result("B-2", "CN-FORM", "45", tested_at=today - timedelta(days=35), lot="DL-N")
    add_result("B-2", "CN-FORM", "9", tested_at=today - timedelta(days=25), lot="DL-N")
    add_result("B-2", "CN-FORM", "48", tested_at=today - timedelta(days=33), lot="DL-R")
    # Lot DL-R's latest result failed but expired; the lot is due for a retest, never passed by another lot.
    answer = qm.get("/api/v1/batches/B-2/coverage").json
    assert statuses(answer)["CN-FORM"] == "expired"
    assert answer["releasable"] is False


# The API's shape -----------------------------------------------------------------------------------------


def test_the_coverage_answer_keeps_its_fields_and_adds_the_colourways(plant, qm):
    result_id = add_result("B-1", "CN-FORM", "35", colourway="navy", lot="DL-N")
    answer = qm.get("/api/v1/batches/B-1/coverage").json
    assert set(answer) >= {
        "batch",
        "style",
        "category",
        "cmia_required",
        "complete",
        "parameters",
        "passed",
        "failed",
        "missing",
        "unapproved_lots",
        "expired",
        "not_applicable",
        "releasable",
        "colourways",
    }
    assert set(answer["parameters"][0]) == {"code", "name", "status", "latest"}
    row = colourway(answer, "navy")["CN-FORM"]
    assert set(row) == {"code", "name", "status", "governing", "results"}
    assert row["governing"]["raised_nc"] is None
    assert [r["id"] for r in row["results"]] == [result_id]
    assert row["results"][0]["current"] is True
    assert colourway(answer, "red")["CN-FORM"] == {
        "code": "CN-FORM",
        "name": row["name"],
        "status": "missing",
        "governing": None,
        "results": [],
    }
    listed = qm.get("/api/v1/batches/B-1/results").json["items"]
    assert [item["raised_nc"] for item in listed] == [None]


# A constant number of statements ----------------------------------------------------------------------------


def coverage_statements(client_api, number: str) -> int:
    client_api.get(f"/api/v1/batches/{number}/coverage")  # the token's first use of the day is written down
    db.session.remove()
    with counting_statements() as count:
        assert client_api.get(f"/api/v1/batches/{number}/coverage").status_code == 200
    return count[0]


def plan_statements(code: str) -> int:
    db.session.remove()
    with counting_statements() as count:
        plan = service.plan_for(masterdata.get_style(code))
        for found in plan.batches:
            for cw in found.colourways:
                for row in cw.parameters:
                    _ = [(r.parameter.code, r.lot, r.report, r.recorded_by.username, r.raised_nc) for r in row.results]
    return count[0]


def test_reading_coverage_takes_the_same_statements_however_many_results(plant, qm):
    add_result("B-1", "CN-FORM", "35", colourway="navy", lot="DL-N")
    few = coverage_statements(qm, "B-1")
    codes = required_codes("RMP-A")[:8]
    for index, code in enumerate(codes):
        for name, lot in (("navy", "DL-N"), ("red", "DL-R"), ("", "SN-1"), ("navy", None)):
            add_result("B-1", code, "ok", verdict=Outcome.FAIL if index % 2 else Outcome.PASS, colourway=name, lot=lot)
    many = coverage_statements(qm, "B-1")
    assert many == few


def test_a_plan_over_many_batches_takes_the_same_statements_as_over_one(plant):
    add_result("B-1", "CN-FORM", "35", colourway="navy", lot="DL-N")
    one = plan_statements("RMP-A")
    for number in range(3, 9):
        masterdata.create_batch(
            parse(
                NewBatch,
                {
                    "number": f"B-{number}",
                    "style": "RMP-A",
                    "line": "L1",
                    "colourways": ["navy", "red", "sky"],
                    "lots": [{"number": f"DL-{number}", "kind": "dye_lot", "supplier": "DYE-01"}],
                },
            )
        )
        for code in required_codes("RMP-A")[:4]:
            add_result(f"B-{number}", code, "ok", verdict=Outcome.PASS, colourway="sky", lot=f"DL-{number}")
    assert plan_statements("RMP-A") == one


# The batch page ------------------------------------------------------------------------------------------


def test_the_batch_page_shows_each_colourway_s_failing_missing_expired_and_not_applicable_rows_apart(
    plant, qm, client, auth
):
    add_result("B-1", "CN-FORM", "35", colourway="navy", lot="DL-N", tested_at=days_ago(20), report_number="N-7")
    add_result("B-1", "CN-FORM", "12", colourway="red", lot="DL-R", tested_at=days_ago(5))
    add_result("B-1", "CN-PH", "6.5", tested_at=days_ago(900))
    auth.as_role("supervisor")
    response = client.get("/batches/B-1")
    assert response.status_code == 200
    body = text(response.text)
    assert "CMIA coverage" in body
    assert "Not releasable for CMIA:" in body
    assert "Colourway navy" in body
    assert "Colourway red" in body
    assert "Failed (1)" in body
    assert "Governing result:" in body
    assert "lot DL-N" in body
    assert "report N-7" in body
    assert "35 mg/kg exceeds the category A limit of 20 mg/kg" in body
    assert "Retest due (1)" in body
    assert "Missing (" in body
    assert "Raise an NC" in body
    # A supervisor raises; holding is the quality manager's decision.
    assert "on hold" not in body.replace("A quality manager decides what goes on hold.", "")
    assert "A quality manager decides what goes on hold." in body
    assert body.count("CMIA coverage") == 1


def test_a_quality_manager_is_offered_to_hold_the_batch_or_the_failing_lot(plant, client, auth):
    add_result("B-1", "CN-FORM", "35", colourway="navy", lot="DL-N")
    add_result("B-2", "CN-FORM", "35")
    auth.as_role("quality_manager")
    body = text(client.get("/batches/B-1").text)
    assert "Put batch B-1 on hold" in body
    assert "Put lot DL-N on hold" in body
    body = text(client.get("/batches/B-2").text)
    assert "Put batch B-2 on hold" in body
    assert "Put lot" not in body


def test_the_batch_page_states_plainly_when_the_batch_is_releasable(plant, client, auth):
    pass_everything("B-1", "RMP-A")
    auth.as_role("supervisor")
    body = text(client.get("/batches/B-1").text)
    assert "Releasable for CMIA: every required parameter passed for every colourway." in body
    assert "Not releasable" not in body
    assert "Passed (" in body


def test_the_batch_page_lists_parameters_marked_not_applicable(plant, qm, client, auth):
    style = masterdata.get_style("RMP-A")
    required, _added, _dropped = service.plan_parameters(style)
    droppable = next(parameter.code for parameter in required if not parameter.mandatory)
    qm.post("/api/v1/styles/RMP-A/plan", json={"parameter": droppable, "included": False, "reason": "No such part"})
    auth.as_role("supervisor")
    body = text(client.get("/batches/B-2").text)
    assert "Not applicable (1)" in body
    assert f"{droppable}" in body
    assert "marked not applicable for this style by the quality manager." in body
