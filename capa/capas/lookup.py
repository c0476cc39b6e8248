"""Finding the records of the CAPA workflow by what people call them, and the error every step raises.

- an NC is found by its number, case-insensitive; an action by its id; anything unknown raises NotFound;
- the safety parameters linked to an NC must exist and, when its category is known, have a limit for it (a
  parameter without one could never pass a retest, so the CAPA could never close): ValidationError names
  the position, ``parameters[i]``.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import joinedload, selectinload

from capa.capas.models import (
    Action,
    DefectType,
    Event,
    NonConformance,
)
from capa.common.errors import NotFound, ValidationError
from capa.common.types import identifier
from capa.extensions import db
from capa.safety import service as safety
from capa.safety.models import SafetyParameter

PLEASE_CORRECT = _l("Please correct the fields marked.")


def invalid(fields: dict[str, str]) -> ValidationError:
    """The ValidationError a step raises: one sentence on top, each bad field named."""
    return ValidationError(str(PLEASE_CORRECT), fields=fields)


def get_nc(number: str, *loading) -> NonConformance:
    """The NC numbered ``number`` (case-insensitive), with the relations named by the loader options ``loading``
    read in the same go (:data:`PAGE_RECORD`); raises NotFound."""
    key = identifier(number, upper=True)
    query = select(NonConformance).where(NonConformance.number == key).options(*loading)
    nc = None if key is None else db.session.scalar(query)
    if nc is None:
        raise NotFound(str(_l("No non-conformance %(number)s.", number=number)), fields={"number": "unknown"})
    return nc


#: The records every NC names, joined to it in the statement that reads it. Those most NCs leave empty (the NC
#: it recurs or follows up, the effectiveness reviewer) are not: an empty reference costs no statement when first
#: used, and PostgreSQL's time to plan a join grows steeply with the tables joined (8 joins: about 10 ms to plan a
#: statement that runs in 1 ms; 5: about 2 ms).
NAMED_RECORDS = (
    joinedload(NonConformance.defect_type),
    joinedload(NonConformance.line),
    joinedload(NonConformance.style),
    joinedload(NonConformance.batch),
    joinedload(NonConformance.reported_by),
)

#: What an NC's whole record shows besides its own columns: the records it names and its lists, one statement
#: each (where loading each on first use would take one per relation).
WHOLE_RECORD = (
    *NAMED_RECORDS,
    selectinload(NonConformance.parameters),
    selectinload(NonConformance.analyses),
    selectinload(NonConformance.actions),
    selectinload(NonConformance.photos),
)


#: What the NC page shows besides the whole record: the history with who wrote each entry, the signatures and the
#: files, one statement each.
PAGE_RECORD = (
    *WHOLE_RECORD,
    selectinload(NonConformance.events).joinedload(Event.actor),
    selectinload(NonConformance.signatures),
    selectinload(NonConformance.attachments),
)


def load_whole(nc: NonConformance) -> NonConformance:
    """``nc`` with :data:`WHOLE_RECORD` loaded (read again as stored, as after a commit), in a few statements."""
    # Its key as the session knows it: reading nc.id on an expired NC would read the row once more first.
    (nc_id,) = inspect(nc).identity
    return db.session.scalars(
        select(NonConformance)
        .where(NonConformance.id == nc_id)
        .options(*WHOLE_RECORD)
        .execution_options(populate_existing=True)
    ).one()


def get_action(action_id: int) -> Action:
    action = db.session.get(Action, action_id) if 0 < action_id < 2**31 else None
    if action is None:
        raise NotFound(str(_l("No action %(id)s.", id=action_id)), fields={"id": "unknown"})
    return action


def list_defect_types(*, active_only: bool = False) -> list[DefectType]:
    query = select(DefectType).options(selectinload(DefectType.parameters)).order_by(DefectType.name)
    if active_only:
        query = query.where(DefectType.active.is_(True))
    return list(db.session.scalars(query))


def find_defect_type(code: str) -> DefectType | None:
    code = identifier(code, lower=True)
    return None if code is None else db.session.scalar(select(DefectType).where(DefectType.code == code))


def find_parameters(codes: list[str], field: str, *, category: str | None = None) -> list[SafetyParameter]:
    """The parameters named; each must exist and, when the category is known, have a limit for it (a
    parameter without one could never pass a retest, so the CAPA could never close)."""
    found = []
    for index, code in enumerate(dict.fromkeys(codes)):
        parameter = safety.find_parameter(code)
        if parameter is None:
            raise invalid({f"{field}[{index}]": str(_l("No safety parameter %(code)s.", code=code))})
        if category is not None and parameter.limit_for(category) is None:
            raise invalid(
                {
                    f"{field}[{index}]": str(
                        _l("%(code)s has no limit for category %(category)s.", code=code, category=category)
                    )
                }
            )
        found.append(parameter)
    return found
