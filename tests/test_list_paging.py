"""The NC list at any size: the API walked by cursor (every NC once, in order, no count), the page counting only
up to a limit, text search served by an index (SQLite's FTS5 table, PostgreSQL's trigram indexes) and the list
query served by an index. The NCs are written in one statement; several share a report time, so that the order's
second key (the id) decides between them."""

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import insert, select, text, tuple_, update

from capa.accounts import service as accounts
from capa.capas import paging, queries
from capa.capas.commands import NCFilters
from capa.capas.models import DefectType, NonConformance
from capa.common.commands import parse
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewLine
from capa.masterdata.models import ProductionLine
from tests.conftest import new_user
from tests.pages import logged_in, one
from tests.pages import text as text_of
from tests.test_capa_pages import listed_numbers, pager_links
from tests.test_statement_counts import counting

NCS = "/api/v1/nonconformances"
STATES = ["reported", "investigation", "action", "closed"]
#: Titles and descriptions in turn: Chinese and English, a literal % sign.
WORDS = [
    ("纽扣脱落", "按扣拉力不足，婴儿连体衣"),
    ("Snap button loose", "Pull test below 70 N at end of line"),
    ("色牢度不合格", "耐唾液色牢度 3-4 级"),
    ("Shrinkage 5% over tolerance", "Measured after three washes"),
]
COUNT = 23
BASE = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def seed() -> list[SimpleNamespace]:
    """COUNT NCs on lines L1 and L2, written in one statement; three at a time share their report time."""
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))
    masterdata.create_line(parse(NewLine, {"code": "L2", "name": "Sewing line 2"}))
    reporter = new_user("supervisor", "sup.paging")
    lines = dict(db.session.execute(select(ProductionLine.code, ProductionLine.id)).all())
    defect = db.session.scalars(select(DefectType).order_by(DefectType.id)).first()
    rows = []
    for index in range(COUNT):
        title, description = WORDS[index % len(WORDS)]
        rows.append(
            {
                "number": f"NC-2026-{index + 1:05d}",
                "year": 2026,
                "sequence": index + 1,
                "status": STATES[index % len(STATES)],
                "version": 1,
                "title": f"{title} #{index + 1}",
                "description": description,
                "defect_type_id": defect.id,
                "source": "end_of_line",
                "severity": "major",
                "line_id": lines["L1" if index % 3 else "L2"],
                "reported_by_id": reporter.id,
                # Three NCs share each moment; newer ones are filed later, but ids do not follow the moments.
                "reported_at": BASE + timedelta(hours=(index * 7) % COUNT // 3),
            }
        )
    db.session.execute(insert(NonConformance), rows)
    db.session.commit()
    stored = db.session.execute(
        select(NonConformance.id, NonConformance.number, NonConformance.reported_at, NonConformance.status)
    ).all()
    by_number = {row["number"]: row for row in rows}
    return [
        SimpleNamespace(
            id=nc_id,
            number=number,
            reported_at=reported_at,
            status=status,
            line="L1" if by_number[number]["line_id"] == lines["L1"] else "L2",
            text=" ".join([number, by_number[number]["title"], by_number[number]["description"]]),
        )
        for nc_id, number, reported_at, status in stored
    ]


@pytest.fixture(scope="module")
def world(module_app) -> SimpleNamespace:
    with module_app.app_context():
        ncs = seed()
        qm = new_user("quality_manager", "qm.paging")
        token = accounts.create_token(qm)
        page = logged_in(module_app, qm)
    api = module_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    # A token's first use records when it was used: done here, so that the tests only read.
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    return SimpleNamespace(app=module_app, ncs=ncs, api=api, headers=headers, page=page)


def get(world, **query):
    return world.api.get(NCS, query_string=query, headers=world.headers)


def expected(world, predicate=lambda nc: True) -> list[str]:
    """The numbers of the NCs ``predicate`` keeps, newest first, the later id first at the same moment."""
    kept = [nc for nc in world.ncs if predicate(nc)]
    return [nc.number for nc in sorted(kept, key=lambda nc: (nc.reported_at, nc.id), reverse=True)]


def walk(world, per_page: int, start: str, **filters) -> list[list[str]]:
    """Every page of the list by cursor, from its first page by number (``start="page"``) or by
    ``cursor=first``: the numbers on each."""
    first = get(world, per_page=per_page, **filters, **({"cursor": "first"} if start == "first" else {}))
    assert first.status_code == 200, first.text
    body = first.get_json()
    assert (body["page"], body["per_page"]) == ((1, per_page) if start == "page" else (None, per_page))
    pages = [[item["number"] for item in body["items"]]]
    while body["next_cursor"] is not None:
        answer = get(world, per_page=per_page, cursor=body["next_cursor"], **filters)
        assert answer.status_code == 200, answer.text
        body = answer.get_json()
        assert (body["page"], body["total"], body["per_page"]) == (None, None, per_page)
        pages.append([item["number"] for item in body["items"]])
        assert len(pages) <= COUNT + 1, "the walk does not end"
    return pages


WALKS = {
    "everything": ({}, lambda nc: True),
    "line": ({"line": "l1"}, lambda nc: nc.line == "L1"),
    "state": ({"status": "action"}, lambda nc: nc.status == "action"),
    "line and text": ({"line": "L2", "q": "snap"}, lambda nc: nc.line == "L2" and "snap" in nc.text.lower()),
    "Chinese text": ({"q": "纽扣脱落"}, lambda nc: "纽扣脱落" in nc.text),
}


@pytest.mark.parametrize("name", WALKS)
@pytest.mark.parametrize(("per_page", "start"), [(1, "page"), (4, "first")])
def test_a_walk_by_cursor_shows_every_nc_once_newest_first(world, name, per_page, start):
    filters, predicate = WALKS[name]
    pages = walk(world, per_page, start, **filters)
    numbers = [number for page in pages for number in page]
    assert numbers == expected(world, predicate)
    assert numbers, "the walk must show some NCs"
    # Every page but the last is full; the last one says there is no next.
    assert all(len(page) == per_page for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= per_page


def test_a_page_by_number_counts_and_gives_the_cursor_of_the_next(world):
    body = get(world, per_page=5, page=2).get_json()
    everything = expected(world)
    assert [item["number"] for item in body["items"]] == everything[5:10]
    assert (body["page"], body["per_page"], body["total"]) == (2, 5, COUNT)
    after = get(world, per_page=5, cursor=body["next_cursor"]).get_json()
    assert [item["number"] for item in after["items"]] == everything[10:15]
    last = get(world, per_page=5, page=5).get_json()
    assert len(last["items"]) == 3 and last["next_cursor"] is None


@pytest.mark.parametrize("start", ["first", "next"])
def test_a_walk_by_cursor_counts_nothing_and_its_statements_do_not_grow_with_its_rows(world, start):
    cursor = "first" if start == "first" else get(world, per_page=1).get_json()["next_cursor"]
    counted = {}
    for per_page in (2, 20):
        with world.app.app_context(), counting() as statements:
            answer = get(world, per_page=per_page, cursor=cursor)
            assert answer.status_code == 200
        counted[per_page] = statements
        assert len(answer.get_json()["items"]) == min(per_page, COUNT - (start == "next"))
    assert len(counted[2]) == len(counted[20])
    # The rows are sought after the cursor's NC (SQLite writes OFFSET 0 after every LIMIT).
    sought = [s for s in counted[20] if "(nonconformances.reported_at, nonconformances.id) < (" in s]
    assert bool(sought) == (start == "next"), counted[20]
    assert not [s for s in counted[20] if re.search(r"\bcount\s*\(", s, re.IGNORECASE)], counted[20]
    # By page number the API counts, as it always has: the check above would see it.
    with world.app.app_context(), counting() as statements:
        get(world, per_page=2, page=2)
    assert [s for s in statements if re.search(r"\bcount\s*\(", s, re.IGNORECASE)]


def forged(world) -> str:
    """A cursor as this list makes them, but signed with another key."""
    return URLSafeSerializer("another-key", salt="capa.nc-list.cursor").dumps([0, 1, "0" * 16])


def tampered(world) -> str:
    cursor = get(world, per_page=2).get_json()["next_cursor"]
    payload, _, signature = cursor.rpartition(".")
    return f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"


BAD_CURSORS = {
    "not a cursor": lambda world: "abc",
    "changed": tampered,
    "signed with another key": forged,
    "odd characters": lambda world: "é\u202e%00!",
}


@pytest.mark.parametrize("case", BAD_CURSORS)
def test_a_cursor_this_list_did_not_give_is_refused_naming_it(world, case):
    answer = get(world, cursor=BAD_CURSORS[case](world))
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["cursor"]
    assert error["fields"]["cursor"] == "Not a cursor this list gave: start again without it."


def test_a_cursor_is_refused_with_other_filters_or_with_a_page_number(world):
    cursor = get(world, per_page=2, line="L1").get_json()["next_cursor"]
    other = get(world, per_page=2, line="L2", cursor=cursor)
    assert other.status_code == 400
    assert "other filters" in other.get_json()["error"]["fields"]["cursor"]
    assert get(world, per_page=2, cursor=cursor).status_code == 400  # without the filter it came with
    with_page = get(world, per_page=2, line="L1", page=2, cursor=cursor)
    assert with_page.status_code == 400
    assert with_page.get_json()["error"]["fields"] == {"cursor": "Give either page or cursor, not both."}
    # The same filters written otherwise, and another page size, go on from where it was.
    same = get(world, per_page=3, line="l1", cursor=cursor)
    assert same.status_code == 200
    assert [item["number"] for item in same.get_json()["items"]] == expected(world, lambda nc: nc.line == "L1")[2:5]


def test_a_filter_given_twice_is_refused_naming_it(world):
    answer = world.api.get(NCS, query_string={"line": ["L1", "L2"], "status": "action"}, headers=world.headers)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["fields"] == {"line": "Give this parameter once."}


# The page counts up to a limit -----------------------------------------------------------------------------


@pytest.fixture
def count_limit(world):
    """The page counts up to 5 NCs during the test."""
    saved = world.app.config["CAPA_EXACT_COUNT_LIMIT"]
    world.app.config["CAPA_EXACT_COUNT_LIMIT"] = 5
    yield 5
    world.app.config["CAPA_EXACT_COUNT_LIMIT"] = saved


def pager(html: str) -> str:
    return text_of(one(html, "nav.pager"))


def test_the_page_says_more_than_the_limit_and_pages_on_without_a_last_page(world, count_limit):
    first = world.page.get("/nc?per_page=4")
    assert first.status_code == 200
    assert "more than 5 non-conformances" in first.text
    assert listed_numbers(first.text) == expected(world)[:4]
    assert "page 1" in pager(first.text) and " of " not in pager(first.text)
    assert "last page" not in pager(first.text)
    links = dict(pager_links(first.text))
    assert set(links) == {"next"}
    second = world.page.get(links["next"])
    assert listed_numbers(second.text) == expected(world)[4:8]
    assert set(dict(pager_links(second.text))) == {"previous", "next"}
    # Past the limit, the pages go on to the end.
    last = world.page.get("/nc?per_page=4&page=6")
    assert listed_numbers(last.text) == expected(world)[20:]
    assert set(dict(pager_links(last.text))) == {"previous"}


def test_the_page_counts_exactly_within_the_limit(world, count_limit):
    page = world.page.get("/nc?status=closed&per_page=2")
    closed = expected(world, lambda nc: nc.status == "closed")
    assert len(closed) == 5
    assert "5 non-conformances" in page.text and "more than" not in page.text
    assert "page 1 of 3" in pager(page.text)


def test_the_last_page_link_shows_when_the_count_is_exact(world):
    page = world.page.get("/nc?per_page=2&line=L1")
    assert f"{len(expected(world, lambda nc: nc.line == 'L1'))} non-conformances" in page.text
    last = next(a for a in one(page.text, "nav.pager").css("a") if "last page" in text_of(a))
    pages = -(-len(expected(world, lambda nc: nc.line == "L1")) // 2)
    assert parse_qs(urlsplit(last.attributes["href"]).query) == {
        "page": [str(pages)],
        "per_page": ["2"],
        "line": ["L1"],
    }


def test_the_page_leaves_an_api_cursor_aside(world):
    cursor = get(world, per_page=2).get_json()["next_cursor"]
    page = world.page.get(f"/nc?per_page=4&cursor={cursor}")
    assert page.status_code == 200
    assert listed_numbers(page.text) == expected(world)[:4]
    assert all("cursor" not in href for _, href in pager_links(page.text))


# Text search -----------------------------------------------------------------------------------------------

SEARCHES = ["纽扣脱", "拉力不足", "SNAP BUT", "唾液色牢度 3-4", "5% over", "nc-2026-0001", "扣", "#2", "%", "no such"]


@pytest.mark.parametrize("q", SEARCHES)
def test_text_search_finds_the_ncs_containing_the_text_ignoring_case(world, q):
    body = get(world, q=q, per_page=100).get_json()
    assert [item["number"] for item in body["items"]] == expected(world, lambda nc: q.lower() in nc.text.lower())
    assert body["total"] == len(body["items"])


def test_text_search_is_served_by_the_index(world, engine_name):
    with world.app.app_context():
        # The matching alone: with the order and a limit the planner may rather walk the NCs newest first, as
        # the statistics of the table make it cheaper (a word found in many NCs).
        query = queries.filtered(parse(NCFilters, {"q": "纽扣脱落"}))
        with db.engine.connect() as connection:
            plan = explain(connection, query, "enable_seqscan")
    if engine_name == "sqlite":
        assert "nc_search VIRTUAL TABLE INDEX" in plan, plan
    else:
        assert "ix_nonconformances_title_trgm" in plan and "ix_nonconformances_description_trgm" in plan, plan
        assert "Seq Scan on nonconformances" not in plan, plan


LIST_QUERIES = {
    "newest first": ({}, "ix_nonconformances_reported_at_id"),
    "by state": ({"status": "action"}, "ix_nonconformances_status_reported_at"),
    "by line": ({"line": "L1"}, "ix_nonconformances_line_reported_at"),
}


@pytest.mark.parametrize("name", LIST_QUERIES)
@pytest.mark.parametrize("by_cursor", [False, True], ids=["first page", "by cursor"])
def test_the_list_query_reads_its_rows_in_order_from_an_index(world, engine_name, name, by_cursor):
    filters, index = LIST_QUERIES[name]
    with world.app.app_context():
        query = queries.filtered(parse(NCFilters, filters)).order_by(*paging.NEWEST_FIRST).limit(26)
        if by_cursor:
            query = query.where(tuple_(NonConformance.reported_at, NonConformance.id) < (BASE, 10))
        with db.engine.connect() as connection:
            # Neither a whole table read nor a bitmap of rows sorted afterwards: the index in its order.
            plan = explain(connection, query, "enable_seqscan", "enable_bitmapscan", "enable_sort")
    assert index in plan, plan
    if engine_name == "sqlite":
        assert "TEMP B-TREE" not in plan, plan
    else:
        assert "Seq Scan on nonconformances" not in plan and "Sort" not in plan, plan


def explain(connection, query, *avoided: str) -> str:
    """The query's plan as text. PostgreSQL is told to avoid the ``avoided`` plans (``enable_seqscan``…) as far as
    it can, so that on a table this small the plan shows whether an index can serve the query at all."""
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        return "\n".join(row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    with connection.begin():
        for setting in avoided:
            connection.execute(text(f"SET LOCAL {setting} = off"))
        return "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))


# The index follows every change --------------------------------------------------------------------------------


def test_the_search_index_follows_edits_and_is_rebuilt_on_demand(app):
    ncs = seed()
    first = next(nc for nc in ncs if nc.number == "NC-2026-00001")

    def found(q: str) -> list[str]:
        db.session.expire_all()
        return [nc.number for nc in paging.list_page(parse(NCFilters, {"q": q})).items]

    before = found("纽扣脱落")
    assert "NC-2026-00001" in before and found("拉链头") == []
    db.session.execute(update(NonConformance).where(NonConformance.id == first.id).values(title="童装拉链头脱落"))
    db.session.commit()
    assert found("纽扣脱落") == [number for number in before if number != "NC-2026-00001"]
    assert found("拉链头") == ["NC-2026-00001"]
    if db.engine.dialect.name == "sqlite":
        # A loader that writes around the triggers leaves the table behind; rebuilding brings it up to date.
        db.session.execute(text("INSERT INTO nc_search(nc_search) VALUES ('delete-all')"))
        db.session.commit()
        assert found("拉链头") == []
    with db.engine.begin() as connection:
        queries.rebuild_search_index(connection)
    assert found("拉链头") == ["NC-2026-00001"]
    assert len(found("NC-2026")) == COUNT
