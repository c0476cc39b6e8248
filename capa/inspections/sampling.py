"""Sampling plans for inspection by attributes, ISO 2859-1 (GB/T 2828.1): single sampling under normal, tightened
or reduced inspection. Plain Python, read from the standard's tables in :mod:`capa.inspections.iso2859_1`.

The rules:
- a lot of N units (N at least 2) gets its sample size code letter from Table 1, by its size and the inspection
  level: general I, II (the usual one) or III, or special S-1 to S-4 where small samples are needed;
- the letter and the AQL pick a cell of the master table of the inspection's severity (2-A normal, 2-B
  tightened, 2-C reduced). Where the cell is an arrow, the first plan below it (↓) or above it (↑) in the same
  column is used, with that plan's own sample size: the sample taken may be larger or smaller than the letter's;
- the lot is accepted when the nonconforming items (or nonconformities) found in the sample are at most the
  acceptance number Ac, and not accepted from the rejection number Re up;
- where the plan's sample size equals or exceeds the lot size, every unit is inspected, with the same Ac and Re.

Every function raises :class:`~capa.common.errors.ValidationError` naming the field (``lot_size``, ``level``,
``aql``, ``severity``) for a value the standard has no plan for.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache

from flask_babel import lazy_gettext as _l

from capa.common.commands import PLEASE_CORRECT
from capa.common.errors import ValidationError
from capa.inspections import iso2859_1

#: The smallest lot Table 1 has a row for.
SMALLEST_LOT = 2


class Level(StrEnum):
    """Inspection levels (ISO 2859-1, 10.1): the general ones, and the special ones for small samples."""

    S_1 = "S-1"
    S_2 = "S-2"
    S_3 = "S-3"
    S_4 = "S-4"
    I = "I"  # noqa: E741 - the standard's name of the level
    II = "II"
    III = "III"


class Severity(StrEnum):
    """Which master table applies: the switching rules move a supplier's lots between them."""

    NORMAL = "normal"
    TIGHTENED = "tightened"
    REDUCED = "reduced"


#: The table of each severity, with the name it has in the standard.
TABLES = {
    Severity.NORMAL: ("2-A", iso2859_1.TABLE_2A),
    Severity.TIGHTENED: ("2-B", iso2859_1.TABLE_2B),
    Severity.REDUCED: ("2-C", iso2859_1.TABLE_2C),
}
SOURCE = "ISO 2859-1:1999 / GB/T 2828.1-2012"
#: The AQLs as the standard writes them (0.010 … 1000), the master tables' column heads.
AQL_SERIES = tuple(iso2859_1.TABLE_2A.strip().splitlines()[0].split())


@dataclass(frozen=True)
class Plan:
    """One single sampling plan of a master table: the row's code letter and sample size, Ac and Re."""

    letter: str
    sample_size: int
    accept: int
    reject: int


@dataclass(frozen=True)
class SamplingPlan:
    """The plan for a lot: what was asked, the code letter Table 1 gives, and the plan the master table leads to."""

    lot_size: int
    level: Level
    aql: Decimal
    severity: Severity
    #: Table 1's letter for the lot size and level.
    code_letter: str
    #: The plan used, after any arrow.
    plan: Plan
    #: "down" or "up" when the letter's cell was an arrow, else None.
    arrow: str | None

    @property
    def sample_size(self) -> int:
        return self.plan.sample_size

    @property
    def accept(self) -> int:
        return self.plan.accept

    @property
    def reject(self) -> int:
        return self.plan.reject

    @property
    def full_inspection(self) -> bool:
        """The plan's sample is the whole lot or more: every unit is inspected."""
        return self.plan.sample_size >= self.lot_size

    @property
    def units_to_inspect(self) -> int:
        return min(self.plan.sample_size, self.lot_size)

    @property
    def table(self) -> str:
        return f"{SOURCE} Table {TABLES[self.severity][0]}"

    def accepts(self, found: int) -> bool:
        """Whether ``found`` nonconforming items (or nonconformities) in the sample accept the lot."""
        return found <= self.plan.accept


# Reading the tables ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LotRow:
    smallest: int
    largest: int | None
    letters: dict[Level, str]


@cache
def _table_1() -> tuple[_LotRow, ...]:
    rows = []
    for line in iso2859_1.TABLE_1.strip().splitlines():
        words = line.split()
        smallest = int(words[0])
        largest = None if words[1:3] == ["and", "over"] else int(words[2])
        letters = dict(zip((Level(name) for name in iso2859_1.LEVELS), words[3:], strict=True))
        rows.append(_LotRow(smallest, largest, letters))
    return tuple(rows)


@cache
def aql_values() -> tuple[Decimal, ...]:
    """The standard's series of AQLs, in the order of the master tables' columns (0.010 … 1000)."""
    return tuple(Decimal(text) for text in AQL_SERIES)


def written(aql) -> str:
    """An AQL of the series as the standard writes it (``2.5``, ``0.010``, ``10``)."""
    return AQL_SERIES[aql_values().index(aql)]


@cache
def _master(severity: Severity) -> tuple[tuple[str, int, tuple[str, ...]], ...]:
    """The rows of a master table: (code letter, sample size, the cells as printed, one per AQL)."""
    lines = TABLES[severity][1].strip().splitlines()[1:]
    rows = []
    for line in lines:
        letter, size, *cells = line.split()
        if len(cells) != len(aql_values()):
            raise ValueError(f"Table {TABLES[severity][0]}, row {letter}: {len(cells)} cells")
        rows.append((letter, int(size), tuple(cells)))
    return tuple(rows)


def letters(severity: Severity = Severity.NORMAL) -> tuple[str, ...]:
    """The code letters of a master table's rows, top to bottom (Table 2-B has S below R)."""
    return tuple(letter for letter, _, _ in _master(severity))


# The rules --------------------------------------------------------------------------------------------------------


def _refused(field: str, message) -> ValidationError:
    return ValidationError(str(PLEASE_CORRECT), fields={field: str(message)})


def aql_from(value: object) -> Decimal:
    """``value`` (``2.5``, ``"2.5"``, ``"2.50"``, ``"0.010"``) as one of the standard's AQLs; raises
    ValidationError naming ``aql`` for anything else (an AQL off the series has no plan)."""
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, bool) and value is not None else None
    except InvalidOperation:
        number = None
    for aql in aql_values():
        if number is not None and number.is_finite() and number == aql:
            return aql
    raise _refused("aql", AQL_MESSAGE)


AQL_MESSAGE = _l("Must be one of the AQLs of ISO 2859-1: %(values)s.", values=", ".join(AQL_SERIES))


def code_letter(lot_size: int, level: Level = Level.II) -> str:
    """Table 1: the sample size code letter of a lot of ``lot_size`` units at ``level``. Raises ValidationError
    naming ``lot_size`` for fewer than 2 units (Table 1 starts at 2)."""
    if lot_size < SMALLEST_LOT:
        raise _refused("lot_size", _l("A lot has at least %(smallest)d units.", smallest=SMALLEST_LOT))
    for row in _table_1():
        if row.largest is None or lot_size <= row.largest:
            return row.letters[Level(level)]
    raise AssertionError("Table 1's last row has no upper bound")


def master_plan(letter: str, aql: Decimal, severity: Severity = Severity.NORMAL) -> tuple[Plan, str | None]:
    """The plan of the master table of ``severity`` for the code letter ``letter`` and ``aql``, following the
    cell's arrow to the first plan below or above it in the same column; and the arrow followed ("down", "up")
    or None. Raises ValidationError naming ``aql`` for an AQL off the series."""
    aql = aql_from(aql)
    column = aql_values().index(aql)
    rows = _master(Severity(severity))
    position = next(index for index, (row_letter, _, _) in enumerate(rows) if row_letter == letter)
    cell = rows[position][2][column]
    arrow = {"v": "down", "^": "up"}.get(cell)
    step = {"down": 1, "up": -1}.get(arrow or "", 0)
    while cell in ("v", "^", "-"):
        # The standard's arrows in one column all point to the same plan; a blank cell passed on the way (row S
        # of Table 2-B) is passed over, as the arrow is drawn across it.
        position += step
        if step == 0 or not 0 <= position < len(rows):
            raise AssertionError(f"Table {TABLES[severity][0]}: the arrow at {letter}/{aql} leads to no plan")
        cell = rows[position][2][column]
        if cell in ("v", "^") and {"v": 1, "^": -1}[cell] != step:
            raise AssertionError(f"Table {TABLES[severity][0]}: arrows at {letter}/{aql} point both ways")
    accept, reject = (int(number) for number in cell.split("/"))
    row_letter, size, _ = rows[position]
    return Plan(row_letter, size, accept, reject), arrow


def accept_number_one_step_tighter(plan: SamplingPlan) -> int | None:
    """Ac of the normal plan of the same sample size at the AQL one step tighter than ``plan``'s (the cell to the
    left of its plan in Table 2-A), as the switching score reads it for a plan of Ac 2 or more (ISO 2859-1,
    9.3.3.2); None where that cell is no plan of the same row (the plan then has Ac 0 or 1) or there is no
    tighter AQL."""
    return tighter_accept_number(plan.sample_size, plan.aql)


def tighter_accept_number(sample_size: int, aql: object) -> int | None:
    """Ac of the plan of ``sample_size`` one AQL step tighter than ``aql`` in Table 2-A (see
    :func:`accept_number_one_step_tighter`)."""
    column = aql_values().index(aql_from(aql))
    row = next((cells for _, size, cells in _master(Severity.NORMAL) if size == sample_size), None)
    if column == 0 or row is None:
        return None
    cell = row[column - 1]
    return int(cell.split("/")[0]) if "/" in cell else None


def sampling_plan(
    lot_size: int, aql: object, *, level: Level | str = Level.II, severity: Severity | str = Severity.NORMAL
) -> SamplingPlan:
    """The single sampling plan for a lot of ``lot_size`` units at ``aql``, inspection level ``level`` and
    ``severity`` (see the module for the rules). Raises ValidationError naming each field the standard has no
    plan for."""
    problems: dict[str, str] = {}
    try:
        level = Level(level)
    except ValueError:
        problems["level"] = str(_l("Must be one of: %(choices)s.", choices=", ".join(Level)))
    try:
        severity = Severity(severity)
    except ValueError:
        problems["severity"] = str(_l("Must be one of: %(choices)s.", choices=", ".join(Severity)))
    try:
        aql = aql_from(aql)
    except ValidationError as error:
        problems.update(error.fields)
    if lot_size < SMALLEST_LOT:
        problems["lot_size"] = str(_l("A lot has at least %(smallest)d units.", smallest=SMALLEST_LOT))
    if problems:
        raise ValidationError(str(PLEASE_CORRECT), fields=problems)
    letter = code_letter(lot_size, level)
    plan, arrow = master_plan(letter, aql, severity)
    return SamplingPlan(lot_size, level, aql, severity, letter, plan, arrow)
