"""The AQLs a final inspection is read with: a style's own, else its buyer's, else the defaults (major 2.5,
minor 4.0).

The rules:
- a style with AQLs of its own is read with them; a style without, whose buyer has AQLs, with its buyer's; any
  other with the defaults;
- a quality manager sets a style's or a buyer's AQLs (both classes, each one of the standard's series) with a
  reason, or takes a style's own away (it then reads its buyer's or the defaults) with a reason; each change and
  its reason are kept in the AQL history of the style or buyer (``records`` types ``style_aqls`` and
  ``buyer_aqls``), and the inspections recorded before keep the AQLs they were read with.
"""

from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from capa.accounts.models import User
from capa.audit import records
from capa.common.errors import Conflict, ValidationError
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.inspections.commands import StyleAqlsChange
from capa.inspections.models import BuyerAqls, DefectClass, StyleAqls
from capa.inspections.sampling import written
from capa.masterdata.models import Buyer, Style

DEFAULT_AQLS = {DefectClass.MAJOR: "2.5", DefectClass.MINOR: "4.0"}


class AqlSource(StrEnum):
    """Where the AQLs a style is read with come from."""

    STYLE = "style"
    BUYER = "buyer"
    DEFAULT = "default"


@dataclass(frozen=True)
class AqlSettings:
    """The AQL of each class, as the standard writes it, and where they come from."""

    major: str
    minor: str
    source: AqlSource = AqlSource.DEFAULT


DEFAULTS = AqlSettings(DEFAULT_AQLS[DefectClass.MAJOR], DEFAULT_AQLS[DefectClass.MINOR])


def buyer_aqls(buyer: Buyer) -> AqlSettings:
    """The AQLs of ``buyer``'s styles that have none of their own: the buyer's, or the defaults."""
    own = db.session.get(BuyerAqls, buyer.id)
    return DEFAULTS if own is None else AqlSettings(own.aql_major, own.aql_minor, AqlSource.BUYER)


def aqls_for(style: Style) -> AqlSettings:
    """The AQLs ``style``'s final inspections are read with (the module's order)."""
    own = db.session.get(StyleAqls, style.id)
    if own is not None:
        return AqlSettings(own.aql_major, own.aql_minor, AqlSource.STYLE)
    return buyer_aqls(style.buyer) if style.buyer_id is not None else DEFAULTS


def _set(model, key: str, record, before: AqlSettings, command: StyleAqlsChange, actor: User, history: str):
    major, minor = written(command.aql_major), written(command.aql_minor)
    with unit_of_work() as session:
        own = session.get(model, record.id)
        if own is None:
            own = model(**{key: record.id})
            session.add(own)
        own.aql_major, own.aql_minor = major, minor
        records.note_changes(
            history,
            record,
            actor,
            {"aql_major": (before.major, major), "aql_minor": (before.minor, minor)},
            reason=command.reason,
        )
    return major, minor


def set_style_aqls(style: Style, command: StyleAqlsChange, actor: User) -> AqlSettings:
    """Give ``style`` its own AQLs (the module's rules); each changed class is kept in its AQL history with the
    reason, against the AQLs it was read with before (its buyer's or the defaults, the first time)."""
    major, minor = _set(StyleAqls, "style_id", style, aqls_for(style), command, actor, "style_aqls")
    return AqlSettings(major, minor, AqlSource.STYLE)


def drop_style_aqls(style: Style, reason: str, actor: User) -> AqlSettings:
    """Take ``style``'s own AQLs away, so that it reads its buyer's or the defaults (the module's rules); each
    class that changes is kept in its AQL history with the reason. Raises ValidationError naming ``reason`` when
    none is given, Conflict naming ``style`` when the style has no AQLs of its own."""
    if not reason.strip():
        raise ValidationError(
            str(_l("Please correct the fields marked.")), fields={"reason": str(_l("Say why the AQLs change."))}
        )
    own = db.session.get(StyleAqls, style.id)
    if own is None:
        raise Conflict(
            str(_l("Style %(code)s has no AQLs of its own.", code=style.code)),
            fields={"style": str(_l("No AQLs of its own."))},
        )
    after = buyer_aqls(style.buyer) if style.buyer_id is not None else DEFAULTS
    with unit_of_work() as session:
        session.delete(own)
        records.note_changes(
            "style_aqls",
            style,
            actor,
            {
                # Recorded even when the classes read the same after: the style follows its buyer from now on.
                "source": (AqlSource.STYLE.value, after.source.value),
                "aql_major": (own.aql_major, after.major),
                "aql_minor": (own.aql_minor, after.minor),
            },
            reason=reason.strip(),
        )
    return after


def set_buyer_aqls(buyer: Buyer, command: StyleAqlsChange, actor: User) -> AqlSettings:
    """Give ``buyer`` its AQLs (the module's rules); each changed class is kept in its AQL history with the
    reason."""
    major, minor = _set(BuyerAqls, "buyer_id", buyer, buyer_aqls(buyer), command, actor, "buyer_aqls")
    return AqlSettings(major, minor, AqlSource.BUYER)
