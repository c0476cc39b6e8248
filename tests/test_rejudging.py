"""Results judged again when the rule changes (capa/safety/rejudging.py): a style's category or attributes, a
limit corrected by a quality manager, or a newer shipped catalog.

Each change is recorded (who, when, old, new, why) and every result it concerns is judged again from the value
it keeps, its earlier verdict and limit kept in a ResultRejudgement naming the change. A result recorded N/A
is left alone; a change that does not touch what decides the judgements records nothing.
"""

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.common.types import utcnow
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle
from capa.masterdata.models import StyleChange
from capa.safety import rejudging, service
from capa.safety.catalog import CATALOG_PATH, CATALOG_UPDATE_REASON, load_catalog
from capa.safety.models import LabResult, LimitChange, ResultRejudgement

# Helpers -------------------------------------------------------------------------------------------------


@pytest.fixture
def qm_api(api):
    return api("quality_manager")


@pytest.fixture
def qm_name(qm_api) -> str:
    return qm_api.get("/api/v1/me").json["username"]


def make_style(code: str, category: str, **attributes) -> None:
    body = {"code": code, "name": f"Style {code}", "category": category, "cmia_required": True, **attributes}
    masterdata.create_style(parse(NewStyle, body))


def make_batch(number: str, style: str) -> None:
    masterdata.create_batch(parse(NewBatch, {"number": number, "style": style, "line": "L1"}))


@pytest.fixture
def world(app):
    """A line; a category B tee (batch B-1), a category A romper (batch A-1) and a second category A style
    (batch A-2)."""
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))
    make_style("TEE-1", "B")
    make_style("RMP-1", "A")
    make_style("RMP-2", "A")
    make_batch("B-1", "TEE-1")
    make_batch("A-1", "RMP-1")
    make_batch("A-2", "RMP-2")


def record(qm_api, batch: str, parameter: str, value, **extra) -> dict:
    body = {"parameter": parameter, "value": value, "lab": "SGS Shanghai", "report_number": "SH-1"}
    response = qm_api.post(
        f"/api/v1/batches/{batch}/results", json=body | {"tested_at": plant_today().isoformat(), **extra}
    )
    assert response.status_code == 201, response.json
    return response.json


def result_state(result_id: int) -> tuple:
    """(verdict, category, comparator, limit, explanation) of a stored result."""
    result = db.session.get(LabResult, result_id)
    return result.verdict, result.category, result.comparator, result.limit, result.explanation


def rejudgements() -> list[ResultRejudgement]:
    return list(db.session.scalars(select(ResultRejudgement).order_by(ResultRejudgement.id)))


def style_changes() -> list[StyleChange]:
    """The changes recorded for styles since they were created."""
    return list(db.session.scalars(select(StyleChange).where(StyleChange.field != "created").order_by(StyleChange.id)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# A style's category --------------------------------------------------------------------------------------


def test_a_style_moved_from_b_to_a_has_its_formaldehyde_result_judged_again(world, qm_api, qm_name):
    result = record(qm_api, "B-1", "CN-FORM", 35)
    assert (result["verdict"], result["category"], result["limit"]) == ("pass", "B", "75")

    response = qm_api.patch("/api/v1/styles/TEE-1", json={"category": "A", "reason": "Now sold as baby wear"})

    assert response.status_code == 200, response.json
    assert response.json["category"] == "A"
    assert result_state(result["id"]) == ("fail", "A", "max", "20", "35 mg/kg exceeds the category A limit of 20 mg/kg")

    (change,) = style_changes()
    assert (change.style.code, change.field, change.old, change.new, change.reason) == (
        "TEE-1",
        "category",
        "B",
        "A",
        "Now sold as baby wear",
    )
    assert change.changed_by.username == qm_name
    assert abs(change.changed_at - utcnow()) < timedelta(minutes=5)

    (entry,) = rejudgements()
    assert entry.result.id == result["id"]
    assert (entry.cause, entry.style_change, entry.limit_change) == ("style", change, None)
    assert (entry.old_verdict, entry.new_verdict) == ("pass", "fail")
    assert (entry.old_category, entry.new_category) == ("B", "A")
    assert (entry.old_limit, entry.new_limit) == ("max 75", "max 20")
    assert (entry.reason, entry.changed_by.username) == ("Now sold as baby wear", qm_name)
    assert rejudging.rejudged_by(change) == [entry]
    assert entry.changed_at is not None


def test_only_the_results_of_the_changed_style_are_judged_again(world, qm_api):
    on_tee = record(qm_api, "B-1", "CN-FORM", 35)
    on_romper = record(qm_api, "A-1", "CN-FORM", 35)
    qm_api.patch("/api/v1/styles/TEE-1", json={"category": "A", "reason": "Baby wear"})
    assert [entry.result.id for entry in rejudgements()] == [on_tee["id"]]
    assert result_state(on_romper["id"])[0] == "fail"


def test_a_result_whose_verdict_stays_is_judged_again_when_its_limit_changes(world, qm_api):
    result = record(qm_api, "B-1", "CN-FORM", 12)
    qm_api.patch("/api/v1/styles/TEE-1", json={"category": "A", "reason": "Baby wear"})
    (entry,) = rejudgements()
    assert (entry.old_verdict, entry.new_verdict, entry.old_limit, entry.new_limit) == (
        "pass",
        "pass",
        "max 75",
        "max 20",
    )
    assert result_state(result["id"])[:4] == ("pass", "A", "max", "20")


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_category_change_without_a_reason_is_400_naming_reason_and_changes_nothing(world, qm_api, reason):
    result = record(qm_api, "B-1", "CN-FORM", 35)
    body = {"category": "A"} if reason is None else {"category": "A", "reason": reason}

    response = qm_api.patch("/api/v1/styles/TEE-1", json=body)

    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid"
    assert "reason" in response.json["error"]["fields"]
    assert qm_api.get("/api/v1/styles/TEE-1").json["category"] == "B"
    assert result_state(result["id"])[:4] == ("pass", "B", "max", "75")
    assert style_changes() == []
    assert rejudgements() == []


def test_a_change_that_does_not_touch_the_judging_fields_needs_no_reason_and_judges_nothing_again(world, qm_api):
    result = record(qm_api, "B-1", "CN-FORM", 35)

    response = qm_api.patch("/api/v1/styles/TEE-1", json={"name": "Kids tee, new print", "cmia_required": False})

    assert response.status_code == 200, response.json
    assert (response.json["name"], response.json["cmia_required"]) == ("Kids tee, new print", False)
    recorded = [("cmia_required", "yes", "no", ""), ("name", "Style TEE-1", "Kids tee, new print", "")]
    assert sorted((change.field, change.old, change.new, change.reason) for change in style_changes()) == recorded
    assert rejudgements() == []
    assert result_state(result["id"])[:4] == ("pass", "B", "max", "75")
    # Giving the value a judging field already has changes nothing.
    assert qm_api.patch("/api/v1/styles/TEE-1", json={"category": "B", "markets": ["CN"]}).status_code == 200
    assert len(style_changes()) == len(recorded)


# A style's attributes ------------------------------------------------------------------------------------


def test_marking_a_style_as_a_dark_shade_judges_its_wet_rubbing_result_again(world, qm_api, qm_name):
    result = record(qm_api, "A-1", "CN-CF-RUBWET", "2-3")
    assert (result["verdict"], result["limit"]) == ("fail", "3")

    response = qm_api.patch("/api/v1/styles/RMP-1", json={"dark_shade": True, "reason": "Navy is a dark shade"})

    assert response.status_code == 200, response.json
    assert response.json["dark_shade"] is True
    assert result_state(result["id"])[:4] == ("pass", "A", "grade_min", "2-3")
    (change,) = style_changes()
    assert (change.field, change.old, change.new, change.reason, change.changed_by.username) == (
        "dark_shade",
        "no",
        "yes",
        "Navy is a dark shade",
        qm_name,
    )
    (entry,) = rejudgements()
    assert (entry.cause, entry.style_change, entry.old_verdict, entry.new_verdict) == ("style", change, "fail", "pass")
    assert (entry.old_category, entry.new_category, entry.old_limit, entry.new_limit) == (
        "A",
        "A",
        "grade_min 3",
        "grade_min 2-3",
    )


def test_an_attribute_change_without_a_reason_is_refused(world, qm_api):
    result = record(qm_api, "A-1", "CN-CF-RUBWET", "2-3")
    response = qm_api.patch("/api/v1/styles/RMP-1", json={"dark_shade": True})
    assert response.status_code == 400
    assert "reason" in response.json["error"]["fields"]
    assert qm_api.get("/api/v1/styles/RMP-1").json["dark_shade"] is False
    assert result_state(result["id"])[0] == "fail"
    assert style_changes() == rejudgements() == []


def test_each_judging_field_changed_is_recorded(world, qm_api):
    response = qm_api.patch(
        "/api/v1/styles/RMP-1",
        json={"prints": True, "markets": ["EU", "CN"], "age_group": "infant", "reason": "New tech pack"},
    )
    assert response.status_code == 200, response.json
    assert sorted((change.field, change.old, change.new) for change in style_changes()) == [
        ("age_group", "", "infant"),
        ("markets", "CN", "CN, EU"),
        ("prints", "no", "yes"),
    ]
    assert {change.reason for change in style_changes()} == {"New tech pack"}


# A limit corrected ---------------------------------------------------------------------------------------


def test_a_limit_correction_judges_the_results_again_and_links_them_to_the_limit_change(world, qm_api, qm_name):
    on_a = record(qm_api, "A-1", "CN-FORM", 18)
    on_a2 = record(qm_api, "A-2", "CN-FORM", 10)
    on_b = record(qm_api, "B-1", "CN-FORM", 18)

    response = qm_api.put(
        "/api/v1/parameters/CN-FORM/limits/A",
        json={"comparator": "max", "limit": "16", "reason": "Buyer protocol asks for 16"},
    )

    assert response.status_code == 200, response.json
    assert result_state(on_a["id"]) == ("fail", "A", "max", "16", "18 mg/kg exceeds the category A limit of 16 mg/kg")
    assert result_state(on_a2["id"])[:4] == ("pass", "A", "max", "16")
    assert result_state(on_b["id"])[:4] == ("pass", "B", "max", "75")  # another category: untouched

    change = service.get_parameter("CN-FORM").changes[0]
    assert (change.category, change.old_limit, change.new_limit, change.changed_by.username) == (
        "A",
        "20",
        "16",
        qm_name,
    )
    entries = rejudging.rejudged_by(change)
    assert [entry.result.id for entry in entries] == [on_a["id"], on_a2["id"]]
    first = entries[0]
    assert (first.cause, first.limit_change, first.style_change) == ("limit", change, None)
    assert (first.old_verdict, first.new_verdict, first.old_limit, first.new_limit) == (
        "pass",
        "fail",
        "max 20",
        "max 16",
    )
    assert (first.reason, first.changed_by.username) == ("Buyer protocol asks for 16", qm_name)
    assert (entries[1].old_verdict, entries[1].new_verdict) == ("pass", "pass")


def test_a_limit_correction_without_a_reason_changes_nothing(world, qm_api):
    result = record(qm_api, "A-1", "CN-FORM", 18)
    response = qm_api.put("/api/v1/parameters/CN-FORM/limits/A", json={"comparator": "max", "limit": "16"})
    assert response.status_code == 400
    assert "reason" in response.json["error"]["fields"]
    assert result_state(result["id"])[:4] == ("pass", "A", "max", "20")
    assert count(LimitChange) == 0
    assert rejudgements() == []


def test_a_correction_of_the_dark_shade_limit_judges_only_the_dark_shade_styles_again(world, qm_api):
    masterdata.create_style(
        parse(NewStyle, {"code": "RMP-D", "name": "Navy romper", "category": "A", "dark_shade": True})
    )
    make_batch("D-1", "RMP-D")
    dark = record(qm_api, "D-1", "CN-CF-RUBWET", "2-3")
    light = record(qm_api, "A-1", "CN-CF-RUBWET", "3")
    assert (dark["verdict"], dark["limit"], light["limit"]) == ("pass", "2-3", "3")

    response = qm_api.put(
        "/api/v1/parameters/CN-CF-RUBWET/limits/A",
        json={"comparator": "grade_min", "limit": "3", "condition": "dark_shade", "reason": "Buyer protocol"},
    )

    assert response.status_code == 200, response.json
    assert result_state(dark["id"])[:4] == ("fail", "A", "grade_min", "3")
    assert result_state(light["id"])[:4] == ("pass", "A", "grade_min", "3")
    assert [entry.result.id for entry in rejudgements()] == [dark["id"]]


# Results recorded N/A ------------------------------------------------------------------------------------


def test_a_result_recorded_n_a_is_left_alone(world, qm_api):
    na = record(qm_api, "A-1", "CN-PB", "N/A", na_reason="No prints or coatings")
    assert (na["verdict"], na["value"]) == ("not_applicable", "N/A")

    assert qm_api.patch("/api/v1/styles/RMP-1", json={"prints": True, "reason": "Print added"}).status_code == 200
    put = qm_api.put(
        "/api/v1/parameters/CN-PB/limits/A", json={"comparator": "max", "limit": "80", "reason": "Buyer protocol"}
    )
    assert put.status_code == 200, put.json

    assert result_state(na["id"])[0] == "not_applicable"
    assert rejudgements() == []
    assert len(style_changes()) == 1


# A newer shipped catalog ---------------------------------------------------------------------------------


def newer_catalog(folder: Path, code: str, category: str, **changes: str) -> Path:
    """A copy of the shipped catalog with the plain row of ``code`` for ``category`` changed."""
    with CATALOG_PATH.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        columns = reader.fieldnames
    matched = [row for row in rows if (row["code"], row["category"], row["condition"]) == (code, category, "")]
    assert len(matched) == 1
    matched[0].update(changes)
    path = folder / "cmia_parameters.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_newer_catalog_correcting_a_limit_judges_the_results_again_and_records_its_change(world, qm_api, tmp_path):
    on_a = record(qm_api, "A-1", "CN-FORM", 18)
    on_b = record(qm_api, "B-1", "CN-FORM", 18)

    report = load_catalog(newer_catalog(tmp_path, "CN-FORM", "A", limit="16"))

    assert report.limits_updated == 1
    assert result_state(on_a["id"])[:4] == ("fail", "A", "max", "16")
    assert result_state(on_b["id"])[:4] == ("pass", "B", "max", "75")
    change = service.get_parameter("CN-FORM").changes[0]
    assert (change.category, change.old_limit, change.new_limit, change.reason, change.changed_by) == (
        "A",
        "20",
        "16",
        CATALOG_UPDATE_REASON,
        None,
    )
    (entry,) = rejudgements()
    assert entry.result.id == on_a["id"]
    assert (entry.cause, entry.limit_change, entry.reason, entry.changed_by) == (
        "catalog",
        change,
        CATALOG_UPDATE_REASON,
        None,
    )
    assert (entry.old_verdict, entry.new_verdict, entry.old_limit, entry.new_limit) == (
        "pass",
        "fail",
        "max 20",
        "max 16",
    )
    assert rejudging.rejudged_by(change) == [entry]
    # The same file again changes nothing more.
    load_catalog(newer_catalog(tmp_path, "CN-FORM", "A", limit="16"))
    assert len(rejudgements()) == 1


def test_a_newer_catalog_leaves_a_result_recorded_n_a_alone(world, qm_api, tmp_path):
    na = record(qm_api, "A-1", "CN-PB", "N/A", na_reason="No prints or coatings")
    load_catalog(newer_catalog(tmp_path, "CN-PB", "A", limit="80"))
    assert result_state(na["id"])[0] == "not_applicable"
    assert rejudgements() == []


def test_a_not_detected_result_the_corrected_limit_cannot_decide_is_recorded_as_failing(world, qm_api):
    # ND with the method's reporting limit of 20 shows compliance with 20, not with 16: it must be tested again.
    nd = record(qm_api, "A-1", "CN-FORM", "ND")
    assert result_state(nd["id"])[:4] == ("pass", "A", "max", "20")
    response = qm_api.put(
        "/api/v1/parameters/CN-FORM/limits/A",
        json={"comparator": "max", "limit": "16", "reason": "Buyer protocol asks for 16"},
    )
    assert response.status_code == 200, response.json
    verdict, category, comparator, limit, explanation = result_state(nd["id"])
    assert (verdict, category, comparator, limit) == ("fail", "A", "max", "16")
    assert "ask for a lower reporting limit" in explanation
    (entry,) = rejudgements()
    assert (entry.old_verdict, entry.new_verdict, entry.old_limit, entry.new_limit) == (
        "pass",
        "fail",
        "max 20",
        "max 16",
    )
    coverage = qm_api.get("/api/v1/batches/A-1/coverage").json
    assert "CN-FORM" in coverage["failed"]
    # Judged again under a rule that changes nothing for it: no second entry.
    qm_api.put(
        "/api/v1/parameters/CN-FORM/limits/B",
        json={"comparator": "max", "limit": "70", "reason": "Buyer protocol"},
    )
    assert count(ResultRejudgement) == 1


def test_a_measured_value_with_a_not_applicable_reason_is_refused(world, qm_api):
    body = {"parameter": "CN-CF-RUBDRY", "value": "4", "na_reason": "No dye", "lab": "SGS", "report_number": "X-1"}
    response = qm_api.post("/api/v1/batches/A-1/results", json=body | {"tested_at": plant_today().isoformat()})
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"na_reason"}
    assert count(LabResult) == 0


def test_an_unreadable_reporting_limit_is_named_as_such(world, qm_api):
    body = {"parameter": "CN-FORM", "value": "ND", "reporting_limit": "abc", "lab": "SGS", "report_number": "X-1"}
    response = qm_api.post("/api/v1/batches/A-1/results", json=body | {"tested_at": plant_today().isoformat()})
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"reporting_limit"}


def test_an_open_capa_whose_linked_result_now_fails_is_flagged_on_its_page_and_in_the_api(world, qm_api, client, auth):
    failing = qm_api.post(
        "/api/v1/batches/A-1/results",
        json={
            "parameter": "CN-FORM",
            "value": 35,
            "lab": "SGS",
            "report_number": "R-1",
            "tested_at": plant_today().isoformat(),
        },
    ).json
    nc = qm_api.post(f"/api/v1/results/{failing['id']}/raise-nc", json={}).json["number"]
    retest = qm_api.post(
        f"/api/v1/nonconformances/{nc}/tests",
        json={"parameter": "CN-FORM", "value": 18, "lab": "SGS", "report_number": "R-2"},
    )
    assert retest.status_code == 201, retest.json
    assert qm_api.get(f"/api/v1/nonconformances/{nc}").json["rejudged_failures"] == []

    qm_api.put(
        "/api/v1/parameters/CN-FORM/limits/A",
        json={"comparator": "max", "limit": "16", "reason": "Buyer protocol asks for 16"},
    )
    (flag,) = qm_api.get(f"/api/v1/nonconformances/{nc}").json["rejudged_failures"]
    assert (flag["parameter"], flag["value"], flag["old_verdict"], flag["new_verdict"]) == (
        "CN-FORM",
        "18",
        "pass",
        "fail",
    )
    assert (flag["old_limit"], flag["new_limit"], flag["cause"]) == ("max 20", "max 16", "limit")
    assert flag["reason"] == "Buyer protocol asks for 16"
    auth.as_role("quality_manager")
    page = client.get(f"/nc/{nc}").text
    assert "A linked result fails under a changed rule" in page
