"""What the inspection services and the sampling plan accept, declared once (see :mod:`capa.common.commands`)."""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from capa.common.commands import Choice, Command, Integer, refuse
from capa.common.errors import ValidationError
from capa.inspections.sampling import AQL_SERIES, SMALLEST_LOT, Level, Severity, aql_from


def _aql(value: Any) -> Decimal:
    try:
        return aql_from(value)
    except ValidationError as error:
        raise refuse(error.fields["aql"]) from None


#: An AQL of the standard's series, given as a number or as its text (``2.5``, ``0.010``).
Aql = Annotated[
    Decimal,
    BeforeValidator(_aql),
    WithJsonSchema({"type": "number", "enum": [float(text) for text in AQL_SERIES]}),
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
