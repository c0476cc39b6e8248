"""Buyers: master data whose styles name them; their AQLs between a style's own and the defaults; and the switching
rules of ISO 2859-1 kept per line and buyer, each buyer's lots from a line being a series of their own, through the
API and the pages."""

import threading

import pytest
from sqlalchemy import create_engine, text

from capa.extensions import db
from tests.conftest import POSTGRES_URL, wait_for_a_lock_waiter
from tests.pages import cells, field_block, fields_with_errors, form_at, one, selected_value, table_rows
from tests.test_coverage import plant  # noqa: F401 (the fixture)

REJECTING = {"batch": "B-1", "lot_size": 500, "defects": [{"code": "SAF-01", "count": 1}]}


def add_buyer(manager, code: str = "KIDCO", name: str = "KidCo Retail") -> None:
    assert manager.post("/api/v1/buyers", json={"code": code, "name": name}).status_code == 201


def test_a_buyer_is_master_data_with_its_history(app, api):
    supervisor, manager = api("supervisor"), api("quality_manager")
    assert supervisor.post("/api/v1/buyers", json={"code": "KIDCO", "name": "KidCo"}).status_code == 403
    created = manager.post("/api/v1/buyers", json={"code": "kidco", "name": "KidCo Retail"})
    assert created.status_code == 201 and created.json == {"code": "KIDCO", "name": "KidCo Retail"}
    taken = manager.post("/api/v1/buyers", json={"code": "KIDCO", "name": "Another"})
    assert taken.status_code == 409 and set(taken.json["error"]["fields"]) == {"code"}
    blank = manager.post("/api/v1/buyers", json={"code": "", "name": ""})
    assert blank.status_code == 400 and set(blank.json["error"]["fields"]) == {"code", "name"}
    renamed = manager.patch("/api/v1/buyers/kidco", json={"name": "KidCo Stores"})
    assert renamed.status_code == 200 and renamed.json["name"] == "KidCo Stores"
    assert supervisor.get("/api/v1/buyers").json["items"] == [{"code": "KIDCO", "name": "KidCo Stores"}]
    assert supervisor.get("/api/v1/buyers/NOPE").status_code == 404
    history = supervisor.get("/api/v1/buyers/KIDCO/history").json["items"]
    assert [(entry["kind"], entry["field"], entry["old"], entry["new"]) for entry in history] == [
        ("field", "name", "KidCo Retail", "KidCo Stores"),
        ("created", "", "", "name: KidCo Retail"),
    ]


def test_a_style_names_its_buyer_and_its_changes_keep_each_one(app, plant, api):  # noqa: F811
    manager = api("quality_manager")
    add_buyer(manager)
    add_buyer(manager, "BEBE", "Bebe Brands")
    unknown = manager.post("/api/v1/styles", json={"code": "BIB-1", "name": "Bib", "category": "A", "buyer": "NOPE"})
    assert unknown.status_code == 400 and set(unknown.json["error"]["fields"]) == {"buyer"}
    assert manager.get("/api/v1/styles/BIB-1").status_code == 404
    created = manager.post("/api/v1/styles", json={"code": "BIB-1", "name": "Bib", "category": "A", "buyer": "kidco"})
    assert created.status_code == 201 and created.json["buyer"] == "KIDCO"
    assert manager.get("/api/v1/styles/RMP-A").json["buyer"] is None
    assert manager.patch("/api/v1/styles/BIB-1", json={"buyer": "NOPE"}).status_code == 400
    assert manager.patch("/api/v1/styles/BIB-1", json={"buyer": "BEBE"}).json["buyer"] == "BEBE"
    assert manager.patch("/api/v1/styles/BIB-1", json={"name": "Baby bib"}).json["buyer"] == "BEBE"
    assert manager.patch("/api/v1/styles/BIB-1", json={"buyer": None}).json["buyer"] is None
    history = manager.get("/api/v1/styles/BIB-1/history").json["items"]
    assert [(e["field"], e["old"], e["new"]) for e in history if e["field"] == "buyer"] == [
        ("buyer", "BEBE", ""),
        ("buyer", "KIDCO", "BEBE"),
    ]
    assert "buyer: KIDCO" in history[-1]["new"]
    listed = {style["code"]: style["buyer"] for style in manager.get("/api/v1/styles").json["items"]}
    assert listed == {"BIB-1": None, "RMP-A": None, "TEE-B": None}


def test_a_buyers_aqls_read_its_styles_that_have_none_of_their_own(app, plant, api):  # noqa: F811
    supervisor, manager = api("supervisor"), api("quality_manager")
    add_buyer(manager)
    assert supervisor.get("/api/v1/buyers/KIDCO/aqls").json == {
        "buyer": "KIDCO",
        "aql_major": "2.5",
        "aql_minor": "4.0",
        "own": False,
    }
    body = {"aql_major": "1.5", "aql_minor": "2.5", "reason": "KidCo quality manual, 3.2"}
    assert supervisor.put("/api/v1/buyers/KIDCO/aqls", json=body).status_code == 403
    refused = manager.put("/api/v1/buyers/KIDCO/aqls", json={"aql_major": "1.4", "aql_minor": "2.5"})
    assert refused.status_code == 400 and set(refused.json["error"]["fields"]) == {"aql_major", "reason"}
    saved = manager.put("/api/v1/buyers/KIDCO/aqls", json=body)
    assert saved.status_code == 200 and saved.json["own"] is True and saved.json["aql_major"] == "1.5"
    assert manager.patch("/api/v1/styles/RMP-A", json={"buyer": "KIDCO"}).status_code == 200

    # RMP-A reads its buyer's AQLs; TEE-B, without a buyer, the defaults.
    assert supervisor.get("/api/v1/styles/RMP-A/aqls").json == {
        "style": "RMP-A",
        "aql_major": "1.5",
        "aql_minor": "2.5",
        "own": False,
        "source": "buyer",
        "buyer": "KIDCO",
    }
    inspected = supervisor.post("/api/v1/inspections", json={"batch": "B-1", "lot_size": 1000}).json
    # J at 1.5: Ac 3; at 2.5: Ac 5.
    assert (inspected["aql_major"], inspected["major_accept"], inspected["aql_minor"], inspected["minor_accept"]) == (
        "1.5",
        3,
        "2.5",
        5,
    )
    other = supervisor.get("/api/v1/styles/TEE-B/aqls").json
    assert (other["source"], other["aql_major"], other["buyer"]) == ("default", "2.5", None)

    # A style's own AQLs come before its buyer's; its history starts from the buyer's it was read with.
    own = {"aql_major": "0.65", "aql_minor": "1.0", "reason": "Tech pack TP-12"}
    assert manager.put("/api/v1/styles/RMP-A/aqls", json=own).json["source"] == "style"
    inspected = supervisor.post("/api/v1/inspections", json={"batch": "B-1", "lot_size": 1000}).json
    assert (inspected["aql_major"], inspected["aql_minor"]) == ("0.65", "1.0")
    style_history = supervisor.get("/api/v1/styles/RMP-A/aqls/history").json["items"]
    assert {(e["field"], e["old"], e["new"]) for e in style_history} == {
        ("aql_major", "1.5", "0.65"),
        ("aql_minor", "2.5", "1.0"),
    }
    buyer_history = supervisor.get("/api/v1/buyers/KIDCO/aqls/history").json["items"]
    assert {(e["field"], e["old"], e["new"], e["reason"]) for e in buyer_history} == {
        ("aql_major", "2.5", "1.5", "KidCo quality manual, 3.2"),
        ("aql_minor", "4.0", "2.5", "KidCo quality manual, 3.2"),
    }


def state_of(client, buyer: str | None = None) -> tuple:
    query = f"?buyer={buyer}" if buyer else ""
    answer = client.get(f"/api/v1/lines/L1/inspection-switching{query}").json
    return answer["buyer"], answer["severity"], answer["reason"], answer["discontinued"]


def test_each_buyers_lots_on_a_line_are_a_series_of_their_own(app, plant, api):  # noqa: F811
    supervisor, manager = api("supervisor"), api("quality_manager")
    add_buyer(manager)
    # Lots inspected before the style named its buyer stay in the series they were inspected in.
    assert supervisor.post("/api/v1/inspections", json=REJECTING).status_code == 201
    assert manager.patch("/api/v1/styles/RMP-A", json={"buyer": "KIDCO"}).status_code == 200
    for _ in range(2):
        assert supervisor.post("/api/v1/inspections", json=REJECTING).status_code == 201
    assert state_of(supervisor, "kidco") == ("KIDCO", "tightened", "two_of_five_not_accepted", False)
    # The lots of styles without a buyer (T-1's TEE-B) had one rejection: still normal.
    assert state_of(supervisor) == (None, "normal", "start", False)
    assert supervisor.post("/api/v1/inspections", json={"batch": "T-1", "lot_size": 500}).json["severity"] == "normal"
    refused = supervisor.post("/api/v1/inspections", json={"batch": "B-1", "lot_size": 500, "severity": "normal"})
    assert refused.status_code == 400 and set(refused.json["error"]["fields"]) == {"severity"}
    assert refused.json["error"]["fields"]["severity"].startswith("Line L1 / KIDCO is on tightened inspection")
    unknown = supervisor.get("/api/v1/lines/L1/inspection-switching?buyer=NOPE")
    assert unknown.status_code == 400 and set(unknown.json["error"]["fields"]) == {"buyer"}

    # Five lots not accepted while tightened discontinue KidCo's series alone.
    for _ in range(5):
        assert supervisor.post("/api/v1/inspections", json=REJECTING).status_code == 201
    assert state_of(supervisor, "KIDCO")[3] is True
    stopped = supervisor.post("/api/v1/inspections", json={"batch": "B-2", "lot_size": 500})
    assert stopped.status_code == 409 and set(stopped.json["error"]["fields"]) == {"batch"}
    assert supervisor.post("/api/v1/inspections", json={"batch": "T-1", "lot_size": 500}).status_code == 201
    not_that = manager.post("/api/v1/lines/L1/inspection-resumption", json={"reason": "Retrained"})
    assert not_that.status_code == 409 and set(not_that.json["error"]["fields"]) == {"line"}
    nobody = manager.post("/api/v1/lines/L1/inspection-resumption", json={"reason": "Retrained", "buyer": "NOPE"})
    assert nobody.status_code == 400 and set(nobody.json["error"]["fields"]) == {"buyer"}
    resumed = manager.post("/api/v1/lines/L1/inspection-resumption", json={"reason": "Retrained", "buyer": "kidco"})
    assert resumed.status_code == 201 and (resumed.json["line"], resumed.json["buyer"]) == ("L1", "KIDCO")
    assert state_of(supervisor, "KIDCO") == ("KIDCO", "tightened", "resumed", False)
    assert supervisor.post("/api/v1/inspections", json={"batch": "B-2", "lot_size": 500}).status_code == 201


def test_the_pages_keep_buyers_and_set_their_aqls(app, plant, client, auth):  # noqa: F811
    auth.as_role("quality_manager")
    refused = client.post("/buyers/new", data={"code": "KIDCO", "name": ""})
    assert refused.status_code == 400 and fields_with_errors(refused.text) == {"name"}
    assert client.post("/buyers/new", data={"code": "KIDCO", "name": "KidCo Retail"}).status_code == 302
    assert [cells(row)[0] for row in table_rows(client.get("/buyers").text)] == ["KIDCO"]
    assert client.post("/buyers/KIDCO/edit", data={"code": "KIDCO", "name": "KidCo Stores"}).status_code == 302

    edit = client.get("/styles/RMP-A/edit").text
    assert selected_value(field_block(edit, "buyer")) == ""
    form = {"code": "RMP-A", "name": "Infant romper", "category": "A", "cmia_required": "y", "markets": "CN"}
    assert client.post("/styles/RMP-A/edit", data=form | {"buyer": "KIDCO"}).status_code == 302
    assert selected_value(field_block(client.get("/styles/RMP-A/edit").text, "buyer")) == "KIDCO"
    assert "KIDCO" in client.get("/styles/RMP-A").text

    aqls = {"aql_major": "1.0", "aql_minor": "1.5"}
    no_reason = client.post("/buyers/KIDCO/aqls", data=aqls | {"reason": ""})
    assert no_reason.status_code == 400 and fields_with_errors(no_reason.text) == {"reason"}
    assert selected_value(field_block(no_reason.text, "aql_major")) == "1.0"
    assert client.post("/buyers/KIDCO/aqls", data=aqls | {"reason": "Manual 3.2"}).status_code == 302
    page = client.get("/buyers/KIDCO").text
    assert "Major 1.0, minor 1.5" in one(page, "section.aqls").text()
    assert "Manual 3.2" in one(page, "section.aqls").text()
    assert "RMP-A" in one(page, "#styles").text()
    assert "the buyer KIDCO's" in one(client.get("/styles/RMP-A").text, "section.aqls").text()

    auth.logout()
    auth.as_role("supervisor")
    assert one(client.get("/buyers/KIDCO").text, "section.aqls").css_first("form") is None
    assert client.post("/buyers/KIDCO/aqls", data=aqls | {"reason": "x"}).status_code == 403
    assert client.get("/buyers/new").status_code == 403
    client.post("/language", data={"language": "zh_Hans_CN"})
    assert one(client.get("/buyers").text, "h1").text(strip=True) == "买家"


def test_the_line_page_shows_each_series_and_resumes_a_discontinued_one(app, plant, api, client, auth):  # noqa: F811
    supervisor, manager = api("supervisor"), api("quality_manager")
    add_buyer(manager)
    assert manager.patch("/api/v1/styles/RMP-A", json={"buyer": "KIDCO"}).status_code == 200
    for _ in range(7):
        supervisor.post("/api/v1/inspections", json=REJECTING)
    supervisor.post("/api/v1/inspections", json={"batch": "T-1", "lot_size": 500})
    auth.as_role("quality_manager")
    page = client.get("/lines/L1").text
    rows = [cells(row)[:2] for row in table_rows(one(page, "#switching").html)]
    assert rows == [["Styles without a buyer", "Normal inspection"], ["KIDCO", "Discontinued"]]
    refused = client.post("/lines/L1/inspection-resumption", data={"buyer": "KIDCO", "reason": " "})
    assert refused.status_code == 400 and fields_with_errors(refused.text) == {"reason"}
    resumed = client.post("/lines/L1/inspection-resumption", data={"buyer": "KIDCO", "reason": "Retrained line"})
    assert resumed.status_code == 302
    rows = [cells(row)[:2] for row in table_rows(one(client.get("/lines/L1").text, "#switching").html)]
    assert rows == [["Styles without a buyer", "Normal inspection"], ["KIDCO", "Tightened inspection"]]
    assert state_of(supervisor, "KIDCO")[2] == "resumed"


@pytest.mark.skipif(not POSTGRES_URL, reason="row locks need PostgreSQL; SQLite has one writer")
def test_two_inspections_of_one_series_at_once_are_judged_one_after_the_other(app, plant, api):  # noqa: F811
    """A final inspection waits for the line's row while another transaction holds it, then reads the switching
    state that transaction left: here a second rejection put the line on tightened inspection, so the inspection
    sent as normal is refused."""
    supervisor = api("supervisor")
    assert supervisor.post("/api/v1/inspections", json=REJECTING).status_code == 201
    engine = create_engine(db.engine.url.render_as_string(hide_password=False))
    answers = []
    with engine.connect() as other:
        other.execute(text("SELECT id FROM production_lines WHERE code = 'L1' FOR UPDATE"))
        # A second rejected lot of the line, stored by the transaction that holds the line.
        other.execute(
            text(
                "INSERT INTO inspections (kind, batch_id, buyer_id, lot_size, level, severity, code_letter, aql_major,"
                " aql_minor, major_sample, major_accept, major_reject, minor_sample, minor_accept, minor_reject,"
                " units_inspected, critical_found, major_found, minor_found, verdict, packing_failed, note,"
                " inspector_id, inspected_at, garments_out_of_tolerance)"
                " SELECT kind, batch_id, buyer_id, lot_size, level, severity, code_letter, aql_major, aql_minor,"
                " major_sample, major_accept, major_reject, minor_sample, minor_accept, minor_reject,"
                " units_inspected, critical_found, major_found, minor_found, verdict, packing_failed, note,"
                " inspector_id, inspected_at + interval '1 minute', garments_out_of_tolerance FROM inspections"
            )
        )
        sending = threading.Thread(
            target=lambda: answers.append(
                supervisor.post("/api/v1/inspections", json={"batch": "B-1", "lot_size": 500, "severity": "normal"})
            )
        )
        sending.start()
        assert wait_for_a_lock_waiter(other) == 1
        other.commit()
    sending.join()
    engine.dispose()
    assert answers[0].status_code == 400 and set(answers[0].json["error"]["fields"]) == {"severity"}


def test_a_style_gives_up_its_own_aqls_for_its_buyers_with_a_reason(app, plant, api, client, auth):  # noqa: F811
    supervisor, manager = api("supervisor"), api("quality_manager")
    add_buyer(manager)
    manager.put("/api/v1/buyers/KIDCO/aqls", json={"aql_major": "1.5", "aql_minor": "2.5", "reason": "Manual"})
    none_yet = manager.delete("/api/v1/styles/RMP-A/aqls?reason=Buyer's+manual")
    assert none_yet.status_code == 409 and set(none_yet.json["error"]["fields"]) == {"style"}
    manager.put("/api/v1/styles/RMP-A/aqls", json={"aql_major": "1.5", "aql_minor": "4.0", "reason": "TP-3"})
    manager.patch("/api/v1/styles/RMP-A", json={"buyer": "KIDCO"})
    assert supervisor.delete("/api/v1/styles/RMP-A/aqls?reason=x").status_code == 403
    no_reason = manager.delete("/api/v1/styles/RMP-A/aqls")
    assert no_reason.status_code == 400 and set(no_reason.json["error"]["fields"]) == {"reason"}
    dropped = manager.delete("/api/v1/styles/RMP-A/aqls?reason=KidCo+manual+governs")
    assert dropped.status_code == 200
    assert (dropped.json["source"], dropped.json["own"], dropped.json["aql_major"], dropped.json["aql_minor"]) == (
        "buyer",
        False,
        "1.5",
        "2.5",
    )
    history = supervisor.get("/api/v1/styles/RMP-A/aqls/history").json["items"]
    # Major reads 1.5 as before: only the source and the minor class are recorded.
    assert {(e["field"], e["old"], e["new"], e["reason"]) for e in history if e["reason"] != "TP-3"} == {
        ("source", "style", "buyer", "KidCo manual governs"),
        ("aql_minor", "4.0", "2.5", "KidCo manual governs"),
    }

    # The page offers it while the style has AQLs of its own, and keeps a refused reason's field marked.
    manager.put("/api/v1/styles/RMP-A/aqls", json={"aql_major": "1.0", "aql_minor": "1.5", "reason": "TP-4"})
    auth.as_role("quality_manager")
    assert form_at(client.get("/styles/RMP-A").text, "/styles/RMP-A/aqls/removal") is not None
    refused = client.post("/styles/RMP-A/aqls/removal", data={"drop-reason": ""})
    assert refused.status_code == 400 and fields_with_errors(refused.text) == {"drop-reason"}
    assert client.post("/styles/RMP-A/aqls/removal", data={"drop-reason": "Follow KidCo"}).status_code == 302
    page = client.get("/styles/RMP-A").text
    assert "Major 1.5, minor 2.5" in one(page, "section.aqls").text()
    assert "/styles/RMP-A/aqls/removal" not in page
