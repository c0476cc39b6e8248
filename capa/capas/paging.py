"""One page of the NC list, as quick with a million NCs as with fifty.

- the list is ordered newest first by ``reported_at``, then ``id`` (both descending): an order without ties, so
  a walk through it never shows an NC twice nor skips one, and each filter's index (``ix_nonconformances_*``,
  see the models) hands the rows out in that order;
- by page number (``page``, 25 rows a page unless ``per_page`` says otherwise), the rows are read past the
  earlier pages (OFFSET); the pages (the NC list) count the matches only up to ``count_up_to`` (the setting
  ``CAPA_EXACT_COUNT_LIMIT``, 10,000 unless set), the database stopping at the limit: counting a million rows
  on every request is what made the list slow, and "more than 10,000" tells a person as much. A count up to a
  limit rather than PostgreSQL's planner estimate: it is the same on both engines, exact whenever there are
  few enough pages to go through, and never wrong (an estimate of a filtered count can be off many times
  over). The last page is offered only when the count is exact. The API counts exactly when asked by page
  number, as it always has;
- by ``cursor``: the rows after the cursor's NC in that order (a seek on the index: no OFFSET, and nothing is
  counted); ``cursor=first`` (FIRST) starts at the newest NC, uncounted too. Each page gives the cursor of the
  next (``next_cursor``, None on the last page), by page number too, so a client may also start with a page
  and go on by cursor;
- a cursor is opaque and URL-safe: the NC it follows and a digest of the filters it was given for, signed
  with the app's secret key. A cursor that was not made here, was changed, or was given for other filters is
  refused (400 naming ``cursor``): with other filters it would not continue the walk it came from, and would
  silently show a part of another list. So is a cursor with a page number. A new secret key makes the cursors
  given before it refused alike;
- a page reads its rows and what they show in the same few statements however many rows it has (LISTED).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import func, select, tuple_

from capa.capas.commands import NCFilters
from capa.capas.models import NonConformance
from capa.capas.queries import LISTED, filtered
from capa.common.errors import ValidationError
from capa.extensions import db

#: Rows on a page unless ``per_page`` says otherwise.
PER_PAGE = 25

NEWEST_FIRST = (NonConformance.reported_at.desc(), NonConformance.id.desc())

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SALT = "capa.nc-list.cursor"

NOT_A_CURSOR = _l("Not a cursor this list gave: start again without it.")
OTHER_FILTERS = _l(
    "This cursor was given for other filters: send it with the filters it came with, or start again without it."
)
PAGE_AND_CURSOR = _l("Give either page or cursor, not both.")

#: The cursor that starts a walk at the newest NC, counting nothing (the first page by number counts).
FIRST = "first"


@dataclass(frozen=True)
class ListPage:
    """One page of the NC list."""

    items: list[NonConformance]
    per_page: int
    #: The page number; None when the page was asked for by cursor.
    page: int | None
    #: How many NCs match the filters; None when they were not counted (by cursor) or are more than ``more_than``.
    total: int | None
    #: The limit they were counted up to, when more match than it (``total`` is then None).
    more_than: int | None
    #: Whether another page follows.
    has_next: bool
    #: The cursor of the next page, or None on the last page.
    next_cursor: str | None

    @property
    def pages(self) -> int | None:
        """How many pages there are, when the matches were counted exactly."""
        if self.total is None:
            return None
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return (self.page or 1) > 1


def list_page(filters: NCFilters, *, count_up_to: int | None = None) -> ListPage:
    """One page of the NCs matching ``filters``, newest first: by ``cursor`` (FIRST or a ``next_cursor``; no
    count), or by page number (``page``, default 1) with the count of the matches, exact up to ``count_up_to``
    (every match when None). A page past the last is empty.

    Raises ValidationError naming ``cursor`` for a cursor this list did not give, one given for other filters,
    or a cursor sent with ``page``.
    """
    per_page = filters.per_page or PER_PAGE
    query = filtered(filters).options(*LISTED).order_by(*NEWEST_FIRST).limit(per_page + 1)
    total = more_than = None
    if filters.cursor is not None:
        if filters.page is not None:
            raise ValidationError(str(PAGE_AND_CURSOR), fields={"cursor": str(PAGE_AND_CURSOR)})
        page = None
        position = _position(filters)
        if position is not None:
            query = query.where(tuple_(NonConformance.reported_at, NonConformance.id) < position)
    else:
        page = filters.page or 1
        query = query.offset((page - 1) * per_page)
        total = _count(filters, count_up_to)
        if count_up_to is not None and total > count_up_to:
            total, more_than = None, count_up_to
    rows = list(db.session.scalars(query))
    items, has_next = rows[:per_page], len(rows) > per_page
    next_cursor = cursor_after(items[-1], filters) if has_next else None
    return ListPage(items, per_page, page, total, more_than, has_next, next_cursor)


def _count(filters: NCFilters, up_to: int | None) -> int:
    """How many NCs match, counting at most ``up_to`` + 1 of them (all when None): the database stops there."""
    matching = filtered(filters).with_only_columns(NonConformance.id).order_by(None)
    if up_to is not None:
        matching = matching.limit(up_to + 1)
    return db.session.scalar(select(func.count()).select_from(matching.subquery()))


# Cursors ----------------------------------------------------------------------------------------------------


def cursor_after(nc: NonConformance, filters: NCFilters) -> str:
    """The cursor of the NCs after ``nc`` in the list filtered by ``filters``."""
    moment = (nc.reported_at - _EPOCH) // _MICROSECOND
    return _serializer().dumps([moment, nc.id, _digest(filters)])


def _position(filters: NCFilters) -> tuple[datetime, int] | None:
    """The (reported_at, id) of the NC ``filters.cursor`` follows (None for FIRST); ValidationError naming
    ``cursor`` when it was not given by this list, or was given for other filters."""
    if filters.cursor == FIRST:
        return None
    try:
        moment, nc_id, digest = _serializer().loads(filters.cursor)
        if not (isinstance(moment, int) and isinstance(nc_id, int) and isinstance(digest, str)):
            raise TypeError(moment, nc_id, digest)
        reported_at = _EPOCH + moment * _MICROSECOND
    except (BadData, TypeError, ValueError, OverflowError):
        raise ValidationError(str(NOT_A_CURSOR), fields={"cursor": str(NOT_A_CURSOR)}) from None
    if digest != _digest(filters):
        raise ValidationError(str(OTHER_FILTERS), fields={"cursor": str(OTHER_FILTERS)})
    return reported_at, nc_id


def _digest(filters: NCFilters) -> str:
    """A digest of the filters, as parsed (``line=l1`` and ``line=L1`` alike), but for the page's size and place."""
    given = filters.model_dump(mode="json", exclude={"page", "per_page", "cursor"}, exclude_none=True)
    return hashlib.sha256(json.dumps(given, sort_keys=True).encode()).hexdigest()[:16]


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=_SALT)
