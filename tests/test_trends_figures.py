"""The figures of a weekly summary, checked against counts this file computes itself from its own data.

Every test places hand-made non-conformances in time (``reported_at``, and the real time stamps of each
later step moved to the moment the story says), keeps a ledger of what it did in plain Python, and compares
``capa.trends.figures.compute`` (or the summaries API) with what the ledger says, using the rules of the
issue: weeks run Monday 00:00 to Monday 00:00 in the plant's zone; trailing averages are the plain means of
the 4 and the 12 weeks before, empty weeks counting 0; and so on. Nothing here calls the app's queries to
find the expected value.
"""

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from capa.accounts import service as accounts
from capa.accounts.commands import NewUser
from capa.capas import filing, steps
from capa.capas.commands import (
    Cancel,
    Close,
    CompleteAction,
    Contain,
    FileNC,
    NewAction,
    ReleaseHold,
    Retest,
    Review,
    RootCause,
)
from capa.capas.models import Action, Event, Hold, NonConformance
from capa.common.clock import plant_today, plant_zone
from capa.common.commands import parse
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from capa.safety import service as safety
from capa.safety.commands import NewResult
from capa.safety.models import LabResult
from capa.trends import service as summaries
from capa.trends.figures import compute
from capa.trends.weeks import Week
from tests.conftest import PASSWORD

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

API_KEYS = {
    "week",
    "start",
    "end",
    "new_ncs",
    "closed",
    "open_at_end",
    "by_defect_type",
    "by_line",
    "by_supplier",
    "by_parameter",
    "by_source",
    "aging",
    "overdue_actions",
    "median_days_to_close",
    "p90_days_to_close",
    "retest_first_pass_rate",
    "recurrences",
    "failed_results",
    "near_limit_results",
    "alerts",
    "unattributed_ncs",
    "effectiveness",
}


# The calendar, computed here with the standard library only -----------------------------------------------


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0, second: int = 0, zone=SHANGHAI) -> datetime:
    """A moment on the plant's clock."""
    return datetime(year, month, day, hour, minute, second, tzinfo=zone)


def week_bounds(name: str, zone: ZoneInfo = SHANGHAI) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the ISO week ``2026-W47``: Monday 00:00 to the next Monday 00:00, plant time."""
    monday = date.fromisocalendar(int(name[:4]), int(name[6:]), 1)
    start = datetime.combine(monday, time(0, 0), zone).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(0, 0), zone).astimezone(UTC)
    return start, end


def week_before(name: str, weeks: int) -> str:
    monday = date.fromisocalendar(int(name[:4]), int(name[6:]), 1) - timedelta(weeks=weeks)
    iso = monday.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def sunday_of(name: str) -> date:
    return date.fromisocalendar(int(name[:4]), int(name[6:]), 7)


def within(moment: datetime | None, name: str, zone: ZoneInfo = SHANGHAI) -> bool:
    if moment is None:
        return False
    start, end = week_bounds(name, zone)
    return start <= moment < end


def mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 2)


def percentile(values: list[float], share: float) -> float:
    """Linear interpolation between the closest ranks (the usual definition, as spreadsheets compute it)."""
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# The ledger: what this file did, in plain Python -------------------------------------------------------------


@dataclass
class Rec:
    """One NC as this file filed it and moved it."""

    id: int
    number: str
    reported: datetime
    defect: str
    line: str
    source: str
    suppliers: frozenset[str]
    parameters: frozenset[str]
    critical: bool
    moves: list[tuple[datetime, str]] = field(default_factory=list)
    closed: datetime | None = None
    cancelled: datetime | None = None
    actions: list["ActionRec"] = field(default_factory=list)

    @property
    def state(self) -> str:
        return self.moves[-1][1] if self.moves else "reported"

    def open_at(self, end: datetime) -> bool:
        return (
            self.reported < end
            and (self.closed is None or self.closed >= end)
            and (self.cancelled is None or self.cancelled >= end)
        )

    def state_at(self, end: datetime) -> str:
        earlier = [state for moment, state in self.moves if moment < end]
        return earlier[-1] if earlier else "reported"


@dataclass
class ActionRec:
    id: int
    nc: Rec
    description: str
    owner: str
    due: date
    created: datetime
    done: datetime | None = None


@dataclass
class ResultRec:
    nc: Rec | None
    parameter: str
    tested: date
    verdict: str
    near: bool
    id: int = 0


@dataclass
class HoldRec:
    id: int
    nc: Rec
    batch: str | None
    lot: str | None
    held: datetime
    released: datetime | None = None


# Master data: (number, style, line, [(lot, kind, supplier)])
BATCHES = {
    "B-1": ("ST-B", "L1", [("LOT-A1", "fabric", "SUP-A"), ("LOT-A2", "trim", "SUP-A")]),
    "B-2": ("ST-B", "L2", [("LOT-B1", "fabric", "SUP-B"), ("LOT-A3", "trim", "SUP-A")]),
    "B-3": ("ST-A", "L1", [("LOT-C1", "fabric", "SUP-C")]),
    "B-4": ("ST-B2", "L3", [("LOT-C2", "dye_lot", "SUP-C")]),
    "B-5": ("ST-C", "L2", [("LOT-A4", "fabric", "SUP-A")]),
}
STYLES = {"ST-A": "A", "ST-B": "B", "ST-B2": "B", "ST-C": "C"}
#: The lot kinds a failure of each parameter used here concerns: the fabric's chemistry and colour fastness
#: are the fabric's and its dye lot's. An NC naming no lot is charged to the suppliers of its batch's lots of
#: those kinds only; an NC with no such parameter to no supplier.
CONCERNS = {code: {"fabric", "dye_lot"} for code in ("CN-FORM", "CN-AZO", "CN-PH", "CN-CF-PERSP-ACID", "CN-CF-SALIVA")}
LINES = ["L1", "L2", "L3", "L4", "L5", "L6", "L7"]
SUPPLIERS = ["SUP-A", "SUP-B", "SUP-C"]


#: What each step stamps with the real time: the column that tells the rows, and the values to give them.
STAMPS = {
    "event": lambda moment: (Event.at, {"at": moment}),
    "held": lambda moment: (Hold.held_at, {"held_at": moment}),
    "released": lambda moment: (Hold.released_at, {"released_at": moment}),
    "created": lambda moment: (Action.created_at, {"created_at": moment}),
    "completed": lambda moment: (Action.completed_at, {"completed_at": moment}),
    "closed": lambda moment: (NonConformance.closed_at, {"closed_at": moment}),
    "cancelled": lambda moment: (NonConformance.cancelled_at, {"cancelled_at": moment}),
    "result": lambda moment: (
        LabResult.recorded_at,
        {"recorded_at": moment, "tested_at": moment.astimezone(plant_zone()).date()},
    ),
}


class Plant:
    """Files and moves NCs through the real services as a quality manager, moves every time stamp the
    services set to the moment given, and writes down in its ledger what it did."""

    def __init__(self, qm):
        self.qm = qm
        self.ncs: list[Rec] = []
        self.results: list[ResultRec] = []
        self.holds: list[HoldRec] = []
        for code in LINES:
            masterdata.create_line(parse(NewLine, {"code": code, "name": f"Line {code}"}))
        for code in SUPPLIERS:
            masterdata.create_supplier(parse(NewSupplier, {"code": code, "name": f"Supplier {code}"}))
        for code, category in STYLES.items():
            masterdata.create_style(parse(NewStyle, {"code": code, "name": f"Style {code}", "category": category}))
        for number, (style, line, lots) in BATCHES.items():
            masterdata.create_batch(
                parse(
                    NewBatch,
                    {
                        "number": number,
                        "style": style,
                        "line": line,
                        "lots": [{"number": n, "kind": k, "supplier": s} for n, k, s in lots],
                    },
                )
            )

    # Time ---------------------------------------------------------------------------------------------

    @contextmanager
    def happening(self, moment: datetime, *stamps: str) -> Iterator[None]:
        """The ``stamps`` (see STAMPS) the block takes with the real time are moved to ``moment``: every such stamp
        taken between the block's start and end (the moments this file places things at are never the present)."""
        began = datetime.now(UTC)
        yield
        ended = datetime.now(UTC)
        session = db.session
        for name in ("event", *stamps):
            column, values = STAMPS[name](moment)
            session.execute(
                update(column.class_).where(column >= began, column <= ended).values(**values),
                execution_options={"synchronize_session": False},
            )
        session.commit()

    def _nc(self, rec: Rec) -> NonConformance:
        return db.session.get(NonConformance, rec.id)

    # The steps --------------------------------------------------------------------------------------------

    def file(
        self,
        moment: datetime,
        defect: str = "stain",
        line: str = "L1",
        *,
        source: str = "inline",
        batch: str | None = None,
        style: str | None = None,
        parameters: Iterable[str] = (),
        category: str = "B",
        title: str = "A defect",
    ) -> Rec:
        data = {
            "title": title,
            "defect_type": defect,
            "source": source,
            "line": line,
            "parameters": list(parameters),
            "reported_at": moment.isoformat(),
        }
        if batch:
            data["batch"] = batch
            style = style or BATCHES[batch][0]
        if style:
            data["style"] = style
        else:
            data["category"] = category
        with self.happening(moment):
            nc = filing.file_nc(parse(FileNC, data), self.qm)
        effective_category = STYLES[style] if style else category
        concerned = set().union(*(CONCERNS.get(code, set()) for code in parameters))
        suppliers = frozenset(s for _n, k, s in BATCHES[batch][2] if k in concerned) if batch else frozenset()
        rec = Rec(
            id=nc.id,
            number=nc.number,
            reported=moment,
            defect=defect,
            line=line,
            source=source,
            suppliers=suppliers,
            parameters=frozenset(parameters),
            critical=bool(parameters) and effective_category == "A",
        )
        self.ncs.append(rec)
        return rec

    def contain(self, rec: Rec, moment: datetime, hold: Iterable[str] = ()) -> list[HoldRec]:
        before = db.session.scalar(select(func.coalesce(func.max(Hold.id), 0)))
        with self.happening(moment, "held"):
            steps.contain(
                self._nc(rec), parse(Contain, {"description": "Stopped the goods.", "hold": list(hold)}), self.qm
            )
        if rec.state == "reported":
            rec.moves.append((moment, "investigation"))
        new = []
        for row in db.session.scalars(select(Hold).where(Hold.nc_id == rec.id, Hold.id > before).order_by(Hold.id)):
            new.append(
                HoldRec(
                    row.id, rec, row.batch.number if row.batch else None, row.lot.number if row.lot else None, moment
                )
            )
        self.holds.extend(new)
        return new

    def submit_root_cause(self, rec: Rec, moment: datetime) -> None:
        data = {"whys": ["The machine was set wrong."], "category": "machine", "statement": "Wrong setting."}
        with self.happening(moment):
            steps.submit_root_cause(self._nc(rec), parse(RootCause, data), self.qm)
        rec.moves.append((moment, "review"))

    def review(self, rec: Rec, moment: datetime, decision: str = "approve") -> None:
        with self.happening(moment):
            steps.review(
                self._nc(rec),
                parse(Review, {"password": PASSWORD, "decision": decision, "comment": "Why was it not caught?"}),
                self.qm,
            )
        rec.moves.append((moment, "action" if decision == "approve" else "investigation"))

    def to_action(self, rec: Rec, moment: datetime) -> None:
        """Contain, submit a root cause and approve it, an hour apart from ``moment`` on."""
        self.contain(rec, moment)
        self.submit_root_cause(rec, moment + HOUR)
        self.review(rec, moment + 2 * HOUR)

    def add_action(self, rec: Rec, moment: datetime, owner: str, due: date, description: str = "") -> ActionRec:
        description = description or f"Fix {rec.number} ({len(rec.actions) + 1})"
        data = {"kind": "corrective", "description": description, "owner": owner, "due_date": due.isoformat()}
        with self.happening(moment, "created"):
            action = steps.add_action(self._nc(rec), parse(NewAction, data), self.qm)
        record = ActionRec(action.id, rec, description, owner, due, moment)
        rec.actions.append(record)
        return record

    def complete(self, action: ActionRec, moment: datetime) -> None:
        with self.happening(moment, "completed"):
            steps.complete_action(
                db.session.get(Action, action.id), parse(CompleteAction, {"evidence": "Done, photo attached."}), self.qm
            )
        action.done = moment
        if all(a.done is not None for a in action.nc.actions):
            action.nc.moves.append((moment, "verification"))

    def close(self, rec: Rec, moment: datetime) -> None:
        with self.happening(moment, "closed"):
            steps.close(
                self._nc(rec),
                parse(Close, {"password": PASSWORD, "effectiveness": "No repeat in a month of checks."}),
                self.qm,
            )
        rec.closed = moment
        rec.moves.append((moment, "closed"))

    def cancel(self, rec: Rec, moment: datetime) -> None:
        with self.happening(moment, "cancelled"):
            steps.cancel(self._nc(rec), parse(Cancel, {"reason": "Not a real defect."}), self.qm)
        rec.cancelled = moment
        rec.moves.append((moment, "cancelled"))

    def release(self, hold: HoldRec, moment: datetime) -> None:
        with self.happening(moment, "released"):
            steps.release_hold(
                self._nc(hold.nc),
                hold.id,
                parse(ReleaseHold, {"password": PASSWORD, "reason": "Sorted and passed."}),
                self.qm,
            )
        hold.released = moment

    def closed_nc(self, reported: datetime, closed: datetime, defect: str = "stain", line: str = "L1", **kw) -> Rec:
        """An NC driven through every step to a CAPA closed at ``closed``."""
        rec = self.file(reported, defect, line, **kw)
        self.to_action(rec, reported + HOUR)
        action = self.add_action(rec, reported + 4 * HOUR, self.qm.username, reported.date() + timedelta(days=60))
        self.complete(action, closed - HOUR)
        self.close(rec, closed)
        return rec

    def retest(self, rec: Rec, moment: datetime, parameter: str, value, verdict: str, near: bool = False) -> None:
        with self.happening(moment, "result", "released"):
            result = steps.record_test(self._nc(rec), parse(Retest, {"parameter": parameter, "value": value}), self.qm)
        # The data must be what this test means it to be.
        assert (result.verdict, result.near_limit) == (verdict, near), (parameter, value)
        self.results.append(ResultRec(rec, parameter, moment.astimezone(SHANGHAI).date(), verdict, near, result.id))
        if verdict == "fail" and rec.state == "verification":
            rec.moves.append((moment, "investigation"))

    def lab(self, batch: str, moment: datetime, parameter: str, value, verdict: str, near: bool = False) -> None:
        data = {
            "parameter": parameter,
            "value": value,
            "lab": "SGS Shanghai",
            "report_number": f"R-{len(self.results) + 1}",
            "tested_at": plant_today().isoformat(),
        }
        with self.happening(moment, "result"):
            result = safety.record_result(masterdata.get_batch(batch), parse(NewResult, data), self.qm)
        assert (result.verdict, result.near_limit) == (verdict, near), (parameter, value)
        self.results.append(ResultRec(None, parameter, moment.astimezone(SHANGHAI).date(), verdict, near, result.id))

    # What the ledger says -----------------------------------------------------------------------------------

    def new(self, week: str, zone: ZoneInfo = SHANGHAI) -> list[Rec]:
        return [rec for rec in self.ncs if within(rec.reported, week, zone)]

    def new_count(self, week: str) -> int:
        return len(self.new(week))

    def closed_count(self, week: str) -> int:
        return sum(within(rec.closed, week) for rec in self.ncs)

    def open_count(self, week: str) -> int:
        end = week_bounds(week)[1]
        return sum(rec.open_at(end) for rec in self.ncs)

    def breakdown(self, week: str, keys) -> Counter:
        counts: Counter = Counter()
        for rec in self.new(week):
            counts.update(set(keys(rec)))
        return counts


BREAKDOWN_KEYS = {
    "by_defect_type": lambda rec: [rec.defect],
    "by_line": lambda rec: [rec.line],
    "by_source": lambda rec: [rec.source],
    "by_supplier": lambda rec: rec.suppliers,
    "by_parameter": lambda rec: rec.parameters,
}


def trailing(count_of, week: str) -> dict[str, float]:
    """The 4- and 12-week averages of ``count_of(week)`` over the weeks before ``week``."""
    values = [count_of(week_before(week, back)) for back in range(1, 13)]
    return {"4w": mean(values[:4]), "12w": mean(values)}


@pytest.fixture
def qm(make_user):
    return make_user("quality_manager", "qm.li")


@pytest.fixture
def plant(app, qm) -> Plant:
    return Plant(qm)


@pytest.fixture
def owners(app):
    """Two action owners with e-mail addresses."""
    return [
        accounts.create_user(
            parse(
                NewUser,
                {"username": name, "role": "supervisor", "password": PASSWORD, "email": f"{name}@plant.example"},
            )
        ).username
        for name in ("owner.wang", "owner.zhao")
    ]


def figures(week: str) -> dict:
    return compute(Week.parse(week), plant_zone())


def alert_keys(alerts: list[dict]) -> set[tuple]:
    keys = set()
    for alert in alerts:
        if alert["kind"].startswith("rising_"):
            keys.add((alert["kind"], alert["key"], alert["count"], alert["average_4w"]))
        elif alert["kind"] == "safety_critical_open":
            keys.add((alert["kind"], alert["nc"]))
        else:
            keys.add((alert["kind"], alert["nc"], alert["batch"], alert["lot"], alert["days"]))
    return keys


# Week boundaries ------------------------------------------------------------------------------------------


def test_an_nc_belongs_to_the_week_of_its_report_in_plant_time(plant, api):
    week = "2026-W47"  # Monday 2026-11-16 to Sunday 2026-11-22, Asia/Shanghai
    cases = {
        "sunday before, 23:59:59": (at(2026, 11, 15, 23, 59, 59), "2026-W46"),
        "monday, 00:00": (at(2026, 11, 16, 0, 0), week),
        "sunday, 23:59": (at(2026, 11, 22, 23, 59), week),
        # 08:00 on Monday in Shanghai is still Sunday in UTC: the plant's calendar decides.
        "monday after, 00:00": (at(2026, 11, 23, 0, 0), "2026-W48"),
        "monday after, 07:59": (at(2026, 11, 23, 7, 59), "2026-W48"),
    }
    for title, (moment, _week) in cases.items():
        plant.file(moment, title=title)
    expected = {name: sum(1 for _m, w in cases.values() if w == name) for name in ("2026-W46", week, "2026-W48")}
    assert expected == {"2026-W46": 1, week: 2, "2026-W48": 2}

    start, end = week_bounds(week)
    assert (start.isoformat(), end.isoformat()) == ("2026-11-15T16:00:00+00:00", "2026-11-22T16:00:00+00:00")
    for name, count in expected.items():
        computed = figures(name)
        assert computed["new_ncs"] == count == plant.new_count(name), name
        assert computed["open_at_end"] == plant.open_count(name), name

    summaries.build(Week.parse(week))
    response = api("supervisor").get(f"/api/v1/summaries/{week}")
    assert response.status_code == 200, response.text
    body = response.json
    assert set(body) >= API_KEYS
    assert body["week"] == week
    assert datetime.fromisoformat(body["start"]) == start
    assert datetime.fromisoformat(body["end"]) == end
    assert body["new_ncs"] == 2
    assert body["by_source"] == {"inline": 2}


@pytest.fixture
def berlin_config(app_config):
    app_config["CAPA_TIMEZONE"] = "Europe/Berlin"
    return app_config


def test_week_boundaries_follow_the_configured_plant_zone_across_a_clock_change(berlin_config, plant):
    berlin = ZoneInfo("Europe/Berlin")
    week = "2026-W13"  # Monday 2026-03-23 to Sunday 2026-03-29; summer time begins on that Sunday
    moments = [
        at(2026, 3, 22, 23, 59, zone=berlin),  # W12
        at(2026, 3, 23, 0, 0, zone=berlin),  # W13
        at(2026, 3, 29, 23, 59, zone=berlin),  # W13, though already Monday in Shanghai
        at(2026, 3, 30, 0, 0, zone=berlin),  # W14
    ]
    for moment in moments:
        plant.file(moment)
    start, end = week_bounds(week, berlin)
    assert end - start == timedelta(hours=167)
    computed = figures(week)
    assert datetime.fromisoformat(computed["start"]) == start
    assert datetime.fromisoformat(computed["end"]) == end
    assert computed["new_ncs"] == len(plant.new(week, berlin)) == 2
    assert figures("2026-W12")["new_ncs"] == 1
    assert figures("2026-W14")["new_ncs"] == 1


# A week with no data --------------------------------------------------------------------------------------


def assert_quiet(computed: dict) -> None:
    """Nothing happened in the week itself."""
    assert computed["new_ncs"] == 0
    assert computed["closed"] == 0
    for name in BREAKDOWN_KEYS:
        assert computed[name] == {}, name
    assert computed["median_days_to_close"] is None
    assert computed["p90_days_to_close"] is None
    assert computed["retest_first_pass_rate"] is None
    assert computed["recurrences"] == []
    assert computed["failed_results"] == {}
    assert computed["near_limit_results"] == {}


def test_a_week_with_no_data_at_all_is_all_zeros_and_none(app, api):
    week = "2026-W47"
    computed = figures(week)
    assert_quiet(computed)
    assert computed["open_at_end"] == 0
    assert computed["aging"] == {"0-7": 0, "8-30": 0, "31-90": 0, "over_90": 0}
    assert computed["by_state"] == {}
    assert computed["overdue_actions"] == []
    assert computed["alerts"] == []
    for name in ("new_ncs", "closed", "open_at_end"):
        assert computed["averages"][name] == {"4w": 0, "12w": 0}

    summary, built = summaries.build(Week.parse(week))
    assert built and summary.status == "built"
    body = api("supervisor").get(f"/api/v1/summaries/{week}").json
    assert set(body) >= API_KEYS
    assert_quiet(body)
    assert body["alerts"] == []


def test_a_quiet_week_among_busy_ones_still_counts_what_is_open_and_the_averages(plant):
    week = "2026-W47"
    plant.file(at(2026, 11, 3, 10))  # W45
    plant.file(at(2026, 11, 4, 10), "open_seam", "L2", source="final_audit")  # W45
    plant.file(at(2026, 11, 25, 10))  # W48
    computed = figures(week)
    assert_quiet(computed)
    assert computed["open_at_end"] == plant.open_count(week) == 2
    assert computed["averages"]["new_ncs"] == trailing(plant.new_count, week) == {"4w": 0.5, "12w": round(2 / 12, 2)}
    assert computed["averages"]["by_defect_type"]["open_seam"] == {"4w": 0.25, "12w": 0.08}
    assert computed["aging"] == {"0-7": 0, "8-30": 2, "31-90": 0, "over_90": 0}
    assert computed["by_state"] == {"reported": 2}
    assert computed["alerts"] == []


# Counts and trailing averages -------------------------------------------------------------------------------


def test_new_closed_and_open_counts_with_their_trailing_averages(plant):
    week = "2026-W47"
    monday = date(2026, 11, 16)

    def day(back: int, weekday: int, hour: int = 10) -> datetime:
        """A moment ``back`` weeks before the week, on ``weekday`` (0 Monday … 6 Sunday)."""
        moment = monday - timedelta(weeks=back) + timedelta(days=weekday)
        return at(moment.year, moment.month, moment.day, hour)

    new_per_week = [5, 1, 2, 3, 0, 4, 0, 1, 2, 0, 0, 1, 3, 1]  # this week, 1 week before, … 13 weeks before
    filed: dict[int, list[Rec]] = {}
    # Closings and cancellings need their NCs filed before them: file oldest first.
    for back in range(len(new_per_week) - 1, -1, -1):
        filed[back] = [plant.file(day(back, n % 7, 8 + n)) for n in range(new_per_week[back])]
    plant.file(day(-1, 2))  # the week after: counts nowhere here

    def close(rec: Rec, closed: datetime) -> None:
        plant.to_action(rec, rec.reported + HOUR)
        action = plant.add_action(rec, rec.reported + 4 * HOUR, plant.qm.username, date(2027, 1, 31))
        plant.complete(action, closed - HOUR)
        plant.close(rec, closed)

    close(filed[12][0], day(10, 3))
    close(filed[8][0], day(3, 1))
    close(filed[5][0], day(1, 4))
    close(filed[3][0], day(0, 0, 9))
    close(filed[3][1], day(0, 6, 23))
    close(filed[0][0], day(-1, 0, 1))  # closed the Monday after: open at the week's end
    plant.cancel(filed[7][0], day(2, 2))
    plant.cancel(filed[1][0], day(-1, 1))  # cancelled after the week: open at its end

    computed = figures(week)
    assert computed["new_ncs"] == plant.new_count(week) == 5
    assert computed["closed"] == plant.closed_count(week) == 2
    assert computed["open_at_end"] == plant.open_count(week)
    assert computed["averages"]["new_ncs"] == trailing(plant.new_count, week) == {"4w": 1.5, "12w": 1.42}
    assert computed["averages"]["closed"] == trailing(plant.closed_count, week)
    assert computed["averages"]["open_at_end"] == trailing(plant.open_count, week)
    history = [week_before(week, back) for back in range(12, -1, -1)]
    assert computed["history"]["weeks"] == history
    assert computed["history"]["new_ncs"] == [plant.new_count(w) for w in history]
    assert computed["history"]["closed"] == [plant.closed_count(w) for w in history]
    assert computed["history"]["open_at_end"] == [plant.open_count(w) for w in history]


def test_breakdowns_by_defect_type_line_supplier_parameter_and_source(plant):
    week = "2026-W47"
    specs = [
        # (moment, defect type, line, source, batch, parameters)
        (at(2026, 11, 16, 8), "stain", "L1", "inline", "B-1", []),
        (at(2026, 11, 17, 8), "stain", "L1", "end_of_line", "B-2", []),
        (at(2026, 11, 18, 8), "formaldehyde_over_limit", "L2", "lab_test", "B-2", ["CN-FORM"]),
        (at(2026, 11, 19, 8), "colorfastness_failure", "L3", "lab_test", "B-4", ["CN-CF-PERSP-ACID", "CN-FORM"]),
        (at(2026, 11, 20, 8), "open_seam", "L2", "customer_complaint", None, []),
        (at(2026, 11, 22, 23, 30), "formaldehyde_over_limit", "L1", "incoming_material", "B-5", ["CN-FORM"]),
        # the weeks before, for the averages
        (at(2026, 11, 10, 8), "stain", "L1", "inline", "B-1", []),
        (at(2026, 11, 3, 8), "stain", "L3", "inline", "B-4", []),
        (at(2026, 10, 27, 8), "formaldehyde_over_limit", "L2", "lab_test", "B-2", ["CN-FORM"]),
        (at(2026, 10, 21, 8), "open_seam", "L4", "final_audit", "B-3", []),
        (at(2026, 9, 30, 8), "stain", "L1", "inline", "B-1", []),
        (at(2026, 9, 1, 8), "shade_variation", "L5", "inline", "B-5", []),
        (at(2026, 8, 20, 8), "stain", "L1", "inline", "B-1", []),  # before the 12 weeks
        (at(2026, 11, 23, 8), "stain", "L1", "inline", "B-1", []),  # the week after
    ]
    for moment, defect, line, source, batch, parameters in specs:
        plant.file(moment, defect, line, source=source, batch=batch, parameters=parameters)

    computed = figures(week)
    for name, keys in BREAKDOWN_KEYS.items():
        counts = plant.breakdown(week, keys)
        assert computed[name] == dict(counts), name
        every_key = set().union(*(set(keys(rec)) for rec in plant.ncs))
        for key in every_key:
            expected = trailing(lambda w, key=key, keys=keys: plant.breakdown(w, keys)[key], week)
            if expected != {"4w": 0, "12w": 0} or counts[key]:
                assert computed["averages"][name][key] == expected, (name, key)
    # The independent counts, spelled out: formaldehyde and colour fastness are charged to the suppliers of
    # their batch's fabric and dye lots (never to B-2's trim supplier SUP-A); stains and seams to none.
    assert computed["by_supplier"] == {"SUP-A": 1, "SUP-B": 1, "SUP-C": 1}
    assert computed["unattributed_ncs"] == sum(not rec.suppliers for rec in plant.new(week)) == 3
    assert computed["by_parameter"] == {"CN-FORM": 3, "CN-CF-PERSP-ACID": 1}
    assert computed["by_defect_type"] == {
        "stain": 2,
        "formaldehyde_over_limit": 2,
        "colorfastness_failure": 1,
        "open_seam": 1,
    }
    assert computed["by_line"] == {"L1": 3, "L2": 2, "L3": 1}
    assert computed["averages"]["by_line"]["L1"] == {"4w": 0.25, "12w": 0.17}
    assert computed["averages"]["by_supplier"]["SUP-B"] == {"4w": 0.25, "12w": 0.08}
    unattributed = trailing(lambda w: sum(not rec.suppliers for rec in plant.new(w)), week)
    assert computed["averages"]["unattributed_ncs"] == unattributed == {"4w": 0.75, "12w": 0.42}


# Open CAPAs at the week's end: age and state ---------------------------------------------------------------


def test_open_capas_by_age_and_by_state_at_the_end_of_the_week(plant):
    week = "2026-W47"
    end = week_bounds(week)[1]
    n1 = plant.file(end - timedelta(hours=12))  # 0 days old
    n2 = plant.file(end - timedelta(days=7, hours=23))  # 7 days
    n3 = plant.file(end - timedelta(days=8))  # 8 days exactly
    n4 = plant.file(end - timedelta(days=30, hours=12))  # 30 days
    n5 = plant.file(end - timedelta(days=31))  # 31 days
    n6 = plant.file(end - timedelta(days=90, hours=20))  # 90 days
    n7 = plant.file(end - timedelta(days=91))  # 91 days
    n8 = plant.file(end - timedelta(days=200))
    gone_closed = plant.file(end - timedelta(days=40))
    gone_cancelled = plant.file(end - timedelta(days=10))
    later_cancelled = plant.file(end - timedelta(days=3))
    plant.file(end + timedelta(minutes=1))  # reported after the week

    plant.contain(n2, end - timedelta(days=7))  # investigation
    plant.contain(n3, end - timedelta(days=7))
    plant.submit_root_cause(n3, end - timedelta(days=6))  # review
    plant.to_action(n4, end - timedelta(days=20))  # action
    plant.to_action(n5, end - timedelta(days=30))
    action = plant.add_action(n5, end - timedelta(days=29), plant.qm.username, date(2026, 12, 31))
    plant.complete(action, end - timedelta(days=2))  # verification
    plant.contain(n6, end - timedelta(days=80))
    plant.submit_root_cause(n6, end - timedelta(days=79))
    plant.review(n6, end - timedelta(days=78), "return")  # back to investigation
    plant.contain(n7, end + timedelta(hours=1))  # after the week: still reported at its end
    plant.contain(n8, end - timedelta(days=100))
    plant.submit_root_cause(n8, end + timedelta(days=1))  # after the week: investigation at its end
    plant.to_action(gone_closed, end - timedelta(days=39))
    done = plant.add_action(gone_closed, end - timedelta(days=38), plant.qm.username, date(2026, 12, 31))
    plant.complete(done, end - timedelta(days=5))
    plant.close(gone_closed, end - timedelta(days=4))
    plant.cancel(gone_cancelled, end - timedelta(days=1))
    plant.cancel(later_cancelled, end + timedelta(days=1))

    buckets = {"0-7": 0, "8-30": 0, "31-90": 0, "over_90": 0}
    states: Counter = Counter()
    for rec in plant.ncs:
        if not rec.open_at(end):
            continue
        age = math.floor((end - rec.reported) / DAY)
        bucket = "0-7" if age <= 7 else "8-30" if age <= 30 else "31-90" if age <= 90 else "over_90"
        buckets[bucket] += 1
        states[rec.state_at(end)] += 1

    computed = figures(week)
    assert computed["aging"] == buckets == {"0-7": 3, "8-30": 2, "31-90": 2, "over_90": 2}
    assert computed["by_state"] == dict(states)
    assert dict(states) == {"reported": 3, "investigation": 3, "review": 1, "action": 1, "verification": 1}
    assert computed["open_at_end"] == sum(buckets.values())
    assert (n1.state_at(end), n7.state_at(end), n8.state_at(end)) == ("reported", "reported", "investigation")


# Overdue actions -------------------------------------------------------------------------------------------


def test_overdue_actions_at_the_end_of_the_week_with_their_owners(plant, owners):
    week = "2026-W47"
    wang, zhao = owners
    end = week_bounds(week)[1]
    first = plant.file(at(2026, 11, 2, 9), "stain", "L1")
    second = plant.file(at(2026, 11, 3, 9), "open_seam", "L2")
    plant.to_action(first, at(2026, 11, 2, 10))
    plant.to_action(second, at(2026, 11, 3, 10))
    created = at(2026, 11, 4, 9)
    a_late = plant.add_action(first, created, wang, date(2026, 11, 18), "Retrain the button machine operators")
    a_sunday = plant.add_action(first, created, zhao, date(2026, 11, 22), "Revise the stitch-density standard")
    plant.add_action(first, created, wang, date(2026, 11, 23), "Due the Monday after")
    a_in_time = plant.add_action(second, created, zhao, date(2026, 11, 10), "Done within the week")
    a_done_later = plant.add_action(second, created, wang, date(2026, 11, 10), "Done only after the week")
    plant.add_action(second, created, plant.qm.username, date(2026, 11, 30), "Not due yet")
    plant.complete(a_in_time, at(2026, 11, 20, 9))
    plant.add_action(first, end + HOUR, zhao, date(2026, 11, 12), "Added after the week")
    plant.complete(a_done_later, at(2026, 11, 24, 9))

    sunday = sunday_of(week)
    expected = sorted(
        (
            (a.nc.number, a.description, a.owner, a.due.isoformat(), (sunday - a.due).days)
            for rec in plant.ncs
            for a in rec.actions
            if a.due <= sunday and a.created < end and (a.done is None or a.done >= end)
        ),
        key=lambda row: (row[3], row[0]),
    )
    computed = figures(week)
    listed = [(a["nc"], a["action"], a["owner"], a["due_date"], a["days_late"]) for a in computed["overdue_actions"]]
    assert listed == expected
    assert {row[1] for row in listed} == {a_late.description, a_sunday.description, a_done_later.description}
    assert {a["owner"] for a in computed["overdue_actions"]} == {wang, zhao}


# Days to close --------------------------------------------------------------------------------------------


def test_median_and_90th_percentile_days_from_report_to_close(plant):
    week = "2026-W47"
    closed = at(2026, 11, 20, 15)
    for days in (2, 4, 10, 30, 45.5):
        plant.closed_nc(closed - timedelta(days=days), closed)
    plant.closed_nc(at(2026, 11, 1, 9), at(2026, 11, 15, 23, 0))  # closed the week before
    plant.closed_nc(at(2026, 11, 1, 9), at(2026, 11, 23, 0, 30))  # closed the week after

    spans = [(rec.closed - rec.reported) / DAY for rec in plant.ncs if within(rec.closed, week)]
    assert sorted(spans) == [2, 4, 10, 30, 45.5]
    computed = figures(week)
    assert computed["closed"] == 5
    assert computed["median_days_to_close"] == round(percentile(spans, 0.5), 1) == 10.0
    assert computed["p90_days_to_close"] == round(percentile(spans, 0.9), 1) == 39.3
    one = figures("2026-W46")
    assert one["median_days_to_close"] == one["p90_days_to_close"] == round((14 * DAY + 14 * HOUR) / DAY, 1)


# Retests and lab results ----------------------------------------------------------------------------------


def test_retest_first_pass_rate_and_results_by_parameter(plant):
    week = "2026-W47"
    first_pass = plant.file(at(2026, 11, 2), "formaldehyde_over_limit", "L1", parameters=["CN-FORM"])
    two_parameters = plant.file(
        at(2026, 11, 2), "formaldehyde_over_limit", "L1", parameters=["CN-FORM", "CN-AZO"], category="B"
    )
    earlier = plant.file(at(2026, 11, 2), "formaldehyde_over_limit", "L1", parameters=["CN-FORM"])
    later = plant.file(at(2026, 11, 2), "formaldehyde_over_limit", "L1", parameters=["CN-FORM"])

    # Category B: formaldehyde at most 75 mg/kg (near from 67.5), azo at most 20 mg/kg (near from 18).
    plant.retest(earlier, at(2026, 11, 12), "CN-FORM", 90, "fail")  # its first retest, the week before
    plant.retest(first_pass, at(2026, 11, 17), "CN-FORM", 50, "pass")
    plant.retest(two_parameters, at(2026, 11, 17), "CN-FORM", 80, "fail")
    plant.retest(two_parameters, at(2026, 11, 18), "CN-AZO", 19, "pass", near=True)
    plant.retest(two_parameters, at(2026, 11, 19), "CN-FORM", 70, "pass", near=True)
    plant.retest(earlier, at(2026, 11, 19), "CN-FORM", 40, "pass")
    plant.retest(later, at(2026, 11, 24), "CN-FORM", 20, "pass")  # the week after
    # Batch results (B-1 is style ST-B, category B).
    plant.lab("B-1", at(2026, 11, 16, 0, 30), "CN-CORD-OTHER", 150, "fail")  # at most 140 mm
    plant.lab("B-1", at(2026, 11, 17), "CN-CORD-OTHER", 130, "pass", near=True)
    plant.lab("B-1", at(2026, 11, 17), "CN-CORD-OTHER", 120, "pass")
    plant.lab("B-1", at(2026, 11, 18), "US-FLAM-1610-PLAIN", "3.8", "pass", near=True)  # at least 3.5 s
    plant.lab("B-1", at(2026, 11, 18), "US-FLAM-1610-PLAIN", "3.9", "pass")
    plant.lab("B-1", at(2026, 11, 19), "US-FLAM-1610-PLAIN", "3.0", "fail")
    plant.lab("B-1", at(2026, 11, 20), "CN-PH", "5.5", "pass")  # mid-range: no near-limit warning
    plant.lab("B-1", at(2026, 11, 22, 23, 59), "CN-FORM", 76, "fail")
    plant.lab("B-1", at(2026, 11, 15, 23, 59), "CN-FORM", 99, "fail")  # the week before
    plant.lab("B-1", at(2026, 11, 23, 0, 0), "CN-FORM", 74, "pass", near=True)  # the week after

    def in_week(result: ResultRec, name: str) -> bool:
        return date.fromisocalendar(int(name[:4]), int(name[6:]), 1) <= result.tested <= sunday_of(name)

    def first_pass_rate(name: str) -> float | None:
        firsts: dict[tuple, ResultRec] = {}
        for result in sorted(plant.results, key=lambda r: r.id):
            if result.nc is not None:
                firsts.setdefault((result.nc.id, result.parameter), result)
        counted = [r for r in firsts.values() if in_week(r, name)]
        return round(sum(r.verdict == "pass" for r in counted) / len(counted), 3) if counted else None

    def by_parameter(name: str, wanted) -> dict[str, int]:
        return dict(Counter(r.parameter for r in plant.results if in_week(r, name) and wanted(r)))

    computed = figures(week)
    assert computed["retest_first_pass_rate"] == first_pass_rate(week) == round(2 / 3, 3)
    assert figures("2026-W46")["retest_first_pass_rate"] == first_pass_rate("2026-W46") == 0.0
    failed = by_parameter(week, lambda r: r.verdict == "fail")
    near = by_parameter(week, lambda r: r.verdict == "pass" and r.near)
    assert computed["failed_results"] == failed == {"CN-FORM": 2, "CN-CORD-OTHER": 1, "US-FLAM-1610-PLAIN": 1}
    assert (
        computed["near_limit_results"]
        == near
        == {"CN-AZO": 1, "CN-FORM": 1, "CN-CORD-OTHER": 1, "US-FLAM-1610-PLAIN": 1}
    )


# Recurrences ----------------------------------------------------------------------------------------------


def test_recurrences_reported_in_the_week_are_listed(plant):
    week = "2026-W47"
    first = plant.closed_nc(at(2026, 10, 5), at(2026, 10, 30), "broken_stitch", "L1", batch="B-1")
    recurrences = [
        plant.file(at(2026, 11, 10), "broken_stitch", "L1", style="ST-B"),  # the week before
        plant.file(at(2026, 11, 17), "broken_stitch", "L2", style="ST-B"),  # same style
        plant.file(at(2026, 11, 19), "broken_stitch", "L2", batch="B-5"),  # other style, lot of the same supplier
    ]
    plant.file(at(2026, 11, 18), "broken_stitch", "L3", batch="B-4")  # other style, other supplier
    plant.file(at(2026, 11, 18), "stain", "L1", style="ST-B")  # other defect type
    plant.file(at(2026, 11, 23, 1), "broken_stitch", "L1", style="ST-B")  # the week after
    linked = dict(
        db.session.execute(
            select(NonConformance.number, NonConformance.recurrence_of_id).where(
                NonConformance.recurrence_of_id.is_not(None)
            )
        ).all()
    )
    assert set(linked.values()) == {first.id}
    expected = sorted(rec.number for rec in recurrences if within(rec.reported, week))
    assert figures(week)["recurrences"] == expected == [recurrences[1].number, recurrences[2].number]


# Alerts ---------------------------------------------------------------------------------------------------


def test_alerts_rising_counts_open_safety_critical_ncs_and_long_holds(plant):
    week = "2026-W47"
    start, end = week_bounds(week)

    def in_week(back: int, n: int) -> datetime:
        return start - timedelta(weeks=back) + timedelta(days=n % 7, hours=n + 1)

    def series(defect: str, line: str, per_week: list[int], parameters=()) -> None:
        """``per_week[0]`` NCs this week, ``per_week[1]`` the week before, …"""
        for back, count in enumerate(per_week):
            for n in range(count):
                plant.file(in_week(back, n), defect, line, parameters=parameters)

    series("stain", "L1", [3, 2, 2, 2, 2])  # 3 against an average of 2: 3 >= 1.5 * 2, an alert
    # 3 against 2.25: 3 < 3.375, no alert of any kind (defect type, line, parameter).
    series("open_seam", "L2", [3, 3, 2, 2, 2], ["CN-AZO"])
    series("broken_stitch", "L3", [2])  # 2 against 0: fewer than 3, none
    series("formaldehyde_over_limit", "L4", [4, 1], ["CN-FORM"])  # 4 against 0.25: an alert of each kind
    series("shade_variation", "L2", [0, 0, 0, 0, 0, 4])  # five weeks before: outside the 4 weeks

    # Safety-critical: linked to a parameter on a category A style.
    critical_open = plant.file(at(2026, 11, 4), "labelling_error", "L6", style="ST-A", parameters=["CN-LABEL-18401"])
    critical_cancelled = plant.file(
        at(2026, 11, 4), "labelling_error", "L6", style="ST-A", parameters=["CN-LABEL-18401"]
    )
    critical_cancelled_later = plant.file(
        at(2026, 11, 11), "labelling_error", "L6", style="ST-A", parameters=["CN-LABEL-18401"]
    )
    critical_closed = plant.file(at(2026, 11, 5), "labelling_error", "L6", style="ST-A", parameters=["CN-LABEL-18401"])
    plant.file(at(2026, 11, 24), "labelling_error", "L6", style="ST-A", parameters=["CN-LABEL-18401"])  # after
    plant.file(at(2026, 11, 5), "labelling_error", "L6", style="ST-B", parameters=["CN-LABEL-18401"])  # category B
    plant.file(at(2026, 11, 5), "labelling_error", "L6", category="A")  # no parameter
    plant.cancel(critical_cancelled, at(2026, 11, 6))
    plant.cancel(critical_cancelled_later, end + HOUR)
    plant.to_action(critical_closed, at(2026, 11, 6))
    action = plant.add_action(critical_closed, at(2026, 11, 6, 14), plant.qm.username, date(2026, 11, 30))
    plant.complete(action, at(2026, 11, 9))
    plant.retest(critical_closed, at(2026, 11, 10), "CN-LABEL-18401", "pass", "pass")
    plant.close(critical_closed, at(2026, 11, 12))
    assert [critical_open.critical, critical_cancelled_later.critical] == [True, True]

    # Holds, on NCs of long ago.
    def held(number: str, held_at: datetime) -> HoldRec:
        rec = plant.file(at(2026, 9, 7), "needle_or_metal_found", "L7")
        return plant.contain(rec, held_at, hold=[number])[0]

    long_batch = held("B-1", end - timedelta(days=14, hours=1))  # older than 14 days: an alert
    held("B-2", end - timedelta(days=14))  # 14 days exactly: not older
    held("LOT-C1", end - timedelta(days=13))
    released = held("B-3", end - timedelta(days=20))
    released_later = held("LOT-C2", end - timedelta(days=20))  # released after the week: an alert
    plant.release(released, end - timedelta(days=2))
    plant.release(released_later, end + timedelta(days=1))

    expected: set[tuple] = set()
    for name, kind in (
        ("by_defect_type", "rising_defect_type"),
        ("by_line", "rising_line"),
        ("by_parameter", "rising_parameter"),
    ):
        keys = BREAKDOWN_KEYS[name]
        for key, count in plant.breakdown(week, keys).items():
            average = mean([plant.breakdown(week_before(week, back), keys)[key] for back in range(1, 5)])
            if count >= 3 and count >= 1.5 * average:
                expected.add((kind, key, count, average))
    for rec in plant.ncs:
        if rec.critical and rec.open_at(end):
            expected.add(("safety_critical_open", rec.number))
    for hold in plant.holds:
        if hold.held < end - timedelta(days=14) and (hold.released is None or hold.released >= end):
            expected.add(("long_hold", hold.nc.number, hold.batch, hold.lot, (end - hold.held).days))

    assert expected == {
        ("rising_defect_type", "stain", 3, 2.0),
        ("rising_line", "L1", 3, 2.0),
        ("rising_defect_type", "formaldehyde_over_limit", 4, 0.25),
        ("rising_line", "L4", 4, 0.25),
        ("rising_parameter", "CN-FORM", 4, 0.25),
        ("safety_critical_open", critical_open.number),
        ("safety_critical_open", critical_cancelled_later.number),
        ("long_hold", long_batch.nc.number, "B-1", None, 14),
        ("long_hold", released_later.nc.number, None, "LOT-C2", 20),
    }
    computed = figures(week)
    assert computed["by_defect_type"]["open_seam"] == 3
    assert computed["averages"]["by_defect_type"]["open_seam"]["4w"] == 2.25
    assert computed["by_defect_type"]["broken_stitch"] == 2
    assert (computed["by_line"]["L2"], computed["by_parameter"]["CN-AZO"]) == (3, 3)
    assert computed["averages"]["by_parameter"]["CN-AZO"]["4w"] == 2.25
    assert alert_keys(computed["alerts"]) == expected


# ISO week 53 ----------------------------------------------------------------------------------------------


def test_iso_week_53_of_2026_and_the_first_week_of_2027(plant, api):
    w53, w01 = "2026-W53", "2027-W01"
    moments = [
        at(2026, 12, 9),  # W50
        at(2026, 12, 10),  # W50
        at(2026, 12, 16),  # W51
        at(2026, 12, 27, 23, 59),  # W52
        at(2026, 12, 28, 0, 0),  # W53
        at(2027, 1, 1, 12),  # W53, numbered in 2027
        at(2027, 1, 3, 23, 59, 59),  # W53
        at(2027, 1, 4, 0, 0),  # W01
    ]
    recs = [plant.file(moment) for moment in moments]
    plant.to_action(recs[0], at(2026, 12, 9, 12))
    action = plant.add_action(recs[0], at(2026, 12, 9, 15), plant.qm.username, date(2027, 1, 31))
    plant.complete(action, at(2027, 1, 2, 8))
    plant.close(recs[0], at(2027, 1, 2, 9))  # closed in W53

    assert week_bounds(w53) == (datetime(2026, 12, 27, 16, tzinfo=UTC), datetime(2027, 1, 3, 16, tzinfo=UTC))
    assert week_before(w01, 1) == w53
    assert recs[5].number.startswith("NC-2027-")
    for name in (w53, w01):
        summaries.build(Week.parse(name))
    client = api("supervisor")
    body53 = client.get(f"/api/v1/summaries/{w53}").json
    body01 = client.get(f"/api/v1/summaries/{w01}").json
    assert body53["week"] == w53
    assert datetime.fromisoformat(body53["start"]) == week_bounds(w53)[0]
    assert datetime.fromisoformat(body53["end"]) == week_bounds(w53)[1]
    assert body53["new_ncs"] == plant.new_count(w53) == 3
    assert body53["closed"] == plant.closed_count(w53) == 1
    assert body53["open_at_end"] == plant.open_count(w53) == 6
    assert body53["averages"]["new_ncs"] == trailing(plant.new_count, w53) == {"4w": 1.0, "12w": 0.33}
    assert body53["median_days_to_close"] == round((recs[0].closed - recs[0].reported) / DAY, 1) == 24.0
    assert body01["new_ncs"] == plant.new_count(w01) == 1
    assert body01["averages"]["new_ncs"] == trailing(plant.new_count, w01) == {"4w": 1.75, "12w": 0.58}
    assert body01["history"]["weeks"][-2:] == [w53, w01]
    assert body01["history"]["new_ncs"][-2:] == [3, 1]
