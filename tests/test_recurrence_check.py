"""The recurrence check at filing is one query, whatever the number of CAPAs of the defect type closed lately.

A filing on style RMP-2301 with snaps from SNAP-01 recurs the one CAPA closed 80 days ago on another style whose
batch has snaps from SNAP-01 too; every CAPA of the type closed since is on material of another supplier. With 10
such CAPAs, then with 200 (written in bulk), the filing finds the same CAPA with the same SQL statements and reads
no closed CAPA but that one.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, insert, select

from capa.accounts.models import User
from capa.capas import filing
from capa.capas.commands import FileNC
from capa.capas.models import DefectType, NonConformance
from capa.common.commands import parse
from capa.common.types import utcnow
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from capa.masterdata.models import Batch, ProductionLine, Style
from tests.conftest import new_user

SMALL, LARGE = 10, 200


def make_master_data() -> None:
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))
    for code, name in (("SNAP-01", "Snap Co"), ("DYE-01", "Sunrise Dye House")):
        masterdata.create_supplier(parse(NewSupplier, {"code": code, "name": name}))
    for code, name in (("RMP-2301", "Infant romper"), ("BIB-100", "Baby bib")):
        masterdata.create_style(parse(NewStyle, {"code": code, "name": name, "category": "A"}))
    for number, style, lot, supplier in (
        ("B-NEW", "RMP-2301", "SN-1", "SNAP-01"),
        ("B-MATCH", "BIB-100", "SN-2", "SNAP-01"),
        ("B-OTHER", "BIB-100", "DY-1", "DYE-01"),
    ):
        masterdata.create_batch(
            parse(
                NewBatch,
                {
                    "number": number,
                    "style": style,
                    "line": "L1",
                    "lots": [{"number": lot, "kind": "trim", "supplier": supplier}],
                },
            )
        )


def close_capas(first: int, last: int, batch: str, days_ago, reporter_id: int) -> None:
    """CAPAs ``first`` to ``last`` of loose buttons on style BIB-100 and ``batch``, closed ``days_ago(i)`` days ago."""
    session = db.session
    line_id = session.scalar(select(ProductionLine.id))
    style_id = session.scalar(select(Style.id).where(Style.code == "BIB-100"))
    batch_id = session.scalar(select(Batch.id).where(Batch.number == batch))
    defect_id = session.scalar(select(DefectType.id).where(DefectType.code == "loose_button"))
    now = utcnow()
    session.execute(
        insert(NonConformance),
        [
            {
                "number": f"NC-2000-{i:05d}",
                "year": 2000,
                "sequence": i,
                "status": "closed",
                "version": 1,
                "title": f"Snaps come off {i}",
                "defect_type_id": defect_id,
                "source": "end_of_line",
                "severity": "major",
                "line_id": line_id,
                "style_id": style_id,
                "batch_id": batch_id,
                "reported_by_id": reporter_id,
                "reported_at": now - timedelta(days=days_ago(i) + 5),
                "closed_at": now - timedelta(days=days_ago(i)),
                "effectiveness": "Retrained.",
            }
            for i in range(first, last + 1)
        ],
    )
    session.commit()


@contextmanager
def watching() -> Iterator[dict[str, list]]:
    """The SQL statements sent meanwhile, and the NCs read from the database."""
    seen: dict[str, list] = {"statements": [], "ncs": []}

    def statement(conn, cursor, text, parameters, context, executemany):
        seen["statements"].append(text)

    def loaded(nc, context):
        seen["ncs"].append(nc.number)

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(NonConformance, "load", loaded)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(NonConformance, "load", loaded)


def file_one(app, reporter_id: int) -> tuple[str | None, dict[str, list]]:
    """File an NC of loose buttons on batch B-NEW in a session of its own: what it recurs, and what it read."""
    with app.app_context():
        reporter = db.session.get(User, reporter_id)
        command = parse(
            FileNC,
            {
                "title": "Snaps come off again",
                "defect_type": "loose_button",
                "source": "end_of_line",
                "line": "L1",
                "style": "RMP-2301",
                "batch": "B-NEW",
            },
        )
        with watching() as seen:
            nc = filing.file_nc(command, reporter)
        return (nc.recurrence_of.number if nc.recurrence_of else None), seen


def test_the_recurrence_check_does_not_grow_with_the_capas_closed(app):
    make_master_data()
    reporter_id = new_user("supervisor").id
    close_capas(0, 0, "B-MATCH", lambda i: 80, reporter_id)
    close_capas(1, SMALL, "B-OTHER", lambda i: i % 79 + 1, reporter_id)
    small_recurs, small = file_one(app, reporter_id)
    close_capas(SMALL + 1, LARGE, "B-OTHER", lambda i: i % 79 + 1, reporter_id)
    large_recurs, large = file_one(app, reporter_id)

    assert small_recurs == large_recurs == "NC-2000-00000"
    assert len(large["statements"]) == len(small["statements"]), (small["statements"], large["statements"])
    assert [n for n in large["ncs"] if n.startswith("NC-2000")] == ["NC-2000-00000"]
    assert [n for n in small["ncs"] if n.startswith("NC-2000")] == ["NC-2000-00000"]
