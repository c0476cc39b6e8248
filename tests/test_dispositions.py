"""Goods on hold leave quarantine only by a quality manager's dispositions (capa.capas.dispositions), through the
API and the pages: passing results release nothing by themselves; a hold is split across dispositions by
quantity; a release rests on evidence and never frees goods of a supplier that is not approved; a use as is
names the buyer's concession; a rework waits for its re-inspection; the closing gate names what is undisposed.

Every refusal is checked twice: the answer (status, code, the field named) and the record, unchanged.
"""

import pytest
from sqlalchemy import select

from capa.capas import lookup, steps
from capa.capas.commands import Contain
from capa.capas.dispositions import held_lots_unapproved
from capa.capas.models import Hold
from capa.common.commands import parse
from capa.extensions import db
from tests.answers import ok, refused
from tests.conftest import PASSWORD
from tests.pages import (
    errors_in,
    field_block,
    form_actions,
    form_at,
    input_value,
    logged_in,
    one,
    parsed,
    section,
    selected_values,
    text,
    textarea_text,
    texts,
    version_in,
)
from tests.test_capa_pages import Workflow, make_factory, make_people
from tests.test_capa_rules_api import NCS, advance, detail, file, make_world
from tests.test_statement_counts import counting

#: The multiplication sign people write between a number and its quantity, as the page shows it.
TIMES = "\u00d7"


@pytest.fixture
def world(client):
    return make_world(client)


def contain(w, number: str, hold: list[str], quantities: dict | None = None) -> dict:
    body = {"description": "Held in the cage.", "hold": hold, "quantities": quantities or {}}
    return ok(w.qm.post(f"{NCS}/{number}/containment", json=body))


def holds(record: dict) -> dict[str, dict]:
    """The NC record's holds by the batch or lot they hold."""
    return {h["batch"] or h["lot"]: h for h in record["containment"]["holds"]}


def dispose(w, number: str, hold: dict, client=None, **body):
    """Decide a disposition of ``hold`` through the API, signed with the user's password unless ``password`` is
    given."""
    return (client or w.qm).post(f"{NCS}/{number}/holds/{hold['id']}/dispositions", json={"password": PASSWORD, **body})


def retest(w, number: str, value=90, parameter: str = "CN-ATT-GT6") -> dict:
    return ok(w.qm.post(f"{NCS}/{number}/tests", json={"parameter": parameter, "value": value}), 201)


def held_by(w, batch: str) -> list[str]:
    return ok(w.qm.get(f"/api/v1/batches/{batch}"))["held_by"]


# Passing results release nothing -----------------------------------------------------------------------------


def test_passing_retests_leave_the_goods_on_hold(world):
    number = file(world)["number"]
    contain(world, number, ["B-2301-01", "SN-55"], {"B-2301-01": 1200})
    passed = retest(world, number, 95)
    assert passed["verdict"] == "pass"
    record = detail(world, number)
    assert [(h["released_at"], h["remaining"]) for h in record["containment"]["holds"]] == [(None, 1200), (None, None)]
    assert not [e for e in record["history"] if e["kind"] == "release"]
    assert held_by(world, "B-2301-01") == [number]

    # Every other gate met, closing is refused for what is still on hold.
    advance(world, number, "verification")
    retest(world, number, 95)
    error = refused(
        world.qm.post(f"{NCS}/{number}/close", json={"password": PASSWORD, "effectiveness": "x"}), 409, "gates_unmet"
    )
    assert error["unmet"] == [
        {
            "gate": "holds_released",
            "message": "Still on hold, without dispositions covering the whole quantity: "
            "B-2301-01 (1200 of 1200 without a disposition); SN-55.",
        }
    ]


# Splitting a hold ---------------------------------------------------------------------------------------------


def test_a_hold_is_split_across_a_release_and_a_scrap(world):
    number = file(world)["number"]
    contain(world, number, ["B-2301-01"], {"b-2301-01": 1200})
    passed = retest(world, number, 95)
    [hold] = holds(detail(world, number)).values()
    assert (hold["quantity"], hold["remaining"], hold["dispositions"]) == (1200, 1200, [])

    released = ok(
        dispose(world, number, hold, kind="release", quantity=800, reason="Sorted 100%.", results=[passed["id"]]),
        201,
    )
    [hold] = holds(released).values()
    assert (hold["released_at"], hold["remaining"]) == (None, 400)
    [first] = hold["dispositions"]
    assert {k: first[k] for k in ("kind", "quantity", "reason", "evidence", "results", "decided_by")} == {
        "kind": "release",
        "quantity": 800,
        "reason": "Sorted 100%.",
        "evidence": "",
        "results": [passed["id"]],
        "decided_by": world.names["qm"],
    }
    assert first["decided_at"] and first["reinspected_at"] is None
    assert held_by(world, "B-2301-01") == [number]

    # The scrap takes what remains.
    scrapped = ok(dispose(world, number, hold, kind="scrap", reason="Snaps torn out of the fabric."), 201)
    [hold] = holds(scrapped).values()
    assert [(d["kind"], d["quantity"]) for d in hold["dispositions"]] == [("release", 800), ("scrap", 400)]
    assert hold["released_at"] is not None and hold["remaining"] == 0
    assert hold["release_reason"] == "Release 800: Sorted 100%.; Scrap 400: Snaps torn out of the fabric."
    assert scrapped["version"] == released["version"] + 1
    assert [(e["kind"], e["field"], e["old"], e["new"], e["note"]) for e in scrapped["history"][-2:]] == [
        ("disposition", "B-2301-01", None, "scrap 400", "Snaps torn out of the fabric."),
        ("release", None, "B-2301-01", None, hold["release_reason"]),
    ]
    assert [e["kind"] for e in scrapped["history"]].count("disposition") == 2
    assert held_by(world, "B-2301-01") == []

    # Out of quarantine: nothing more to decide.
    error = refused(dispose(world, number, hold, kind="scrap", reason="Again."), 400, "invalid")
    assert set(error["fields"]) == {"hold"}


def test_a_quantity_over_what_remains_is_refused_and_changes_nothing(world):
    number = file(world)["number"]
    contain(world, number, ["B-2301-01"], {"B-2301-01": 1200})
    [hold] = holds(detail(world, number)).values()
    ok(dispose(world, number, hold, kind="scrap", quantity=1000, reason="Torn."), 201)
    before = detail(world, number)

    error = refused(dispose(world, number, hold, kind="scrap", quantity=201, reason="Torn."), 400, "invalid")
    assert error["fields"] == {"quantity": "At most 200 of 1200 remain to dispose of."}
    for bad in (0, -5, "many", 2.5):
        error = refused(dispose(world, number, hold, kind="scrap", quantity=bad, reason="Torn."), 400, "invalid")
        assert set(error["fields"]) == {"quantity"}, bad
    assert detail(world, number) == before


def test_a_hold_of_unknown_quantity_is_disposed_of_in_parts_then_the_rest(world):
    number = file(world)["number"]
    contain(world, number, ["B-2301-01"])
    [hold] = holds(detail(world, number)).values()
    assert (hold["quantity"], hold["remaining"]) == (None, None)

    part = ok(dispose(world, number, hold, kind="return_to_supplier", quantity=300, reason="Wrong snaps."), 201)
    assert holds(part)["B-2301-01"]["released_at"] is None
    rest = ok(dispose(world, number, hold, kind="release", reason="Checked.", evidence="100% pull test passed."), 201)
    hold = holds(rest)["B-2301-01"]
    assert [(d["kind"], d["quantity"]) for d in hold["dispositions"]] == [
        ("return_to_supplier", 300),
        ("release", None),
    ]
    assert hold["released_at"] is not None
    assert hold["release_reason"] == "Return to the supplier 300: Wrong snaps.; Release the rest: Checked."


# What a disposition must say -------------------------------------------------------------------------------


def test_a_release_rests_on_evidence(world):
    number = file(world)["number"]
    contain(world, number, ["B-2301-01"], {"B-2301-01": 10})
    [hold] = holds(detail(world, number)).values()
    before = detail(world, number)
    error = refused(dispose(world, number, hold, kind="release", reason="Looks fine."), 400, "invalid")
    assert set(error["fields"]) == {"evidence"}
    assert detail(world, number) == before
    # A scrap needs none.
    ok(dispose(world, number, hold, kind="scrap", reason="Not worth sorting."), 201)


def test_a_release_rests_only_on_results_of_this_nc_or_of_the_held_goods(world):
    number = file(world)["number"]
    contain(world, number, ["B-2301-01"], {"B-2301-01": 10})
    own = retest(world, number, 95)
    on_batch = ok(
        world.qm.post(
            "/api/v1/batches/B-2301-01/results",
            json={
                "parameter": "CN-ATT-GT6",
                "value": 90,
                "lab": "SGS",
                "report_number": "R-1",
                "tested_at": "2026-01-05",
            },
        ),
        201,
    )
    elsewhere = ok(
        world.qm.post(
            "/api/v1/batches/B-410-01/results",
            json={
                "parameter": "CN-ATT-GT6",
                "value": 90,
                "lab": "SGS",
                "report_number": "R-2",
                "tested_at": "2026-01-05",
            },
        ),
        201,
    )
    [hold] = holds(detail(world, number)).values()
    before = detail(world, number)
    body = {"kind": "release", "reason": "Passed.", "results": [own["id"], elsewhere["id"], 99999999]}
    error = refused(dispose(world, number, hold, **body), 400, "invalid")
    assert set(error["fields"]) == {"results[1]", "results[2]"}
    assert "B-2301-01" in error["fields"]["results[1]"]
    error = refused(dispose(world, number, hold, **{**body, "results": ["x"]}), 400, "invalid")
    assert set(error["fields"]) == {"results[0]"}
    assert detail(world, number) == before

    done = ok(dispose(world, number, hold, **{**body, "results": [own["id"], on_batch["id"]]}), 201)
    assert holds(done)["B-2301-01"]["dispositions"][0]["results"] == sorted([own["id"], on_batch["id"]])


def test_a_release_rests_only_on_passing_results(world):
    number = file(world)["number"]
    contain(world, number, ["B-2301-01"], {"B-2301-01": 100})
    failed = retest(world, number, 10)
    passed = retest(world, number, 95)
    assert (failed["verdict"], passed["verdict"]) == ("fail", "pass")
    [hold] = holds(detail(world, number)).values()
    before = detail(world, number)
    error = refused(
        dispose(world, number, hold, kind="release", reason="Fine.", results=[passed["id"], failed["id"]]),
        400,
        "invalid",
    )
    assert error["fields"] == {
        "results[1]": f"Result {failed['id']} did not pass: a release rests only on passing results."
    }
    assert detail(world, number) == before
    # Another disposition may rest on a failing result.
    scrap = {"kind": "scrap", "quantity": 10, "reason": "Failed.", "results": [failed["id"]]}
    scrapped = ok(dispose(world, number, hold, **scrap), 201)
    assert holds(scrapped)["B-2301-01"]["dispositions"][0]["results"] == [failed["id"]]


def test_use_as_is_needs_the_buyers_name_and_the_concessions_reference(world):
    number = file(world)["number"]
    contain(world, number, ["B-2301-01"], {"B-2301-01": 50})
    [hold] = holds(detail(world, number)).values()
    before = detail(world, number)
    error = refused(dispose(world, number, hold, kind="use_as_is", reason="Cosmetic only."), 400, "invalid")
    assert set(error["fields"]) == {"concession_buyer", "concession_reference"}
    error = refused(
        dispose(world, number, hold, kind="use_as_is", reason="Cosmetic.", concession_buyer="Kids & Co"), 400, "invalid"
    )
    assert set(error["fields"]) == {"concession_reference"}
    # A concession belongs to a use as is only.
    error = refused(
        dispose(world, number, hold, kind="scrap", reason="Torn.", concession_reference="C-1"), 400, "invalid"
    )
    assert set(error["fields"]) == {"concession_reference"}
    assert detail(world, number) == before

    body = {"concession_buyer": "Kids & Co", "concession_reference": "CONC-2026-007"}
    used = ok(dispose(world, number, hold, kind="use_as_is", reason="Cosmetic.", **body), 201)
    [decided] = holds(used)["B-2301-01"]["dispositions"]
    assert (decided["concession_buyer"], decided["concession_reference"]) == ("Kids & Co", "CONC-2026-007")
    assert holds(used)["B-2301-01"]["released_at"] is not None


@pytest.mark.parametrize("approval", ["suspended", "conditional"])
def test_goods_of_a_supplier_not_approved_are_not_released_but_used_under_a_concession(world, approval):
    ok(world.qm.patch("/api/v1/suppliers/DYE-01", json={"approval": approval, "reason": "Audit failed"}))
    number = file(world, style="BIB-410", batch="B-410-01", parameters=["CN-CF-SALIVA"])["number"]
    contain(world, number, ["DL-7781", "B-410-01"], {"DL-7781": 300})
    passed = retest(world, number, "4", "CN-CF-SALIVA")
    lot, batch = holds(detail(world, number))["DL-7781"], holds(detail(world, number))["B-410-01"]
    before = detail(world, number)

    # Neither the lot nor the batch made with it is released, whatever the evidence.
    for hold in (lot, batch):
        error = refused(
            dispose(world, number, hold, kind="release", reason="Retest passed.", results=[passed["id"]]),
            400,
            "invalid",
        )
        assert set(error["fields"]) == {"kind"}
        assert "DL-7781" in error["fields"]["kind"] and "concession" in error["fields"]["kind"]
    # Nor by the older release with a reason.
    error = refused(
        world.qm.post(f"{NCS}/{number}/holds/{lot['id']}/release", json={"password": PASSWORD, "reason": "Fine."}),
        400,
        "invalid",
    )
    assert set(error["fields"]) == {"hold"} and "concession" in error["fields"]["hold"]
    assert detail(world, number) == before

    concession = {"concession_buyer": "Baby Brand", "concession_reference": "BB-77"}
    used = ok(dispose(world, number, lot, kind="use_as_is", reason="Buyer accepts the shade.", **concession), 201)
    assert holds(used)["DL-7781"]["released_at"] is not None
    assert holds(used)["B-410-01"]["released_at"] is None


def test_goods_of_a_supplier_approved_for_other_parameters_than_the_style_requires_are_not_released(world):
    decided = world.qm.post(
        "/api/v1/suppliers/DYE-01/decisions",
        json={"approval": "approved", "approved_parameters": ["CN-FORM", "CN-PH"], "reason": "No saliva test yet"},
    )
    assert decided.status_code == 201, decided.json
    number = file(world, style="BIB-410", batch="B-410-01", parameters=["CN-CF-SALIVA"])["number"]
    contain(world, number, ["DL-7781", "B-410-01"], {"DL-7781": 300})
    passed = retest(world, number, "4", "CN-CF-SALIVA")
    for hold in holds(detail(world, number)).values():
        error = refused(
            dispose(world, number, hold, kind="release", reason="Retest passed.", results=[passed["id"]]),
            400,
            "invalid",
        )
        assert "DL-7781" in error["fields"]["kind"] and "not CN-CF-SALIVA" in error["fields"]["kind"]

    # Approved for saliva fastness too, its goods are released on the passing retest.
    world.qm.post(
        "/api/v1/suppliers/DYE-01/decisions",
        json={"approval": "approved", "approved_parameters": [], "reason": "Saliva capability shown"},
    )
    lot = holds(detail(world, number))["DL-7781"]
    ok(dispose(world, number, lot, kind="release", reason="Retest passed.", results=[passed["id"]]), 201)


def test_the_release_check_of_a_held_lot_reads_as_many_statements_however_many_styles_it_goes_into(world):
    world.qm.post(
        "/api/v1/suppliers/DYE-01/decisions",
        json={"approval": "approved", "approved_parameters": ["CN-FORM"], "reason": "Formaldehyde only"},
    )
    number = file(world, style="BIB-410", batch="B-410-01", parameters=["CN-CF-SALIVA"])["number"]
    contain(world, number, ["DL-7781"], {"DL-7781": 300})
    lot = {"number": "DL-7781", "kind": "dye_lot", "supplier": "DYE-01", "concession": "Saliva tested at SGS"}

    def feed(first: int, count: int) -> None:
        """``count`` more CMIA styles whose batches use the held lot."""
        for index in range(first, first + count):
            style = {"code": f"SET-{index}", "name": "Infant set", "category": "A", "cmia_required": True}
            ok(world.qm.post("/api/v1/styles", json=style), 201)
            batch = {"number": f"B-SET-{index}", "style": f"SET-{index}", "line": "L1", "lots": [lot]}
            ok(world.qm.post("/api/v1/batches", json=batch), 201)

    def checked() -> tuple[int, list[str]]:
        db.session.expire_all()
        hold = db.session.scalar(select(Hold).where(Hold.lot_id.is_not(None)))
        with counting() as statements:
            found = held_lots_unapproved(hold)
        return len(statements), [entry.why for entry in found]

    feed(1, 1)
    few, why = checked()
    # The NC's saliva fastness and the infant sets' plans are outside the dye house's scope.
    [reason] = why
    assert reason.startswith("DYE-01 is approved for CN-FORM only, not ") and "CN-CF-SALIVA" in reason
    feed(2, 4)
    assert checked()[0] == few


# Rework and re-inspection --------------------------------------------------------------------------------------


def test_a_rework_waits_for_its_reinspection_and_a_failed_one_gives_the_quantity_back(world):
    number = file(world)["number"]
    contain(world, number, ["B-2301-01"], {"B-2301-01": 100})
    [hold] = holds(detail(world, number)).values()
    reworked = ok(dispose(world, number, hold, kind="rework", reason="Re-set every snap."), 201)
    hold = holds(reworked)["B-2301-01"]
    [rework] = hold["dispositions"]
    assert (hold["released_at"], hold["remaining"], rework["quantity"]) == (None, 0, 100)
    assert "a rework of 100 waiting for its re-inspection" in next(
        g["message"] for g in gate_errors(world, number) if g["gate"] == "holds_released"
    )
    # Nothing is left to decide while the rework waits.
    error = refused(dispose(world, number, hold, kind="scrap", reason="Torn."), 400, "invalid")
    assert set(error["fields"]) == {"quantity"}

    reinspection = f"/api/v1/dispositions/{rework['id']}/reinspection"
    before = detail(world, number)
    error = refused(world.qm.post(reinspection, json={"passed": False}), 400, "invalid")
    assert set(error["fields"]) == {"note"}
    error = refused(world.qm.post(reinspection, json={}), 400, "invalid")
    assert set(error["fields"]) == {"passed"}
    refused(world.sup.post(reinspection, json={"passed": True}), 403, "forbidden")
    refused(world.qm.post("/api/v1/dispositions/99999999/reinspection", json={"passed": True}), 404, "not_found")
    assert detail(world, number) == before

    failed = ok(world.qm.post(reinspection, json={"passed": False, "note": "12 snaps still loose."}))
    hold = holds(failed)["B-2301-01"]
    [rework] = hold["dispositions"]
    assert (rework["reinspection_passed"], rework["reinspection_note"], rework["reinspected_by"]) == (
        False,
        "12 snaps still loose.",
        world.names["qm"],
    )
    assert (hold["released_at"], hold["remaining"]) == (None, 100)
    assert failed["history"][-1]["kind"] == "reinspection"
    # Once only.
    error = refused(world.qm.post(reinspection, json={"passed": True}), 400, "invalid")
    assert set(error["fields"]) == {"id"}

    # Reworked again: passed, the hold leaves quarantine.
    again = ok(dispose(world, number, hold, kind="rework", quantity=100, reason="Second rework."), 201)
    second = holds(again)["B-2301-01"]["dispositions"][-1]
    passed = ok(world.qm.post(f"/api/v1/dispositions/{second['id']}/reinspection", json={"passed": True}))
    hold = holds(passed)["B-2301-01"]
    assert hold["released_at"] is not None
    assert hold["release_reason"] == "Rework, then re-inspect 100: Second rework."
    # Only a rework is re-inspected.
    other = file(world)["number"]
    contain(world, other, ["B-2301-02"], {"B-2301-02": 5})
    scrapped = ok(dispose(world, other, holds(detail(world, other))["B-2301-02"], kind="scrap", reason="Torn."), 201)
    scrap_id = holds(scrapped)["B-2301-02"]["dispositions"][0]["id"]
    error = refused(
        world.qm.post(f"/api/v1/dispositions/{scrap_id}/reinspection", json={"passed": True}), 400, "invalid"
    )
    assert set(error["fields"]) == {"id"}


def test_the_rest_of_a_hold_of_unknown_quantity_waits_for_the_reinspection_of_a_reworked_part(world):
    number = file(world)["number"]
    contain(world, number, ["B-2301-01"])
    [hold] = holds(detail(world, number)).values()
    reworked = ok(dispose(world, number, hold, kind="rework", quantity=100, reason="Re-set 100 snaps."), 201)
    [rework] = holds(reworked)["B-2301-01"]["dispositions"]
    before = detail(world, number)
    # The rest would take the hold out of quarantine with the reworked 100 never re-inspected.
    for body in (
        {"kind": "release", "reason": "Checked.", "evidence": "Pull test passed."},
        {"kind": "scrap", "reason": "Torn."},
    ):
        error = refused(dispose(world, number, hold, **body), 400, "invalid")
        assert error["fields"] == {
            "quantity": "A rework of part of B-2301-01 waits for its re-inspection: record it before disposing of "
            "the rest, or give a quantity."
        }
    release = world.qm.post(
        f"{NCS}/{number}/holds/{hold['id']}/release", json={"password": PASSWORD, "reason": "Fine."}
    )
    error = refused(release, 400, "invalid")
    assert set(error["fields"]) == {"hold"}
    assert detail(world, number) == before
    # A part with its quantity may still be decided meanwhile.
    ok(dispose(world, number, hold, kind="scrap", quantity=20, reason="Torn."), 201)

    ok(world.qm.post(f"/api/v1/dispositions/{rework['id']}/reinspection", json={"passed": True}))
    rest = ok(dispose(world, number, hold, kind="release", reason="Checked.", evidence="Pull test passed."), 201)
    assert holds(rest)["B-2301-01"]["released_at"] is not None


def gate_errors(w, number: str) -> list[dict]:
    from capa.capas import gates

    return [g.to_dict() for g in gates.unmet_gates(lookup.get_nc(number), "x")]


# The closing gate ---------------------------------------------------------------------------------------------


def test_the_closing_gate_names_each_hold_without_dispositions_covering_it(world):
    number = file(world)["number"]
    contain(world, number, ["B-2301-01", "SN-55"], {"B-2301-01": 1200})
    advance(world, number, "verification")
    retest(world, number, 95)
    [batch, lot] = detail(world, number)["containment"]["holds"]
    ok(dispose(world, number, batch, kind="scrap", quantity=800, reason="Torn."), 201)
    ok(dispose(world, number, lot, kind="rework", quantity=40, reason="Re-set."), 201)
    before = detail(world, number)
    error = refused(
        world.qm.post(f"{NCS}/{number}/close", json={"password": PASSWORD, "effectiveness": "x"}), 409, "gates_unmet"
    )
    assert error["unmet"] == [
        {
            "gate": "holds_released",
            "message": "Still on hold, without dispositions covering the whole quantity: "
            "B-2301-01 (400 of 1200 without a disposition); "
            "SN-55 (the rest without a disposition, a rework of 40 waiting for its re-inspection).",
        }
    ]
    assert detail(world, number) == before

    ok(dispose(world, number, batch, kind="release", reason="Sorted.", evidence="Pull test 100%."), 201)
    [rework] = holds(detail(world, number))["SN-55"]["dispositions"]
    ok(world.qm.post(f"/api/v1/dispositions/{rework['id']}/reinspection", json={"passed": True}))
    ok(dispose(world, number, lot, kind="scrap", reason="The rest is scrapped."), 201)
    closed = ok(
        world.qm.post(f"{NCS}/{number}/close", json={"password": PASSWORD, "effectiveness": "No loose snap since."})
    )
    assert closed["status"] == "closed"


# The older release, and who may decide ---------------------------------------------------------------------------


def test_the_older_release_endpoint_records_a_release_of_what_remains(world):
    number = file(world)["number"]
    contain(world, number, ["B-2301-01"], {"B-2301-01": 1200})
    [hold] = holds(detail(world, number)).values()
    ok(dispose(world, number, hold, kind="scrap", quantity=200, reason="Torn."), 201)
    released = ok(
        world.qm.post(
            f"{NCS}/{number}/holds/{hold['id']}/release", json={"password": PASSWORD, "reason": "Sorted 100%."}
        )
    )
    hold = holds(released)["B-2301-01"]
    assert hold["released_at"] is not None
    last = hold["dispositions"][-1]
    assert (last["kind"], last["quantity"], last["reason"], last["evidence"]) == (
        "release",
        1000,
        "Sorted 100%.",
        "Sorted 100%.",
    )
    assert [e["kind"] for e in released["history"][-2:]] == ["disposition", "release"]
    assert held_by(world, "B-2301-01") == []


def test_only_a_quality_manager_decides_and_only_while_the_nc_is_open(world):
    number = file(world)["number"]
    contain(world, number, ["B-2301-01"], {"B-2301-01": 10})
    [hold] = holds(detail(world, number)).values()
    before = detail(world, number)
    for role in ("sup", "admin"):
        refused(
            dispose(world, number, hold, client=getattr(world, role), kind="scrap", reason="Torn."), 403, "forbidden"
        )
    refused(
        world.qm.post(
            f"{NCS}/{number}/holds/99999999/dispositions", json={"password": PASSWORD, "kind": "scrap", "reason": "x"}
        ),
        404,
        "not_found",
    )
    refused(
        world.qm.post(
            f"{NCS}/NC-1999-00001/holds/{hold['id']}/dispositions",
            json={"password": PASSWORD, "kind": "scrap", "reason": "x"},
        ),
        404,
        "not_found",
    )
    assert detail(world, number) == before

    # Decided on a version older than another quality manager's disposition of the same goods: stale.
    seen = before["version"]
    ok(dispose(world, number, hold, client=world.qm2, kind="scrap", quantity=4, reason="Torn.", version=seen), 201)
    after = detail(world, number)
    error = refused(
        dispose(world, number, hold, kind="release", reason="Fine.", evidence="x", version=seen), 409, "stale_version"
    )
    assert [change["kind"] for change in error["changes"]] == ["disposition"]
    assert detail(world, number) == after
    # Only the holds and the state matter: an edit of the description since leaves the decision valid.
    seen = after["version"]
    ok(world.sup.patch(f"{NCS}/{number}", json={"description": "Snaps come off at a light pull; 4 torn."}))
    ok(dispose(world, number, hold, kind="scrap", quantity=1, reason="Torn.", version=seen), 201)

    # A cancelled NC lifts its holds without a disposition; nothing is decided on it any more.
    cancelled = ok(world.qm.post(f"{NCS}/{number}/cancel", json={"reason": "A duplicate."}))
    lifted = holds(cancelled)["B-2301-01"]
    assert [(d["kind"], d["quantity"]) for d in lifted["dispositions"]] == [("scrap", 4), ("scrap", 1)]
    assert (lifted["remaining"], lifted["release_reason"]) == (0, f"Released: {number} was cancelled.")
    refused(dispose(world, number, hold, kind="scrap", reason="Torn."), 409, "invalid_state")


def test_containment_quantities_are_checked_by_number(world):
    number = file(world)["number"]
    before = detail(world, number)
    body = {"description": "Held.", "hold": ["B-2301-01"], "quantities": {"B-410-01": 5}}
    error = refused(world.qm.post(f"{NCS}/{number}/containment", json=body), 400, "invalid")
    assert set(error["fields"]) == {"quantities.B-410-01"}
    body = {"description": "Held.", "hold": ["B-2301-01"], "quantities": {"B-2301-01": 0}}
    error = refused(world.qm.post(f"{NCS}/{number}/containment", json=body), 400, "invalid")
    assert set(error["fields"]) == {"quantities.B-2301-01"}
    body = {"description": "Held.", "hold": ["B-2301-01"], "quantities": ["B-2301-01"]}
    error = refused(world.qm.post(f"{NCS}/{number}/containment", json=body), 400, "invalid")
    assert set(error["fields"]) == {"quantities"}
    assert detail(world, number) == before

    # Held without a quantity, it is counted later; once counted, it is not changed by a containment.
    contain(world, number, ["B-2301-01"])
    counted = contain(world, number, ["B-2301-01"], {"B-2301-01": 640})
    assert holds(counted)["B-2301-01"]["quantity"] == 640
    assert counted["history"][-1]["note"] == "640 held"
    body = {"description": "Held.", "hold": ["B-2301-01"], "quantities": {"B-2301-01": 700}}
    error = refused(world.qm.post(f"{NCS}/{number}/containment", json=body), 400, "invalid")
    assert set(error["fields"]) == {"quantities.B-2301-01"}


# Through the pages -------------------------------------------------------------------------------------------


@pytest.fixture
def floor(app):
    """The pages' factory (batch B-1 with snaps SN-1 from SNAP-01, batch B-2 with fabric F-2 from DYE-01), a
    quality manager and a supervisor, each logged in, and the workflow driven through the services."""
    make_factory()
    people = make_people()
    return Workflow(people.qm, people.sup), logged_in(app, people.qm), logged_in(app, people.sup)


def nc_page(client, number: str) -> str:
    page = client.get(f"/nc/{number}")
    assert page.status_code == 200
    return page.text


def held(app, number: str) -> list[tuple]:
    """Each hold of the NC as stored: subject, quantity, released, its dispositions (kind, quantity)."""
    with app.app_context():
        return [
            (h.subject, h.quantity, h.released_at is not None, [(d.kind, d.quantity) for d in h.dispositions])
            for h in lookup.get_nc(number).holds
        ]


def hold_id(app, number: str) -> int:
    with app.app_context():
        return lookup.get_nc(number).holds[0].id


def test_containment_on_the_page_takes_quantities_after_the_numbers(app, floor):
    flow, qm, _sup = floor
    number = flow.file()
    page = nc_page(qm, number)
    action = f"/nc/{number}/contain"
    version = version_in(form_at(page, action))

    typed = f"B-1 {TIMES} 0, SN-1"
    refused_page = qm.post(action, data={"version": version, "description": "Held.", "hold": typed})
    assert refused_page.status_code == 400
    block = field_block(form_at(refused_page.text, action), "hold")
    assert input_value(block) == typed
    assert errors_in(block) == ["B-1: Must be between 1 and 10000000."]
    assert held(app, number) == []

    response = qm.post(action, data={"version": version, "description": "Held.", "hold": f"b-1 {TIMES} 1200, SN-1 300"})
    assert response.status_code == 302
    assert held(app, number) == [("B-1", 1200, False, []), ("SN-1", 300, False, [])]
    lines = texts(section(nc_page(qm, number), "d3"), "ul.holds > li")
    assert lines[0].startswith(f"on hold Batch B-1 {TIMES} 1200 ")
    assert "1200 of 1200 not disposed of yet." in lines[0]


def test_the_page_proposes_the_passing_results_and_the_kind_has_no_default(app, floor):
    flow, qm, sup = floor
    number = flow.file()
    flow.contain(number)
    flow.retest(number, value="95")
    with app.app_context():
        [result] = _results_of(number)
    page = nc_page(qm, number)
    form = form_at(page, f"/nc/{number}/holds/{hold_id(app, number)}/dispositions")
    kind = field_block(form, "kind")
    assert selected_values(kind) == []
    assert [o.attributes["value"] for o in parsed(kind).css("option")] == [
        "",
        "release",
        "rework",
        "scrap",
        "return_to_supplier",
        "use_as_is",
    ]
    [box] = parsed(form).css('input[name="results"]')
    assert box.attributes["value"] == str(result) and "checked" in box.attributes
    assert "CN-ATT-GT6 95" in text(box.parent)
    # The passing retest released nothing.
    assert held(app, number) == [("B-1", None, False, [])]
    # The supervisor is offered no decision.
    assert not [a for a in form_actions(nc_page(sup, number)) if "/dispositions" in a or "/reinspection" in a]


def _results_of(number: str) -> list[int]:
    from capa.capas import queries

    return [r.id for r in queries.tests_of(lookup.get_nc(number))]


def test_a_refused_disposition_form_keeps_what_was_typed_with_each_error_beside_its_field(app, floor):
    flow, qm, _sup = floor
    number = flow.file()
    steps.contain(
        lookup.get_nc(number),
        parse(Contain, {"description": "Held.", "hold": ["B-1"], "quantities": {"B-1": 100}}),
        flow.qm,
    )
    action = f"/nc/{number}/holds/{hold_id(app, number)}/dispositions"
    version = version_in(form_at(nc_page(qm, number), action))
    typed = {
        "version": version,
        "kind": "use_as_is",
        "quantity": "150",
        "reason": "Typed: the buyer accepts the shade.",
        "evidence": "Typed evidence",
        "concession_buyer": "Typed buyer",
        "concession_reference": "",
        "password": PASSWORD,
    }
    response = qm.post(action, data=typed)
    assert response.status_code == 400
    form = form_at(response.text, action)
    assert selected_values(field_block(form, "kind")) == ["use_as_is"]
    assert input_value(field_block(form, "quantity")) == "150"
    assert textarea_text(field_block(form, "reason")) == typed["reason"]
    assert textarea_text(field_block(form, "evidence")) == typed["evidence"]
    assert input_value(field_block(form, "concession_buyer")) == "Typed buyer"
    assert errors_in(field_block(form, "quantity")) == ["At most 100 of 100 remain to dispose of."]
    assert len(errors_in(field_block(form, "concession_reference"))) == 1
    assert errors_in(field_block(form, "reason")) == []
    # Shown unfolded, in D3.
    assert "open" in one(section(response.text, "d3"), "details.fold").attributes
    assert form.parent.tag == "details" and "open" in form.parent.attributes
    assert held(app, number) == [("B-1", 100, False, [])]

    # Without a kind: refused beside it.
    response = qm.post(action, data={**typed, "kind": "", "quantity": ""})
    assert response.status_code == 400
    assert errors_in(field_block(form_at(response.text, action), "kind")) == ["This field is required."]


def test_a_hold_split_rework_and_reinspection_through_the_pages(app, floor):
    flow, qm, _sup = floor
    number = flow.file()
    steps.contain(
        lookup.get_nc(number),
        parse(Contain, {"description": "Held.", "hold": ["B-1"], "quantities": {"B-1": 100}}),
        flow.qm,
    )
    action = f"/nc/{number}/holds/{hold_id(app, number)}/dispositions"

    def decide(**data):
        version = version_in(form_at(nc_page(qm, number), action))
        return qm.post(action, data={"version": version, "password": PASSWORD, **data})

    assert decide(kind="scrap", quantity="30", reason="Torn fabric.").status_code == 302
    assert "Disposition recorded." in nc_page(qm, number)
    assert decide(kind="rework", reason="Re-set the snaps.").status_code == 302
    assert held(app, number) == [("B-1", 100, False, [("scrap", 30), ("rework", 70)])]
    d3 = section(nc_page(qm, number), "d3")
    assert "waiting for its re-inspection" in text(d3)

    with app.app_context():
        rework_id = lookup.get_nc(number).holds[0].dispositions[-1].id
    reinspection = f"/dispositions/{rework_id}/reinspection"
    form = form_at(nc_page(qm, number), reinspection)
    refused_page = qm.post(reinspection, data={"version": version_in(form), "passed": "no", "note": ""})
    assert refused_page.status_code == 400
    kept = form_at(refused_page.text, reinspection)
    assert [b.attributes["value"] for b in parsed(kept).css('input[name="passed"]') if "checked" in b.attributes] == [
        "no"
    ]
    assert len(errors_in(field_block(kept, "note"))) == 1

    response = qm.post(reinspection, data={"version": version_in(form), "passed": "yes", "note": "All 70 pass."})
    assert response.status_code == 302
    stored = held(app, number)
    assert stored == [("B-1", 100, True, [("scrap", 30), ("rework", 70)])]
    page = nc_page(qm, number)
    line = texts(section(page, "d3"), "ul.holds > li")[0]
    assert line.startswith(f"released Batch B-1 {TIMES} 100 ")
    assert "re-inspection passed" in line
    history = text(section(page, "history"))
    assert "decided a disposition for B-1: scrap 30" in history
    assert "recorded the re-inspection of a rework of B-1: 70 passed" in history


def test_a_supervisor_may_not_decide_a_disposition_on_the_page(app, floor):
    flow, _qm, sup = floor
    number = flow.file()
    flow.contain(number)
    response = sup.post(
        f"/nc/{number}/holds/{hold_id(app, number)}/dispositions",
        data={"kind": "scrap", "reason": "x", "password": PASSWORD},
    )
    assert response.status_code == 403
    assert held(app, number) == [("B-1", None, False, [])]


def test_the_batch_page_shows_the_goods_on_hold_until_the_dispositions_cover_them(app, floor):
    flow, qm, _sup = floor
    number = flow.file()
    steps.contain(
        lookup.get_nc(number),
        parse(Contain, {"description": "Held.", "hold": ["SN-1"], "quantities": {"SN-1": 10}}),
        flow.qm,
    )
    flow.retest(number, value="95")

    def on_hold() -> bool:
        page = qm.get("/batches/B-1").text
        return any("on hold" in text(node) and number in text(node) for node in parsed(page).css("p.flash"))

    assert on_hold()
    action = f"/nc/{number}/holds/{hold_id(app, number)}/dispositions"
    version = version_in(form_at(nc_page(qm, number), action))
    assert (
        qm.post(
            action, data={"version": version, "kind": "scrap", "quantity": "4", "reason": "Bent.", "password": PASSWORD}
        ).status_code
        == 302
    )
    assert on_hold()
    version = version_in(form_at(nc_page(qm, number), action))
    assert (
        qm.post(
            action, data={"version": version, "kind": "return_to_supplier", "reason": "Bent.", "password": PASSWORD}
        ).status_code
        == 302
    )
    assert not on_hold()
