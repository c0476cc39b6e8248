"""Realistic, reproducible data at a factory group's scale: ``flask --app capa demo-data --ncs N [--seed S]``.

What it writes, all in one transaction (a load that fails leaves nothing):

- master data: tens of lines with a supervisor each, a hundred suppliers, styles, batches and their material lots
  (scaled with N: thousands of styles and tens of thousands of batches at a million NCs), each with its creation
  entry in the master-data history;
- N non-conformances reported over the two years up to now, numbered per plant year without gaps as the app
  numbers them. Each NC lives a simulated life through the 8D steps (contained, root cause submitted, reviewed and
  sometimes returned, actions added and done, retested, closed, its effectiveness reviewed), each step taking a
  random time; an NC is left in the state its life had reached by now, so recent NCs are open and old ones
  closed, and a few stall (waiting for a supplier, say) with their actions overdue. Some are cancelled. Holds
  with their release disposition, failing lab results with their retest, signatures where the app asks for one;
- every history entry and signature as the app writes it, hash-chained exactly as :mod:`capa.audit.chain` does
  (``flask --app capa audit verify`` passes), and the numbering counters and id sequences moved past what was
  written, so filing goes on after it.

Rows are written in bulk (:mod:`capa.demo.bulk`), a chunk of NCs at a time, never one ORM object at a time.
The same seed gives the same data.

Errors: :class:`NotEmpty` when the database already holds records and ``force`` was not given.
"""

import functools
import json
import multiprocessing
import os
import random
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from hashlib import sha256
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text
from werkzeug.security import generate_password_hash

from capa.accounts.models import User
from capa.audit.chain import entry_hash
from capa.capas.labels import DISPOSITION_LABELS
from capa.capas.models import DefectType, DispositionKind, NonConformance, NumberCounter
from capa.common.errors import Conflict
from capa.demo import shapes
from capa.demo.bulk import NULL, Sink, copy_lines, copy_text, write_scratch
from capa.demo.bulk import escaped as _escaped
from capa.extensions import db
from capa.masterdata.models import Batch, MaterialLot, ProductionLine, Style, Supplier
from capa.safety.models import ParameterLimit, SafetyParameter

#: How far back the NCs go.
SPAN = timedelta(days=730)
#: NCs generated and written per chunk (bounded memory whatever N).
CHUNK = 20_000
#: The tables the generator writes ids into (their sequences are moved past them on PostgreSQL).
TABLES = (
    "users",
    "production_lines",
    "suppliers",
    "styles",
    "batches",
    "material_lots",
    "nonconformances",
    "nc_events",
    "root_cause_analyses",
    "capa_actions",
    "signatures",
    "holds",
    "dispositions",
    "lab_results",
    "record_changes",
    "style_changes",
)


class NotEmpty(Conflict):
    """The database already holds records: demo data is added to an empty one only, unless forced."""

    code = "not_empty"


@dataclass
class Report:
    ncs: int = 0
    rows: int = 0
    users: list[str] = field(default_factory=list)
    password: str = ""


# Hashing -------------------------------------------------------------------------------------------------


def _json(value: str) -> str:
    """A string as json.dumps(value, ensure_ascii=False) writes it; most need no escaping at all."""
    if '"' not in value and "\\" not in value and value.isprintable():
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


# The world -----------------------------------------------------------------------------------------------


@dataclass
class Person:
    id: int
    username: str
    full_name: str


@dataclass
class BatchInfo:
    id: int
    number: str
    style_id: int
    line_index: int
    category: str


@dataclass
class World:
    """The master data the NCs refer to, with what the generator needs to know of each record."""

    supervisors: list[Person]
    managers: list[Person]
    lines: list[int]
    batches: list[BatchInfo]
    defect_types: list[tuple[int, str, list[int], int]]  # id, code, parameter ids, effectiveness days
    limits: dict[tuple[int, str], tuple[str, str, str]]  # (parameter, category) -> comparator, limit, unit
    parameter_codes: dict[int, str]


def _ids(connection, table: str) -> int:
    return connection.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one()


def holds_records() -> bool:
    """Whether the database holds any record a factory made (lines, suppliers, styles, batches, lots, NCs)."""
    return any(
        db.session.scalar(select(func.count()).select_from(model)) > 0
        for model in (NonConformance, ProductionLine, Supplier, Style, Batch, MaterialLot)
    )


def fill(
    ncs: int,
    *,
    seed: int = 1,
    force: bool = False,
    password: str = "",
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Generate ``ncs`` NCs and the world around them (see the module). ``progress`` is called with the number of
    NCs written after each chunk. Raises :class:`NotEmpty` when records exist and ``force`` is false."""
    if holds_records() and not force:
        raise NotEmpty(
            str(_l("The database already holds records: demo data goes into an empty one (--force adds it anyway).")),
            fields={"database": "not_empty"},
        )
    prefix = f"D{seed}-" if holds_records() or _users_taken() else ""
    report = Report(password=password or f"demo-{seed}-pass")
    counters = dict(db.session.execute(select(NumberCounter.year, NumberCounter.last)).all())
    db.session.commit()
    connection = db.session.connection()
    sink = Sink(connection)
    sink.prepare()
    world = _world(connection, sink, random.Random(seed), ncs, prefix, report)
    now = datetime.now(UTC).replace(microsecond=0)
    zone = current_app.config["CAPA_TIMEZONE"]
    years = plan_years(now, ncs, zone, counters)
    setup = Setup(
        world=world,
        count=ncs,
        seed=seed,
        now=now,
        zone=zone,
        postgresql=sink.postgresql,
        bases={table: _ids(connection, table) for table in ("nonconformances", *PER_NC)},
        years=years,
        texts={
            # The app writes these in the words of the language it runs in; so does the generator.
            "contained": str(_l("Contained.")),
            "all_done": str(_l("Every action is done.")),
            "release": str(DISPOSITION_LABELS[DispositionKind.RELEASE]),
        },
    )
    tables = [*CHUNK_TABLES, ("audit_chains", CHAIN_COLUMNS)]
    sink.set_aside([table for table, _ in tables])
    try:
        with tempfile.TemporaryDirectory(prefix="capa-demo-") as scratch:
            for chunk in generate_all(setup, scratch):
                sink.load(tables, chunk.copies, chunk.path)
                sink.update("nonconformances", "source_result_id", chunk.sources)
                if chunk.path:
                    os.remove(chunk.path)
                report.ncs += chunk.size
                if progress is not None:
                    progress(report.ncs)
        sink.put_back()
        sink.finish(TABLES)
        _advance_counters(years, ncs, counters)
        sink.restore()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if not sink.postgresql:
            # SQLite loads commit chunk by chunk: what is in stays, and what was set aside for the load is put back.
            with db.engine.begin() as connection:
                sink.restore(connection)
        raise
    _analyze()
    report.rows = sink.rows_written
    return report


def _advance_counters(years: dict[int, tuple[int, int]], count: int, counters: dict[int, int]) -> None:
    """Each plant year's numbering counter at the last number issued, so the next filing goes on from it."""
    starts = sorted(years.items(), key=lambda item: item[1][0])
    for position, (year, (first, counter)) in enumerate(starts):
        end = starts[position + 1][1][0] if position + 1 < len(starts) else count
        last = counter + end - first
        table = NumberCounter.__table__
        if year in counters:
            db.session.execute(table.update().where(table.c.year == year).values(last=last))
        else:
            db.session.execute(table.insert().values(year=year, last=last))


def _users_taken() -> bool:
    return db.session.scalar(select(func.count()).select_from(User).where(User.username.in_(["qm1", "sup01"]))) > 0


def _analyze() -> None:
    """Fresh planner statistics for the tables just filled (the lists' plans depend on them). PostgreSQL also
    vacuums, marking the new rows visible to all as autovacuum would in a while: until then a count must visit
    every row an index names rather than read the index alone, and the figures measured would be a fresh
    load's, not those of the database a factory runs."""
    connection = db.engine.connect()
    try:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM (ANALYZE)"))
        else:
            connection.execute(text("ANALYZE"))
            connection.commit()
    finally:
        connection.close()


def _scale(ncs: int, per: int, low: int, high: int) -> int:
    return max(low, min(high, ncs // per))


def _world(connection, sink: Sink, rng: random.Random, ncs: int, prefix: str, report: Report) -> World:
    # Master data exists a month before the first NC.
    created_moment = datetime.now(UTC).replace(microsecond=0) - SPAN - timedelta(days=30)
    created = sink.moment(created_moment)
    line_count = 36
    supplier_count = 100
    style_count = _scale(ncs, 300, 12, 3000)
    batch_count = _scale(ncs, 40, 40, 25_000)

    password_hash = generate_password_hash(report.password, method=current_app.config["CAPA_PASSWORD_HASH"])
    user_base = _ids(connection, "users")
    users, supervisors, managers = [], [], []
    family = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    given = "芳伟娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
    for index in range(1, 5):
        person = Person(user_base + len(users) + 1, f"{prefix}qm{index}", f"{family[index]}{given[index]}")
        managers.append(person)
        users.append((person, "quality_manager"))
    for index in range(1, line_count + 1):
        name = f"{family[index % len(family)]}{given[(index * 7) % len(given)]}{given[(index * 3) % len(given)]}"
        person = Person(user_base + len(users) + 1, f"{prefix}sup{index:02d}", name)
        supervisors.append(person)
        users.append((person, "supervisor"))
    sink.write(
        "users",
        ("id", "username", "password_hash", "role", "active", "created_at", "email", "language", "full_name"),
        [(p.id, p.username, password_hash, role, True, created, None, "zh_Hans_CN", p.full_name) for p, role in users],
    )
    report.users = [p.username for p, _ in users]

    changes = _RecordChanges(connection, sink, created, created_moment)
    for person, role in users:
        changes.created("user", person.id, f"role: {role}; full_name: {person.full_name}")

    line_base = _ids(connection, "production_lines")
    lines = []
    for index in range(1, line_count + 1):
        lines.append(
            (line_base + index, f"{prefix}L{index:02d}", shapes.LINE_NAMES[index % 2].format(n=index), created)
        )
    sink.write("production_lines", ("id", "code", "name", "created_at"), lines)
    for line in lines:
        changes.created("line", line[0], f"name: {line[2]}")

    supplier_base = _ids(connection, "suppliers")
    suppliers = []
    for index in range(1, supplier_count + 1):
        city = shapes.CITIES[index % len(shapes.CITIES)]
        name = shapes.SUPPLIER_NAMES[index % len(shapes.SUPPLIER_NAMES)].format(city=city) + f"{index}"
        approval = "approved" if index % 10 else "conditional"
        suppliers.append((supplier_base + index, f"{prefix}S{index:03d}", name, approval, created))
    sink.write("suppliers", ("id", "code", "name", "approval", "created_at"), suppliers)
    for supplier in suppliers:
        changes.created("supplier", supplier[0], f"name: {supplier[2]}; approval: {supplier[3]}")

    style_base = _ids(connection, "styles")
    styles, style_categories = [], {}
    for index in range(1, style_count + 1):
        category = "ABC"[rng.randrange(3) if index % 4 else 0]
        age = {"A": "infant", "B": "child_3_7", "C": "child_7_14"}[category]
        name = f"{shapes.STYLE_NAMES[index % len(shapes.STYLE_NAMES)]} {index:04d}"
        style_id = style_base + index
        style_categories[style_id] = category
        styles.append((style_id, f"{prefix}ST{index:05d}", name, category, category != "C", created, age))
    sink.write("styles", ("id", "code", "name", "category", "cmia_required", "created_at", "age_group"), styles)
    changes.styles(
        [(s[0], f"name: {s[2]}; category: {s[3]}; cmia_required: {'yes' if s[4] else 'no'}") for s in styles]
    )

    batch_base = _ids(connection, "batches")
    lot_base = _ids(connection, "material_lots")
    batch_rows, lot_rows, links, batches = [], [], [], []
    # A CMIA batch takes only approved suppliers' lots (a conditional supplier's would need a concession recorded):
    # the conditional ones supply the styles without CMIA.
    cmia_styles = {style[0] for style in styles if style[4]}
    approved_suppliers = [supplier for supplier in suppliers if supplier[3] == "approved"]
    for index in range(1, batch_count + 1):
        batch_id = batch_base + index
        style_id = style_base + rng.randint(1, style_count)
        line_index = rng.randrange(line_count)
        number = f"{prefix}B{index:06d}"
        batch_rows.append((batch_id, number, style_id, lines[line_index][0], created))
        batches.append(BatchInfo(batch_id, number, style_id, line_index, style_categories[style_id]))
        for kind in ("fabric", "trim"):
            lot_id = lot_base + len(lot_rows) + 1
            offered = approved_suppliers if style_id in cmia_styles else suppliers
            supplier_id = offered[rng.randrange(len(offered))][0]
            lot_rows.append((lot_id, f"{prefix}LOT{lot_id - lot_base:07d}", kind, supplier_id, created))
            links.append((batch_id, lot_id))
    sink.write("batches", ("id", "number", "style_id", "line_id", "created_at"), batch_rows)
    sink.write("material_lots", ("id", "number", "kind", "supplier_id", "created_at"), lot_rows)
    sink.write("batch_lots", ("batch_id", "lot_id"), links)
    style_codes = {row[0]: row[1] for row in styles}
    line_codes = {row[0]: row[1] for row in lines}
    supplier_codes = {row[0]: row[1] for row in suppliers}
    for row in batch_rows:
        changes.created("batch", row[0], f"style: {style_codes[row[2]]}; line: {line_codes[row[3]]}")
    for row in lot_rows:
        changes.created("lot", row[0], f"kind: {row[2]}; supplier: {supplier_codes[row[3]]}")
    changes.flush()

    defect_types = []
    for defect_type in db.session.scalars(select(DefectType).where(DefectType.active).order_by(DefectType.id)):
        defect_types.append(
            (defect_type.id, defect_type.code, [p.id for p in defect_type.parameters], defect_type.effectiveness_days)
        )
    if not defect_types:
        raise NotEmpty(
            str(_l("No defect types: run `flask --app capa init-db` first.")), fields={"defect_types": "missing"}
        )
    limits = {}
    for limit in db.session.scalars(select(ParameterLimit).order_by(ParameterLimit.id)):
        if limit.comparator == "max":
            for category in limit.category:
                limits.setdefault((limit.parameter_id, category), (limit.comparator, limit.limit, ""))
    units = dict(db.session.execute(select(SafetyParameter.id, SafetyParameter.unit)).all())
    limits = {key: (comparator, bound, units.get(key[0], "")) for key, (comparator, bound, _) in limits.items()}
    codes = dict(db.session.execute(select(SafetyParameter.id, SafetyParameter.code)).all())
    return World(supervisors, managers, [line[0] for line in lines], batches, defect_types, limits, codes)


class _RecordChanges:
    """Creation entries of master data, chained one record at a time (few enough for the general rule)."""

    def __init__(self, connection, sink: Sink, created: str, created_moment: datetime):
        self.sink = sink
        self.created_text = created
        self.created_moment = created_moment
        self.next_id = _ids(connection, "record_changes")
        self.rows: list[tuple] = []
        self.chains: list[tuple] = []

    def created(self, record_type: str, record_id: int, summary: str) -> None:
        self.next_id += 1
        values = {
            "record_type": record_type,
            "record_id": record_id,
            "at": self.created_moment,
            "actor_id": None,
            "kind": "created",
            "field": "",
            "old": "",
            "new": summary,
            "reason": "",
        }
        name = f"record_changes:{record_type}:{record_id}"
        digest = entry_hash(name, 1, "", values)
        self.rows.append(
            (self.next_id, record_type, record_id, self.created_text, None, "created", "", "", summary, "", 1, digest)
        )
        self.chains.append((name, digest, 1))

    def styles(self, entries: list[tuple[int, str]]) -> None:
        base = _ids(self.sink.connection, "style_changes")
        rows = []
        for offset, (style_id, summary) in enumerate(entries, start=1):
            values = {
                "style_id": style_id,
                "field": "created",
                "old": "",
                "new": summary,
                "reason": "",
                "changed_by_id": None,
                "changed_at": self.created_moment,
            }
            name = f"style_changes:{style_id}"
            digest = entry_hash(name, 1, "", values)
            rows.append((base + offset, style_id, "created", "", summary, "", None, self.created_text, 1, digest))
            self.chains.append((name, digest, 1))
        self.sink.write(
            "style_changes",
            (
                "id",
                "style_id",
                "field",
                "old",
                "new",
                "reason",
                "changed_by_id",
                "changed_at",
                "chain_seq",
                "chain_hash",
            ),
            rows,
        )

    def flush(self) -> None:
        self.sink.write(
            "record_changes",
            (
                "id",
                "record_type",
                "record_id",
                "at",
                "actor_id",
                "kind",
                "field",
                "old",
                "new",
                "reason",
                "chain_seq",
                "chain_hash",
            ),
            self.rows,
        )
        self.sink.write("audit_chains", ("name", "head", "length"), self.chains)
        self.rows, self.chains = [], []


# The lives of NCs ----------------------------------------------------------------------------------------

EVENT_COLUMNS = (
    "id", "nc_id", "at", "actor_id", "kind", "field", "old", "new", "note", "version", "chain_seq", "chain_hash",
)  # fmt: skip
NC_COLUMNS = (
    "id", "number", "year", "sequence", "status", "version", "title", "description", "defect_type_id", "source",
    "severity", "line_id", "style_id", "batch_id", "category", "quantity_affected", "safety_critical",
    "reported_by_id", "reported_at", "created_at", "containment", "effectiveness", "cancel_reason", "closed_at",
    "cancelled_at", "source_result_id", "effectiveness_due", "effectiveness_verdict", "effectiveness_review",
    "effectiveness_recurred", "effectiveness_reviewed_at", "effectiveness_reviewed_by_id",
)  # fmt: skip
RCA_COLUMNS = (
    "id", "nc_id", "round", "whys", "fishbone", "category", "statement", "submitted_by_id", "submitted_at",
    "decision", "review_comment", "reviewed_by_id", "reviewed_at",
)  # fmt: skip
ACTION_COLUMNS = (
    "id", "nc_id", "kind", "description", "owner_id", "due_date", "status", "evidence", "created_at",
    "completed_at", "completed_by_id", "round",
)  # fmt: skip
SIGNATURE_COLUMNS = (
    "id", "nc_id", "signer_id", "signer_name", "meaning", "signed_at", "disposition_id", "chain_seq", "chain_hash",
)  # fmt: skip
HOLD_COLUMNS = ("id", "nc_id", "batch_id", "held_by_id", "held_at", "released_at", "released_by_id", "release_reason")
DISPOSITION_COLUMNS = ("id", "hold_id", "kind", "reason", "decided_by_id", "decided_at")
RESULT_COLUMNS = (
    "id", "batch_id", "parameter_id", "value", "verdict", "category", "comparator", "limit", "unit", "explanation",
    "near_limit", "lab", "report_number", "tested_at", "recorded_by_id", "recorded_at", "nc_id", "reported",
)  # fmt: skip
#: Each chunk's tables in the order they are written: NCs before the results that name them (an NC's link to
#: its failing result is set once both are in), holds before their dispositions.
CHUNK_TABLES = (
    ("nonconformances", NC_COLUMNS),
    ("lab_results", RESULT_COLUMNS),
    ("nc_parameters", ("nc_id", "parameter_id")),
    ("nc_events", EVENT_COLUMNS),
    ("root_cause_analyses", RCA_COLUMNS),
    ("capa_actions", ACTION_COLUMNS),
    ("holds", HOLD_COLUMNS),
    ("dispositions", DISPOSITION_COLUMNS),
    ("signatures", SIGNATURE_COLUMNS),
)
#: The most rows one NC can have in each table: a chunk owns the id range CHUNK times this, so that chunks are
#: generated apart (in parallel) and still get ids that never collide.
PER_NC = {
    "nc_events": 24,
    "signatures": 6,
    "root_cause_analyses": 3,
    "capa_actions": 2,
    "holds": 1,
    "dispositions": 1,
    "lab_results": 2,
}
CHAIN_COLUMNS = ("name", "head", "length")
#: The tables whose rows are generated as COPY lines already (on PostgreSQL).
LINES = frozenset({"nc_events", "signatures"})
SOURCES = ("inline", "end_of_line", "final_audit", "lab_test", "customer_complaint", "incoming_material")
_GOLDEN = 0.6180339887498949
#: The random numbers each NC's life draws.
FATE = 33
EPOCH = date(1970, 1, 1)
DAY = 86_400


@dataclass
class Setup:
    """Everything a chunk's generation needs, picklable for a worker process (no app, no database)."""

    world: World
    count: int
    seed: int
    now: datetime
    zone: str
    postgresql: bool
    #: The id each table's generated ids start after.
    bases: dict[str, int]
    #: Per plant year: the index of its first generated NC and the counter it continues from.
    years: dict[int, tuple[int, int]]
    #: The app's own words for the history (as the app writes them).
    texts: dict[str, str]

    def reported(self, index: int) -> int:
        """When NC ``index`` was reported (seconds since the epoch): evenly over the span, with a fixed
        irregularity within its slot, so that NCs are in id order and the moment of any index is known without
        generating the ones before."""
        step = SPAN.total_seconds() / max(self.count, 1)
        return int(self.now.timestamp() - SPAN.total_seconds() + step * (index + (index * _GOLDEN) % 1.0))


def plan_years(now: datetime, count: int, zone: str, counters: dict[int, int]) -> dict[int, tuple[int, int]]:
    """Per plant year, the index of its first NC (NCs are in time order) and the counter it continues from."""
    probe = Setup(None, count, 0, now, zone, False, {}, {}, {})  # type: ignore[arg-type]
    tz = ZoneInfo(zone)
    years: dict[int, tuple[int, int]] = {}
    low = 0
    while low < count:
        year = datetime.fromtimestamp(probe.reported(low), tz).year
        years[year] = (low, counters.get(year, 0))
        # The first index of a later year, by bisection over the ordered moments.
        lo, hi = low, count
        while lo < hi:
            middle = (lo + hi) // 2
            if datetime.fromtimestamp(probe.reported(middle), tz).year > year:
                hi = middle
            else:
                lo = middle + 1
        low = lo
    return years


@dataclass
class Chunk:
    """One chunk's rows, ready for the database: COPY text per table (PostgreSQL), or the path of a scratch SQLite
    file holding them (SQLite), so that the writing process does no per-row work of its own."""

    size: int
    copies: dict[str, bytes] = field(default_factory=dict)
    path: str | None = None
    #: (failing result, NC raised from it).
    sources: list[tuple[int, int]] = field(default_factory=list)


def generate_chunk(setup: Setup, scratch: str, chunk: int) -> Chunk:
    """The NCs of one chunk with all their rows (module-level, so that a worker process can run it)."""
    lives = _Lives(setup, chunk)
    first = chunk * CHUNK
    for index in range(first, min(first + CHUNK, setup.count)):
        lives.life(index)
    tables = [(table, columns, lives.rows[table]) for table, columns in CHUNK_TABLES]
    tables.append(("audit_chains", CHAIN_COLUMNS, lives.chains))
    done = Chunk(size=min(CHUNK, setup.count - first), sources=lives.sources)
    if setup.postgresql:
        done.copies = {table: copy_lines(rows) if table in LINES else copy_text(rows) for table, _, rows in tables}
    else:
        done.path = os.path.join(scratch, f"chunk-{chunk}.db")
        write_scratch(done.path, tables)
    return done


def generate_all(setup: Setup, scratch: str) -> Iterator[Chunk]:
    """Every chunk, in order; two worker processes generate them while the caller writes the ones before."""
    chunks = range((setup.count + CHUNK - 1) // CHUNK)
    if len(chunks) < 2:
        yield from (generate_chunk(setup, scratch, chunk) for chunk in chunks)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        yield from pool.imap(functools.partial(generate_chunk, setup, scratch), chunks)


class _Stamp:
    """A moment (whole seconds since the epoch) as the database column takes it and as the chain's hash reads
    it (:func:`capa.audit.chain.canonical`), built from cached day texts: a million NCs have some fifteen million
    moments."""

    def __init__(self, postgresql: bool):
        self.offset = "+00" if postgresql else ""
        self.days: dict[int, str] = {}
        # NCs take several steps at one moment: the last one is kept.
        self.last = -1
        self.last_texts = ("", "")

    def __call__(self, moment: int) -> tuple[str, str]:
        if moment == self.last:
            return self.last_texts
        day, rest = divmod(moment, 86_400)
        day_text = self.days.get(day)
        if day_text is None:
            day_text = self.days[day] = (EPOCH + timedelta(days=day)).isoformat()
        hours, rest = divmod(rest, 3600)
        minutes, seconds = divmod(rest, 60)
        clock = f"{hours:02d}:{minutes:02d}:{seconds:02d}.000000"
        self.last = moment
        self.last_texts = (f"{day_text} {clock}{self.offset}", f"{day_text}T{clock}+00:00")
        return self.last_texts


class _Lives:
    """Generates the NCs of one chunk."""

    def __init__(self, setup: Setup, chunk: int):
        self.setup = setup
        self.world = setup.world
        self.rng = random.Random(setup.seed * 1_000_003 + chunk)
        self.now = int(setup.now.timestamp())
        self.zone = ZoneInfo(setup.zone)
        self.stamp = _Stamp(setup.postgresql)
        self.ids = {table: setup.bases[table] + chunk * CHUNK * per for table, per in PER_NC.items()}
        self.rows: dict[str, list] = {table: [] for table, _ in CHUNK_TABLES}
        self.chains: list[tuple] = []
        self.sources: list[tuple[int, int]] = []

    def _next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def _at(self, moment: int | None) -> str | None:
        return None if moment is None else self.stamp(moment)[0]

    def _day(self, moment: int) -> str:
        """The plant date of a moment."""
        return datetime.fromtimestamp(moment, self.zone).date().isoformat()

    def life(self, index: int) -> None:
        setup, world, rows, at = self.setup, self.world, self.rows, self._at
        # The NC's fate, drawn in full whatever part of it happens before now: the same seed gives the same NCs
        # whenever it runs.
        draw = self.rng.random
        u = [draw() for _ in range(FATE)]
        reported = setup.reported(index)
        nc_id = setup.bases["nonconformances"] + index + 1
        batch = _pick(world.batches, u[0])
        defect_id, defect_code, parameter_ids, effectiveness_days = _pick(world.defect_types, u[1])
        shape = shapes.shape_of(defect_code)
        reporter = world.supervisors[batch.line_index]
        manager = _pick(world.managers, u[2])
        year = datetime.fromtimestamp(reported, self.zone).year
        first, counter = setup.years[year]
        sequence = counter + index - first + 1
        number = f"NC-{year}-{sequence:05d}"
        title = _pick(shape.titles_zh if u[3] < 0.7 else shape.titles_en, u[4])
        source = "lab_test" if parameter_ids and u[5] < 0.5 else _pick(SOURCES, u[6])
        safety = bool(parameter_ids) and batch.category == "A"
        severity = "critical" if safety else ("major" if u[7] < 0.6 else "minor")
        events: list[tuple] = []
        signatures: list[tuple] = []
        version = 1

        def log(moment, actor_id, kind, field_, old, new, note):
            events.append((moment, actor_id, kind, field_, old, new, note, version))

        result_id = None
        parameter_id = parameter_ids[0] if parameter_ids else None
        limit = world.limits.get((parameter_id, batch.category)) if parameter_id else None
        if source == "lab_test" and limit is not None:
            result_id = self._next("lab_results")
            failing = _over(limit[1])
            rows["lab_results"].append(
                (result_id, batch.id, parameter_id, failing, "fail", batch.category, limit[0], limit[1], limit[2],
                 "", False, "SGS 广州", f"GZ{nc_id:08d}", self._day(reported - 2 * DAY), manager.id,
                 at(reported), nc_id, failing),
            )  # fmt: skip
            self.sources.append((result_id, nc_id))
        if parameter_id is not None:
            rows["nc_parameters"].append((nc_id, parameter_id))

        log(reported, reporter.id, "filed", "", "", number, title)
        state, closed_at, cancelled_at, containment, effectiveness, cancel_reason = "reported", None, None, "", "", ""
        effectiveness_due = verdict = reviewed_at = reviewed_by = recurred = None
        review_text = ""
        now = self.now
        moment = reported + _between(1800, 36_000, u[8])
        stall = u[9] < 0.04
        hold = None
        if u[10] < 0.03 and moment < now:
            version += 1
            cancel_reason = _pick(shapes.CANCEL_REASONS, u[11])
            log(moment, manager.id, "field", "cancel_reason", "", cancel_reason, "")
            log(moment, manager.id, "state", "status", state, "cancelled", cancel_reason)
            state, cancelled_at = "cancelled", moment
        elif moment < now:
            version += 1
            containment = _pick(shape.containments, u[12])
            log(moment, reporter.id, "field", "containment", "", containment, "")
            if u[13] < 0.12:
                hold = [self._next("holds"), nc_id, batch.id, reporter.id, at(moment), None, None, ""]
                rows["holds"].append(hold)
                log(moment, reporter.id, "hold", "", "", batch.number, "")
            log(moment, reporter.id, "state", "status", state, "investigation", setup.texts["contained"])
            state = "investigation"
            round_ = 0
            while True:
                moment += _between(43_200, 518_400, u[14 + 4 * round_])
                if stall and u[15 + 4 * round_] < 0.3:
                    moment = now + DAY
                if moment >= now:
                    break
                round_ += 1
                version += 1
                category, statement, whys = _pick(shape.root_causes, u[12 + 4 * round_])
                log(moment, reporter.id, "root_cause", "", "", statement, f"Round {round_}")
                log(moment, reporter.id, "state", "status", state, "review", "")
                state = "review"
                rca = [self._next("root_cause_analyses"), nc_id, round_, _whys_json(whys),
                       _fishbone_json(category, statement), category, statement, reporter.id, at(moment), "", "",
                       None, None]  # fmt: skip
                rows["root_cause_analyses"].append(rca)
                moment += _between(17_280, 259_200, u[13 + 4 * round_])
                if moment >= now:
                    break
                decision = "return" if round_ == 1 and u[22] < 0.12 else "approve"
                comment = shapes.RETURN_COMMENT if decision == "return" else _pick(shapes.REVIEW_COMMENTS, u[23])
                version += 1
                rca[9:13] = [decision, comment, manager.id, at(moment)]
                log(moment, manager.id, "review", "", "", decision, comment)
                new_state = "action" if decision == "approve" else "investigation"
                log(moment, manager.id, "state", "status", state, new_state, "")
                state = new_state
                meaning = "approved_root_cause" if decision == "approve" else "returned_root_cause"
                signatures.append((moment, manager, meaning, None))
                if decision == "approve":
                    break
            if state == "action":
                moment += _between(3600, 108_000, u[24])
                kind, description, evidence = _pick(shape.actions, u[25])
                owner = reporter if u[26] < 0.7 else manager
                due = (datetime.fromtimestamp(moment, self.zone) + timedelta(days=14)).date().isoformat()
                action = [self._next("capa_actions"), nc_id, kind, description, owner.id, due, "open", "",
                          at(moment), None, None, round_]  # fmt: skip
                rows["capa_actions"].append(action)
                version += 1
                log(moment, manager.id, "action", "", "", description, f"{kind}, owner {owner.username}, due {due}")
                moment += _between(172_800, 1_728_000, u[27])
                if stall:
                    moment = now + DAY
                if moment < now:
                    version += 1
                    action[6:11] = ["done", evidence, at(moment), at(moment), owner.id]
                    log(moment, owner.id, "action_done", "", description, "", evidence)
                    log(moment, owner.id, "state", "status", state, "verification", setup.texts["all_done"])
                    state = "verification"
                    moment += _between(86_400, 604_800, u[28])
                    if result_id is not None and moment < now:
                        version += 1
                        passing = _under(limit[1])
                        rows["lab_results"].append(
                            (self._next("lab_results"), batch.id, parameter_id, passing, "pass", batch.category,
                             limit[0], limit[1], limit[2], "", False, "SGS 广州", f"GZ{nc_id:08d}-R", self._day(moment),
                             manager.id, at(moment), nc_id, passing),
                        )  # fmt: skip
                        log(moment, manager.id, "test", world.parameter_codes[parameter_id], "", f"{passing} pass", "")
                    moment += _between(43_200, 345_600, u[29])
                    if moment < now:
                        version += 1
                        if hold is not None:
                            disposition_id = self._next("dispositions")
                            reason = shapes.RELEASE_REASON
                            released = f"{setup.texts['release']}: {reason}"
                            rows["dispositions"].append(
                                (disposition_id, hold[0], "release", reason, manager.id, at(moment))
                            )
                            hold[5:8] = [at(moment), manager.id, released]
                            log(moment, manager.id, "disposition", batch.number, "", "release rest", reason)
                            log(moment, manager.id, "release", "", batch.number, "", released)
                            signatures.append((moment, manager, "released_batch", disposition_id))
                            version += 1
                        effectiveness = _pick(shapes.CLOSING_NOTES, u[30])
                        effectiveness_due = datetime.fromtimestamp(moment, self.zone).date() + timedelta(
                            days=effectiveness_days
                        )
                        log(moment, manager.id, "field", "effectiveness", "", effectiveness, "")
                        log(moment, manager.id, "field", "effectiveness_due", "", effectiveness_due.isoformat(), "")
                        log(moment, manager.id, "state", "status", state, "closed", "")
                        state, closed_at = "closed", moment
                        signatures.append((moment, manager, "closed_capa", None))
                        review_at = int(datetime.combine(effectiveness_due, time(9), self.zone).timestamp())
                        review_at += _between(0, 864_000, u[31])
                        if review_at < now:
                            version += 1
                            verdict, recurred, reviewed_at, reviewed_by = "effective", False, review_at, manager.id
                            review_text = shapes.EFFECTIVE_REVIEW
                            log(review_at, manager.id, "effectiveness_review", "", "", "effective", review_text)
                            signatures.append((review_at, manager, "reviewed_effectiveness", None))

        quantity = _pick((None, 12, 48, 120, 300, 1200), u[32])
        rows["nonconformances"].append(
            (nc_id, number, year, sequence, state, version, title, title, defect_id, source, severity,
             world.lines[batch.line_index], batch.style_id, batch.id, None, quantity, safety, reporter.id,
             at(reported), at(reported), containment, effectiveness, cancel_reason, at(closed_at), at(cancelled_at),
             None, None if effectiveness_due is None else effectiveness_due.isoformat(), verdict, review_text,
             recurred, at(reviewed_at), reviewed_by),
        )  # fmt: skip
        self._chain(nc_id, events, signatures)

    def _chain(self, nc_id: int, events: list[tuple], signatures: list[tuple]) -> None:
        """Write the NC's history entries and signatures with their place and hash in their chains.

        The hash is :func:`capa.audit.chain.entry_hash`, its canonical JSON written out here with the keys in
        sorted order (the same bytes, without a dict per entry: a million NCs have some fifteen million). On
        PostgreSQL the rows are written straight as COPY lines."""
        stamp, next_id, copy = self.stamp, self._next, self.setup.postgresql
        out = self.rows["nc_events"]
        name = f"nc_events:{nc_id}"
        previous, seq = "", 0
        for moment, actor_id, kind, field_, old, new, note, version in events:
            seq += 1
            stored, iso = stamp(moment)
            actor = "null" if actor_id is None else actor_id
            payload = (
                f'{{"chain":"{name}","previous":"{previous}","seq":{seq},"values":{{"actor_id":{actor},'
                f'"at":"{iso}","field":{_json(field_)},"kind":"{kind}","nc_id":{nc_id},"new":{_json(new)},'
                f'"note":{_json(note)},"old":{_json(old)},"version":{version}}}}}'
            )
            previous = sha256(payload.encode()).hexdigest()
            if copy:
                actor_text = NULL if actor_id is None else actor_id
                out.append(
                    f"{next_id('nc_events')}\t{nc_id}\t{stored}\t{actor_text}\t{kind}\t{_escaped(field_)}\t"
                    f"{_escaped(old)}\t{_escaped(new)}\t{_escaped(note)}\t{version}\t{seq}\t{previous}"
                )
            else:
                out.append((next_id("nc_events"), nc_id, stored, actor_id, kind, field_, old, new, note, version, seq,
                            previous))  # fmt: skip
        self.chains.append((name, previous, seq))
        if not signatures:
            return
        out = self.rows["signatures"]
        name = f"signatures:{nc_id}"
        previous, seq = "", 0
        for moment, signer, meaning, disposition_id in signatures:
            seq += 1
            stored, iso = stamp(moment)
            disposition = "null" if disposition_id is None else disposition_id
            payload = (
                f'{{"chain":"{name}","previous":"{previous}","seq":{seq},"values":{{"disposition_id":{disposition},'
                f'"meaning":"{meaning}","nc_id":{nc_id},"signed_at":"{iso}","signer_id":{signer.id},'
                f'"signer_name":{_json(signer.full_name)}}}}}'
            )
            previous = sha256(payload.encode()).hexdigest()
            if copy:
                disposition_text = NULL if disposition_id is None else disposition_id
                out.append(
                    f"{next_id('signatures')}\t{nc_id}\t{signer.id}\t{_escaped(signer.full_name)}\t{meaning}\t"
                    f"{stored}\t{disposition_text}\t{seq}\t{previous}"
                )
            else:
                out.append((next_id("signatures"), nc_id, signer.id, signer.full_name, meaning, stored,
                            disposition_id, seq, previous))  # fmt: skip
        self.chains.append((name, previous, seq))


@lru_cache(maxsize=256)
def _whys_json(whys: tuple[str, ...]) -> str:
    return json.dumps(list(whys), ensure_ascii=False)


@lru_cache(maxsize=256)
def _fishbone_json(category: str, statement: str) -> str:
    return json.dumps({category: [statement]}, ensure_ascii=False)


def _pick(items, fate: float):
    return items[int(fate * len(items))]


def _between(low: int, high: int, fate: float) -> int:
    return low + int(fate * (high - low))


def _over(limit: str) -> str:
    try:
        return f"{float(limit) * 1.6:.1f}"
    except ValueError:
        return limit


def _under(limit: str) -> str:
    try:
        return f"{float(limit) * 0.4:.1f}"
    except ValueError:
        return limit
