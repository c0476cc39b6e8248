"""What the inspection services and the sampling plan accept, declared once (see :mod:`capa.common.commands`)."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from capa.capas.commands import ParameterCodes
from capa.common.commands import Boolean, Choice, Code, Command, Day, Integer, Items, Text, refuse
from capa.common.errors import ValidationError
from capa.inspections.models import DefectArea, DefectClass
from capa.inspections.sampling import AQL_SERIES, SMALLEST_LOT, Level, Severity, aql_from


def _aql(value: Any) -> Decimal:
    try:
        return aql_from(value)
    except ValidationError as error:
        raise refuse(error.fields["aql"]) from None


def _optional_aql(value: Any) -> Decimal | None:
    return None if value is None or (isinstance(value, str) and not value.strip()) else _aql(value)


_AQL_SCHEMA = {"type": "number", "enum": [float(text) for text in AQL_SERIES]}
#: An AQL of the standard's series, given as a number or as its text (``2.5``, ``0.010``).
Aql = Annotated[Decimal, BeforeValidator(_aql), WithJsonSchema(_AQL_SCHEMA)]
#: The same, or nothing (null or blank): the default applies.
OptionalAql = Annotated[
    Decimal | None, BeforeValidator(_optional_aql), WithJsonSchema({"anyOf": [_AQL_SCHEMA, {"type": "null"}]})
]


class SamplingPlanQuery(Command):
    """A lot and how it is to be inspected: the query of ``GET /api/v1/sampling-plan``."""

    #: Units in the lot offered for inspection.
    lot_size: Integer(minimum=SMALLEST_LOT)
    #: Acceptance quality limit: percent nonconforming up to 10, nonconformities per hundred units above.
    aql: Aql
    #: Inspection level; II unless given.
    level: Choice(Level, required=False) = None
    #: normal, tightened or reduced; normal unless given.
    severity: Choice(Severity, required=False) = None


DEFECT_CODE = Code(20)


class ActiveFilter(StrEnum):
    TRUE = "true"
    FALSE = "false"


class NewDefectCode(Command):
    """A coded defect of the library."""

    code: DEFECT_CODE
    name: Text(120)
    #: The name in Simplified Chinese, shown on Chinese pages; the English name stands in when empty.
    name_zh: Text(120, required=False) = None
    defect_class: Choice(DefectClass)
    area: Choice(DefectArea)
    #: The defect type an NC raised for this defect is filed under (its code).
    defect_type: Text(40, required=False, lower=True) = None
    #: The safety parameters the defect concerns.
    parameters: ParameterCodes = None
    active: Boolean = True


class DefectCodeChanges(Command):
    """A change of a coded defect: only the fields given change; its code never does."""

    name: Text(120) = None
    name_zh: Text(120, required=False) = None
    defect_class: Choice(DefectClass, required=False) = None
    area: Choice(DefectArea, required=False) = None
    #: An empty text unlinks the defect type.
    defect_type: Text(40, required=False, lower=True) = None
    parameters: ParameterCodes = None
    active: Boolean = None


class DefectCodeFilters(Command):
    """The filters of the defect library's list (query parameters)."""

    defect_class: Choice(DefectClass, required=False) = None
    area: Choice(DefectArea, required=False) = None
    #: Only the codes in use (``true``), only those retired (``false``), or all (not given).
    active: Choice(ActiveFilter, required=False) = None


class DefectsFound(Command):
    """Defects of one code found in an inspection's sample."""

    code: DEFECT_CODE
    count: Integer(minimum=1, maximum=1_000_000)


class NewFinalInspection(Command):
    """A final inspection of a batch by ISO 2859-1 sampling: the lot offered, how it was inspected, and the defects
    found by code (none for a clean sample)."""

    #: The batch's number.
    batch: Code(40)
    #: Units in the lot offered for inspection (the quantity a rejection holds: at most 10,000,000).
    lot_size: Integer(minimum=SMALLEST_LOT, maximum=10_000_000)
    level: Choice(Level, required=False) = None
    severity: Choice(Severity, required=False) = None
    #: The AQL of major defects; 2.5 unless given.
    aql_major: OptionalAql = None
    #: The AQL of minor defects; 4.0 unless given.
    aql_minor: OptionalAql = None
    defects: Items(DefectsFound, max_items=200) = Field(default_factory=list)
    note: Text(2000, required=False) = None
    #: The rejected inspection of the same batch this one inspects again.
    reinspection_of: Integer(required=False, minimum=1) = None
    #: The defect type of the NC a rejection raises, where no code found names one.
    defect_type: Text(40, required=False, lower=True) = None


class InspectionFilters(Command):
    """The filters of the inspection list (query parameters)."""

    #: The batch's number.
    batch: Code(40, required=False) = None


class ResumeInspection(Command):
    """A line's discontinued final inspection resumed: what was corrected."""

    reason: Text(2000)


class StyleAqlsChange(Command):
    """A style's own AQLs for its final inspections, with the reason (a buyer's tech pack, say)."""

    aql_major: Aql
    aql_minor: Aql
    reason: Text(1000)


class FiguresPeriod(Command):
    """A period of plant days (query parameters): the last 28 days up to today unless given."""

    #: The first day (``YYYY-MM-DD``).
    start: Day(required=False) = None
    #: The last day (``YYYY-MM-DD``), included.
    end: Day(required=False) = None
