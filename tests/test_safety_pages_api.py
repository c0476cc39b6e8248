"""The safety-parameter catalog through the API and the pages: judging a value, listing and filtering the
catalog, correcting a limit with its history, adding a parameter, and recording results against a batch.

Expectations about the shipped catalog are read from the CSV with the csv module; what was stored is read
back through the services in an app context of its own, so a refused request cannot pass for a stored one.
"""

import csv
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from capa.accounts import service as accounts
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.common.types import utcnow
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from capa.safety import service
from capa.safety.models import ResultRejudgement
from tests.conftest import ApiClient, new_user
from tests.pages import (
    cells,
    elements,
    errors_in,
    field_block,
    fields_with_errors,
    input_value,
    links,
    logged_in,
    one,
    options,
    parsed,
    row_linking,
    selected_value,
    selected_values,
    table_rows,
    text,
    title_of,
    under_heading,
)

CATALOG = Path(__file__).resolve().parent.parent / "capa" / "reference" / "cmia_parameters.csv"
EVALUATION_KEYS = {"verdict", "parameter", "category", "comparator", "limit", "unit", "explanation"}
PARAMETER_KEYS = {
    "code",
    "name",
    "name_zh",
    "kind",
    "unit",
    "standard",
    "clause",
    "test_method",
    "limits",
    "market",
    "applies_when",
    "mandatory",
    "reporting_limit",
    "retired",
}

# Helpers -------------------------------------------------------------------------------------------------


def catalog_rows() -> list[dict[str, str]]:
    with CATALOG.open(newline="", encoding="utf-8") as handle:
        return [{key: (value or "").strip() for key, value in row.items()} for row in csv.DictReader(handle)]


def catalog_codes(**where: str) -> list[str]:
    """Codes of the CSV rows matching ``where`` (``kind``, ``standard``); ``category`` matches a row for that
    category or for all."""
    category = where.pop("category", None)
    return sorted(
        {
            row["code"]
            for row in catalog_rows()
            if all(row[key] == value for key, value in where.items())
            and (category is None or row["category"] in (category, "all"))
        }
    )


def codes_for(**where: str) -> list[str]:
    """Codes of parameters that satisfy ``where`` on some of their rows (kind and standard are per code)."""
    rows = catalog_rows()
    category = where.pop("category", None)
    matching = {row["code"] for row in rows if all(row[key] == value for key, value in where.items())}
    if category is not None:
        matching &= {row["code"] for row in rows if row["category"] in (category, "all")}
    return sorted(matching)


def derived_codes(category: str) -> list[str]:
    """The codes a CMIA style's plan derives for a garment sold in China with no attributes given (no prints,
    trims, cords or fill): the CN rows for ``category`` or for all that apply whatever the garment."""
    return sorted(
        {
            row["code"]
            for row in catalog_rows()
            if row["market"] == "CN" and not row["applies_when"] and row["category"] in (category, "all")
        }
    )


def stored_limits(app) -> dict[tuple[str, str], tuple[str, str]]:
    with app.app_context():
        return {
            (parameter.code, limit.category): (limit.comparator, limit.limit)
            for parameter in service.list_parameters()
            for limit in parameter.limits
        }


def stored_changes(app, code: str) -> list[tuple]:
    with app.app_context():
        return [
            (
                change.category,
                (change.old_comparator, change.old_limit),
                (change.new_comparator, change.new_limit),
                change.reason,
                change.changed_by.username if change.changed_by else None,
            )
            for change in service.get_parameter(code).changes
        ]


def stored_codes(app) -> list[str]:
    with app.app_context():
        return [parameter.code for parameter in service.list_parameters()]


def stored_results(app, number: str) -> list[tuple]:
    with app.app_context():
        return [
            (r.parameter.code, r.value, r.verdict, r.limit, r.lot.number if r.lot else None, r.tested_at.isoformat())
            for r in service.results_for_batch(masterdata.get_batch(number))
        ]


def listed_codes(html: str) -> list[str]:
    """The parameter codes the catalog page lists, in order."""
    return [
        anchor.attributes["href"].removeprefix("/parameters/")
        for anchor in parsed(html).css('td > a[href^="/parameters/"]')
    ]


def catalog_row(html: str, code: str) -> dict[str, str]:
    """The A, B and C cells of one parameter's row on the catalog page, as text."""
    row = row_linking(html, f"/parameters/{code}")
    return {cell.attributes["data-label"]: text(cell) for cell in row.css("td.limit[data-label]")}


def limit_change(reason: str = "Buyer protocol RSL 2024 asks for less", **body) -> dict:
    return {"comparator": "max", "limit": "16", "reason": reason, **body}


@pytest.fixture(scope="module")
def catalog_reader(module_app) -> SimpleNamespace:
    """A supervisor on the module's own database, which holds the shipped catalog: ``.api`` (their API client)
    and ``.browser`` (logged in), for the tests that only read the catalog or judge a value against it."""
    with module_app.app_context():
        supervisor = new_user("supervisor", "catalog.reader")
        api = ApiClient(module_app.test_client(), accounts.create_token(supervisor))
        browser = logged_in(module_app, supervisor)
    return SimpleNamespace(api=api, browser=browser)


@pytest.fixture(scope="module")
def supervisor_api(catalog_reader) -> ApiClient:
    return catalog_reader.api


@pytest.fixture(scope="module")
def supervisor_browser(catalog_reader):
    return catalog_reader.browser


@pytest.fixture
def qm(api):
    return api("quality_manager")


@pytest.fixture
def qm_name(qm) -> str:
    return qm.get("/api/v1/me").json["username"]


@pytest.fixture
def world(app):
    """Batch A-1 (fabric lot F-1) of the category A style RMP-A that requires CMIA, batch B-1 of a
    category B style, and a category C style that does not require CMIA."""
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "FAB-01", "name": "Fabric mill"}))
    masterdata.create_style(
        parse(NewStyle, {"code": "RMP-A", "name": "Infant romper", "category": "A", "cmia_required": True})
    )
    masterdata.create_style(
        parse(NewStyle, {"code": "TEE-B", "name": "Kids tee", "category": "B", "cmia_required": True})
    )
    masterdata.create_style(parse(NewStyle, {"code": "JKT-C", "name": "Jacket", "category": "C"}))
    masterdata.create_batch(
        parse(
            NewBatch,
            {
                "number": "A-1",
                "style": "RMP-A",
                "line": "L1",
                "lots": [{"number": "F-1", "kind": "fabric", "supplier": "FAB-01"}],
            },
        )
    )
    masterdata.create_batch(parse(NewBatch, {"number": "B-1", "style": "TEE-B", "line": "L1"}))
    masterdata.create_batch(parse(NewBatch, {"number": "C-1", "style": "JKT-C", "line": "L1"}))


def result(parameter: str, value, **extra) -> dict:
    return {
        "parameter": parameter,
        "value": value,
        "lab": "SGS Shanghai",
        "report_number": "SH-24-001",
        "tested_at": "2024-03-01",
        **extra,
    }


# POST /api/v1/evaluate -----------------------------------------------------------------------------------


def test_evaluate_judges_formaldehyde_35_on_category_a_as_a_fail_and_says_why(supervisor_api):
    response = supervisor_api.post("/api/v1/evaluate", json={"parameter": "CN-FORM", "category": "A", "value": 35})
    assert response.status_code == 200
    body = response.json
    assert set(body) >= EVALUATION_KEYS
    assert {key: body[key] for key in EVALUATION_KEYS} == {
        "verdict": "fail",
        "parameter": "CN-FORM",
        "category": "A",
        "comparator": "max",
        "limit": "20",
        "unit": "mg/kg",
        "explanation": "35 mg/kg exceeds the category A limit of 20 mg/kg",
    }


@pytest.mark.parametrize(
    ("body", "verdict", "limit"),
    [
        ({"parameter": "cn-form", "category": "B", "value": "35"}, "pass", "75"),
        ({"parameter": "CN-FORM", "category": "A", "value": 20}, "pass", "20"),
        ({"parameter": "CN-FORM", "category": "A", "value": 20.01}, "fail", "20"),
        ({"parameter": "CN-PH", "category": "B", "value": 8.0}, "pass", "4.0..8.5"),
        ({"parameter": "CN-PH", "category": "A", "value": "8.0"}, "fail", "4.0..7.5"),
        ({"parameter": "CN-CF-SALIVA", "category": "A", "value": "3-4"}, "fail", "4"),
        ({"parameter": "CN-CF-SALIVA", "category": "A", "value": "4"}, "pass", "4"),
        ({"parameter": "CN-CORD-HOOD-U7", "category": "C", "value": "none"}, "pass", "no cords of any kind"),
        ({"parameter": "CN-CORD-HOOD-U7", "category": "A", "value": "found"}, "fail", "no cords of any kind"),
    ],
)
def test_evaluate_judges_against_the_limit_of_the_category(supervisor_api, body, verdict, limit):
    response = supervisor_api.post("/api/v1/evaluate", json=body)
    assert response.status_code == 200
    assert (response.json["verdict"], response.json["limit"], response.json["category"]) == (
        verdict,
        limit,
        body["category"],
    )


def test_evaluate_says_not_applicable_where_the_category_has_no_limit(supervisor_api):
    response = supervisor_api.post(
        "/api/v1/evaluate", json={"parameter": "CN-CF-SALIVA", "category": "B", "value": "4"}
    )
    assert response.status_code == 200
    body = response.json
    assert body["verdict"] == "not_applicable"
    assert body["limit"] is None
    assert body["comparator"] is None
    assert (body["parameter"], body["category"], body["unit"]) == ("CN-CF-SALIVA", "B", "grade")
    assert "B" in body["explanation"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"parameter": "CN-NOPE", "category": "A", "value": 35}, "parameter"),
        ({"category": "A", "value": 35}, "parameter"),
        ({"parameter": "CN-FORM", "category": "D", "value": 35}, "category"),
        ({"parameter": "CN-FORM", "category": "all", "value": 35}, "category"),
        ({"parameter": "CN-FORM", "value": 35}, "category"),
        ({"parameter": "CN-FORM", "category": "A", "value": "abc"}, "value"),
        ({"parameter": "CN-FORM", "category": "A", "value": "3-4"}, "value"),
        ({"parameter": "CN-FORM", "category": "A", "value": -1}, "value"),
        ({"parameter": "CN-FORM", "category": "A"}, "value"),
        ({"parameter": "CN-PH", "category": "A", "value": 15}, "value"),
        ({"parameter": "CN-CF-SALIVA", "category": "A", "value": "6"}, "value"),
        ({"parameter": "CN-CF-SALIVA", "category": "B", "value": "abc"}, "value"),
    ],
)
def test_evaluate_refuses_what_it_cannot_judge_naming_the_field(supervisor_api, body, field):
    response = supervisor_api.post("/api/v1/evaluate", json=body)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid"
    assert field in response.json["error"]["fields"]


def test_evaluate_reads_json_numbers_exactly(supervisor_api):
    # The literal digits must reach the server: as a float, 20.000000000000001 would be 20.0 and pass.
    response = supervisor_api.post(
        "/api/v1/evaluate",
        data='{"parameter": "CN-FORM", "category": "A", "value": 20.000000000000001}',
        content_type="application/json",
    )
    assert response.status_code == 200
    assert (response.json["verdict"], response.json["value"]) == ("fail", "20.000000000000001")


def test_evaluate_passes_not_detected_with_a_reporting_limit_at_the_limit(supervisor_api):
    response = supervisor_api.post(
        "/api/v1/evaluate", json={"parameter": "CN-FORM", "category": "A", "value": "ND (<20)"}
    )
    assert response.status_code == 200
    assert (response.json["verdict"], response.json["value"]) == ("pass", "ND (<20)")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "ND (<50)",
            "The lab's reporting limit 50 mg/kg is above the limit 20 mg/kg: ask for a lower reporting limit.",
        ),
        ("20 ppm", "20 ppm is in ppm; this parameter is measured in mg/kg."),
    ],
)
def test_evaluate_refuses_a_result_it_cannot_decide_or_in_another_unit_naming_the_value(supervisor_api, value, message):
    response = supervisor_api.post("/api/v1/evaluate", json={"parameter": "CN-FORM", "category": "A", "value": value})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid"
    assert response.json["error"]["fields"] == {"value": message}


def test_evaluate_needs_a_token(api):
    response = api(None).post("/api/v1/evaluate", json={"parameter": "CN-FORM", "category": "A", "value": 35})
    assert response.status_code == 401


# GET /api/v1/parameters ----------------------------------------------------------------------------------


def test_parameters_lists_the_whole_catalog_in_the_contract_shape(supervisor_api):
    response = supervisor_api.get("/api/v1/parameters")
    assert response.status_code == 200
    items = response.json["items"]
    assert [item["code"] for item in items] == catalog_codes()
    for item in items:
        assert set(item) == PARAMETER_KEYS
        # Every shipped parameter carries its Chinese name from the standards.
        assert item["name_zh"], item["code"]
        assert item["limits"]
        for limit in item["limits"]:
            assert set(limit) == {"category", "condition", "comparator", "limit", "confirmed"}
    form = next(item for item in items if item["code"] == "CN-FORM")
    first = next(row for row in catalog_rows() if row["code"] == "CN-FORM")
    assert form == {
        "code": "CN-FORM",
        "name": "Formaldehyde content",
        "name_zh": "甲醛含量",
        "kind": "chemical",
        "unit": "mg/kg",
        "standard": "GB 18401-2010",
        "clause": first["clause"],
        "test_method": first["test_method"],
        "limits": [
            {"category": "A", "condition": "", "comparator": "max", "limit": "20", "confirmed": True},
            {"category": "B", "condition": "", "comparator": "max", "limit": "75", "confirmed": True},
            {"category": "C", "condition": "", "comparator": "max", "limit": "300", "confirmed": True},
        ],
        "market": "CN",
        "applies_when": "",
        "mandatory": True,
        # GB/T 2912.1 reports below 20 mg/kg as not detected: "ND" alone passes category A.
        "reporting_limit": "20",
        "retired": False,
    }
    by_code = {item["code"]: item for item in items}
    assert by_code["CN-CF-SALIVA"]["limits"] == [
        {"category": "A", "condition": "", "comparator": "grade_min", "limit": "4", "confirmed": False}
    ]
    # Wet rubbing is one parameter whose category A limit depends on the shade.
    assert [(limit["category"], limit["condition"], limit["limit"]) for limit in by_code["CN-CF-RUBWET"]["limits"]] == [
        ("A", "", "3"),
        ("A", "dark_shade", "2-3"),
        ("B", "", "2-3"),
    ]
    assert sum(len(item["limits"]) for item in items) == len(catalog_rows())


@pytest.mark.parametrize(
    "query",
    [
        {"kind": "colorfastness"},
        {"kind": "labelling"},
        {"category": "A"},
        {"category": "B"},
        {"category": "C"},
        {"standard": "GB 31701-2015"},
        {"standard": "EN 14682:2014"},
        {"kind": "chemical", "category": "B", "standard": "GB 18401-2010"},
        {"kind": "chemical", "standard": "EN 14682:2014"},
    ],
)
def test_parameters_filters_by_kind_category_and_standard(supervisor_api, query):
    response = supervisor_api.get("/api/v1/parameters", query_string=query)
    assert response.status_code == 200
    assert [item["code"] for item in response.json["items"]] == codes_for(**query)


def test_the_category_filter_keeps_saliva_for_a_only_and_limits_for_all_everywhere(supervisor_api):
    supervisor = supervisor_api
    for category, has_saliva in (("A", True), ("B", False), ("C", False)):
        codes = [item["code"] for item in supervisor.get(f"/api/v1/parameters?category={category}").json["items"]]
        assert ("CN-CF-SALIVA" in codes) is has_saliva
        assert "CN-FORM" in codes
        assert "CN-CORD-HOOD-U7" in codes


def test_a_parameter_is_answered_with_its_limits_and_no_capas_yet(supervisor_api):
    supervisor = supervisor_api
    response = supervisor.get("/api/v1/parameters/cn-ph")
    assert response.status_code == 200
    body = response.json
    assert body["capas"] == []
    assert body["code"] == "CN-PH"
    # Sources disagree on the figure for B: the catalog marks it unconfirmed.
    assert body["limits"] == [
        {"category": "A", "condition": "", "comparator": "range", "limit": "4.0..7.5", "confirmed": True},
        {"category": "B", "condition": "", "comparator": "range", "limit": "4.0..8.5", "confirmed": False},
        {"category": "C", "condition": "", "comparator": "range", "limit": "4.0..9.0", "confirmed": True},
    ]
    assert (body["market"], body["mandatory"], body["applies_when"], body["retired"]) == ("CN", True, "", False)
    assert set(body) == PARAMETER_KEYS | {"capas"}


def test_an_unknown_parameter_is_404(supervisor_api):
    response = supervisor_api.get("/api/v1/parameters/CN-NOPE")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


# Correcting a limit through the API ----------------------------------------------------------------------


def test_a_quality_manager_corrects_a_limit_and_the_change_is_recorded(app, qm, qm_name):
    before = utcnow()
    response = qm.put(
        "/api/v1/parameters/CN-PH/limits/B",
        json={"comparator": "range", "limit": "4.0..7.5", "reason": "Buyer keeps the 2003 range"},
    )
    assert response.status_code == 200
    changed = {"category": "B", "condition": "", "comparator": "range", "limit": "4.0..7.5", "confirmed": False}
    assert changed in response.json["limits"]
    assert qm.get("/api/v1/parameters/CN-PH").json["limits"][1] == changed
    assert stored_limits(app)[("CN-PH", "B")] == ("range", "4.0..7.5")
    assert stored_changes(app, "CN-PH") == [
        ("B", ("range", "4.0..8.5"), ("range", "4.0..7.5"), "Buyer keeps the 2003 range", qm_name)
    ]
    with app.app_context():
        changed_at = service.get_parameter("CN-PH").changes[0].changed_at
    assert before - timedelta(seconds=1) <= changed_at <= utcnow() + timedelta(seconds=1)
    # Other limits stay as they were.
    assert stored_limits(app)[("CN-PH", "A")] == ("range", "4.0..7.5")
    assert stored_limits(app)[("CN-PH", "C")] == ("range", "4.0..9.0")


def test_a_correction_may_add_a_limit_for_a_category_that_had_none(app, qm, qm_name):
    response = qm.put(
        "/api/v1/parameters/CN-CF-SALIVA/limits/B",
        json={"comparator": "grade_min", "limit": "3-4", "reason": "Buyer tests bibs for all ages"},
    )
    assert response.status_code == 200
    assert stored_limits(app)[("CN-CF-SALIVA", "B")] == ("grade_min", "3-4")
    assert stored_changes(app, "CN-CF-SALIVA") == [
        ("B", (None, None), ("grade_min", "3-4"), "Buyer tests bibs for all ages", qm_name)
    ]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/parameters/CN-FORM/limits/A", {"comparator": "max", "limit": "16"}, "reason"),
        ("/api/v1/parameters/CN-FORM/limits/A", limit_change(reason="  "), "reason"),
        ("/api/v1/parameters/CN-FORM/limits/A", limit_change(limit="abc"), "limit"),
        ("/api/v1/parameters/CN-FORM/limits/A", limit_change(limit="-5"), "limit"),
        ("/api/v1/parameters/CN-FORM/limits/A", limit_change(limit=""), "limit"),
        ("/api/v1/parameters/CN-PH/limits/B", limit_change(comparator="range", limit="7.5..4.0"), "limit"),
        ("/api/v1/parameters/CN-PH/limits/B", limit_change(comparator="range", limit="4.0-7.5"), "limit"),
        ("/api/v1/parameters/CN-CF-SALIVA/limits/A", limit_change(comparator="grade_min", limit="6"), "limit"),
        ("/api/v1/parameters/CN-CF-SALIVA/limits/A", limit_change(comparator="grade_min", limit="3-5"), "limit"),
        ("/api/v1/parameters/CN-FORM/limits/A", limit_change(comparator="about"), "comparator"),
        ("/api/v1/parameters/CN-FORM/limits/D", limit_change(), "category"),
    ],
)
def test_a_bad_limit_correction_is_400_naming_the_field_and_changes_nothing(app, qm, path, body, field):
    before = stored_limits(app)
    response = qm.put(path, json=body)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid"
    assert field in response.json["error"]["fields"]
    assert stored_limits(app) == before
    assert stored_changes(app, path.split("/")[4]) == []


def test_a_limit_for_all_categories_is_refused_beside_limits_per_category(app, qm):
    before = stored_limits(app)
    response = qm.put("/api/v1/parameters/CN-FORM/limits/all", json=limit_change(limit="50"))
    assert response.status_code == 400
    assert stored_limits(app) == before


def test_correcting_a_limit_of_an_unknown_parameter_is_404(qm):
    assert qm.put("/api/v1/parameters/CN-NOPE/limits/A", json=limit_change()).status_code == 404


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_only_a_quality_manager_may_correct_a_limit(app, api, role):
    before = stored_limits(app)
    response = api(role).put("/api/v1/parameters/CN-FORM/limits/A", json=limit_change())
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    assert stored_limits(app) == before
    assert stored_changes(app, "CN-FORM") == []


def test_results_judged_before_a_correction_are_judged_again_against_the_corrected_limit(app, world, qm, client, auth):
    first = qm.post("/api/v1/batches/A-1/results", json=result("CN-FORM", 18))
    assert (first.status_code, first.json["verdict"], first.json["limit"]) == (201, "pass", "20")

    assert qm.put("/api/v1/parameters/CN-FORM/limits/A", json=limit_change()).status_code == 200

    items = qm.get("/api/v1/batches/A-1/results").json["items"]
    assert [item["id"] for item in items] == [first.json["id"]]
    assert (items[0]["verdict"], items[0]["comparator"], items[0]["limit"]) == ("fail", "max", "16")
    assert items[0]["explanation"] == "18 mg/kg exceeds the category A limit of 16 mg/kg"
    with app.app_context():
        (entry,) = db.session.scalars(select(ResultRejudgement)).all()
        assert (entry.old_verdict, entry.new_verdict, entry.old_limit, entry.new_limit, entry.cause) == (
            "pass",
            "fail",
            "max 20",
            "max 16",
            "limit",
        )
        assert entry.limit_change.reason == limit_change()["reason"]

    auth.as_role("supervisor")
    page = client.get("/batches/A-1").text
    assert "A: ≤ 16 mg/kg" in page
    assert "18 mg/kg exceeds the category A limit of 16 mg/kg" in page


# Adding a parameter through the API ----------------------------------------------------------------------

NEW_PARAMETER = {
    "code": "buyer-ni",
    "name": "Nickel release, buyer protocol",
    "name_zh": "镍释放量（买家协议）",
    "kind": "chemical",
    "unit": "ug/cm2/week",
    "standard": "Buyer RSL 2024",
    "clause": "4.2",
    "test_method": "EN 1811",
    "limits": [
        {"category": "A", "comparator": "max", "limit": "0.2"},
        {"category": "B", "comparator": "max", "limit": "0.5"},
    ],
    "reason": "Buyer RSL for snaps",
}


def test_a_quality_manager_adds_a_parameter_with_its_limits(app, qm, qm_name):
    response = qm.post("/api/v1/parameters", json=NEW_PARAMETER)
    assert response.status_code == 201
    expected = {key: value for key, value in NEW_PARAMETER.items() if key != "reason"} | {
        "code": "BUYER-NI",
        "limits": [limit | {"condition": "", "confirmed": True} for limit in NEW_PARAMETER["limits"]],
        "market": "CN",
        "applies_when": "",
        "mandatory": False,
        "reporting_limit": None,
        "retired": False,
    }
    assert response.json == expected
    assert qm.get("/api/v1/parameters/BUYER-NI").json == expected | {"capas": []}
    assert "BUYER-NI" in [item["code"] for item in qm.get("/api/v1/parameters?standard=Buyer RSL 2024").json["items"]]
    assert sorted(stored_changes(app, "BUYER-NI")) == [
        ("A", (None, None), ("max", "0.2"), "Buyer RSL for snaps", qm_name),
        ("B", (None, None), ("max", "0.5"), "Buyer RSL for snaps", qm_name),
    ]
    # The new parameter judges results at once.
    judged = qm.post("/api/v1/evaluate", json={"parameter": "BUYER-NI", "category": "A", "value": 0.3}).json
    assert (judged["verdict"], judged["limit"]) == ("fail", "0.2")


def test_adding_a_parameter_with_a_taken_code_is_409(app, qm):
    before = stored_limits(app)
    response = qm.post("/api/v1/parameters", json={**NEW_PARAMETER, "code": "cn-form"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "duplicate"
    assert "code" in response.json["error"]["fields"]
    assert stored_limits(app) == before


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        (
            [
                {"category": "A", "comparator": "max", "limit": "0.2"},
                {"category": "B", "comparator": "max", "limit": "abc"},
            ],
            "limits[1].limit",
        ),
        ([{"category": "A", "comparator": "range", "limit": "9..4"}], "limits[0].limit"),
        ([{"category": "all", "comparator": "grade_min", "limit": "6"}], "limits[0].limit"),
        ([{"category": "D", "comparator": "max", "limit": "1"}], "limits[0].category"),
        ([{"category": "A", "comparator": "about", "limit": "1"}], "limits[0].comparator"),
        ([{"category": "A", "comparator": "max"}], "limits[0].limit"),
        (
            [
                {"category": "A", "comparator": "max", "limit": "1"},
                {"category": "A", "comparator": "max", "limit": "2"},
            ],
            "limits[1].category",
        ),
        (
            [
                {"category": "A", "comparator": "max", "limit": "1"},
                {"category": "all", "comparator": "max", "limit": "2"},
            ],
            "limits",
        ),
        ([], "limits"),
        (None, "limits"),
    ],
)
def test_adding_a_parameter_with_bad_limits_is_400_naming_the_limit_and_stores_nothing(app, qm, limits, field):
    body = {**NEW_PARAMETER, "limits": limits}
    if limits is None:
        del body["limits"]
    response = qm.post("/api/v1/parameters", json=body)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid"
    assert field in response.json["error"]["fields"]
    assert "BUYER-NI" not in stored_codes(app)


@pytest.mark.parametrize("missing", ["code", "name", "kind", "unit", "standard", "reason"])
def test_adding_a_parameter_without_a_required_field_is_400_naming_it(app, qm, missing):
    body = {key: value for key, value in NEW_PARAMETER.items() if key != missing}
    response = qm.post("/api/v1/parameters", json=body)
    assert response.status_code == 400
    assert missing in response.json["error"]["fields"]
    assert "BUYER-NI" not in stored_codes(app)


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_only_a_quality_manager_may_add_a_parameter(app, api, role):
    response = api(role).post("/api/v1/parameters", json=NEW_PARAMETER)
    assert response.status_code == 403
    assert "BUYER-NI" not in stored_codes(app)


# The catalog pages ---------------------------------------------------------------------------------------


def test_the_catalog_page_lists_every_parameter_with_its_a_b_c_limits_side_by_side(supervisor_browser):
    response = supervisor_browser.get("/parameters")
    assert response.status_code == 200
    html = response.text
    assert listed_codes(html) == catalog_codes()
    assert f"{len(catalog_codes())} parameters" in html
    assert catalog_row(html, "CN-FORM") == {"A": "≤ 20 mg/kg", "B": "≤ 75 mg/kg", "C": "≤ 300 mg/kg"}
    assert catalog_row(html, "CN-PH") == {"A": "pH 4.0–7.5", "B": "pH 4.0–8.5", "C": "pH 4.0–9.0"}
    assert catalog_row(html, "CN-CF-SALIVA") == {"A": "≥ 4", "B": "—", "C": "—"}
    assert catalog_row(html, "CN-CF-WATER") == {"A": "≥ 3-4", "B": "≥ 3", "C": "≥ 3"}
    assert catalog_row(html, "CN-CORD-HOOD-U7") == {
        "A": "no cords of any kind",
        "B": "no cords of any kind",
        "C": "no cords of any kind",
    }


@pytest.mark.parametrize(
    "query",
    [
        {"kind": "colorfastness"},
        {"category": "B"},
        {"standard": "GB 31701-2015"},
        {"kind": "physical", "category": "A", "standard": "GB 31701-2015"},
    ],
)
def test_the_catalog_page_filters_narrow_the_list(supervisor_browser, query):
    response = supervisor_browser.get("/parameters", query_string=query)
    assert response.status_code == 200
    listed = listed_codes(response.text)
    assert listed == codes_for(**query)
    assert 0 < len(listed) < len(catalog_codes())
    for value in query.values():
        assert value in selected_values(response.text)


def test_a_catalog_filter_matching_nothing_says_so(supervisor_browser):
    html = supervisor_browser.get("/parameters?kind=labelling&standard=EN 14682:2014").text
    assert listed_codes(html) == []
    assert "No parameter matches these filters." in html


def test_the_parameter_page_shows_limits_notes_and_sources(supervisor_browser):
    response = supervisor_browser.get("/parameters/cn-ph")
    assert response.status_code == 200
    html = response.text
    rows = {row["category"]: row for row in catalog_rows() if row["code"] == "CN-PH"}
    assert "CN-PH · pH value" in html
    for shown in ("pH 4.0–7.5", "pH 4.0–8.5", "pH 4.0–9.0", "GB/T 7573"):
        assert shown in html
    assert "Sources disagree" in html
    assert rows["B"]["notes"][:60] in html
    sources = [source.strip() for source in rows["B"]["source"].split(";")]
    assert [source for source in sources if source.startswith("http")]
    for source in sources:
        assert source in (links(html) if source.startswith("http") else text(html))
    assert "The limits are as shipped in the catalog." in html
    assert "No closed CAPA is linked to this parameter yet." in html


def test_an_unknown_parameter_page_is_404(supervisor_browser):
    assert supervisor_browser.get("/parameters/CN-NOPE").status_code == 404


# Correcting a limit on its page --------------------------------------------------------------------------


def test_a_quality_manager_corrects_a_limit_on_its_page_and_the_history_shows_it(app, client, auth):
    user = auth.as_role("quality_manager")
    form = client.get("/parameters/CN-FORM/limits/A")
    assert form.status_code == 200
    assert input_value(field_block(form.text, "limit")) == "20"
    assert selected_value(field_block(form.text, "comparator")) == "max"
    assert "Every result judged against this limit is judged again against the new one" in form.text

    response = client.post(
        "/parameters/CN-FORM/limits/A", data={"comparator": "max", "limit": "16", "reason": "Buyer RSL 2024"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/parameters/CN-FORM"
    assert stored_limits(app)[("CN-FORM", "A")] == ("max", "16")
    assert stored_changes(app, "CN-FORM") == [("A", ("max", "20"), ("max", "16"), "Buyer RSL 2024", user.username)]

    page = client.get("/parameters/CN-FORM").text
    assert "Limit of CN-FORM for A saved." in page
    assert "≤ 16 mg/kg" in page
    history = text(one(page, "section#history"))
    assert user.username in history
    assert "max 20" in history
    assert "max 16" in history
    assert "Buyer RSL 2024" in history


def test_an_empty_reason_redisplays_the_limit_form_and_changes_nothing(app, client, auth):
    auth.as_role("quality_manager")
    response = client.post("/parameters/CN-FORM/limits/A", data={"comparator": "max", "limit": "16", "reason": ""})
    assert response.status_code == 400
    assert fields_with_errors(response.text) == {"reason"}
    assert errors_in(field_block(response.text, "reason"))
    assert input_value(field_block(response.text, "limit")) == "16"
    assert stored_limits(app)[("CN-FORM", "A")] == ("max", "20")
    assert stored_changes(app, "CN-FORM") == []


def test_an_unreadable_limit_on_the_page_is_shown_next_to_the_limit(app, client, auth):
    auth.as_role("quality_manager")
    response = client.post(
        "/parameters/CN-PH/limits/B", data={"comparator": "range", "limit": "7.5..4.0", "reason": "typo check"}
    )
    assert response.status_code == 400
    assert fields_with_errors(response.text) == {"limit"}
    assert input_value(field_block(response.text, "limit")) == "7.5..4.0"
    assert stored_limits(app)[("CN-PH", "B")] == ("range", "4.0..8.5")


def test_the_limit_page_of_an_unknown_category_is_404(client, auth):
    auth.as_role("quality_manager")
    assert client.get("/parameters/CN-FORM/limits/D").status_code == 404
    assert client.get("/parameters/CN-NOPE/limits/A").status_code == 404


# Adding a parameter on its page --------------------------------------------------------------------------

NEW_PARAMETER_FORM = {
    "code": "buyer-ni",
    "name": "Nickel release, buyer protocol",
    "kind": "chemical",
    "unit": "ug/cm2/week",
    "standard": "Buyer RSL 2024",
    "clause": "4.2",
    "test_method": "EN 1811",
    "comparator": "max",
    "limit_a": "0.2",
    "limit_b": "0.5",
    "limit_c": "",
    "limit_all": "",
    "reason": "Buyer RSL for snaps",
}


def test_a_quality_manager_adds_a_parameter_on_the_page(app, client, auth):
    auth.as_role("quality_manager")
    assert client.get("/parameters/new").status_code == 200
    response = client.post("/parameters/new", data=NEW_PARAMETER_FORM)
    assert response.status_code == 302
    assert response.headers["Location"] == "/parameters/BUYER-NI"
    assert "BUYER-NI" in stored_codes(app)
    limits = stored_limits(app)
    assert (limits[("BUYER-NI", "A")], limits[("BUYER-NI", "B")]) == (("max", "0.2"), ("max", "0.5"))
    assert ("BUYER-NI", "C") not in limits
    page = client.get("/parameters/BUYER-NI").text
    assert "added in this plant" in page
    assert "≤ 0.2 ug/cm2/week" in page


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"limit_b": "abc"}, "limit_b"),
        ({"limit_all": "2"}, "limit_all"),
        ({"limit_a": "", "limit_b": "", "limit_c": "9..4", "comparator": "range"}, "limit_c"),
        ({"limit_a": "", "limit_b": "", "limit_all": "6", "comparator": "grade_min"}, "limit_all"),
        ({"code": "cn-form"}, "code"),
        ({"code": "bad code!"}, "code"),
        ({"reason": ""}, "reason"),
    ],
)
def test_a_refused_new_parameter_shows_the_error_next_to_its_field_and_keeps_the_input(
    app, client, auth, change, field
):
    auth.as_role("quality_manager")
    data = {**NEW_PARAMETER_FORM, **change}
    response = client.post("/parameters/new", data=data)
    assert response.status_code == 400
    assert fields_with_errors(response.text) == {field}
    assert errors_in(field_block(response.text, field))
    for name in ("code", "name", "limit_a", "limit_b", "limit_c", "limit_all"):
        assert input_value(field_block(response.text, name)) == data[name]
    assert "BUYER-NI" not in stored_codes(app)
    assert stored_changes(app, "CN-FORM") == []


def test_a_new_parameter_with_no_limit_at_all_is_refused_on_the_page(app, client, auth):
    auth.as_role("quality_manager")
    data = {**NEW_PARAMETER_FORM, "limit_a": "", "limit_b": ""}
    response = client.post("/parameters/new", data=data)
    assert response.status_code == 400
    assert fields_with_errors(response.text) & {"limit_a", "limit_b", "limit_c", "limit_all"}
    assert "BUYER-NI" not in stored_codes(app)


# Who may see and edit ------------------------------------------------------------------------------------

EDIT_PAGES = [
    "/parameters/new",
    "/parameters/CN-FORM/limits/A",
    "/styles/RMP-A/plan",
    "/batches/A-1/results/new",
]


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_other_roles_read_the_catalog_but_may_not_edit_it(app, world, client, auth, role):
    auth.as_role(role)
    for path in ("/parameters", "/parameters/CN-FORM", "/styles/RMP-A", "/batches/A-1"):
        assert client.get(path).status_code == 200, path
    parameter_page = client.get("/parameters/CN-FORM").text
    assert "/parameters/CN-FORM/limits/A" not in parameter_page
    assert "/parameters/new" not in client.get("/parameters").text

    before = (stored_limits(app), stored_codes(app), stored_results(app, "A-1"))
    for path in EDIT_PAGES:
        assert client.get(path).status_code == 403, path
    posts = {
        "/parameters/new": NEW_PARAMETER_FORM,
        "/parameters/CN-FORM/limits/A": {"comparator": "max", "limit": "16", "reason": "intruder"},
        "/styles/RMP-A/plan": {"parameter": "EU-AZO", "included": "y", "reason": "intruder"},
        "/batches/A-1/results/new": {**result("CN-FORM", "12"), "lot": ""},
    }
    for path, data in posts.items():
        assert client.post(path, data=data).status_code == 403, path
    assert (stored_limits(app), stored_codes(app), stored_results(app, "A-1")) == before
    with app.app_context():
        assert service.plan_for(masterdata.get_style("RMP-A")).changes == []


def test_the_quality_manager_sees_the_edit_links(world, client, auth):
    auth.as_role("quality_manager")
    assert "/parameters/CN-FORM/limits/A" in links(client.get("/parameters/CN-FORM").text)
    assert "/parameters/new" in links(client.get("/parameters").text)
    assert "/batches/A-1/results/new" in links(client.get("/batches/A-1").text)
    assert "/styles/RMP-A/plan" in links(client.get("/styles/RMP-A").text)


# Style and batch pages -----------------------------------------------------------------------------------


def test_the_style_page_of_a_cmia_style_shows_its_quality_plan(world, client, auth):
    auth.as_role("supervisor")
    html = client.get("/styles/RMP-A").text
    assert "Quality plan (CMIA)" in html
    plan = one(html, "section.plan table")
    planned = [href.removeprefix("/parameters/") for href in links(plan) if href.startswith("/parameters/")]
    assert planned == derived_codes("A")
    assert "≤ 20 mg/kg" in text(plan)
    for checkpoint in (
        "Verify the lab-dip test report for these parameters",
        "Confirm each trim supplier is approved",
        "Final garment batch test",
    ):
        assert checkpoint in html
    assert "/batches/A-1" in links(html)


def test_the_style_page_of_a_style_not_requiring_cmia_shows_no_plan(world, client, auth):
    auth.as_role("supervisor")
    html = client.get("/styles/JKT-C").text
    assert "not required" in html
    assert "Quality plan (CMIA)" not in html


def test_the_batch_page_shows_coverage_and_results(world, client, auth, qm):
    qm.post("/api/v1/batches/A-1/results", json=result("CN-FORM", 35, lot="F-1"))
    qm.post("/api/v1/batches/A-1/results", json=result("CN-PH", "6.5"))
    auth.as_role("supervisor")
    response = client.get("/batches/A-1")
    assert response.status_code == 200
    main = one(response.text, "main")
    body = text(main)
    assert "CMIA coverage" in body
    # CN-FORM on fabric lot F-1 is a lab dip, not the final garment test; CN-PH, tested in 2024, is due for a retest.
    assert f"0 failed, {len(derived_codes('A')) - 1} missing, 1 due for a retest; 0 passed." in body
    assert "35 mg/kg exceeds the category A limit of 20 mg/kg" in body
    assert "pH 6.5 is within the category A range pH 4.0–7.5" in body
    assert "A: ≤ 20 mg/kg" in body
    assert "A: pH 4.0–7.5" in body
    assert "SGS Shanghai SH-24-001" in body
    results = table_rows(one(under_heading(main, "Lab results"), "table"))
    assert any(cells(row)[1] == "CN-FORM · F-1" and text(elements(elements(row)[1])[0]) == "CN-FORM" for row in results)


def test_the_batch_page_of_a_style_not_requiring_cmia_requires_nothing(world, client, auth):
    auth.as_role("supervisor")
    html = client.get("/batches/C-1").text
    assert "The style does not require CMIA compliance; no parameters are required." in html
    assert "No lab results recorded for this batch." in html


def test_the_batch_page_title_is_the_batch_number_and_shows_the_coverage_once(world, client, auth):
    auth.as_role("supervisor")
    html = client.get("/batches/A-1").text
    title = title_of(html)
    assert "<" not in title
    assert "A-1" in title
    assert html.count("CMIA coverage") == 1


# Recording a result on the page --------------------------------------------------------------------------

RESULT_FORM = {
    "parameter": "CN-FORM",
    "value": "35",
    "lot": "F-1",
    "lab": "SGS Shanghai",
    "report_number": "SH-24-001",
    "tested_at": "2024-03-01",
}


def test_a_quality_manager_records_a_result_through_the_form(app, world, client, auth):
    auth.as_role("quality_manager")
    form = client.get("/batches/A-1/results/new?parameter=CN-PB")
    assert form.status_code == 200
    assert "Judged against the limits of category A (style RMP-A)." in form.text
    assert selected_value(field_block(form.text, "parameter")) == "CN-PB"
    assert "F-1" in options(field_block(form.text, "lot"))

    response = client.post("/batches/A-1/results/new", data=RESULT_FORM)
    assert response.status_code == 302
    assert response.headers["Location"] == "/batches/A-1"
    assert stored_results(app, "A-1") == [("CN-FORM", "35", "fail", "20", "F-1", "2024-03-01")]
    page = client.get("/batches/A-1").text
    assert "Result recorded: fail. 35 mg/kg exceeds the category A limit of 20 mg/kg" in page


def test_a_result_without_a_lot_is_recorded_for_the_batch(app, world, client, auth):
    auth.as_role("quality_manager")
    response = client.post("/batches/B-1/results/new", data={**RESULT_FORM, "lot": ""})
    assert response.status_code == 302
    assert stored_results(app, "B-1") == [("CN-FORM", "35", "pass", "75", None, "2024-03-01")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"value": "3-4"}, "value"),
        ({"value": "abc"}, "value"),
        ({"value": "-1"}, "value"),
        ({"parameter": "CN-PH", "value": "15"}, "value"),
        ({"parameter": "CN-CF-SALIVA", "value": "6"}, "value"),
        ({"value": ""}, "value"),
        ({"lab": ""}, "lab"),
        ({"report_number": ""}, "report_number"),
        ({"tested_at": ""}, "tested_at"),
        ({"tested_at": "01/03/2024"}, "tested_at"),
        ({"lot": "F-9"}, "lot"),
        ({"parameter": ""}, "parameter"),
    ],
)
def test_a_refused_result_redisplays_the_form_with_the_error_next_to_the_field(app, world, client, auth, change, field):
    auth.as_role("quality_manager")
    data = {**RESULT_FORM, **change}
    response = client.post("/batches/A-1/results/new", data=data)
    assert response.status_code == 400
    assert fields_with_errors(response.text) == {field}
    assert errors_in(field_block(response.text, field))
    assert input_value(field_block(response.text, "value")) == data["value"]
    assert input_value(field_block(response.text, "lab")) == data["lab"]
    assert stored_results(app, "A-1") == []


def test_an_unreadable_value_keeps_what_was_typed_and_says_why(app, world, client, auth):
    auth.as_role("quality_manager")
    response = client.post("/batches/A-1/results/new", data={**RESULT_FORM, "value": "3-4"})
    assert response.status_code == 400
    block = field_block(response.text, "value")
    assert input_value(block) == "3-4"
    assert "3-4 is not a number." in " ".join(errors_in(block))
    assert selected_value(field_block(response.text, "parameter")) == "CN-FORM"
    assert selected_value(field_block(response.text, "lot")) == "F-1"
    assert stored_results(app, "A-1") == []


def test_a_result_dated_tomorrow_is_refused_on_the_page(app, world, client, auth):
    auth.as_role("quality_manager")
    tomorrow = (plant_today() + timedelta(days=1)).isoformat()
    response = client.post("/batches/A-1/results/new", data={**RESULT_FORM, "tested_at": tomorrow})
    assert response.status_code == 400
    assert fields_with_errors(response.text) == {"tested_at"}
    assert stored_results(app, "A-1") == []
