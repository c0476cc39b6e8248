"""Change control: a change request's impact from the records, its conditions, the lots of the new material held until
its lab test passes, and its links with NCs; through the API and the pages, in both languages."""

from types import SimpleNamespace

import pytest

from capa.accounts import service as accounts
from capa.common.clock import plant_today
from tests.conftest import ApiClient
from tests.pages import errors_in, field_block, logged_in, one


def created(response, status=201):
    assert response.status_code == status, response.json
    return response.json


@pytest.fixture
def plant(app, client, make_user):
    """Bibs (category A, buyer KIDCO) made on L2 with the dye house DYE's dye lot DL-1 and SNAP's snaps; tees (no
    buyer) on L1 from a fabric lot of DYE."""
    qm_user, sup_user = make_user("quality_manager", "qm.li"), make_user("supervisor", "sup.wang")
    qm = ApiClient(client, accounts.create_token(qm_user))
    sup = ApiClient(client, accounts.create_token(sup_user))
    for code in ("DYE", "SNAP"):
        created(qm.post("/api/v1/suppliers", json={"code": code, "name": f"{code} Ltd"}))
    created(qm.post("/api/v1/buyers", json={"code": "KIDCO", "name": "Kid Co"}))
    for code in ("L1", "L2"):
        created(qm.post("/api/v1/lines", json={"code": code, "name": code}))
    created(
        qm.post(
            "/api/v1/styles",
            json={"code": "BIB", "name": "Bib", "category": "A", "buyer": "KIDCO", "cmia_required": True},
        )
    )
    created(qm.post("/api/v1/styles", json={"code": "TEE", "name": "Tee", "category": "B"}))
    batch = {"number": "B-OLD", "style": "BIB", "line": "L2"}
    lots = [
        {"number": "DL-1", "kind": "dye_lot", "supplier": "DYE"},
        {"number": "SN-1", "kind": "trim", "supplier": "SNAP"},
    ]
    created(qm.post("/api/v1/batches", json=batch | {"lots": lots}))
    created(
        qm.post(
            "/api/v1/batches",
            json={
                "number": "B-TEE",
                "style": "TEE",
                "line": "L1",
                "lots": [{"number": "FAB-9", "kind": "fabric", "supplier": "DYE"}],
            },
        )
    )
    return SimpleNamespace(qm=qm, sup=sup, qm_user=qm_user, sup_user=sup_user)


CHANGE = {
    "subject": "chemical",
    "title": "Fixing agent FA-2 replaced by FA-7",
    "description": "The dye house fixes reactive dyes with FA-7 from January.",
    "reason": "FA-2 is discontinued by its maker.",
    "supplier": "DYE",
    "lot_kind": "dye_lot",
}


def result(plant, batch: str, lot: str, value: str) -> dict:
    body = {
        "parameter": "CN-CF-SALIVA",
        "value": value,
        "lab": "SGS",
        "report_number": f"R-{lot}-{value}",
        "tested_at": plant_today().isoformat(),
        "lot": lot,
    }
    return created(plant.qm.post(f"/api/v1/batches/{batch}/results", json=body))


def test_a_change_shows_its_impact_and_holds_the_new_lots_until_its_lab_dip_passes(plant):
    qm, sup = plant.qm, plant.sup
    today = plant_today().isoformat()
    refused = created(
        sup.post("/api/v1/change-requests", json=CHANGE | {"supplier": None, "effective_from": "2020-01-01"}), 400
    )
    assert refused["error"]["fields"].keys() == {"supplier", "effective_from"}
    refused = created(
        sup.post(
            "/api/v1/change-requests",
            json={**CHANGE, "subject": "process", "supplier": None, "lot_kind": None, "effective_from": today},
        ),
        400,
    )
    assert refused["error"]["fields"].keys() == {"line"}

    # Anyone of the factory raises it; its impact comes from the records.
    change = created(sup.post("/api/v1/change-requests", json=CHANGE | {"effective_from": today}))
    number, change_id = change["number"], change["id"]
    assert (change["status"], change["raised_by"], change["supplier"]) == ("proposed", "sup.wang", "DYE")
    impact = change["impact"]
    # Only the dye lots of DYE: the bibs (not the tees, whose DYE lot is a fabric lot), their open batch, their buyer.
    assert (impact["styles"], impact["open_batches"], impact["buyers"], impact["held_lots"]) == (
        ["BIB"],
        ["B-OLD"],
        ["KIDCO"],
        [],
    )
    [row] = impact["plan_rows"]
    assert row["style"] == "BIB" and "CN-CF-SALIVA" in row["parameters"] and "CN-FORM" in row["parameters"]
    assert not [code for code in row["parameters"] if code.startswith(("CN-ATT-", "CN-CORD-"))]

    # The quality manager alone decides.
    base = f"/api/v1/change-requests/{change_id}"
    assert sup.post(f"{base}/approval").status_code == 403
    assert sup.post(f"{base}/conditions", json={"kind": "first_article"}).status_code == 403
    assert created(qm.post(f"{base}/conditions", json={"kind": "lab_test"}), 400)["error"]["fields"].keys() == {
        "parameter"
    }
    lab_dip = created(
        qm.post(
            f"{base}/conditions",
            json={
                "kind": "lab_test",
                "parameter": "CN-CF-SALIVA",
                "note": "Lab dip of the new fixing, saliva fastness.",
            },
        )
    )
    notify = created(qm.post(f"{base}/conditions", json={"kind": "buyer_notification", "buyer": "KIDCO"}))
    approved = created(qm.post(f"{base}/approval"), 200)
    assert (approved["status"], approved["approved_by"]) == ("approved", "qm.li")
    assert created(qm.post(f"{base}/approval"), 409)["error"]["fields"] == {"change": "approved"}
    # Approved, it is no longer rejected: lots of the new material may come in under it.
    rejected = qm.post(f"{base}/rejection", json={"reason": "Changed our mind."})
    assert created(rejected, 409)["error"]["fields"] == {"change": "approved"}

    # A dye lot arriving now is the new material: held on its batch until the change takes effect; the old is not.
    created(
        qm.post(
            "/api/v1/batches",
            json={
                "number": "B-NEW",
                "style": "BIB",
                "line": "L2",
                "lots": [{"number": "DL-2", "kind": "dye_lot", "supplier": "DYE"}],
            },
        )
    )
    assert created(qm.get("/api/v1/batches/B-NEW"), 200)["held_by_changes"] == [number]
    assert created(qm.get("/api/v1/batches/B-OLD"), 200)["held_by_changes"] == []
    listed = {b["number"]: b["held_by_changes"] for b in created(qm.get("/api/v1/batches"), 200)["items"]}
    assert listed == {"B-OLD": [], "B-TEE": [], "B-NEW": [number]}
    assert created(qm.get(base), 200)["impact"]["held_lots"] == ["DL-2"]

    # The lab dip: a failing result on the new lot, a passing one on the old lot, neither meets it.
    met = f"{base}/conditions/{lab_dip['id']}/met"
    failing = result(plant, "B-NEW", "DL-2", "3")
    assert created(qm.post(met, json={"result": failing["id"]}), 400)["error"]["fields"] == {
        "result": "This result did not pass."
    }
    old = result(plant, "B-OLD", "DL-1", "4")
    assert created(qm.post(met, json={"result": old["id"]}), 400)["error"]["fields"] == {
        "result": "This result is not on a lot of the new material."
    }
    passing = result(plant, "B-NEW", "DL-2", "4")
    after_lab = created(qm.post(met, json={"result": passing["id"]}), 200)
    assert after_lab["status"] == "approved"  # the buyer is still to be told
    assert created(qm.post(met, json={"result": passing["id"]}), 409)["error"]["fields"] == {"condition": "met"}
    told = f"{base}/conditions/{notify['id']}/met"
    assert created(qm.post(told, json={}), 400)["error"]["fields"].keys() == {"reference"}
    effective = created(qm.post(told, json={"reference": "Mail to KIDCO quality, 2 Dec, 'FA-7 on dye lots'"}), 200)
    assert effective["status"] == "effective" and effective["effective_at"]
    assert [c["result"] for c in effective["conditions"]] == [passing["id"], None]
    # In effect: its lots are released.
    assert created(qm.get("/api/v1/batches/B-NEW"), 200)["held_by_changes"] == []
    assert effective["impact"]["held_lots"] == []


def test_a_first_article_is_met_by_an_accepted_final_inspection_of_a_style_the_change_reaches(plant):
    qm = plant.qm
    change = created(qm.post("/api/v1/change-requests", json=CHANGE | {"effective_from": plant_today().isoformat()}))
    base = f"/api/v1/change-requests/{change['id']}"
    condition = created(qm.post(f"{base}/conditions", json={"kind": "first_article"}))
    created(qm.post(f"{base}/approval"), 200)
    met = f"{base}/conditions/{condition['id']}/met"
    assert created(qm.post(met, json={"inspection": 999999}), 400)["error"]["fields"].keys() == {"inspection"}
    # The tees are not made with DYE's dye lots: their inspection is no first article of this change.
    tees = created(qm.post("/api/v1/inspections", json={"batch": "B-TEE", "lot_size": 500}))
    assert created(qm.post(met, json={"inspection": tees["id"]}), 400)["error"]["fields"] == {
        "inspection": "This inspection is of a style the change does not reach."
    }
    bibs = created(qm.post("/api/v1/inspections", json={"batch": "B-OLD", "lot_size": 500}))
    assert bibs["verdict"] == "accepted"
    assert created(qm.post(met, json={"inspection": bibs["id"]}), 200)["status"] == "effective"


def test_a_change_without_conditions_takes_effect_when_approved_and_a_rejected_one_never(plant):
    qm = plant.qm
    today = plant_today().isoformat()
    plain = created(
        qm.post(
            "/api/v1/change-requests",
            json={
                "subject": "process",
                "title": "Stitch density 12 spi",
                "reason": "Seam slippage.",
                "line": "L1",
                "effective_from": today,
            },
        )
    )
    assert plain["impact"]["styles"] == ["TEE"]
    assert created(qm.post(f"/api/v1/change-requests/{plain['id']}/approval"), 200)["status"] == "effective"
    other = created(qm.post("/api/v1/change-requests", json=CHANGE | {"effective_from": today}))
    base = f"/api/v1/change-requests/{other['id']}"
    assert created(qm.post(f"{base}/rejection", json={}), 400)["error"]["fields"].keys() == {"reason"}
    rejected = created(qm.post(f"{base}/rejection", json={"reason": "Keep FA-2 stock."}), 200)
    assert (rejected["status"], rejected["rejected_reason"]) == ("rejected", "Keep FA-2 stock.")
    assert created(qm.post(f"{base}/approval"), 409)["error"]["fields"] == {"change": "rejected"}
    statuses = [c["status"] for c in created(qm.get("/api/v1/change-requests"), 200)["items"]]
    assert sorted(statuses) == ["effective", "rejected"]


def test_changes_and_ncs_are_linked_both_ways(app, plant):
    qm = plant.qm
    nc = created(
        qm.post(
            "/api/v1/nonconformances",
            json={
                "title": "Bib bleeds",
                "defect_type": "colorfastness_failure",
                "source": "lab_test",
                "line": "L2",
                "batch": "B-OLD",
            },
        )
    )
    change = created(
        qm.post(
            "/api/v1/change-requests",
            json=CHANGE | {"effective_from": plant_today().isoformat(), "ncs": [nc["number"]]},
        )
    )
    assert change["ncs"] == [nc["number"]]
    later = created(
        qm.post(
            "/api/v1/nonconformances",
            json={
                "title": "Bib bleeds again",
                "defect_type": "colorfastness_failure",
                "source": "lab_test",
                "line": "L2",
                "batch": "B-OLD",
            },
        )
    )
    base = f"/api/v1/change-requests/{change['id']}"
    assert created(qm.post(f"{base}/ncs", json={"nc": "NC-2000-00001"}), 400)["error"]["fields"].keys() == {"nc"}
    linked = created(qm.post(f"{base}/ncs", json={"nc": later["number"]}), 200)
    assert linked["ncs"] == sorted([nc["number"], later["number"]])
    page = logged_in(app, plant.qm_user).get(f"/nc/{later['number']}")
    assert f"/changes/{change['id']}" in page.text


def test_the_change_pages_raise_decide_and_read_in_chinese(app, plant):
    qm = logged_in(app, plant.qm_user)
    form = {
        "subject": "chemical",
        "title": "FA-7",
        "reason": "",
        "effective_from": plant_today().isoformat(),
        "supplier": "DYE",
        "lot_kind": "dye_lot",
    }
    refused = qm.post("/changes/new", data=form)
    assert refused.status_code == 400 and errors_in(field_block(refused.text, "reason"))
    assert field_block(refused.text, "title").css_first("input").attributes["value"] == "FA-7"
    raised = qm.post("/changes/new", data=form | {"reason": "Discontinued."})
    assert raised.status_code == 302
    page_url = raised.headers["Location"]
    refused = qm.post(f"{page_url}/conditions", data={"condition-kind": "lab_test", "condition-parameter": ""})
    assert refused.status_code == 400 and errors_in(field_block(refused.text, "condition-parameter"))
    assert (
        qm.post(
            f"{page_url}/conditions", data={"condition-kind": "lab_test", "condition-parameter": "CN-CF-SALIVA"}
        ).status_code
        == 302
    )
    assert qm.post(f"{page_url}/approval").status_code == 302
    # Meeting the lab test from the page: a result that is no number is refused beside its field.
    condition_id = one(qm.get(page_url).text, "article.condition").attributes["id"].removeprefix("condition-")
    refused = qm.post(f"{page_url}/conditions/{condition_id}/met", data={f"meet-{condition_id}-result": "abc"})
    assert refused.status_code == 400 and errors_in(field_block(refused.text, f"meet-{condition_id}-result"))
    qm.post("/language", data={"language": "zh_Hans_CN", "next": page_url})
    page = qm.get(page_url)
    assert "变更申请" in page.text and "影响" in page.text
    assert one(page.text, ".badge.change-approved")
    assert "BIB" in one(page.text, "#impact").text()
    listing = qm.get("/changes")
    assert "FA-7" in listing.text
