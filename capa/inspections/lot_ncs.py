"""The NC of a material lot rejected at incoming inspection, with the lot on hold: one way for the 4-point
inspections of fabric (:mod:`capa.inspections.fabric`) and the inspections by attributes of trims, labels, thread
and packaging (:mod:`capa.inspections.incoming`).

The rules: only who may contain goods (a quality manager) raises it; only for a rejected lot, once per inspection;
it is filed as incoming material on the line given, else the one line the lot's batches share (400 naming ``line``
when they share none), with the defect type given, else the inspection's own default (400 naming ``defect_type``
when there is none or it is unknown), and the lot held, so the NC is charged to the lot's supplier. Errors:
PermissionDenied naming ``inspection``, Conflict naming ``inspection`` (accepted, or raised already).
"""

from typing import Any, Protocol

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from capa.accounts.models import User
from capa.capas import filing, policy
from capa.capas.commands import FileNC
from capa.capas.history import Journal
from capa.capas.lookup import find_defect_type, invalid
from capa.capas.models import Hold, NonConformance, Severity, Source
from capa.capas.states import Step
from capa.common.commands import parse
from capa.common.errors import Conflict, PermissionDenied
from capa.extensions import db
from capa.inspections.models import InspectionVerdict
from capa.masterdata.models import Batch, MaterialLot, ProductionLine, batch_lots


class LotInspection(Protocol):
    """What the rule reads of an incoming inspection."""

    verdict: str
    lot: MaterialLot
    nc: NonConformance | None
    nc_id: int | None


class RaiseLotNC(Protocol):
    line: str | None
    defect_type: str | None
    title: str | None
    description: str | None


def default_line(lot: MaterialLot) -> str | None:
    """The line an NC on ``lot`` is filed on when none is given: the one line its batches share, if they do."""
    codes = db.session.scalars(
        select(ProductionLine.code)
        .join(Batch, Batch.line_id == ProductionLine.id)
        .join(batch_lots, batch_lots.c.batch_id == Batch.id)
        .where(batch_lots.c.lot_id == lot.id)
        .distinct()
        .limit(2)
    ).all()
    return codes[0] if len(codes) == 1 else None


def raise_lot_nc(
    inspection: LotInspection,
    command: RaiseLotNC,
    actor: User,
    *,
    default_defect_type: str | None,
    title: str,
    description: str,
    quantity: int,
    severity: Severity = Severity.MAJOR,
    style: str | None = None,
    held_note: str,
) -> NonConformance:
    """Raise the NC of the lot ``inspection`` rejected, with the lot on hold (``quantity`` held) (the module's
    rules; the errors it names). ``title`` and ``description`` stand where the command gives none."""
    if not policy.can(actor, Step.CONTAIN):
        message = _l("Only a quality manager may put goods on hold.")
        raise PermissionDenied(str(message), fields={"inspection": str(message)})
    if inspection.verdict != InspectionVerdict.REJECTED.value:
        raise Conflict(str(_l("The lot was accepted: no NC to raise.")), fields={"inspection": str(_l("Accepted."))})
    if inspection.nc is not None:
        raise Conflict(
            str(_l("This inspection already raised %(number)s.", number=inspection.nc.number)),
            fields={"inspection": str(_l("Already raised."))},
        )
    problems: dict[str, str] = {}
    line = command.line or default_line(inspection.lot)
    if line is None:
        problems["line"] = str(_l("The lot's batches are on no single line: choose the line."))
    defect_type = command.defect_type or default_defect_type
    if defect_type is None:
        problems["defect_type"] = str(_l("Choose the defect type of the NC."))
    elif find_defect_type(defect_type) is None:
        problems["defect_type"] = str(_l("No defect type %(code)s.", code=defect_type))
    if problems:
        raise invalid(problems)
    values: dict[str, Any] = {
        "title": command.title or title,
        "description": command.description or description,
        "defect_type": defect_type,
        "source": Source.INCOMING_MATERIAL.value,
        "line": line,
        "severity": severity.value,
    }
    if style is not None:
        values["style"] = style
    lot = inspection.lot

    def hold_lot(nc: NonConformance, journal: Journal) -> None:
        # Locked by the NC's numbering until this unit commits: a second raise racing this one sees this NC.
        db.session.refresh(inspection)
        if inspection.nc_id is not None:
            raise Conflict(str(_l("This inspection already raised its NC.")), fields={"inspection": "raised"})
        inspection.nc = nc
        nc.holds.append(Hold(lot=lot, held_by=actor, quantity=quantity))
        journal.record("hold", new=lot.number, note=held_note)

    return filing.file_nc(parse(FileNC, values), actor, also=hold_lot)
