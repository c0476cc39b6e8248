"""Units of work: the service function that changes data decides where its transaction begins and ends."""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from capa.common.errors import Conflict
from capa.extensions import db


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Commit everything done inside the block, or nothing.

    Any exception rolls the whole unit back, so a refused request never leaves half a record behind. A
    uniqueness race that slipped past the service's own checks surfaces as :class:`Conflict` (409).
    """
    session = db.session
    try:
        yield session
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("The record was changed by someone else at the same time; please try again.") from exc
    except BaseException:
        session.rollback()
        raise


# A request that only read ends its transaction with COMMIT, not ROLLBACK. Both end a read-only transaction the
# same way, but psycopg forgets every statement it prepared on the connection at each ROLLBACK, and the session of
# each request ends in one: without this PostgreSQL parses and plans every statement of every page again (half of
# an NC page's time in the database at a million NCs).

#: Set in a connection's ``info`` by any statement other than a plain SELECT, or by a failed one; cleared when a
#: session begins a transaction on the connection.
_WROTE = "capa.transaction.wrote"


def note_write(connection: Connection) -> None:
    """Mark ``connection``'s transaction as one that changed data; for writes that bypass SQLAlchemy's execution
    (COPY through the driver)."""
    connection.info[_WROTE] = True


def _began(_session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    connection.info[_WROTE] = False


def _executing(connection: Connection, _cursor, statement: str, _parameters, _context, _executemany) -> None:
    # SELECT … FOR UPDATE only locks, and a lock is released by COMMIT as by ROLLBACK; WITH may hide a write.
    if statement.lstrip()[:6].upper() != "SELECT":
        connection.info[_WROTE] = True


def _failed(context: ExceptionContext) -> None:
    if context.connection is not None:
        context.connection.info[_WROTE] = True


def commit_if_only_read(session: Session) -> bool:
    """Commit ``session``'s transaction when it only read: every statement it ran was a SELECT that succeeded,
    and it holds no unflushed change and no file saved or doomed with it (``session.info``). Otherwise leave it,
    for the rollback that ends every request to undo. Returns whether it committed."""
    if not session.in_transaction() or not session.is_active or session.info:
        return False
    if session.new or session.dirty or session.deleted:
        return False
    # The app has one database: the transaction's one connection (checked out now if no statement ran yet).
    if session.connection().info.get(_WROTE, True):
        return False
    # Objects read stay as they were read, as after the rollback this replaces: a page may still hold them.
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    except SQLAlchemyError:
        # Nothing was written, so nothing is lost: a database gone away meanwhile is the next request's to report.
        current_app.logger.warning("Could not end a read-only transaction with COMMIT", exc_info=True)
        return False
    finally:
        session.expire_on_commit = expire_on_commit
    return True


def init_app(app: Flask) -> None:
    """End each request's read-only transaction with COMMIT (:func:`commit_if_only_read`). Call after
    ``db.init_app``: teardown functions run last registered first, so this one runs before the session is
    removed."""
    if not event.contains(Session, "after_begin", _began):
        event.listen(Session, "after_begin", _began)
        event.listen(Engine, "before_cursor_execute", _executing)
        event.listen(Engine, "handle_error", _failed)

    @app.teardown_appcontext
    def end_read_only_transaction(exc: BaseException | None) -> None:
        if exc is None:
            commit_if_only_read(db.session())
