"""Tamper evidence: every history entry is chained by hash to the one before it, and a change made in the
database outside the app (a value changed, an actor changed, an entry deleted, entries reordered) is found by
``flask --app capa audit verify``, which names the first entry that does not match, and shown on the NC's page."""

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update

from capa.accounts.models import User
from capa.audit import chain
from capa.audit.models import AuditChain, RecordChange
from capa.capas import lookup
from capa.capas.models import Event
from capa.extensions import db
from capa.masterdata.models import Batch, MaterialLot, ProductionLine, Style, StyleChange, Supplier
from capa.safety.models import LimitChange, SafetyParameter
from tests.answers import ok
from tests.conftest import new_user
from tests.test_capa_rules_api import ROOT_CAUSE, file, make_world

NCS = "/api/v1/nonconformances"


@pytest.fixture
def world(client):
    return make_world(client)


def _with_history(w) -> tuple[str, int]:
    """An NC with a few history entries (filed, contained, root cause submitted), and its id."""
    number = file(w)["number"]
    ok(w.qm.post(f"{NCS}/{number}/containment", json={"description": "Held the batch.", "hold": []}))
    ok(w.sup.post(f"{NCS}/{number}/root-cause", json=ROOT_CAUSE))
    return number, lookup.get_nc(number).id


def _events(nc_id: int) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.nc_id == nc_id).order_by(Event.chain_seq)))


def _tamper(statement) -> None:
    """Change the database the way someone with database access would: straight SQL, no app."""
    with db.engine.begin() as connection:
        connection.execute(statement)
    db.session.expire_all()


def test_entries_written_by_the_app_are_chained_in_order_and_verify(world, runner):
    _number, nc_id = _with_history(world)
    events = _events(nc_id)
    assert [event.chain_seq for event in events] == list(range(1, len(events) + 1))
    assert len({event.chain_hash for event in events}) == len(events)
    assert all(len(event.chain_hash) == 64 for event in events)
    head = db.session.get(AuditChain, f"nc_events:{nc_id}")
    assert (head.head, head.length) == (events[-1].chain_hash, len(events))
    assert chain.verify() == []
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "Every history chain verifies." in result.output


def _change_new_value(nc_id, events):
    target = next(event for event in events if event.kind == "state")
    return update(Event).where(Event.id == target.id).values(new="closed"), target.chain_seq


def _change_actor(nc_id, events):
    other = new_user("quality_manager", "someone.else")
    return update(Event).where(Event.id == events[0].id).values(actor_id=other.id), 1


def _delete_filed(nc_id, events):
    return delete(Event).where(Event.id == events[0].id), 2


def _delete_last(nc_id, events):
    return delete(Event).where(Event.id == events[-1].id), len(events)


def _swap_two(nc_id, events):
    first, second = events[1], events[2]
    return (
        text(
            "UPDATE nc_events SET chain_seq = CASE id WHEN :a THEN :sb ELSE :sa END, "
            "chain_hash = CASE id WHEN :a THEN :hb ELSE :ha END WHERE id IN (:a, :b)"
        ).bindparams(
            a=first.id, b=second.id, sa=first.chain_seq, sb=second.chain_seq, ha=first.chain_hash, hb=second.chain_hash
        ),
        2,
    )


def _rehash_one(nc_id, events):
    """A change whose own hash was recomputed with the public rule: the next entry no longer follows it."""
    target = events[1]
    values = {**target.chain_values(), "note": "nothing happened"}
    forged = chain.entry_hash(f"nc_events:{nc_id}", 2, events[0].chain_hash, values)
    return update(Event).where(Event.id == target.id).values(note="nothing happened", chain_hash=forged), 3


@pytest.mark.parametrize(
    "tamper",
    [_change_new_value, _change_actor, _delete_filed, _delete_last, _swap_two, _rehash_one],
    ids=["value-changed", "actor-changed", "first-deleted", "last-deleted", "reordered", "rehashed"],
)
def test_a_change_outside_the_app_is_found_and_named(world, runner, auth, client, tamper):
    number, nc_id = _with_history(world)
    statement, first_bad = tamper(nc_id, _events(nc_id))
    _tamper(statement)

    breaks = chain.verify()
    assert [(found.chain, found.seq) for found in breaks] == [(f"nc_events:{nc_id}", first_bad)]
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"nc_events:{nc_id} entry {first_bad}" in result.output

    auth.login("qm.li")
    page = client.get(f"/nc/{number}")
    assert page.status_code == 200
    assert 'id="tampered"' in page.get_data(as_text=True)


def test_an_untouched_nc_page_shows_no_warning_beside_a_tampered_one(world, auth, client):
    tampered, tampered_id = _with_history(world)
    untouched, _ = _with_history(world)
    _tamper(update(Event).where(Event.nc_id == tampered_id, Event.kind == "filed").values(note="edited"))
    assert [found.chain for found in chain.verify()] == [f"nc_events:{tampered_id}"]
    auth.login("qm.li")
    assert 'id="tampered"' not in client.get(f"/nc/{untouched}").get_data(as_text=True)
    assert 'id="tampered"' in client.get(f"/nc/{tampered}").get_data(as_text=True)


def test_master_data_history_is_chained_too(world):
    """A category change of a style, recorded with its reason, then edited in the database: found."""
    ok(world.qm.patch("/api/v1/styles/TEE-500", json={"category": "C", "reason": "Tech pack revised."}))
    change = db.session.scalar(select(StyleChange).where(StyleChange.field == "category"))
    assert change.chain_seq is not None and chain.verify() == []
    _tamper(update(StyleChange).where(StyleChange.id == change.id).values(new="A"))
    assert [found.chain for found in chain.verify()] == [f"style_changes:{change.style_id}"]


def test_every_entry_of_a_chain_deleted_is_found_by_its_head(world):
    _number, nc_id = _with_history(world)
    _tamper(delete(Event).where(Event.nc_id == nc_id))
    assert [(found.chain, found.problem) for found in chain.verify()] == [
        (f"nc_events:{nc_id}", "every entry of the chain is missing")
    ]


def test_the_digest_changes_with_any_new_entry(world):
    before = chain.digest()
    _with_history(world)
    assert chain.digest() != before


def _migration_0012():
    path = Path(__file__).parents[1] / "migrations" / "versions" / "0012_audit_chains_record_changes_signatures.py"
    spec = importlib.util.spec_from_file_location("migration_0012", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration


def test_the_migration_chains_the_history_written_before_it(world):
    """Entries written before chaining existed are chained by the migration, in id order per record."""
    migration = _migration_0012()
    ok(world.qm.patch("/api/v1/styles/TEE-500", json={"category": "C", "reason": "Tech pack revised."}))
    _number, nc_id = _with_history(world)
    count = len(_events(nc_id))
    with db.engine.begin() as connection:
        for table, _chain_by, _fields in migration.CHAINED:
            history = db.metadata.tables[table]
            connection.execute(history.update().values(chain_seq=None, chain_hash=None))
            connection.execute(delete(AuditChain).where(AuditChain.name.like(f"{table}:%")))
    db.session.expire_all()
    assert {found.chain.split(":")[0] for found in chain.verify()} == {"nc_events", "style_changes"}

    with db.engine.begin() as connection:
        for table, chain_by, fields in migration.CHAINED:
            migration.chain_existing(connection, table, chain_by, fields)
    db.session.expire_all()

    assert [event.chain_seq for event in _events(nc_id)] == list(range(1, count + 1))
    assert chain.verify() == []


RECORD_PAGES = [
    # (what to tamper, the page that must warn, who looks)
    ("supplier", "/suppliers/SNAP-CO", "qm.li"),
    ("line", "/lines/L1", "qm.li"),
    ("batch", "/batches/B-2301-01", "qm.li"),
    ("lot", "/batches/B-2301-01", "qm.li"),
    ("style", "/styles/TEE-500", "qm.li"),
    ("parameter", "/parameters/CN-FORM", "qm.li"),
    ("user", "/users/sup.wang", "admin.ops"),
]


def _tamper_record(kind: str) -> str:
    """Edit the newest history entry of the record behind ``kind``'s page in the database; its chain's name."""
    if kind == "style":
        style_id = db.session.scalar(select(Style.id).where(Style.code == "TEE-500"))
        _tamper(update(StyleChange).where(StyleChange.style_id == style_id).values(reason="edited"))
        return f"style_changes:{style_id}"
    if kind == "parameter":
        parameter_id = db.session.scalar(select(SafetyParameter.id).where(SafetyParameter.code == "CN-FORM"))
        _tamper(update(LimitChange).where(LimitChange.parameter_id == parameter_id).values(reason="edited"))
        return f"limit_changes:{parameter_id}"
    record_id = {
        "supplier": select(Supplier.id).where(Supplier.code == "SNAP-CO"),
        "line": select(ProductionLine.id).where(ProductionLine.code == "L1"),
        "batch": select(Batch.id).where(Batch.number == "B-2301-01"),
        "lot": select(MaterialLot.id).where(MaterialLot.number == "SN-55"),
        "user": select(User.id).where(User.username == "sup.wang"),
    }[kind]
    record_id = db.session.scalar(record_id)
    where = (RecordChange.record_type == kind, RecordChange.record_id == record_id)
    _tamper(update(RecordChange).where(*where).values(new="edited"))
    return f"record_changes:{kind}:{record_id}"


@pytest.mark.parametrize(("kind", "page", "viewer"), RECORD_PAGES, ids=[kind for kind, _p, _v in RECORD_PAGES])
def test_a_master_data_page_warns_when_its_history_does_not_verify(world, auth, client, kind, page, viewer):
    ok(world.qm.patch("/api/v1/styles/TEE-500", json={"category": "C", "reason": "Tech pack revised."}))
    ok(world.qm.put("/api/v1/parameters/CN-FORM/limits/B", json={"comparator": "max", "limit": "70", "reason": "x"}))
    auth.login(viewer)
    assert "tampered" not in client.get(page).get_data(as_text=True)

    name = _tamper_record(kind)
    assert name in [found.chain for found in chain.verify()]
    shown = client.get(page).get_data(as_text=True)
    assert 'class="flash flash-error tampered"' in shown
    assert name in shown
