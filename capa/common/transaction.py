"""Units of work: the service function that changes data decides where its transaction begins and ends."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

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
