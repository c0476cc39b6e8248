"""The NC list's downloads at size: read by keyset a chunk at a time and streamed, in constant memory.

One database for the module: 1,500 NCs written in a few bulk statements (300 on line L1, 1,200 on line L2, three
at a time at the same moment so that chunks end inside a tie), read with ``CAPA_EXPORT_CHUNK`` at 50.
Every row comes out exactly once, newest first (report time, then id); the statements an export takes grow with
the chunks, not the rows (no pager count, no OFFSET, no query per row); and the memory a download takes while it
is read is about the same for 300 rows as for 1,200.
"""

import csv
import io
import re
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, insert, select, update

from capa.capas.models import Action, DefectType, NonConformance, nc_parameters
from capa.common.commands import parse
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewLine, NewStyle
from capa.masterdata.models import ProductionLine, Style
from capa.safety.models import SafetyParameter
from tests.conftest import new_user
from tests.pages import logged_in

CHUNK = 50
SMALL, LARGE = 300, 1200
#: When the NCs were reported: the newest first, three at each moment.
NEWEST = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def plant(module_app) -> SimpleNamespace:
    """The NCs, written in bulk, and a quality manager's client; every NC's number by line, newest first."""
    module_app.config["CAPA_EXPORT_CHUNK"] = CHUNK
    with module_app.app_context():
        qm = new_user("quality_manager", "qm.exports")
        for code in ("L1", "L2"):
            masterdata.create_line(parse(NewLine, {"code": code, "name": f"Sewing line {code}"}))
        masterdata.create_style(parse(NewStyle, {"code": "RMP-2301", "name": "Infant romper", "category": "A"}))
        session = db.session
        lines = dict(session.execute(select(ProductionLine.code, ProductionLine.id)).all())
        style_id = session.scalar(select(Style.id))
        defect_id = session.scalar(select(DefectType.id).where(DefectType.code == "loose_button"))
        parameters = list(session.scalars(select(SafetyParameter.id).order_by(SafetyParameter.code).limit(2)))
        rows = []
        for i in range(SMALL + LARGE):
            at = NEWEST - timedelta(minutes=(SMALL + LARGE - i) // 3)
            rows.append(
                {
                    "number": f"NC-2026-{i + 1:05d}",
                    "year": 2026,
                    "sequence": i + 1,
                    "status": "cancelled" if i % 10 == 3 else "action",
                    "version": 1,
                    "title": f"Snaps come off {i}",
                    "description": "",
                    "defect_type_id": defect_id,
                    "source": "end_of_line",
                    "severity": "major",
                    "line_id": lines["L1" if i % 5 == 0 else "L2"],
                    "style_id": style_id if i % 2 else None,
                    "category": None if i % 2 else "B",
                    "quantity_affected": i,
                    "safety_critical": False,
                    "reported_by_id": qm.id,
                    "reported_at": at,
                }
            )
        session.execute(insert(NonConformance), rows)
        ids = dict(session.execute(select(NonConformance.number, NonConformance.id)).all())
        # Every tenth NC has two linked parameters, every tenth one two overdue actions and one done (the
        # cancelled ones too: none of theirs counts), every tenth one recurs the first NC.
        session.execute(
            insert(nc_parameters),
            [
                {"nc_id": ids[row["number"]], "parameter_id": parameter}
                for i, row in enumerate(rows)
                if i % 10 == 0
                for parameter in parameters
            ],
        )
        late = date.today() - timedelta(days=30)
        session.execute(
            insert(Action),
            [
                {
                    "nc_id": ids[row["number"]],
                    "kind": "corrective",
                    "description": "Retrain the operators",
                    "owner_id": qm.id,
                    "due_date": late,
                    "status": status,
                    "round": 1,
                }
                for i, row in enumerate(rows)
                if i % 10 in (1, 3)
                for status in ("open", "open", "done")
            ],
        )
        recurring = [ids[row["number"]] for i, row in enumerate(rows) if i % 10 == 2]
        session.execute(
            update(NonConformance.__table__)
            .where(NonConformance.id.in_(recurring))
            .values(recurrence_of_id=ids[rows[0]["number"]])
        )
        session.commit()
        codes = " ".join(session.scalars(select(SafetyParameter.code).where(SafetyParameter.id.in_(parameters))))
        order = session.execute(select(NonConformance.number, NonConformance.reported_at, NonConformance.id)).all()
        newest_first = [number for number, _at, _id in sorted(order, key=lambda r: (r[1], r[2]), reverse=True)]
        client = logged_in(module_app, qm)
    by_line = {"L1": [], "L2": []}
    for number in newest_first:
        by_line["L1" if (int(number[-5:]) - 1) % 5 == 0 else "L2"].append(number)
    return SimpleNamespace(
        client=client, newest_first=newest_first, by_line=by_line, codes=codes, first=rows[0]["number"]
    )


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


def test_every_nc_is_exported_once_newest_first_with_what_it_shows(plant):
    response = plant.client.get("/nc?format=csv")
    assert response.status_code == 200
    rows = csv_rows(response.get_data())
    header, body = rows[0], rows[1:]
    assert [row[0] for row in body] == plant.newest_first
    for row in body:
        shown = dict(zip(header, row, strict=True))
        i = int(shown["Number"][-5:]) - 1
        assert shown["Safety parameters"] == (plant.codes if i % 10 == 0 else "")
        assert shown["Overdue actions"] == ("2" if i % 10 == 1 else "0")
        assert shown["Recurrence of"] == (plant.first if i % 10 == 2 else "")
        assert shown["State"] == ("Cancelled" if i % 10 == 3 else "Action")
        assert (shown["Style"], shown["Category"]) == (("RMP-2301", "A") if i % 2 else ("", "B"))
        assert shown["Line"] == ("L1" if i % 5 == 0 else "L2")
        assert shown["Quantity affected"] == str(i)


def test_the_xlsx_download_holds_the_rows_of_the_csv(plant):
    response = plant.client.get("/nc?format=xlsx&line=L1")
    assert response.status_code == 200
    assert response.content_length == len(response.get_data())
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True)["Non-conformances"]
    rows = [["" if value is None else str(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    assert rows == csv_rows(plant.client.get("/nc?format=csv&line=L1").get_data())
    assert [row[0] for row in rows[1:]] == plant.by_line["L1"]


def statements_of(app, client, url: str) -> list[tuple[str, object]]:
    """The SQL statements (with their parameters) answering ``GET url`` took, the answer read whole."""
    statements = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            response = client.get(url)
            assert response.status_code == 200
            response.get_data()
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
    return statements


@pytest.mark.parametrize("export", ["csv", "xlsx"])
def test_the_statements_grow_with_the_chunks_not_the_rows(module_app, plant, export):
    small = statements_of(module_app, plant.client, f"/nc?format={export}&line=L1")
    large = statements_of(module_app, plant.client, f"/nc?format={export}&line=L2")
    chunks = (LARGE - SMALL) // CHUNK
    assert 0 < len(large) - len(small) <= 3 * chunks, (len(small), len(large))
    for statement, parameters in small + large:
        assert not re.match(r"\s*SELECT count\(", statement, re.IGNORECASE), statement
        if "OFFSET" in statement.upper():  # SQLite writes LIMIT n OFFSET 0 for every LIMIT
            assert list(parameters)[-1] == 0, statement


def peak_memory(client, url: str) -> int:
    """The peak of memory allocated while the download is answered and read, block by block, as a server sends
    it: each block is dropped once read."""
    tracemalloc.start()
    try:
        response = client.get(url, buffered=False)
        assert response.status_code == 200
        for _block in response.response:
            pass
        response.close()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("export", "small_query", "large_query"),
    [
        ("csv", "line=L1", "line=L2"),
        # Writing XLSX is slow under tracemalloc: half the rows (those on a style).
        ("xlsx", "line=L1&style=RMP-2301", "line=L2&style=RMP-2301"),
    ],
    ids=["csv", "xlsx"],
)
def test_a_download_of_four_times_the_rows_takes_about_the_same_memory(plant, export, small_query, large_query):
    plant.client.get(f"/nc?format={export}&{small_query}").get_data()  # what the first request compiles and caches
    small = peak_memory(plant.client, f"/nc?format={export}&{small_query}")
    large = peak_memory(plant.client, f"/nc?format={export}&{large_query}")
    # Holding the rows read, or the file written, would add far more than half again for four times the rows.
    assert large < small * 1.5, (small, large)
