"""The partial indexes of the home page's queues: the migrations build them with their conditions on each engine,
and the queries state those conditions so that SQLite, which matches them word for word, uses them."""

import pytest
from sqlalchemy import event, text

from capa.capas.models import CANCELLED_NC, ON_HOLD, OPEN_ACTION, OPEN_NC, PENDING_REVIEW, RETURNED_ANALYSIS
from capa.extensions import db
from tests.conftest import POSTGRES_URL, new_user
from tests.pages import logged_in

PARTIAL = {
    "ix_nonconformances_open_by_reporter": OPEN_NC,
    "ix_nonconformances_open_safety_critical": OPEN_NC,
    "ix_nonconformances_effectiveness_pending": PENDING_REVIEW,
    "ix_nonconformances_cancelled": CANCELLED_NC,
    "ix_capa_actions_open_due": OPEN_ACTION,
    "ix_capa_actions_open_by_owner": OPEN_ACTION,
    "ix_holds_on_hold_held_at": ON_HOLD,
    "ix_root_cause_analyses_returned": RETURNED_ANALYSIS,
}


def _normal(sql: str) -> str:
    return " ".join(sql.replace("(", " ").replace(")", " ").replace("::text", "").split()).lower()


def test_the_migrations_build_each_partial_index_with_its_condition(app):
    if POSTGRES_URL:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'ix_%'"
    else:
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    # Not dict(result): a Result has keys(), so dict() would take it for a mapping.
    found = {name: definition for name, definition in db.session.execute(text(query))}  # noqa: C416
    for name, condition in PARTIAL.items():
        assert name in found, name
        definition = _normal(found[name])
        assert " where " in definition, name
        if POSTGRES_URL:
            # PostgreSQL writes NOT IN as <> ALL (ARRAY[…]) and = 'x' with a cast: the constants must be there.
            for constant in ("closed", "cancelled", "open", "return"):
                assert (f"'{constant}'" in definition) == (f"'{constant}'" in condition), name
        else:
            assert definition.endswith(_normal(condition)), (name, definition)


@pytest.mark.skipif(POSTGRES_URL is not None, reason="SQLite's planner: PostgreSQL matches bound values itself")
def test_the_home_counts_open_ncs_from_the_partial_indexes(app):
    manager = new_user("quality_manager", "qm.partial")
    client = logged_in(app, manager)
    statements: list[tuple[str, tuple]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            assert client.get("/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
        raw = db.engine.raw_connection()
        try:
            plans = " ".join(
                row[3]
                for statement, parameters in statements
                for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            )
        finally:
            raw.close()
    assert "ix_nonconformances_open_by_reporter" in plans
    assert "ix_nonconformances_open_safety_critical" in plans
    # The long-hold alerts as of now read the holds in quarantine alone.
    assert "ix_holds_on_hold_held_at" in plans
    # The returned queue probes the returned analyses alone.
    assert "ix_root_cause_analyses_returned" in plans
