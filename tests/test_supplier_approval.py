"""A supplier's approval limited to material kinds and to a re-evaluation date, and the concession a quality manager
records to put a lot into a CMIA batch although its supplier is not approved for it: the rule as plain Python, then
through the API and the pages."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from capa.common.clock import plant_today
from capa.masterdata.approval import approval_for
from tests.pages import cells, field_block, fields_with_errors, input_value, many, one, row_linking, table_rows

DAY = date(2026, 12, 1)


def supplier(approval="approved", kinds=(), reevaluate_on=None, parameters=()):
    return SimpleNamespace(
        code="S1",
        approval=approval,
        approved_kinds=list(kinds),
        approved_parameters=list(parameters),
        reevaluate_on=reevaluate_on,
    )


@pytest.mark.parametrize(
    ("record", "kind", "approved", "why"),
    [
        (supplier(), "trim", True, ""),
        (supplier(kinds=["fabric", "trim"]), "trim", True, ""),
        (supplier(kinds=["fabric"]), "trim", False, "S1 is approved for fabric only, not trim."),
        (supplier(reevaluate_on=DAY), "trim", True, ""),  # the day itself is still within
        (
            supplier(reevaluate_on=DAY - timedelta(days=1)),
            "trim",
            False,
            "S1's approval lapsed: it was due for re-evaluation on 2026-11-30.",
        ),
        (supplier("conditional"), "trim", False, "S1 is conditional."),
        (supplier("suspended"), "fabric", False, "S1 is suspended."),
        (supplier("disqualified", kinds=["fabric"]), "fabric", False, "S1 is disqualified."),
    ],
)
def test_a_supplier_is_approved_for_a_kind_on_a_day_only_within_its_scope_and_date(app, record, kind, approved, why):
    check = approval_for(record, kind, DAY)
    assert (check.approved, check.why) == (approved, why)


@pytest.mark.parametrize(
    ("record", "required", "approved", "why"),
    [
        # No scope of parameters: every parameter.
        (supplier(), ["CN-CF-SALIVA", "CN-FORM"], True, ""),
        (supplier(parameters=["CN-FORM", "CN-PH"]), ["CN-FORM"], True, ""),
        (supplier(parameters=["CN-FORM", "CN-PH"]), [], True, ""),
        (
            supplier(parameters=["CN-FORM", "CN-PH"]),
            ["CN-PH", "CN-CF-SALIVA", "CN-FORM", "CN-AZO"],
            False,
            "S1 is approved for CN-FORM, CN-PH only, not CN-AZO, CN-CF-SALIVA, which this style requires.",
        ),
        # Its approval and kinds are read first.
        (supplier("suspended", parameters=["CN-FORM"]), ["CN-AZO"], False, "S1 is suspended."),
        (
            supplier(kinds=["trim"], parameters=["CN-FORM"]),
            ["CN-AZO"],
            False,
            "S1 is approved for trim only, not fabric.",
        ),
    ],
)
def test_a_supplier_limited_to_parameters_is_approved_only_where_the_style_requires_none_outside_them(
    app, record, required, approved, why
):
    check = approval_for(record, "fabric", DAY, required)
    assert (check.approved, check.why) == (approved, why)


@pytest.fixture
def floor(api):
    """A CMIA style and a plain one on line L1, with a fabric mill approved for fabric only."""
    qm = api("quality_manager")
    qm.post("/api/v1/lines", json={"code": "L1", "name": "Line 1"})
    qm.post("/api/v1/styles", json={"code": "RMP-A", "name": "Romper", "category": "A", "cmia_required": True})
    qm.post("/api/v1/styles", json={"code": "TEE-C", "name": "Tee", "category": "C"})
    created = qm.post(
        "/api/v1/suppliers", json={"code": "MILL", "name": "Cotton Mill", "approved_kinds": ["fabric", "fabric"]}
    )
    assert created.status_code == 201, created.json
    return qm


def batch(number: str, style: str, *lots: dict) -> dict:
    return {"number": number, "style": style, "line": "L1", "lots": list(lots)}


def test_the_api_keeps_a_suppliers_scope_and_date_and_their_changes_need_a_reason(app, floor, api):
    qm = floor
    assert qm.get("/api/v1/suppliers/MILL").json == {
        "code": "MILL",
        "name": "Cotton Mill",
        "approval": "approved",
        "approved_kinds": ["fabric"],
        "approved_parameters": [],
        "reevaluate_on": None,
    }
    bad = qm.post(
        "/api/v1/suppliers", json={"code": "X", "name": "X", "approved_kinds": ["gold"], "reevaluate_on": "x"}
    )
    assert bad.status_code == 400 and set(bad.json["error"]["fields"]) == {"approved_kinds[0]", "reevaluate_on"}
    no_reason = qm.patch("/api/v1/suppliers/MILL", json={"approved_kinds": ["fabric", "trim"]})
    assert no_reason.status_code == 400 and set(no_reason.json["error"]["fields"]) == {"reason"}
    changed = qm.patch(
        "/api/v1/suppliers/MILL",
        json={"approved_kinds": ["trim", "fabric"], "reevaluate_on": "2027-06-30", "reason": "Audit A-19 passed"},
    )
    assert changed.status_code == 200
    assert (changed.json["approved_kinds"], changed.json["reevaluate_on"]) == (["fabric", "trim"], "2027-06-30")
    # A name alone needs no reason; null takes the date away (with a reason).
    assert qm.patch("/api/v1/suppliers/MILL", json={"name": "Cotton Mill Ltd"}).status_code == 200
    cleared = qm.patch("/api/v1/suppliers/MILL", json={"reevaluate_on": None, "reason": "Annual audits instead"})
    assert cleared.json["reevaluate_on"] is None and cleared.json["approved_kinds"] == ["fabric", "trim"]
    assert qm.patch("/api/v1/suppliers/MILL", json={"approval": "disqualified", "reason": "Fraud"}).status_code == 200
    history = qm.get("/api/v1/suppliers/MILL/history").json["items"]
    assert [(e["field"], e["old"], e["new"], e["reason"]) for e in history if e["kind"] == "field"] == [
        ("approval", "approved", "disqualified", "Fraud"),
        ("reevaluate_on", "2027-06-30", "", "Annual audits instead"),
        ("name", "Cotton Mill", "Cotton Mill Ltd", ""),
        ("reevaluate_on", "", "2027-06-30", "Audit A-19 passed"),
        ("approved_kinds", "fabric", "fabric, trim", "Audit A-19 passed"),
    ]


def test_a_cmia_batch_takes_a_lot_its_supplier_is_not_approved_for_only_under_a_concession(app, floor, api):
    qm, admin = floor, api("admin")
    trim = {"number": "SN-1", "kind": "trim", "supplier": "MILL"}
    fabric = {"number": "F-1", "kind": "fabric", "supplier": "MILL"}
    refused = qm.post("/api/v1/batches", json=batch("B-1", "RMP-A", fabric, trim))
    assert refused.status_code == 400 and refused.json["error"]["fields"] == {
        "lots[1].concession": "MILL is approved for fabric only, not trim. A CMIA batch takes its lot only under a "
        "concession: say why."
    }
    assert qm.get("/api/v1/batches/B-1").status_code == 404
    # Not a CMIA style: no concession is asked for.
    assert qm.post("/api/v1/batches", json=batch("T-1", "TEE-C", trim)).json["concessions"] == []
    # Whoever may not decide safety matters may not grant one.
    granted = trim | {"concession": "Buyer concession BC-3"}
    denied = admin.post("/api/v1/batches", json=batch("B-1", "RMP-A", fabric, granted))
    assert denied.status_code == 403 and set(denied.json["error"]["fields"]) == {"lots[1].concession"}
    created = qm.post("/api/v1/batches", json=batch("B-1", "RMP-A", fabric | {"concession": "not needed"}, granted))
    assert created.status_code == 201
    [concession] = created.json["concessions"]
    assert (concession["lot"], concession["reason"], concession["approval"]) == (
        "SN-1",
        "Buyer concession BC-3",
        "MILL is approved for fabric only, not trim.",
    )
    assert concession["granted_by"] == qm.get("/api/v1/me").json["username"]
    history = qm.get("/api/v1/batches/B-1/history").json["items"]
    assert [(e["kind"], e["field"], e["reason"]) for e in history if e["kind"] == "concession"] == [
        ("concession", "SN-1", "Buyer concession BC-3")
    ]

    # Lots added later are checked the same way; those in the batch already are not asked again.
    more = {"lots": [trim, {"number": "SN-2", "kind": "trim", "supplier": "MILL"}]}
    again = qm.post("/api/v1/batches/B-1/lots", json=more)
    assert again.status_code == 400 and set(again.json["error"]["fields"]) == {"lots[1].concession"}
    more["lots"][1]["concession"] = "Buyer concession BC-4"
    added = qm.post("/api/v1/batches/B-1/lots", json=more)
    assert added.status_code == 200
    assert [c["lot"] for c in added.json["concessions"]] == ["SN-1", "SN-2"]


def test_a_lapsed_approval_is_not_approved_in_the_batchs_coverage(app, floor, api, client, auth):
    qm = floor
    past = (plant_today() - timedelta(days=1)).isoformat()
    qm.patch("/api/v1/suppliers/MILL", json={"reevaluate_on": past, "reason": "Due last quarter"})
    fabric = {"number": "F-1", "kind": "fabric", "supplier": "MILL"}
    refused = qm.post("/api/v1/batches", json=batch("B-1", "RMP-A", fabric))
    assert "lapsed" in refused.json["error"]["fields"]["lots[0].concession"]
    qm.post("/api/v1/batches", json=batch("B-1", "RMP-A", fabric | {"concession": "Re-audit booked"}))
    unapproved = qm.get("/api/v1/batches/B-1/coverage").json["unapproved_lots"]
    assert [(lot["number"], lot["approval"]) for lot in unapproved] == [("F-1", "approved")]
    assert unapproved[0]["why"] == f"MILL's approval lapsed: it was due for re-evaluation on {past}."
    # The batch's coverage says why, and that the lot went in under a concession.
    auth.as_role("quality_manager")
    shown = one(client.get("/batches/B-1").text, "section.coverage .unapproved-lot").text()
    assert "lapsed" in shown and "Under concession: Re-audit booked" in shown


def test_the_pages_keep_a_suppliers_scope_and_show_what_is_due_and_each_concession(app, floor, client, auth):
    auth.as_role("quality_manager")
    soon = (plant_today() + timedelta(days=10)).isoformat()
    form = {"code": "MILL", "name": "Cotton Mill", "approval": "approved", "approved_kinds": ["fabric", "trim"]}
    refused = client.post("/suppliers/MILL/edit", data=form | {"reevaluate_on": "someday", "reason": "Audit"})
    assert refused.status_code == 400 and fields_with_errors(refused.text) == {"reevaluate_on"}
    assert input_value(field_block(refused.text, "reevaluate_on")) == "someday"
    assert (
        client.post("/suppliers/MILL/edit", data=form | {"reevaluate_on": soon, "reason": "Audit"}).status_code == 302
    )
    listed = row_linking(client.get("/suppliers").text, "/suppliers/MILL")
    assert "due soon" in cells(listed)[3]
    assert "Fabric, Trim" in one(client.get("/suppliers/MILL").text, "main").text()

    new_batch = {
        "number": "B-9",
        "style": "RMP-A",
        "line": "L1",
        "lots-0-number": "LB-1",
        "lots-0-kind": "label",
        "lots-0-supplier": "MILL",
    }
    refused = client.post("/batches/new", data=new_batch)
    assert refused.status_code == 400 and fields_with_errors(refused.text) == {"lots-0-concession"}
    saved = client.post("/batches/new", data=new_batch | {"lots-0-concession": "Buyer concession BC-9"})
    assert saved.status_code == 302
    lots = table_rows(client.get("/batches/B-9").text)
    assert "Under concession: Buyer concession BC-9" in cells(lots[0])[3]


# Scope by safety parameter ----------------------------------------------------------------------------------

#: The GB 18401 and GB 31701 parameters of dyed fabric a category B tee requires: all but saliva fastness
#: (category A's).
FABRIC_B = [
    "CN-AZO",
    "CN-CF-PERSP-ACID",
    "CN-CF-PERSP-ALK",
    "CN-CF-RUBDRY",
    "CN-CF-RUBWET",
    "CN-CF-WATER",
    "CN-FLAM",
    "CN-FORM",
    "CN-ODOUR",
    "CN-PH",
]


def decide(client, code: str, **decision):
    return client.post(f"/api/v1/suppliers/{code}/decisions", json={"approval": "approved", **decision})


def test_a_decision_limits_an_approval_to_catalog_parameters_of_a_suppliers_material(app, floor, api):
    qm = floor
    refused = decide(qm, "MILL", approved_parameters=["CN-FORM", "NOPE", "CN-LABEL-18401"], reason="Audit A-20")
    assert refused.status_code == 400 and refused.json["error"]["fields"] == {
        "approved_parameters[1]": "No safety parameter NOPE.",
        "approved_parameters[2]": "CN-LABEL-18401 concerns no supplier's material: an approval cannot cover it.",
    }
    assert qm.get("/api/v1/suppliers/MILL").json["approved_parameters"] == []
    assert qm.get("/api/v1/suppliers/MILL/decisions").json["items"] == []

    decided = decide(qm, "MILL", approved_parameters=["cn-ph", "CN-FORM", "CN-PH"], reason="Audit A-20")
    assert decided.status_code == 201, decided.json
    assert decided.json["approved_parameters"] == ["CN-FORM", "CN-PH"]
    assert qm.get("/api/v1/suppliers/MILL").json["approved_parameters"] == ["CN-FORM", "CN-PH"]
    history = qm.get("/api/v1/suppliers/MILL/history").json["items"]
    assert [(e["old"], e["new"], e["reason"]) for e in history if e["field"] == "approved_parameters"] == [
        ("", "CN-FORM, CN-PH", "Audit A-20")
    ]
    # Left out, the scope stays; an empty list takes it away.
    assert decide(qm, "MILL", reason="Periodic").json["approved_parameters"] == ["CN-FORM", "CN-PH"]
    assert decide(qm, "MILL", approved_parameters=[], reason="Lab capability shown").json["approved_parameters"] == []
    # Only a quality manager decides.
    denied = decide(api("admin"), "MILL", approved_parameters=["CN-FORM"], reason="x")
    assert denied.status_code == 403


def test_a_lot_goes_into_a_cmia_batch_without_a_concession_only_when_its_style_requires_no_parameter_outside_the_scope(
    app, floor, api, client, auth
):
    qm = floor
    qm.post("/api/v1/styles", json={"code": "TEE-B", "name": "Kids tee", "category": "B", "cmia_required": True})
    assert decide(qm, "MILL", approved_parameters=FABRIC_B, reason="No saliva test capability").status_code == 201
    fabric = {"number": "F-1", "kind": "fabric", "supplier": "MILL"}

    # The category B tee requires nothing of fabric outside the scope: no concession.
    tee = qm.post("/api/v1/batches", json=batch("T-1", "TEE-B", fabric))
    assert tee.status_code == 201 and tee.json["concessions"] == []
    assert qm.get("/api/v1/batches/T-1/coverage").json["unapproved_lots"] == []

    # The infant romper requires saliva fastness of its fabric: the same lot needs a concession there.
    why = f"MILL is approved for {', '.join(FABRIC_B)} only, not CN-CF-SALIVA, which this style requires."
    refused = qm.post("/api/v1/batches", json=batch("R-1", "RMP-A", fabric))
    assert refused.status_code == 400 and refused.json["error"]["fields"] == {
        "lots[0].concession": f"{why} A CMIA batch takes its lot only under a concession: say why."
    }
    assert qm.get("/api/v1/batches/R-1").status_code == 404
    created = qm.post("/api/v1/batches", json=batch("R-1", "RMP-A", fabric | {"concession": "Saliva tested at SGS"}))
    assert created.status_code == 201
    assert [(c["lot"], c["approval"]) for c in created.json["concessions"]] == [("F-1", why)]
    [unapproved] = qm.get("/api/v1/batches/R-1/coverage").json["unapproved_lots"]
    assert (unapproved["number"], unapproved["approval"], unapproved["why"]) == ("F-1", "approved", why)
    # A trim lot is not asked about fabric's parameters (its kind is out of scope all the same).
    trim = {"number": "SN-1", "kind": "trim", "supplier": "MILL", "concession": "Buyer concession BC-3"}
    added = qm.post("/api/v1/batches/T-1/lots", json={"lots": [trim]})
    assert [c["approval"] for c in added.json["concessions"]] == ["MILL is approved for fabric only, not trim."]

    # The pages say it the same way: the batch's coverage and the supplier's approval.
    auth.as_role("quality_manager")
    shown = one(client.get("/batches/R-1").text, "section.coverage .unapproved-lot").text()
    assert "not CN-CF-SALIVA" in shown and "Under concession: Saliva tested at SGS" in shown
    assert f"for the parameters {', '.join(FABRIC_B)} only" in one(client.get("/suppliers/MILL").text, "main").text()
    page_refused = client.post(
        "/batches/new",
        data={
            "number": "R-2",
            "style": "RMP-A",
            "line": "L1",
            "lots-0-number": "F-2",
            "lots-0-kind": "fabric",
            "lots-0-supplier": "MILL",
        },
    )
    assert page_refused.status_code == 400 and fields_with_errors(page_refused.text) == {"lots-0-concession"}
    assert "not CN-CF-SALIVA" in field_block(page_refused.text, "lots-0-concession").text()


def test_the_trim_checkpoint_reads_a_trim_suppliers_scope_of_parameters(app, floor, api):
    qm = floor
    style = {"code": "CARD-A", "name": "Snap cardigan", "category": "A", "cmia_required": True, "trims": ["large"]}
    assert qm.post("/api/v1/styles", json=style).status_code == 201
    qm.post("/api/v1/suppliers", json={"code": "SNAP", "name": "Snap Co", "approved_kinds": ["trim"]})
    decide(qm, "SNAP", approved_parameters=["CN-ATT-GT6"], reason="Pull tests only")
    lot = {"number": "SN-1", "kind": "trim", "supplier": "SNAP", "concession": "Sharpness checked by hand"}
    assert qm.post("/api/v1/batches", json=batch("C-1", "CARD-A", lot)).status_code == 201

    def trims():
        checkpoints = qm.get("/api/v1/styles/CARD-A/plan").json["checkpoints"]
        return next(c for c in checkpoints if c["kind"] == "trim_suppliers_approved")

    assert trims()["status"] == "open"
    assert trims()["unapproved"] == [
        {
            "supplier": "SNAP",
            "approval": "approved",
            "lots": ["SN-1"],
            "why": "SNAP is approved for CN-ATT-GT6 only, not CN-ATT-SMALL, CN-SHARP-EDGE, CN-SHARP-POINT, which this "
            "style requires.",
            "concessions": [{"lot": "SN-1", "batch": "C-1", "reason": "Sharpness checked by hand"}],
        }
    ]
    scope = ["CN-ATT-GT6", "CN-ATT-SMALL", "CN-SHARP-EDGE", "CN-SHARP-POINT"]
    decide(qm, "SNAP", approved_parameters=scope, reason="Audit")
    assert (trims()["status"], trims()["unapproved"]) == ("met", [])


def test_the_supplier_page_decides_a_scope_of_parameters_and_keeps_it_when_refused(app, floor, client, auth):
    auth.as_role("quality_manager")
    page = client.get("/suppliers/MILL")
    offered = {box.attributes["value"] for box in page_boxes(page.text)}
    # Parameters of suppliers' material are offered; a label's wording or a cord's length is not.
    assert {"CN-CF-SALIVA", "CN-FORM", "CN-SHARP-POINT", "EU-NI-27"} <= offered
    assert not offered & {"CN-LABEL-18401", "CN-CORD-HOOD-U7"}
    sent = {"decision-approval": "approved", "decision-approved_parameters": ["CN-FORM", "CN-PH"]}
    refused = client.post("/suppliers/MILL/decisions", data=sent | {"decision-reason": ""})
    assert refused.status_code == 400 and fields_with_errors(refused.text) == {"decision-reason"}
    assert {box.attributes["value"] for box in page_boxes(refused.text) if "checked" in box.attributes} == {
        "CN-FORM",
        "CN-PH",
    }
    accepted = client.post("/suppliers/MILL/decisions", data=sent | {"decision-reason": "Audit A-21"})
    assert accepted.status_code == 302
    assert "for the parameters CN-FORM, CN-PH only" in one(client.get("/suppliers/MILL").text, "main").text()
    listed = row_linking(client.get("/suppliers").text, "/suppliers/MILL")
    assert "parameters CN-FORM, CN-PH only" in cells(listed)[2]


def page_boxes(html: str):
    return many(html, "input[name=decision-approved_parameters]")
