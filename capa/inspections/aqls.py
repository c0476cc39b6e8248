"""The AQLs a final inspection is read with: the defaults (major 2.5, minor 4.0) or a style's own.

The rules:
- a style without AQLs of its own takes the defaults;
- a quality manager sets a style's own AQLs (both classes, each one of the standard's series) with a reason;
  the change and its reason are kept in the style's AQL history (``records`` type ``style_aqls``), and the
  inspections recorded before keep the AQLs they were read with.
"""

from dataclasses import dataclass

from sqlalchemy import select

from capa.accounts.models import User
from capa.audit import records
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.inspections.commands import StyleAqlsChange
from capa.inspections.models import DefectClass, StyleAqls
from capa.inspections.sampling import AQL_SERIES, aql_values
from capa.masterdata.models import Style

DEFAULT_AQLS = {DefectClass.MAJOR: "2.5", DefectClass.MINOR: "4.0"}


@dataclass(frozen=True)
class AqlSettings:
    """The AQL of each class, as the standard writes it, and whether they are the style's own."""

    major: str
    minor: str
    own: bool


def aqls_for(style: Style) -> AqlSettings:
    """The AQLs ``style``'s final inspections are read with."""
    own = db.session.scalar(select(StyleAqls).where(StyleAqls.style_id == style.id))
    if own is None:
        return AqlSettings(DEFAULT_AQLS[DefectClass.MAJOR], DEFAULT_AQLS[DefectClass.MINOR], own=False)
    return AqlSettings(own.aql_major, own.aql_minor, own=True)


def written(aql) -> str:
    """An AQL of the series as the standard writes it (``2.5``, ``0.010``, ``10``)."""
    return AQL_SERIES[aql_values().index(aql)]


def set_style_aqls(style: Style, command: StyleAqlsChange, actor: User) -> AqlSettings:
    """Give ``style`` its own AQLs (the module's rules); each changed class is kept in its AQL history with the
    reason."""
    before = aqls_for(style)
    major, minor = written(command.aql_major), written(command.aql_minor)
    with unit_of_work() as session:
        own = session.scalar(select(StyleAqls).where(StyleAqls.style_id == style.id))
        if own is None:
            own = StyleAqls(style=style)
            session.add(own)
        own.aql_major, own.aql_minor = major, minor
        records.note_changes(
            "style_aqls",
            style,
            actor,
            {"aql_major": (before.major, major), "aql_minor": (before.minor, minor)},
            reason=command.reason,
        )
    return AqlSettings(major, minor, own=True)
