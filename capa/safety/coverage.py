"""Coverage of a batch by its lab results: per colourway and per dye lot, the worst current result governs.

The rules, for a batch and each parameter its style's plan requires (:func:`capa.safety.service.plan_parameters`):

1. **What counts.** A result counts for the batch's final garment test when it is on the batch, is of a part
   of the finished garment (component whole garment, print or trim) and was judged against the style's current
   category. A result recorded without a component (before lab reports existed) is a garment result when it
   names no lot, or a lot that is not fabric or a dye lot (a trim lot, a label lot…); one naming a fabric or
   dye lot is a lab dip. Fabric and lab-dip results never count for the final test. A result judged against
   another category does not count (it waits to be judged again).
2. **What is current.** A counting result is current until its validity runs out (:mod:`capa.safety.validity`);
   an expired result is neither a pass nor a failure: with nothing current left it makes the row "expired"
   (retest due).
3. **Colourways.** The batch's colourways; when it lists none, the colourways its counting results name; when
   these name none either, one unnamed colourway ``""``. A colourway named by a counting result but not listed
   by the batch is added after the listed ones, so that its results are never hidden. Names are compared
   without regard to case or surrounding spaces. A result naming no colourway counts for every colourway.
4. **Per lot, the latest decides.** Among the current results counting for a colourway, those of each lot
   (results naming no lot are a group of their own) are ordered by test date, then recording time, then id;
   the latest of each group decides that group. So a failure is cleared only by a result of the same lot (or
   the same absence of a lot) tested later, for the same colourway or for every colourway; a later pass on
   another lot or another colourway never clears it.
5. **The worst governs.** A colourway's status for a parameter is ``failed`` when a group's deciding result
   fails, else ``passed`` when one passes, else ``not_applicable`` (the deciding results are N/A); with no
   current result it is ``expired`` when expired results exist, else ``missing``. The governing result is the
   deciding failure (the most recent, when several lots fail), else the most recent deciding pass or N/A,
   else the most recent expired result.
6. A parameter's status is the worst over its colourways, in the order failed, missing, expired, passed,
   not_applicable. The parameters a quality manager marked not applicable for the style are not required:
   they are listed apart, as not applicable.
7. **Releasable for CMIA**: the style requires at least one parameter and no row of any colourway is failed,
   missing or expired (every required parameter passed, or was found not applicable by the lab, for every
   colourway).
8. **Lots of suppliers not approved** are listed with why (:mod:`capa.masterdata.approval`, for the parameters of
   the plan that concern each lot's kind, :func:`capa.safety.materials.required_by_kind`): they take a concession.

Reading is a constant number of queries per call, however many batches, results, lots and colourways.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from capa.common.clock import plant_today
from capa.extensions import db
from capa.masterdata.approval import approval_for
from capa.masterdata.models import DYED_FABRIC, Batch, MaterialLot
from capa.safety.judging import Outcome
from capa.safety.materials import required_by_kind
from capa.safety.models import GARMENT_COMPONENTS, LabResult, SafetyParameter
from capa.safety.validity import is_expired, valid_until

PASSED = "passed"
FAILED = "failed"
MISSING = "missing"
EXPIRED = "expired"
NOT_APPLICABLE = "not_applicable"
#: Worst first: the status of several rows together is the first of theirs in this order.
STATUSES = (FAILED, MISSING, EXPIRED, PASSED, NOT_APPLICABLE)
#: Statuses that keep a batch from being released.
BLOCKING = frozenset({FAILED, MISSING, EXPIRED})
#: Lots whose results, recorded without a component, are lab dips.
LAB_DIP_LOT_KINDS = DYED_FABRIC


def worst(statuses: Iterable[str]) -> str | None:
    found = set(statuses)
    return next((status for status in STATUSES if status in found), None)


@dataclass
class ParameterStatus:
    parameter: SafetyParameter
    #: passed, failed, missing, expired or not_applicable (the worst over the colourways).
    status: str
    #: The result that decides the status (see the module's rules); None when missing.
    latest: LabResult | None = None

    @property
    def governing(self) -> LabResult | None:
        return self.latest


@dataclass
class ColourwayStatus:
    """One parameter for one colourway."""

    parameter: SafetyParameter
    status: str
    governing: LabResult | None
    #: The results counting for this colourway, current and expired, newest first.
    results: list[LabResult] = field(default_factory=list)
    #: The deciding failure of each failing lot, newest first (the first governs).
    failures: list[LabResult] = field(default_factory=list)

    @property
    def valid_until(self) -> date | None:
        """The last day the governing result counts (for an expired row: when the retest fell due)."""
        return valid_until(self.governing) if self.governing is not None else None


@dataclass
class ColourwayCoverage:
    #: The colourway's name; empty for the one unnamed colourway of a batch that names none.
    colourway: str
    parameters: list[ColourwayStatus]

    def rows(self, status: str) -> list[ColourwayStatus]:
        return [row for row in self.parameters if row.status == status]


@dataclass(frozen=True)
class UnapprovedLot:
    """A lot whose supplier is not approved for it, with why (its approval, its scope, its lapsed date)."""

    lot: MaterialLot
    why: str


def unapproved_lots(
    lots: Iterable[MaterialLot], required: Iterable[SafetyParameter], today: date
) -> list[UnapprovedLot]:
    """Each of ``lots`` whose supplier is not approved for it on ``today``, for a style whose plan requires
    ``required`` (rule 8)."""
    by_kind = required_by_kind(required)
    found = []
    for lot in lots:
        check = approval_for(lot.supplier, lot.kind, today, by_kind.get(lot.kind, ()))
        if not check.approved:
            found.append(UnapprovedLot(lot, check.why))
    return found


@dataclass
class BatchCoverage:
    batch: Batch
    #: Each required parameter with its overall status (the worst over the colourways).
    parameters: list[ParameterStatus]
    #: The lots whose supplier is not approved for them (rule 8).
    unapproved: list[UnapprovedLot]
    colourways: list[ColourwayCoverage] = field(default_factory=list)
    #: The applicable parameters the quality manager marked not applicable for the style (not required).
    dropped: list[SafetyParameter] = field(default_factory=list)

    def codes(self, status: str) -> list[str]:
        return [entry.parameter.code for entry in self.parameters if entry.status == status]

    @property
    def unapproved_lots(self) -> list[MaterialLot]:
        return [entry.lot for entry in self.unapproved]

    @property
    def not_applicable_codes(self) -> list[str]:
        """Required parameters found not applicable, then those marked not applicable for the style."""
        return self.codes(NOT_APPLICABLE) + [parameter.code for parameter in self.dropped]

    @property
    def releasable(self) -> bool:
        """Releasable for CMIA: something is required, and no row of any colourway fails, misses or expired."""
        return bool(self.parameters) and not any(
            row.status in BLOCKING for colourway in self.colourways for row in colourway.parameters
        )

    @property
    def complete(self) -> bool:
        """The name this had before colourways: releasable."""
        return self.releasable


def _colourway_key(name: str) -> str:
    return (name or "").strip().casefold()


def counts_for_final_test(result: LabResult) -> bool:
    """A result of a part of the finished garment, not of fabric or a lab dip (rule 1, without the category)."""
    if result.component is not None:
        return result.component in GARMENT_COMPONENTS
    return result.lot is None or result.lot.kind not in LAB_DIP_LOT_KINDS


def colourways_of(batch: Batch, results: Iterable[LabResult]) -> list[str]:
    """The colourways coverage is judged for (rule 3)."""
    names: dict[str, str] = {}
    for name in batch.colourways or []:
        if isinstance(name, str) and name.strip():
            names.setdefault(_colourway_key(name), name.strip())
    extra: dict[str, str] = {}
    for result in results:
        if result.colourway.strip() and _colourway_key(result.colourway) not in names:
            extra.setdefault(_colourway_key(result.colourway), result.colourway.strip())
    names.update(sorted(extra.items()))
    return list(names.values()) or [""]


def _newest_first(results: Iterable[LabResult]) -> list[LabResult]:
    return sorted(results, key=lambda r: (r.tested_at, r.recorded_at, r.id), reverse=True)


def colourway_status(parameter: SafetyParameter, results: list[LabResult], today: date) -> ColourwayStatus:
    """The status of one parameter for one colourway from the results counting for it, newest first (rules
    4 and 5): the latest result of each lot decides that lot, whether it is current or not; a failing current
    one fails the colourway, an expired one makes it due for a retest (an older pass of the same lot does not
    stand in for it), and only current passes of every lot pass it.

    A result recorded as not applicable does not count: the parameter applies to the garment (it is in its
    plan), so an N/A recorded before the style or the catalog changed is no result for it.
    """
    measured = [result for result in results if result.verdict != Outcome.NOT_APPLICABLE]
    deciding: dict[int | None, LabResult] = {}
    for result in measured:
        deciding.setdefault(result.lot_id, result)
    decided = list(deciding.values())
    current = [result for result in decided if not is_expired(result, today)]
    expired = [result for result in decided if is_expired(result, today)]
    failures = [result for result in current if result.verdict == Outcome.FAIL]
    passes = [result for result in current if result.verdict == Outcome.PASS]
    if failures:
        return ColourwayStatus(parameter, FAILED, failures[0], results, failures)
    if expired:
        return ColourwayStatus(parameter, EXPIRED, expired[0], results)
    if passes:
        return ColourwayStatus(parameter, PASSED, passes[0], results)
    return ColourwayStatus(parameter, MISSING, None, results)


def _coverage(
    batch: Batch,
    required: list[SafetyParameter],
    dropped: list[SafetyParameter],
    results: list[LabResult],
    today: date,
) -> BatchCoverage:
    """The coverage of ``batch`` from all its results (any order)."""
    category = batch.style.category
    counting = [r for r in _newest_first(results) if r.category == category and counts_for_final_test(r)]
    by_parameter: dict[int, list[LabResult]] = {}
    for result in counting:
        by_parameter.setdefault(result.parameter_id, []).append(result)
    colourways = []
    for name in colourways_of(batch, counting):
        key = _colourway_key(name)
        rows = []
        for parameter in required:
            mine = [
                r
                for r in by_parameter.get(parameter.id, [])
                if not r.colourway.strip() or _colourway_key(r.colourway) == key
            ]
            rows.append(colourway_status(parameter, mine, today))
        colourways.append(ColourwayCoverage(name, rows))
    parameters = []
    for index, parameter in enumerate(required):
        rows = [colourway.parameters[index] for colourway in colourways]
        status = worst(row.status for row in rows) or MISSING
        governing = next((row.governing for row in rows if row.status == status), None)
        parameters.append(ParameterStatus(parameter, status, governing))
    unapproved = unapproved_lots(batch.lots, required, today)
    return BatchCoverage(batch, parameters, unapproved, colourways, list(dropped))


def _results_of(batch_ids: list[int]) -> dict[int, list[LabResult]]:
    """Every result on the batches, with what coverage and its answers read, in a constant number of queries."""
    found: dict[int, list[LabResult]] = {batch_id: [] for batch_id in batch_ids}
    if not batch_ids:
        return found
    query = (
        select(LabResult)
        .where(LabResult.batch_id.in_(batch_ids))
        .options(
            selectinload(LabResult.parameter),
            selectinload(LabResult.lot),
            selectinload(LabResult.report),
            selectinload(LabResult.recorded_by),
        )
    )
    for result in db.session.scalars(query):
        found[result.batch_id].append(result)
    return found


def _with_lots(batches: list[Batch]) -> None:
    """Load the batches' styles, lots and the lots' suppliers, if not loaded yet, in a constant number of queries."""
    if batches:
        db.session.scalars(
            select(Batch)
            .where(Batch.id.in_([batch.id for batch in batches]))
            .options(selectinload(Batch.style), selectinload(Batch.lots).selectinload(MaterialLot.supplier))
        ).all()


def batch_coverages(
    batches: list[Batch], required: list[SafetyParameter], dropped: list[SafetyParameter]
) -> list[BatchCoverage]:
    """The coverage of each of ``batches``, all of one style, given the parameters of that style's plan
    (:func:`capa.safety.service.plan_parameters`)."""
    _with_lots(batches)
    results = _results_of([batch.id for batch in batches])
    today = plant_today()
    return [_coverage(batch, required, dropped, results[batch.id], today) for batch in batches]
