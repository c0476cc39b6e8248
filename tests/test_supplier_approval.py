"""A supplier's approval limited to material kinds and to a re-evaluation date, and the concession a quality manager
records to put a lot into a CMIA batch although its supplier is not approved for it: the rule as plain Python, then
through the API and the pages."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from capa.common.clock import plant_today
from capa.masterdata.approval import approval_for
from tests.pages import cells, field_block, fields_with_errors, input_value, one, row_linking, table_rows

DAY = date(2026, 12, 1)


def supplier(approval="approved", kinds=(), reevaluate_on=None):
    return SimpleNamespace(code="S1", approval=approval, approved_kinds=list(kinds), reevaluate_on=reevaluate_on)


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
