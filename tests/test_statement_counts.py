"""The number of SQL statements a page or an endpoint runs does not grow with the rows it shows.

Each request is measured twice on the same database: with 10 NCs (and 10 batches, weekly summaries, events on
the long-history NC…), then with 200; the two counts must be equal. The records are written in one go through
the models (one transaction, so the history chains and the numbering counter stay as the services leave them),
shaped as the workflow leaves them: NCs in every state, root causes returned and under review, actions open,
late and done, holds, photos, retests and a long history on one NC.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select

from capa.accounts.models import User
from capa.capas import lookup, queries
from capa.capas.commands import NCFilters
from capa.capas.gates import unmet_gates
from capa.capas.models import (
    Action,
    ActionStatus,
    DefectType,
    Event,
    Hold,
    NonConformance,
    NumberCounter,
    Photo,
    ReviewDecision,
    RootCauseAnalysis,
)
from capa.capas.states import State
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewLine, NewStyle, NewSupplier
from capa.masterdata.models import Batch, MaterialLot, ProductionLine, Style, Supplier
from capa.safety.models import LabResult, SafetyParameter
from capa.trends.models import SummaryStatus, WeeklySummary
from capa.trends.weeks import Week
from tests.conftest import new_user
from tests.pages import headed_parts, links, logged_in, one, text
from tests.test_capa_pages import Workflow, listed_numbers, make_factory, make_people

SMALL, LARGE = 10, 200
#: The shapes the NCs take in turn: each queue of the home page holds some at either size.
SHAPES = ["reported", "returned", "review", "action", "ready", "closed", "cancelled"]


@contextmanager
def counting() -> Iterator[list[str]]:
    """The SQL statements sent to the database meanwhile (by any session of this app's engine)."""
    statements: list[str] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def statements_of(app, client, url: str) -> int:
    """How many SQL statements answering ``GET url`` took (the answer read whole, as a download streams)."""
    with app.app_context(), counting() as statements:
        response = client.get(url)
        assert response.status_code == 200, response.text[:500]
        response.get_data()
    return len(statements)


def make_master_data() -> SimpleNamespace:
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "SNAP-01", "name": "Snap Co"}))
    masterdata.create_style(parse(NewStyle, {"code": "RMP-2301", "name": "Infant romper", "category": "A"}))
    return SimpleNamespace(
        qm=new_user("quality_manager", "qm.wang"),
        sup=new_user("supervisor", "sup.li"),
        admin=new_user("admin", "ad.zhao"),
    )


class Grower:
    """Adds NCs (each on a batch of its own with a lot of SNAP-01; the reported ones hold batch HOT-1) and grows
    the long history of one NC, up to a given number of rows."""

    def __init__(self, people: SimpleNamespace):
        self.people = people
        self.count = 0
        #: The number of the NC with the long history.
        self.history: str | None = None
        self.qm_id, self.sup_id = people.qm.id, people.sup.id

    def _ids(self):
        session = db.session
        line = session.scalar(select(ProductionLine).where(ProductionLine.code == "L1"))
        style = session.scalar(select(Style).where(Style.code == "RMP-2301"))
        supplier = session.scalar(select(Supplier).where(Supplier.code == "SNAP-01"))
        defect = session.scalar(select(DefectType).where(DefectType.code == "loose_button"))
        parameter = session.scalar(select(SafetyParameter).where(SafetyParameter.code == "CN-ATT-GT6"))
        qm = session.get(User, self.qm_id)
        sup = session.get(User, self.sup_id)
        return line, style, supplier, defect, parameter, qm, sup

    def grow(self, rows: int, *, history: bool = True) -> None:
        """NCs, batches, weekly summaries and (unless not ``history``) the long history's events up to ``rows``;
        its actions and retests up to ``rows // 10``."""
        session = db.session
        line, style, supplier, defect, parameter, qm, sup = self._ids()
        today = plant_today()
        year = today.year
        hot = session.scalar(select(Batch).where(Batch.number == "HOT-1"))
        if hot is None:
            hot = Batch(number="HOT-1", style=style, line=line)
            session.add(hot)
        counter = session.get(NumberCounter, year) or NumberCounter(year=year, last=0)
        session.add(counter)

        def new_nc(shape: str, reporter: User, batch: Batch) -> NonConformance:
            counter.last += 1
            at = datetime.now(UTC) - timedelta(hours=counter.last)
            nc = NonConformance(
                number=f"NC-{year}-{counter.last:05d}",
                year=year,
                sequence=counter.last,
                status={"returned": State.INVESTIGATION, "ready": State.VERIFICATION}.get(shape, shape),
                version=1,
                title=f"Snaps come off ({shape} {counter.last})",
                description="",
                defect_type=defect,
                source="end_of_line",
                severity="major",
                line=line,
                style=style,
                batch=batch,
                quantity_affected=10,
                safety_critical=shape == "reported",
                reported_by=reporter,
                reported_at=at,
                containment="" if shape == "reported" else "Held in the cage.",
            )
            session.add(nc)
            session.add(Event(nc=nc, at=at, actor=reporter, kind="filed", version=1))
            return nc

        while self.count < rows:
            shape = SHAPES[self.count % len(SHAPES)]
            self.count += 1
            lot = MaterialLot(number=f"SN-{self.count}", kind="trim", supplier=supplier)
            batch = Batch(number=f"B-{self.count}", style=style, line=line, lots=[lot])
            reporter = sup if self.count % 2 else qm
            nc = new_nc(shape, reporter, batch)
            session.add(
                Photo(
                    nc=nc,
                    stored_name=f"p{self.count}.jpg",
                    content_type="image/jpeg",
                    size=1,
                    uploaded_by_id=reporter.id,
                )
            )
            if shape in ("reported", "returned", "review"):
                nc.parameters.append(parameter)
            if shape == "reported":
                session.add(Hold(nc=nc, batch=hot, held_by=qm, quantity=5))
                session.add(Hold(nc=nc, lot=lot, held_by=qm))
            if shape in ("returned", "review", "action", "ready", "closed"):
                decision = {"returned": ReviewDecision.RETURN, "review": ""}.get(shape, ReviewDecision.APPROVE)
                session.add(
                    RootCauseAnalysis(
                        nc=nc,
                        round=1,
                        whys=["Too few stitches"],
                        fishbone={"machine": ["Stitch density"]},
                        category="machine",
                        statement="Stitch density below the standard.",
                        submitted_by=sup,
                        decision=decision,
                        review_comment="Why was it not caught?" if shape == "returned" else "",
                        reviewed_by=qm if decision else None,
                    )
                )
            if shape in ("action", "ready", "closed"):
                done = shape != "action"
                for owner, due in ((sup, today - timedelta(days=2)), (qm, today + timedelta(days=7))):
                    session.add(
                        Action(
                            nc=nc,
                            kind="corrective",
                            description="Retrain the operators",
                            owner=owner,
                            due_date=due,
                            status=ActionStatus.DONE if done else ActionStatus.OPEN,
                            round=1,
                        )
                    )
            if shape == "closed":
                nc.closed_at = nc.reported_at + timedelta(minutes=5)
                nc.effectiveness = "No loose snap since."
                nc.effectiveness_due = today - timedelta(days=1)
            if shape == "cancelled":
                nc.cancel_reason = "A duplicate."
                nc.cancelled_at = nc.reported_at + timedelta(minutes=5)
            # A weekly summary per row, going back a week each.
            week = Week.containing(today - timedelta(weeks=self.count + 1))
            session.add(
                WeeklySummary(
                    week=str(week), monday=week.monday, status=SummaryStatus.BUILT, figures={"new_ncs": 1, "alerts": []}
                )
            )

        if not history:
            session.commit()
            return
        if self.history is None:
            nc = new_nc("action", sup, hot)
            self.history = nc.number
            nc.parameters.append(parameter)
            session.add(
                RootCauseAnalysis(
                    nc=nc,
                    round=1,
                    whys=["Why"],
                    fishbone={},
                    category="machine",
                    statement="Stitch density.",
                    submitted_by=sup,
                    decision=ReviewDecision.APPROVE,
                    reviewed_by=qm,
                )
            )
        session.flush()
        nc = session.scalar(select(NonConformance).where(NonConformance.number == self.history))
        have = session.query(Event).filter(Event.nc_id == nc.id).count()
        for index in range(have, rows):
            session.add(
                Event(nc=nc, actor=qm, kind="field", field="title", old=f"t{index}", new=f"t{index + 1}", version=1)
            )
        have = session.query(Action).filter(Action.nc_id == nc.id).count()
        for index in range(have, rows // 10):
            status = ActionStatus.DONE if index % 2 else ActionStatus.OPEN
            session.add(
                Action(
                    nc=nc,
                    kind="corrective",
                    description=f"Action {index}",
                    owner=sup if index % 3 else qm,
                    due_date=today - timedelta(days=index - 5),
                    status=status,
                    round=1,
                )
            )
        have = session.query(LabResult).filter(LabResult.nc_id == nc.id).count()
        for index in range(have, rows // 10):
            session.add(
                LabResult(
                    batch=hot,
                    nc_id=nc.id,
                    parameter=parameter,
                    value="95",
                    verdict="pass",
                    category="A",
                    comparator="min",
                    limit="70",
                    unit="N",
                    explanation="",
                    lab="SGS",
                    report_number=f"R-{index}",
                    tested_at=today,
                    recorded_by=qm,
                )
            )
        session.commit()


#: What is measured: a name -> the URL and who asks (a role of ``make_master_data``'s people; the API with a token).
MEASURED = {
    "list": ("/nc?per_page=500", "qm"),
    "list, filtered by state": ("/nc?status=action&per_page=500", "qm"),
    "list, filtered by line and overdue": ("/nc?line=L1&overdue=true&per_page=500", "qm"),
    "list, filtered by supplier and text": ("/nc?supplier=SNAP-01&q=snaps&per_page=500", "qm"),
    "list as CSV": ("/nc?format=csv", "qm"),
    "list as XLSX": ("/nc?format=xlsx", "qm"),
    "API list": ("/api/v1/nonconformances?per_page=500", "api"),
    "API list, filtered": ("/api/v1/nonconformances?status=action&overdue=true&per_page=500", "api"),
    # Every NC after the newest one: the cursor is the first page's (per_page=1) next_cursor.
    "API list by cursor": ("/api/v1/nonconformances?per_page=500&cursor={cursor}", "api"),
    "home of a quality manager": ("/", "qm"),
    "home of a supervisor": ("/", "sup"),
    "home of an admin": ("/", "admin"),
    "NC page with a long history": ("/nc/{history}", "qm"),
    "API NC with a long history": ("/api/v1/nonconformances/{history}", "api"),
    "supplier page": ("/suppliers/SNAP-01", "qm"),
    "style page": ("/styles/RMP-2301", "qm"),
    "batch page": ("/batches/HOT-1", "qm"),
    "summaries": ("/summaries", "qm"),
}


class TokenClient:
    def __init__(self, client, token: str):
        self.client, self.token = client, token

    def get(self, url: str):
        return self.client.get(url, headers={"Authorization": f"Bearer {self.token}"})


@pytest.fixture(scope="module")
def counts(module_app) -> dict[str, tuple[int, int]]:
    """Each measured request's statement count with SMALL rows, then with LARGE: name -> (small, large)."""
    from capa.accounts import service as accounts

    with module_app.app_context():
        people = make_master_data()
        token = accounts.create_token(people.qm)
        grower = Grower(people)
        grower.grow(SMALL)
        history = grower.history
        clients = {role: logged_in(module_app, getattr(people, role)) for role in ("qm", "sup", "admin")}
    clients["api"] = TokenClient(module_app.test_client(), token)
    # A token's first use records when it was used (then at most every 10 minutes): not part of what is measured.
    assert clients["api"].get("/api/v1/me").status_code == 200

    def measure() -> dict[str, int]:
        found = {}
        cursor = clients["api"].get("/api/v1/nonconformances?per_page=1").get_json()["next_cursor"]
        for name, (url, who) in MEASURED.items():
            found[name] = statements_of(module_app, clients[who], url.format(history=history, cursor=cursor))
        return found

    small = measure()
    with module_app.app_context():
        grower.grow(LARGE)
    large = measure()
    return {name: (small[name], large[name]) for name in MEASURED}


@pytest.mark.parametrize("name", MEASURED)
def test_statement_count_does_not_grow_with_the_rows(counts, name):
    small, large = counts[name]
    assert large == small, f"{name}: {small} statements with {SMALL} rows, {large} with {LARGE}"


# The home page's queues ------------------------------------------------------------------------------------

#: Each queue of a quality manager's home page: its heading -> how many of the NCs ``grow(210)`` makes it holds.
QUEUES = {
    "Reviews waiting": 30,
    "Returned root causes": 30,
    "Ready to close": 30,
    "Effectiveness reviews due": 30,
    "Overdue actions": 30,
    "To contain": 30,
    "My actions": 30,
    # The QM reported every other NC; 5 of the 7 shapes are open.
    "My open non-conformances": 75,
}

#: The queues that show the NCs waiting longest first.
OLDEST_FIRST = {"Reviews waiting", "Returned root causes", "Ready to close", "To contain"}


def test_each_queue_shows_its_first_rows_its_true_count_and_links_to_the_whole_queue(app):
    people = make_master_data()
    Grower(people).grow(30 * len(SHAPES), history=False)
    reader = logged_in(app, people.qm)
    home = reader.get("/")
    assert home.status_code == 200
    queues = headed_parts(one(home.text, "div.queue"))
    for heading, total in QUEUES.items():
        queue = queues[heading]
        shown = [href.split("#")[0] for href in links(queue) if href.startswith("/nc/")]
        assert len(shown) == 20, heading
        more = one(queue, "p.more")
        assert f"20 of {total} shown." in text(more), heading
        full = reader.get(one(more, "a").attributes["href"] + "&per_page=500")
        assert full.status_code == 200, heading
        assert f"{total} non-conformances" in full.text, heading
        in_order = [f"/nc/{number}" for number in listed_numbers(full.text)]  # the list: newest first
        listed = set(in_order)
        assert len(listed) == total and set(shown) <= listed, heading
        if heading in OLDEST_FIRST:
            assert shown == in_order[::-1][:20], heading
        elif heading == "My open non-conformances":
            assert shown == in_order[:20], heading


def test_the_ready_to_close_filter_agrees_with_the_closing_gates(app):
    make_factory()
    people = make_people()
    flow = Workflow(people.qm, people.sup)
    ready = flow.to("ready", title="Every gate met")
    held = flow.to("verification", title="Goods still on hold")
    retested_again = flow.to("ready", title="Retested twice")
    flow.retest(retested_again, value="90")
    # Released but never retested, while other NCs' retests of the same parameter pass: not ready.
    unretested = flow.to("verification", title="Released, never retested")
    flow.release(unretested)
    flow.to("action", title="Actions running")
    listed = [nc.number for nc in queries.search(parse(NCFilters, {"queue": "ready_to_close"})).items]
    assert sorted(listed) == sorted([ready, retested_again])
    for number in (ready, held, retested_again, unretested):
        gates = [gate.gate for gate in unmet_gates(lookup.get_nc(number), None)]
        assert (gates == ["effectiveness"]) == (number in listed), (number, gates)


#: The most statements some requests may take, whatever their rows: each record and each list read once (an NC
#: page reads the NC with the records it names in one statement, each of its lists in one more).
BUDGETS = {
    # 19, the floor record that raised the NC (capa.inspections.origins): one statement for all its kinds, and the
    # change requests linked to it (capa.changes); the requests of its SCAR actions are one more where it has some.
    "NC page with a long history": 21,
    "API NC with a long history": 17,
    # 30, and the week's inspections (capa.inspections.floor): five statements, and one reading the DHU of the
    # 4 weeks before from their stored summaries.
    "home of a quality manager": 36,
    "list": 8,
    "API list": 8,
}


@pytest.mark.parametrize("name", BUDGETS)
def test_requests_keep_within_their_statement_budget(counts, name):
    _small, large = counts[name]
    assert large <= BUDGETS[name], f"{name}: {large} statements, budget {BUDGETS[name]}"
