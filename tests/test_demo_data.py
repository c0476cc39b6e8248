"""`flask --app capa demo-data`: realistic data in bulk that the app takes as its own (history chains verify,
numbering goes on, every state present), reproducible, refused on a database that holds records."""

import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from capa.audit import chain
from capa.capas.models import Action, Event, NonConformance, NumberCounter, RootCauseAnalysis, Signature
from capa.capas.states import State
from capa.demo import generate
from capa.demo.generate import BatchInfo, Person, Setup, World
from capa.extensions import db
from capa.masterdata.models import Batch, MaterialLot, ProductionLine, Style, Supplier, batch_lots
from tests.answers import ok

NCS = 600


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 200 NCs, so that a few hundred NCs go through the worker processes as a million would."""
    monkeypatch.setattr(generate, "CHUNK", 200)


def numbers_by_year(app) -> dict[int, list[int]]:
    with app.app_context():
        rows = db.session.execute(select(NonConformance.year, NonConformance.sequence)).all()
    found: dict[int, list[int]] = {}
    for year, sequence in rows:
        found.setdefault(year, []).append(sequence)
    return found


def test_demo_data_fills_a_consistent_factory_that_the_app_goes_on_from(app, runner, client, small_chunks):
    result = runner.invoke(args=["demo-data", "--ncs", str(NCS), "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert f"{NCS:,} non-conformances" in result.output

    with app.app_context():
        states = Counter(db.session.scalars(select(NonConformance.status)))
        assert sum(states.values()) == NCS
        # Two years of NCs: old ones closed, recent ones open, a few cancelled.
        assert states[State.CLOSED] > NCS * 0.7
        assert states[State.CANCELLED] > 0
        assert sum(states[state] for state in (State.INVESTIGATION, State.REVIEW, State.ACTION, State.VERIFICATION)) > 0
        assert db.session.scalar(select(func.count()).select_from(ProductionLine)) >= 20
        assert db.session.scalar(select(func.count()).select_from(Style)) > 0
        assert db.session.scalar(select(func.count()).select_from(Batch)) > 0
        # Every closed NC went through a reviewed root cause, its actions done, and was signed.
        closed = db.session.scalar(select(func.count()).where(NonConformance.status == State.CLOSED))
        approved = db.session.scalar(
            select(func.count(func.distinct(RootCauseAnalysis.nc_id)))
            .join(NonConformance)
            .where(NonConformance.status == State.CLOSED, RootCauseAnalysis.decision == "approve")
        )
        assert approved == closed
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Action)
                .join(NonConformance)
                .where(NonConformance.status == State.CLOSED, Action.status == "open")
            )
            == 0
        )
        # A CMIA batch holds no lot of a supplier that is not approved (none has a concession recorded).
        unapproved_in_cmia = (
            select(func.count())
            .select_from(batch_lots)
            .join(Batch, Batch.id == batch_lots.c.batch_id)
            .join(Style, Style.id == Batch.style_id)
            .join(MaterialLot, MaterialLot.id == batch_lots.c.lot_id)
            .join(Supplier, Supplier.id == MaterialLot.supplier_id)
            .where(Style.cmia_required.is_(True), Supplier.approval != "approved")
        )
        assert db.session.scalar(unapproved_in_cmia) == 0
        assert db.session.scalar(select(func.count()).where(Supplier.approval == "conditional")) > 0
        closing_signatures = db.session.scalar(select(func.count()).where(Signature.meaning == "closed_capa"))
        assert closing_signatures == closed
        # Chinese titles, as a Chinese factory writes them.
        assert db.session.scalar(select(func.count()).where(NonConformance.title.like("%按扣%"))) > 0
        # The history is the app's own: every chain verifies, and an entry changed outside the app is found.
        assert chain.verify() == []
        event = db.session.scalars(select(Event).order_by(Event.id.desc()).limit(1)).one()
        event.note = "changed outside the app"
        db.session.commit()
        assert [broken.chain for broken in chain.verify()] == [f"nc_events:{event.nc_id}"]
        event.note = db.session.scalar(select(Event.note).where(Event.id == event.id))

    # Numbers without gaps per year, and the counters at the last one.
    by_year = numbers_by_year(app)
    with app.app_context():
        counters = dict(db.session.execute(select(NumberCounter.year, NumberCounter.last)).all())
    for year, sequences in by_year.items():
        assert sorted(sequences) == list(range(1, len(sequences) + 1))
        assert counters[year] == len(sequences)

    # A demo user files through the API: the next number of the year, no conflict.
    login = client.post("/login", data={"username": "sup01", "password": "demo-7-pass"})
    assert login.status_code == 302
    with app.app_context():
        line, style, batch = db.session.execute(
            select(ProductionLine.code, Style.code, Batch.number)
            .join(Batch, Batch.line_id == ProductionLine.id)
            .join(Style, Style.id == Batch.style_id)
            .limit(1)
        ).one()
    from capa.accounts import service as accounts
    from capa.accounts.models import User

    with app.app_context():
        token = accounts.create_token(db.session.scalars(select(User).where(User.username == "sup01")).one())
    filed = ok(
        client.post(
            "/api/v1/nonconformances",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "title": "按扣脱落",
                "description": "",
                "defect_type": "loose_button",
                "source": "inline",
                "line": line,
                "style": style,
                "batch": batch,
            },
        ),
        201,
    )
    year = int(filed["number"].split("-")[1])
    assert filed["number"] == f"NC-{year}-{counters[year] + 1:05d}"


def _setup(now: datetime, seed: int) -> Setup:
    world = World(
        supervisors=[Person(1 + n, f"sup{n:02d}", "王芳") for n in range(3)],
        managers=[Person(10, "qm1", "李强")],
        lines=[1, 2, 3],
        batches=[BatchInfo(1 + n, f"B{n}", 1 + n % 2, n % 3, "AB"[n % 2]) for n in range(20)],
        defect_types=[(1, "loose_button", [5], 90), (2, "stain", [], 60)],
        limits={(5, "A"): ("max", "70", "N"), (5, "B"): ("max", "70", "N")},
        parameter_codes={5: "CN-ATT-GT6"},
    )
    bases = dict.fromkeys(("nonconformances", *generate.PER_NC), 0)
    years = generate.plan_years(now, 300, "Asia/Shanghai", {})
    texts = {"contained": "Contained.", "all_done": "Every action is done.", "release": "Release"}
    return Setup(world, 300, seed, now, "Asia/Shanghai", False, bases, years, texts)


def test_the_same_seed_gives_the_same_ncs_whenever_it_runs(tmp_path, small_chunks):
    """Only the moment of the run moves the dates and how far the latest NCs have come; what each NC is
    (its batch, defect, title, source) is fixed by the seed."""

    today = datetime(2026, 12, 3, 4, tzinfo=UTC)
    runs = [(today, 5), (today + timedelta(days=40), 5), (today, 6)]
    for number in range(len(runs)):
        (tmp_path / str(number)).mkdir()
    first, later, other = (
        generate.generate_chunk(_setup(now, seed), str(tmp_path / str(number)), 1)
        for number, (now, seed) in enumerate(runs)
    )
    rows = [_scratch_rows(chunk.path, "nonconformances") for chunk in (first, later, other)]
    same = [row[6:14] for row in rows[0]]
    assert len(same) == 100
    assert same == [row[6:14] for row in rows[1]]
    assert same != [row[6:14] for row in rows[2]]


def _scratch_rows(path: str, table: str) -> list[tuple]:
    scratch = sqlite3.connect(path)
    try:
        return scratch.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()  # noqa: S608 - our table name
    finally:
        scratch.close()


def test_a_database_holding_records_is_refused_unless_forced(app, runner, small_chunks):
    assert runner.invoke(args=["demo-data", "--ncs", "50"]).exit_code == 0
    refused = runner.invoke(args=["demo-data", "--ncs", "50"])
    assert refused.exit_code == 1
    assert "already holds records" in refused.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(NonConformance)) == 50

    forced = runner.invoke(args=["demo-data", "--ncs", "50", "--force", "--seed", "2"])
    assert forced.exit_code == 0, forced.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(NonConformance)) == 100
        assert chain.verify() == []
        # The added records' codes and users are prefixed: nothing collides with what was there.
        assert db.session.scalar(select(func.count()).where(ProductionLine.code.like("D2-%"))) > 0
