"""The history of master data, the catalog and users: every creation and change through the API and the pages
is recorded with who, when, old and new value and why, shown on the record's page and answered by
``GET /api/v1/<kind>/<code>/history``; and every history verifies as the app wrote it."""

from datetime import datetime

import pytest
from sqlalchemy import select

from capa.accounts import service as accounts
from capa.audit import chain
from capa.audit.models import RecordChange
from capa.common.commands import parse
from capa.common.display import local_moment
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from tests.answers import ok, refused
from tests.conftest import ApiClient
from tests.pages import cells, errors_in, field_block, logged_in, one, row_linking, table_rows, text

# Helpers -------------------------------------------------------------------------------------------------


@pytest.fixture
def people(app, make_user):
    """A quality manager and an administrator, each with an API client and a logged-in browser."""

    class People:
        qm = make_user("quality_manager", "qm.li")
        admin = make_user("admin", "admin.wu")
        qm_api = ApiClient(app.test_client(), accounts.create_token(qm))
        admin_api = ApiClient(app.test_client(), accounts.create_token(admin))
        qm_browser = logged_in(app, qm)
        admin_browser = logged_in(app, admin)

    return People


def answered(api: ApiClient, path: str) -> list[tuple]:
    """The history the API answers for ``path``, newest first: (actor, kind, field, old, new, reason)."""
    items = ok(api.get(f"/api/v1/{path}/history"))["items"]
    for item in items:
        assert set(item) == {"at", "actor", "kind", "field", "old", "new", "reason"}
        datetime.fromisoformat(item["at"])
    return [(item["actor"], item["kind"], item["field"], item["old"], item["new"], item["reason"]) for item in items]


def shown(html: str, section_id: str = "history") -> list[list[str]]:
    """The rows of a page's history table: when, who, what, old, new, why."""
    return [
        cells(row)
        for row in table_rows(one(html, f'section[id="{section_id}"]'))
        if "history-details" not in (row.attributes.get("class") or "")
    ]


def stored_moments(record_type: str, record_id: int) -> list[datetime]:
    """When each entry of a record's history was stored, newest first."""
    return list(
        db.session.scalars(
            select(RecordChange.at)
            .where(RecordChange.record_type == record_type, RecordChange.record_id == record_id)
            .order_by(RecordChange.at.desc(), RecordChange.id.desc())
        )
    )


def in_plant_time(app, moments: list[datetime]) -> list[str]:
    """The moments as an English page writes them, in the plant's time."""
    with app.test_request_context():
        return [local_moment(moment) for moment in moments]


# Lines ---------------------------------------------------------------------------------------------------


def test_a_line_created_and_renamed_through_the_api_and_the_pages_keeps_its_history(app, people):
    ok(people.qm_api.post("/api/v1/lines", json={"code": "L1", "name": "Sewing line 1"}), 201)
    ok(people.qm_api.patch("/api/v1/lines/L1", json={"name": "Sewing line one"}))
    response = people.admin_browser.post("/lines/L1/edit", data={"code": "L1", "name": "Sewing line 1 (infant)"})
    assert response.status_code == 302
    # A name given again unchanged records nothing.
    ok(people.qm_api.patch("/api/v1/lines/L1", json={"name": "Sewing line 1 (infant)"}))

    assert answered(people.qm_api, "lines/L1") == [
        ("admin.wu", "field", "name", "Sewing line one", "Sewing line 1 (infant)", ""),
        ("qm.li", "field", "name", "Sewing line 1", "Sewing line one", ""),
        ("qm.li", "created", "", "", "name: Sewing line 1", ""),
    ]
    page = people.qm_browser.get("/lines/L1")
    assert page.status_code == 200
    rows = shown(page.text)
    assert [row[1:5] for row in rows] == [
        ["admin.wu", "Name", "Sewing line one", "Sewing line 1 (infant)"],
        ["qm.li", "Name", "Sewing line 1", "Sewing line one"],
        ["qm.li", "Created", "—", "name: Sewing line 1"],
    ]
    line_id = masterdata.get_line("L1").id
    assert [row[0] for row in rows] == in_plant_time(app, stored_moments("line", line_id))
    # The list of lines leads to each line's page.
    assert row_linking(people.qm_browser.get("/lines").text, "/lines/L1") is not None


def test_a_line_created_on_its_page_records_who_created_it(people):
    response = people.qm_browser.post("/lines/new", data={"code": "L2", "name": "Cutting line"})
    assert response.status_code == 302
    assert answered(people.admin_api, "lines/L2") == [("qm.li", "created", "", "", "name: Cutting line", "")]


def test_a_record_created_by_the_system_has_no_actor(app, people):
    masterdata.create_line(parse(NewLine, {"code": "L3", "name": "Packing line"}))
    assert answered(people.qm_api, "lines/L3") == [(None, "created", "", "", "name: Packing line", "")]
    assert shown(people.qm_browser.get("/lines/L3").text)[0][1] == "system"


# Suppliers -----------------------------------------------------------------------------------------------


def test_an_approval_change_without_a_reason_is_refused_and_changes_nothing(people):
    ok(people.qm_api.post("/api/v1/suppliers", json={"code": "S1", "name": "Snap Co"}), 201)
    before = answered(people.qm_api, "suppliers/S1")

    error = refused(people.qm_api.patch("/api/v1/suppliers/S1", json={"approval": "suspended"}), 400, "invalid")
    assert set(error["fields"]) == {"reason"}
    error = refused(
        people.qm_api.patch(
            "/api/v1/suppliers/S1", json={"name": "Snap Co Ltd", "approval": "suspended", "reason": " "}
        ),
        400,
        "invalid",
    )
    assert set(error["fields"]) == {"reason"}

    assert ok(people.qm_api.get("/api/v1/suppliers/S1"))["approval"] == "approved"
    assert answered(people.qm_api, "suppliers/S1") == before
    # A name alone needs no reason.
    ok(people.qm_api.patch("/api/v1/suppliers/S1", json={"name": "Snap Co Ltd"}))


def test_an_approval_change_through_the_api_and_the_page_is_recorded_with_its_reason(people):
    ok(people.qm_api.post("/api/v1/suppliers", json={"code": "S1", "name": "Snap Co"}), 201)
    changed = ok(people.qm_api.patch("/api/v1/suppliers/S1", json={"approval": "suspended", "reason": "Audit failed"}))
    assert (changed["name"], changed["approval"]) == ("Snap Co", "suspended")

    form = people.qm_browser.get("/suppliers/S1/edit")
    assert form.status_code == 200
    assert field_block(form.text, "reason") is not None
    without = people.qm_browser.post(
        "/suppliers/S1/edit", data={"code": "S1", "name": "Snap Co", "approval": "conditional"}
    )
    assert without.status_code == 400
    assert errors_in(field_block(without.text, "reason"))
    assert ok(people.qm_api.get("/api/v1/suppliers/S1"))["approval"] == "suspended"
    # An administrator keeps the master data but does not decide whether a supplier's material may be used.
    refused = people.admin_browser.post(
        "/suppliers/S1/edit",
        data={"code": "S1", "name": "Snap Co", "approval": "conditional", "reason": "Corrective plan accepted"},
    )
    assert refused.status_code == 400
    assert errors_in(field_block(refused.text, "approval"))
    assert ok(people.qm_api.get("/api/v1/suppliers/S1"))["approval"] == "suspended"
    saved = people.qm_browser.post(
        "/suppliers/S1/edit",
        data={"code": "S1", "name": "Snap Co", "approval": "conditional", "reason": "Corrective plan accepted"},
    )
    assert saved.status_code == 302

    assert answered(people.qm_api, "suppliers/S1") == [
        ("qm.li", "field", "approval", "suspended", "conditional", "Corrective plan accepted"),
        ("qm.li", "field", "approval", "approved", "suspended", "Audit failed"),
        ("qm.li", "created", "", "", "name: Snap Co; approval: approved", ""),
    ]
    rows = shown(people.qm_browser.get("/suppliers/S1").text)
    assert [row[1:] for row in rows[:2]] == [
        ["qm.li", "Approval", "Suspended", "Conditional", "Corrective plan accepted"],
        ["qm.li", "Approval", "Approved", "Suspended", "Audit failed"],
    ]


# Styles --------------------------------------------------------------------------------------------------


def test_a_style_s_creation_name_cmia_category_and_plan_changes_are_one_history(people):
    body = {"code": "RMP-1", "name": "Infant romper", "category": "B", "cmia_required": True}
    ok(people.qm_api.post("/api/v1/styles", json=body), 201)
    ok(people.admin_api.patch("/api/v1/styles/RMP-1", json={"name": "Infant romper, snaps"}))
    # The category decides the judgements: it needs a reason, and is recorded with it.
    refused(people.qm_api.patch("/api/v1/styles/RMP-1", json={"category": "A"}), 400, "invalid")
    ok(people.qm_api.patch("/api/v1/styles/RMP-1", json={"category": "A", "reason": "Sized for infants"}))
    ok(
        people.qm_api.post(
            "/api/v1/styles/RMP-1/plan", json={"parameter": "EU-AZO", "included": True, "reason": "Ships to Germany"}
        ),
        200,
    )
    saved = people.qm_browser.post(
        "/styles/RMP-1/edit",
        data={"code": "RMP-1", "name": "Infant romper, snaps", "category": "A", "markets": "CN"},
    )
    assert saved.status_code == 302, saved.text

    assert answered(people.qm_api, "styles/RMP-1") == [
        ("qm.li", "field", "cmia_required", "yes", "no", ""),
        ("qm.li", "plan", "EU-AZO", "", "added", "Ships to Germany"),
        ("qm.li", "field", "category", "B", "A", "Sized for infants"),
        ("admin.wu", "field", "name", "Infant romper", "Infant romper, snaps", ""),
        ("qm.li", "created", "", "", "name: Infant romper; category: B; cmia_required: yes; markets: CN", ""),
    ]
    rows = shown(people.qm_browser.get("/styles/RMP-1").text)
    assert [row[1:] for row in rows] == [
        ["qm.li", "Tech pack requires CMIA compliance", "yes", "no", ""],
        ["qm.li", "Quality plan: EU-AZO", "—", "added to the plan", "Ships to Germany"],
        ["qm.li", "Safety category (GB 18401)", "B", "A", "Sized for infants"],
        ["admin.wu", "Name", "Infant romper", "Infant romper, snaps", ""],
        ["qm.li", "Created", "—", "name: Infant romper; category: B; cmia_required: yes; markets: CN", ""],
    ]


def test_a_category_change_shows_the_results_it_judged_again_under_its_entry(people):
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Line 1"}))
    masterdata.create_style(parse(NewStyle, {"code": "TEE-1", "name": "Kids tee", "category": "B"}))
    masterdata.create_batch(parse(NewBatch, {"number": "B-1", "style": "TEE-1", "line": "L1"}))
    result = {"parameter": "CN-FORM", "value": 35, "lab": "SGS", "report_number": "R-1", "tested_at": "2026-01-05"}
    ok(people.qm_api.post("/api/v1/batches/B-1/results", json=result), 201)
    ok(people.qm_api.patch("/api/v1/styles/TEE-1", json={"category": "A", "reason": "Now baby wear"}))

    html = people.qm_browser.get("/styles/TEE-1").text
    details = [
        row
        for row in table_rows(one(html, "section#history"))
        if "history-details" in (row.attributes.get("class") or "")
    ]
    assert len(details) == 1
    assert "CN-FORM 35: pass → fail (max 75 → max 20)" in text(details[0])


# Batches and lots ----------------------------------------------------------------------------------------


def test_batches_and_their_lots_keep_their_history_through_the_api_and_the_pages(people):
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Line 1"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "MILL", "name": "Fabric mill"}))
    masterdata.create_style(parse(NewStyle, {"code": "RMP-1", "name": "Infant romper", "category": "A"}))
    batch = {
        "number": "B-1",
        "style": "RMP-1",
        "line": "L1",
        "lots": [{"number": "F-1", "kind": "fabric", "supplier": "MILL"}],
        "colourways": ["navy", "red"],
    }
    ok(people.qm_api.post("/api/v1/batches", json=batch), 201)
    more = {
        "lots": [
            {"number": "T-1", "kind": "trim", "supplier": "MILL"},
            {"number": "F-1", "kind": "fabric", "supplier": "MILL"},
        ]
    }
    ok(people.admin_api.post("/api/v1/batches/B-1/lots", json=more))
    # A second batch, on its page, reusing lot F-1.
    response = people.qm_browser.post(
        "/batches/new",
        data={
            "number": "B-2",
            "style": "RMP-1",
            "line": "L1",
            "lots-0-number": "F-1",
            "lots-0-kind": "fabric",
            "lots-0-supplier": "MILL",
        },
    )
    assert response.status_code == 302, response.text
    added = people.admin_browser.post(
        "/batches/B-2/lots", data={"lots-0-number": "D-1", "lots-0-kind": "dye_lot", "lots-0-supplier": "MILL"}
    )
    assert added.status_code == 302, added.text

    assert answered(people.qm_api, "batches/B-1") == [
        ("admin.wu", "lots", "lots", "", "T-1", ""),
        ("qm.li", "created", "", "", "style: RMP-1; line: L1; lots: F-1; colourways: navy, red", ""),
    ]
    assert answered(people.qm_api, "batches/B-2") == [
        ("admin.wu", "lots", "lots", "", "D-1", ""),
        ("qm.li", "created", "", "", "style: RMP-1; line: L1; lots: F-1", ""),
    ]
    assert answered(people.qm_api, "lots/F-1") == [
        ("qm.li", "field", "batches", "B-1", "B-1, B-2", ""),
        ("qm.li", "created", "", "", "kind: fabric; supplier: MILL; batch: B-1", ""),
    ]
    assert answered(people.qm_api, "lots/T-1") == [
        ("admin.wu", "created", "", "", "kind: trim; supplier: MILL; batch: B-1", "")
    ]
    assert answered(people.qm_api, "lots/D-1") == [
        ("admin.wu", "created", "", "", "kind: dye_lot; supplier: MILL; batch: B-2", "")
    ]

    html = people.qm_browser.get("/batches/B-2").text
    assert [row[1:5] for row in shown(html)] == [
        ["admin.wu", "Lots added", "—", "D-1"],
        ["qm.li", "Created", "—", "style: RMP-1; line: L1; lots: F-1"],
    ]
    assert [row[1:5] for row in shown(html, "history-lot-F-1")] == [
        ["qm.li", "Used in batches", "B-1", "B-1, B-2"],
        ["qm.li", "Created", "—", "kind: fabric; supplier: MILL; batch: B-1"],
    ]
    assert [row[1:3] for row in shown(html, "history-lot-D-1")] == [["admin.wu", "Created"]]


def test_the_history_of_an_unknown_record_is_404(people):
    for path in (
        "lines/NOPE",
        "suppliers/NOPE",
        "styles/NOPE",
        "batches/NOPE",
        "lots/NOPE",
        "parameters/NOPE",
        "defect-types/nope",
        "users/nobody",
    ):
        refused(people.admin_api.get(f"/api/v1/{path}/history"), 404, "not_found")


# Users ---------------------------------------------------------------------------------------------------


def test_a_user_s_creation_role_full_name_password_and_tokens_are_recorded(people):
    response = people.admin_browser.post(
        "/users/new",
        data={
            "username": "mei.lin",
            "role": "supervisor",
            "password": "a much longer passphrase",
            "full_name": "Lin Mei",
        },
    )
    assert response.status_code == 302, response.text
    listing = people.admin_browser.get("/users").text
    assert cells(row_linking(listing, "/users/mei.lin"))[:3] == ["mei.lin", "Lin Mei", "Line supervisor"]

    edited = people.admin_browser.post(
        "/users/mei.lin",
        data={"role": "quality_manager", "active": "y", "email": "mei@example.com", "full_name": "Lin Mei (QA)"},
    )
    assert edited.status_code == 302, edited.text
    user = accounts.get_user("mei.lin")
    accounts.set_password(user, "another long passphrase", people.admin)
    token = accounts.create_token(user, people.admin)
    accounts.revoke_token(token, people.admin)
    accounts.revoke_token(token, people.admin)  # already revoked: nothing more to record
    prefix = token[:12]

    assert answered(people.admin_api, "users/mei.lin") == [
        ("admin.wu", "token_revoked", "", prefix, "", ""),
        ("admin.wu", "token_issued", "", "", prefix, ""),
        ("admin.wu", "password", "", "", "", ""),
        ("admin.wu", "field", "full_name", "Lin Mei", "Lin Mei (QA)", ""),
        ("admin.wu", "field", "email", "", "mei@example.com", ""),
        ("admin.wu", "field", "role", "supervisor", "quality_manager", ""),
        ("admin.wu", "created", "", "", "role: supervisor; full_name: Lin Mei", ""),
    ]
    rows = shown(people.admin_browser.get("/users/mei.lin").text)
    assert [row[1:5] for row in rows[-4:]] == [
        ["admin.wu", "Full name", "Lin Mei", "Lin Mei (QA)"],
        ["admin.wu", "E-mail", "—", "mei@example.com"],
        ["admin.wu", "Role", "Line supervisor", "Quality manager"],
        ["admin.wu", "Created", "—", "role: supervisor; full_name: Lin Mei"],
    ]
    assert [row[2] for row in rows[:3]] == ["API token revoked", "API token issued", "Password changed"]
    assert cells(row_linking(people.admin_browser.get("/users").text, "/users/mei.lin"))[1] == "Lin Mei (QA)"
    # Only administrators read a user's history.
    refused(people.qm_api.get("/api/v1/users/mei.lin/history"), 403, "forbidden")


def test_the_command_line_creates_a_user_with_a_full_name_recorded_without_an_actor(runner, people):
    result = runner.invoke(
        args=[
            "user",
            "create",
            "chen",
            "--role",
            "supervisor",
            "--password",
            "a long passphrase here",
            "--full-name",
            "Chen Li",
        ]
    )
    assert result.exit_code == 0, result.output
    assert accounts.get_user("chen").full_name == "Chen Li"
    assert answered(people.admin_api, "users/chen") == [
        (None, "created", "", "", "role: supervisor; full_name: Chen Li", "")
    ]


# The catalog ---------------------------------------------------------------------------------------------


def test_a_limit_corrected_appears_in_the_parameter_s_history(people):
    change = {"comparator": "max", "limit": "16", "reason": "Buyer RSL 2024"}
    ok(people.qm_api.put("/api/v1/parameters/CN-FORM/limits/A", json=change))
    assert answered(people.qm_api, "parameters/CN-FORM")[0] == (
        "qm.li",
        "limit",
        "A",
        "max 20",
        "max 16",
        "Buyer RSL 2024",
    )
    row = shown(people.qm_browser.get("/parameters/CN-FORM").text)[0]
    assert row[1:] == ["qm.li", "Limit for A", "max 20", "max 16", "Buyer RSL 2024"]


def test_a_defect_type_edited_on_its_page_keeps_its_history(people):
    saved = people.qm_browser.post(
        "/defect-types/stain",
        data={
            "code": "stain",
            "name": "Stain or soiling",
            "name_zh": "污渍",
            "active": "yes",
            "effectiveness_days": "60",
        },
    )
    assert saved.status_code == 302, saved.text
    assert answered(people.qm_api, "defect-types/stain") == [
        ("qm.li", "field", "effectiveness_days", "90", "60", ""),
        ("qm.li", "field", "name", "Stain", "Stain or soiling", ""),
    ]
    rows = shown(people.qm_browser.get("/defect-types/stain").text)
    assert [row[2] for row in rows] == ["Days to the effectiveness review", "Name"]


# Tamper evidence -----------------------------------------------------------------------------------------


def test_every_history_written_verifies(people):
    ok(people.qm_api.post("/api/v1/lines", json={"code": "L1", "name": "Line 1"}), 201)
    ok(people.qm_api.patch("/api/v1/lines/L1", json={"name": "Line one"}))
    ok(people.qm_api.post("/api/v1/suppliers", json={"code": "S1", "name": "Snap Co"}), 201)
    ok(people.qm_api.patch("/api/v1/suppliers/S1", json={"approval": "suspended", "reason": "Audit failed"}))
    ok(people.qm_api.post("/api/v1/styles", json={"code": "ST-1", "name": "Tee", "category": "B"}), 201)
    ok(people.qm_api.patch("/api/v1/styles/ST-1", json={"category": "C", "reason": "Outerwear"}))
    lots = [{"number": "F-1", "kind": "fabric", "supplier": "S1"}]
    ok(people.qm_api.post("/api/v1/batches", json={"number": "B-1", "style": "ST-1", "line": "L1", "lots": lots}), 201)
    assert (
        people.admin_browser.post(
            "/users/qm.li", data={"role": "quality_manager", "active": "y", "full_name": "Li Qing"}
        ).status_code
        == 302
    )

    assert chain.verify() == []
    entries = db.session.query(RecordChange).filter_by(record_type="supplier").order_by(RecordChange.id).all()
    assert [entry.chain_seq for entry in entries] == [1, 2]
