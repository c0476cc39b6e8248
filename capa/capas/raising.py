"""Raising a non-conformance from a failing lab result, with its batch or lot on hold in the same step.

The rules:
- only a failing result on a batch raises an NC (Conflict, 409, naming ``result``), and only once: raising it
  again is refused naming the NC raised from it (409, with that NC's ``number``);
- the NC is filed by the filing service (:func:`capa.capas.filing.file_nc`: its number, its "filed" history
  entry, the recurrence check) with source ``lab_test``, the result's batch, its style and line, the result's
  parameter linked, a title "<parameter> failed: <value> (<limit>)" and a description quoting the result (the
  command may give its own), severity critical on a category A style and major otherwise, and the active
  defect type whose usual parameters include the result's parameter; when none or several do, the command
  names one (ValidationError naming ``defect_type``);
- the NC names its result (``NonConformance.source_result``) and the result its NC (``LabResult.raised_nc``);
- ``hold`` puts the result's batch (``batch``) or the lot the result names (``lot``; a ValidationError naming
  ``hold`` when it names none) on hold, written in the NC's history as containment writes a hold. Holding goods
  is the quality manager's containment decision: whoever may file an NC may raise one, but a hold needs the
  role of the containment step (PermissionDenied naming ``hold``). The NC stays ``reported``: containment
  itself (what was done, and further holds) is still recorded as its own step;
- the filing, the link and the holds are one unit of work: all of them are stored, or nothing is.
"""

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from capa.accounts.models import User
from capa.capas import filing, policy
from capa.capas.commands import FileNC, HoldTarget, RaiseNC
from capa.capas.history import Journal
from capa.capas.lookup import invalid, list_defect_types
from capa.capas.models import DefectType, Hold, NonConformance, Severity, Source
from capa.capas.states import Step
from capa.common.commands import parse
from capa.common.display import local_date, local_name
from capa.common.errors import Conflict, NotFound, PermissionDenied
from capa.extensions import db
from capa.safety.judging import Outcome, describe_limit, with_unit
from capa.safety.models import LabResult

TITLE_LENGTH = 200
DESCRIPTION_LENGTH = 4000


def get_result(result_id: int) -> LabResult:
    """The lab result with ``result_id``; raises NotFound."""
    result = db.session.get(LabResult, result_id) if 0 < result_id < 2**31 else None
    if result is None:
        raise NotFound(str(_l("No lab result %(id)s.", id=result_id)), fields={"result": "unknown"})
    return result


def raised_from(result: LabResult) -> NonConformance | None:
    """The NC raised from ``result``, read afresh (not from what the session holds)."""
    return db.session.scalar(select(NonConformance).where(NonConformance.source_result_id == result.id))


def _already_raised(result: LabResult, nc: NonConformance) -> Conflict:
    return Conflict(
        str(_l("%(number)s was raised from this result already.", number=nc.number)),
        fields={"result": str(_l("Already raised as %(number)s.", number=nc.number))},
        number=nc.number,
    )


def check_raisable(result: LabResult) -> None:
    """Raise Conflict (409 naming ``result``) unless ``result`` is a failing result on a batch with no NC yet."""
    if result.batch is None or result.verdict != Outcome.FAIL:
        raise Conflict(
            str(_l("Only a failing result on a batch can raise a non-conformance.")),
            fields={"result": str(_l("This result did not fail on a batch."))},
        )
    earlier = raised_from(result)
    if earlier is not None:
        raise _already_raised(result, earlier)


def value_text(result: LabResult) -> str:
    return with_unit(result.value, result.unit)


def limit_text(result: LabResult) -> str:
    if not result.comparator or result.limit is None:
        return result.limit or ""
    try:
        return describe_limit(result.comparator, result.limit, result.unit)
    except ValueError:
        return result.limit


def default_title(result: LabResult) -> str:
    title = str(
        _l(
            "%(parameter)s failed: %(value)s (%(limit)s)",
            parameter=local_name(result.parameter),
            value=value_text(result),
            limit=limit_text(result),
        )
    )
    return title if len(title) <= TITLE_LENGTH else title[: TITLE_LENGTH - 1] + "…"


def default_description(result: LabResult) -> str:
    """The result quoted: what was found against which limit, the report, the colourway and the lot."""
    lines = [
        str(
            _l(
                "Lab result on batch %(batch)s, %(code)s %(parameter)s: %(explanation)s.",
                batch=result.batch.number,
                code=result.parameter.code,
                parameter=local_name(result.parameter),
                explanation=result.explanation.rstrip("."),
            )
        )
    ]
    if result.reported and result.reported != result.value:
        lines.append(str(_l("The lab wrote: %(reported)s.", reported=result.reported)))
    if result.report_number or result.lab:
        lines.append(
            str(
                _l(
                    "Report %(number)s of %(lab)s, tested on %(date)s.",
                    number=result.report_number or "—",
                    lab=result.lab or "—",
                    date=local_date(result.tested_at),
                )
            )
        )
    if result.colourway:
        lines.append(str(_l("Colourway: %(colourway)s.", colourway=result.colourway)))
    if result.lot is not None:
        lines.append(str(_l("Lot: %(lot)s.", lot=result.lot.number)))
    return "\n".join(lines)[:DESCRIPTION_LENGTH]


def _candidates(defect_types: list[DefectType]) -> dict[int, list[str]]:
    """The codes of the defect types that usually concern each parameter, by parameter id."""
    found: dict[int, list[str]] = {}
    for defect_type in defect_types:
        for parameter in defect_type.parameters:
            found.setdefault(parameter.id, []).append(defect_type.code)
    return found


@dataclass
class RaiseOffer:
    """What a page offers on a failing result: raising an NC, putting goods on hold, choosing the defect type."""

    may_raise: bool
    may_hold: bool
    #: The active defect types, for the choice where no single one usually concerns the parameter.
    defect_types: list[DefectType] = field(default_factory=list)
    #: The defect type raising takes by itself, by parameter id (only where exactly one concerns it).
    defaults: dict[int, str] = field(default_factory=dict)

    @classmethod
    def for_user(cls, user: User) -> "RaiseOffer":
        if not policy.can(user, Step.FILE):
            return cls(False, False)
        defect_types = list_defect_types(active_only=True)
        defaults = {pid: codes[0] for pid, codes in _candidates(defect_types).items() if len(codes) == 1}
        return cls(True, policy.can(user, Step.CONTAIN), defect_types, defaults)


def _defect_type(result: LabResult, command: RaiseNC) -> str:
    if command.defect_type:
        return command.defect_type
    candidates = _candidates(list_defect_types(active_only=True)).get(result.parameter_id, [])
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        message = _l("No defect type usually concerns %(code)s: choose the defect type.", code=result.parameter.code)
    else:
        message = _l(
            "Several defect types concern %(code)s (%(types)s): choose one.",
            code=result.parameter.code,
            types=", ".join(sorted(candidates)),
        )
    raise invalid({"defect_type": str(message)})


def _check_hold(result: LabResult, command: RaiseNC, actor: User) -> None:
    if command.hold is None:
        return
    if not policy.can(actor, Step.CONTAIN):
        message = _l("Only a quality manager may put goods on hold; raise the NC without the hold.")
        raise PermissionDenied(str(message), fields={"hold": str(message)})
    if command.hold is HoldTarget.LOT and result.lot is None:
        raise invalid({"hold": str(_l("This result names no lot: put the batch on hold instead."))})


def raise_nc_from_result(result: LabResult, command: RaiseNC, actor: User) -> NonConformance:
    """File an NC from the failing ``result``, linked to it both ways, with the hold asked for (module rules)."""
    check_raisable(result)
    _check_hold(result, command, actor)
    batch = result.batch
    filed = parse(
        FileNC,
        {
            "title": command.title or default_title(result),
            "description": command.description or default_description(result),
            "defect_type": _defect_type(result, command),
            "source": Source.LAB_TEST.value,
            "line": batch.line.code,
            "style": batch.style.code,
            "batch": batch.number,
            "severity": (Severity.CRITICAL if batch.style.category == "A" else Severity.MAJOR).value,
            "parameters": [result.parameter.code],
        },
    )

    def link_and_hold(nc: NonConformance, journal: Journal) -> None:
        # The NC is numbered: its counter row is locked until this unit commits, so a raise racing this one
        # waits here and then sees this NC.
        earlier = db.session.scalar(
            select(NonConformance).where(NonConformance.source_result_id == result.id, NonConformance.id != nc.id)
        )
        if earlier is not None:
            raise _already_raised(result, earlier)
        nc.source_result = result
        journal.record(
            "raised_from",
            new=f"{result.parameter.code} {value_text(result)}",
            note=result.report_number or "",
        )
        if command.hold is HoldTarget.BATCH:
            nc.holds.append(Hold(batch=batch, held_by=actor))
            journal.record("hold", new=batch.number)
        elif command.hold is HoldTarget.LOT:
            nc.holds.append(Hold(lot=result.lot, held_by=actor))
            journal.record("hold", new=result.lot.number)

    return filing.file_nc(filed, actor, also=link_and_hold)
