"""A request that only read ends its transaction with COMMIT, so PostgreSQL's connection keeps the statements
psycopg prepared (a ROLLBACK makes psycopg forget them all); anything that wrote, failed or left work behind is
still rolled back, so no half-written record survives a request that did not commit."""

import psycopg
import pytest
from sqlalchemy import event, func, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError

from capa.common import files
from capa.common.errors import NotFound
from capa.common.transaction import commit_if_only_read
from capa.extensions import db
from capa.masterdata.models import Supplier
from capa.safety.models import SafetyParameter
from tests.conftest import POSTGRES_URL, _plain_dsn


def _suppliers_named(name: str) -> int:
    with db.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Supplier).where(Supplier.name == name))


def _new_supplier(name: str) -> dict:
    return {"code": name.upper(), "name": name, "approval": "approved"}


def test_a_transaction_that_only_read_is_committed(app):
    commits = []
    event.listen(db.session(), "after_commit", commits.append)
    parameter = db.session.scalars(select(SafetyParameter).limit(1)).one()

    assert commit_if_only_read(db.session()) is True
    assert len(commits) == 1
    # What was read stays loaded, as after a rollback: a page or a test may still read it once the session is gone.
    db.session.remove()
    assert not inspect(parameter).expired_attributes
    assert parameter.code


def test_a_statement_that_wrote_keeps_the_transaction_from_being_committed(app):
    db.session.execute(insert(Supplier).values(_new_supplier("core-insert")))

    assert commit_if_only_read(db.session()) is False
    db.session.rollback()
    assert _suppliers_named("core-insert") == 0


def test_a_write_after_reads_keeps_the_transaction_from_being_committed(app):
    db.session.scalars(select(Supplier)).all()
    db.session.execute(text("UPDATE suppliers SET name = 'renamed'"))
    db.session.scalars(select(Supplier)).all()

    assert commit_if_only_read(db.session()) is False


def test_an_unflushed_change_is_not_committed(app):
    db.session.add(Supplier(**_new_supplier("unflushed")))

    assert commit_if_only_read(db.session()) is False
    db.session.rollback()
    assert _suppliers_named("unflushed") == 0


def test_a_failed_statement_keeps_the_transaction_from_being_committed(app):
    db.session.scalars(select(Supplier)).all()
    with pytest.raises(DBAPIError):
        db.session.execute(text("SELECT no_such_column FROM suppliers"))

    assert commit_if_only_read(db.session()) is False


def test_a_file_saved_with_the_transaction_is_left_to_its_rollback(app):
    db.session.scalars(select(Supplier)).all()
    key = files.save(b"evidence", ".txt")

    assert commit_if_only_read(db.session()) is False
    db.session.rollback()
    with pytest.raises(NotFound):
        files.read(key)


def test_a_file_doomed_with_the_transaction_is_kept_when_nothing_commits(app):
    key = files.save(b"evidence", ".txt")
    db.session.commit()
    files.delete_after_commit(key)

    assert commit_if_only_read(db.session()) is False
    db.session.rollback()
    assert files.read(key) == b"evidence"


def test_reading_requests_keep_the_connection_s_prepared_statements(app, api, engine_name):
    if engine_name != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    reader = api("quality_manager")
    db.session.remove()
    db.engine.dispose()  # the requests below share one connection, the pool's only one

    for _ in range(8):  # psycopg prepares a statement once it has run it 5 times on the connection
        assert reader.get("/api/v1/nonconformances").status_code == 200

    with db.engine.connect() as connection:
        prepared = connection.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
    assert prepared > 0


def test_a_commit_the_database_refuses_is_logged_and_left_to_the_rollback(app, engine_name, caplog):
    if engine_name != "postgresql":
        pytest.skip("ends the PostgreSQL server's process of this connection")
    backend = db.session.scalar(text("SELECT pg_backend_pid()"))
    with psycopg.connect(_plain_dsn(POSTGRES_URL), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])

    assert commit_if_only_read(db.session()) is False
    assert "Could not end a read-only transaction with COMMIT" in caplog.text
    db.session.rollback()  # as the end of the request does
    assert db.session.scalar(select(func.count()).select_from(SafetyParameter)) > 0
