"""The catalog, the judging of results against it, and the quality plans of styles that require CMIA.

Rules that live here:
- the limit that applies to a result is the parameter's limit for the style's category, else its limit
  for all categories; with neither the verdict is ``not_applicable``;
- a result is judged once, when recorded, and keeps the category, comparator and limit it was judged
  against; correcting a limit later never changes a verdict already given;
- a limit is changed only with a reason, and every change is kept (who, when, old and new);
- a style's quality plan is derived from its category (the GB parameters with a limit for it), plus the
  parameters a quality manager added, minus those dropped, each adjustment kept with its reason.
"""

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, Protocol

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload

from capa.accounts.models import User
from capa.common.clock import plant_today
from capa.common.errors import Duplicate, NotFound, ValidationError
from capa.common.transaction import unit_of_work
from capa.common.types import identifier
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import AddLots, NewBatch
from capa.masterdata.models import DYED_FABRIC, Batch, LotConcession, LotKind, MaterialLot, Style
from capa.safety import applicability
from capa.safety.applicability import GarmentProfile
from capa.safety.commands import AdjustPlan, ChangeLimit, Evaluate, NewParameter, NewResult
from capa.safety.coverage import BatchCoverage, ParameterStatus, batch_coverages, unapproved_lots
from capa.safety.judging import (
    InvalidLimit,
    Judgement,
    Outcome,
    UnreadableReportingLimit,
    UnreadableValue,
    format_decimal,
    is_not_applicable,
    judge,
    parse_decimal,
    parse_limit,
)
from capa.safety.materials import required_by_kind
from capa.safety.models import (
    LIMIT_CATEGORIES,
    LabResult,
    LimitChange,
    ParameterLimit,
    PlanAdjustment,
    PlanChange,
    SafetyParameter,
)

PLEASE_CORRECT = _l("Please correct the fields marked.")


def _invalid(fields: dict[str, str]) -> ValidationError:
    return ValidationError(str(PLEASE_CORRECT), fields=fields)


# Catalog --------------------------------------------------------------------------------------------------


def list_parameters(
    *, kind: str | None = None, category: str | None = None, standard: str | None = None
) -> list[SafetyParameter]:
    """The catalog, ordered by code; ``category`` keeps parameters with a limit for it (or for all)."""
    query = select(SafetyParameter).options(selectinload(SafetyParameter.limits)).order_by(SafetyParameter.code)
    if kind:
        query = query.where(SafetyParameter.kind == kind)
    if standard:
        query = query.where(SafetyParameter.standard == standard)
    parameters = list(db.session.scalars(query))
    if category:
        parameters = [p for p in parameters if p.limit_for(category) is not None]
    return parameters


def standards() -> list[str]:
    return list(db.session.scalars(select(SafetyParameter.standard).distinct().order_by(SafetyParameter.standard)))


def find_parameter(code: str) -> SafetyParameter | None:
    code = identifier(code, upper=True)
    return None if code is None else db.session.scalar(select(SafetyParameter).where(SafetyParameter.code == code))


def get_parameter(code: str) -> SafetyParameter:
    """The parameter with ``code``; raises NotFound."""
    parameter = find_parameter(code)
    if parameter is None:
        raise NotFound(str(_l("No safety parameter %(code)s.", code=code)), fields={"parameter": "unknown"})
    return parameter


def _checked_limit(comparator: str, text: str, field_name: str) -> str:
    try:
        parse_limit(comparator, text)
    except InvalidLimit as exc:
        raise _invalid({field_name: str(exc)}) from exc
    return text


def stage_limit_change(
    parameter: SafetyParameter, category: str, command: ChangeLimit, actor: User
) -> tuple[ParameterLimit, LimitChange | None]:
    """Set ``comparator`` and ``limit`` of ``parameter`` for ``category`` (A, B, C or all) and the command's
    ``condition`` (empty: the category's plain limit), for a ``reason``, inside the caller's unit of work
    (:func:`capa.safety.rejudging.change_limit` commits it with the results judged again).

    Creates the limit when the parameter had none for that category and condition. Raises ValidationError for
    an unknown category, a limit its comparator cannot read, a condition that cannot be read, or a missing
    reason. Returns the limit and the recorded change (None when nothing changed).
    """
    if category not in LIMIT_CATEGORIES:
        raise _invalid({"category": str(_l("Must be one of: %(choices)s.", choices=", ".join(LIMIT_CATEGORIES)))})
    _checked_limit(command.comparator, command.limit, "limit")
    condition = command.condition or ""
    try:
        applicability.parse_condition(condition)
    except applicability.InvalidCondition as exc:
        raise _invalid({"condition": str(exc)}) from exc
    limit = next((row for row in parameter.limits if (row.category, row.condition) == (category, condition)), None)
    others = {row.category for row in parameter.limits} - {category}
    if limit is None and others and (category == "all" or "all" in others):
        raise _invalid({"category": str(_l("A limit for all categories cannot stand beside limits per category."))})
    if limit is not None and (limit.comparator, limit.limit) == (command.comparator, command.limit):
        return limit, None
    change = LimitChange(
        parameter=parameter,
        category=category,
        condition=condition,
        old_comparator=limit.comparator if limit else None,
        old_limit=limit.limit if limit else None,
        new_comparator=command.comparator,
        new_limit=command.limit,
        reason=command.reason,
        changed_by=actor,
    )
    db.session.add(change)
    if limit is None:
        limit = ParameterLimit(
            category=category, condition=condition, comparator=command.comparator, limit=command.limit
        )
        parameter.limits.append(limit)
    else:
        limit.comparator, limit.limit = command.comparator, command.limit
    return limit, change


def add_parameter(command: NewParameter, actor: User) -> SafetyParameter:
    """Add a parameter to the catalog with its limits, for a ``reason`` (recorded with each limit).

    Raises ValidationError (each bad field named, ``limits[i].limit`` for a limit its comparator cannot read,
    a category given twice, or ``all`` beside a specific category) and Duplicate for a taken code.
    """
    errors: dict[str, str] = {}
    for name, condition in [("applies_when", command.applies_when)] + [
        (f"limits[{index}].condition", limit.condition) for index, limit in enumerate(command.limits)
    ]:
        try:
            applicability.parse_condition(condition or "")
        except applicability.InvalidCondition as exc:
            errors[name] = str(exc)
    if command.reporting_limit is not None:
        try:
            if parse_decimal(command.reporting_limit) <= 0:
                errors["reporting_limit"] = str(_l("A reporting limit is above zero."))
        except UnreadableValue as exc:
            errors["reporting_limit"] = str(exc)
    categories = [(limit.category, limit.condition or "") for limit in command.limits]
    for index, limit in enumerate(command.limits):
        try:
            parse_limit(limit.comparator, limit.limit)
        except InvalidLimit as exc:
            errors[f"limits[{index}].limit"] = str(exc)
        if categories.count((limit.category, limit.condition or "")) > 1:
            errors[f"limits[{index}].category"] = str(_l("Listed twice."))
    if any(category == "all" for category, _ in categories) and len({c for c, _ in categories}) > 1:
        errors["limits"] = str(_l("A limit for all categories cannot stand beside limits per category."))
    if errors:
        raise _invalid(errors)
    if find_parameter(command.code) is not None:
        raise Duplicate(
            str(_l("A parameter %(code)s exists already.", code=command.code)),
            fields={"code": str(_l("Already in use."))},
        )
    with unit_of_work() as session:
        parameter = SafetyParameter(
            code=command.code,
            name=command.name,
            name_zh=command.name_zh or "",
            kind=command.kind,
            unit=command.unit,
            standard=command.standard,
            clause=command.clause or "",
            test_method=command.test_method or "",
            market=command.market,
            applies_when=command.applies_when or "",
            mandatory=command.mandatory,
            reporting_limit=command.reporting_limit,
            from_catalog=False,
        )
        session.add(parameter)
        for limit in command.limits:
            parameter.limits.append(
                ParameterLimit(**limit.model_dump(exclude={"condition"}), condition=limit.condition or "")
            )
            session.add(
                LimitChange(
                    parameter=parameter,
                    category=limit.category,
                    condition=limit.condition or "",
                    new_comparator=limit.comparator,
                    new_limit=limit.limit,
                    reason=command.reason,
                    changed_by=actor,
                )
            )
    return parameter


# Judging --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    parameter: SafetyParameter
    category: str
    #: The limit judged against; None when the parameter has no limit for the category.
    limit: ParameterLimit | None
    judgement: Judgement
    #: The value as the lab wrote it.
    reported: str = ""
    #: Why the parameter does not apply, for a result recorded as N/A.
    na_reason: str = ""


def _reported(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)[:100]
    return str(value).strip()[:100]


def evaluate(
    parameter: SafetyParameter,
    target: Style | str,
    value: Any,
    *,
    reporting_limit: Any = None,
    na_reason: str | None = None,
) -> Evaluation:
    """Judge ``value`` for ``parameter`` on a garment: ``target`` is its style (whose category and attributes
    choose the limit, :mod:`capa.safety.applicability`) or, where no style is known, a bare category.

    ``value`` may be written as labs write it (:mod:`capa.safety.judging`); ``reporting_limit`` is the lab's
    reporting limit given apart from the value. ``N/A`` (or any value with ``na_reason``) records that the
    parameter does not apply: allowed only with a reason, and only where the parameter does not apply to the
    garment (not in its style's plan; for a bare category, no limit for it).

    Raises ValidationError naming ``value`` when it cannot be read or judged for the parameter (also when the
    parameter has no limit for the category: it is read as the parameter's other limits would read it), and
    ``na_reason`` for an N/A without a reason.
    """
    style = target if isinstance(target, Style) else None
    category = style.category if style is not None else target
    limit = applicability.limit_for(parameter, GarmentProfile.of(style)) if style else parameter.limit_for(category)
    reported = _reported(value)
    na_reason = (na_reason or "").strip()
    if na_reason and not is_not_applicable(value):
        # A measured value is a result: a reason beside it would throw the value away.
        raise _invalid({"na_reason": str(_l("A reason goes only with a result written N/A."))})
    if is_not_applicable(value):
        return _not_applicable(parameter, style, category, limit, reported, na_reason)
    reader = limit or (parameter.limits[0] if parameter.limits else None)
    try:
        if reader is None:
            if not isinstance(value, str) or not value.strip():
                raise UnreadableValue(str(_l("Expected a value.")))
            judgement = Judgement(Outcome.NOT_APPLICABLE, value.strip(), "")
        else:
            judgement = judge(
                reader.comparator,
                reader.limit,
                parameter.unit,
                value,
                category=reader.category,
                reporting_limit=reporting_limit,
                default_reporting_limit=parameter.reporting_limit,
            )
    except UnreadableReportingLimit as exc:
        raise _invalid({"reporting_limit": str(exc)}) from exc
    except UnreadableValue as exc:
        raise _invalid({"value": str(exc)}) from exc
    if limit is None:
        judgement = Judgement(
            Outcome.NOT_APPLICABLE,
            judgement.value,
            str(_l("%(code)s has no limit for category %(category)s.", code=parameter.code, category=category)),
            reporting_limit=judgement.reporting_limit,
        )
    return Evaluation(parameter, category, limit, judgement, reported)


def _not_applicable(
    parameter: SafetyParameter,
    style: Style | None,
    category: str,
    limit: ParameterLimit | None,
    reported: str,
    reason: str,
) -> Evaluation:
    if not reason:
        raise _invalid({"na_reason": str(_l("Say why the parameter does not apply to this garment."))})
    if style is not None:
        required, _, _ = plan_parameters(style) if style.cmia_required else ([], None, None)
        applies = any(candidate.id == parameter.id for candidate in required) or (
            not style.cmia_required and applicability.applies(parameter, GarmentProfile.of(style))
        )
    else:
        applies = limit is not None
    if applies:
        raise _invalid(
            {
                "value": str(
                    _l(
                        "%(code)s applies to this garment: record the lab's result, not N/A.",
                        code=parameter.code,
                    )
                )
            }
        )
    judgement = Judgement(Outcome.NOT_APPLICABLE, "N/A", reason)
    return Evaluation(parameter, category, limit, judgement, reported or "N/A", reason)


def evaluate_request(command: Evaluate) -> Evaluation:
    """The command's value judged; raises ValidationError naming an unknown parameter too."""
    return evaluate(
        _named_parameter(command.parameter),
        command.category,
        command.value,
        reporting_limit=command.reporting_limit,
        na_reason=command.na_reason,
    )


def _named_parameter(code: str) -> SafetyParameter:
    """The parameter a command names; an unknown one is the caller's mistake (ValidationError on ``parameter``)."""
    parameter = find_parameter(code)
    if parameter is None:
        raise _invalid({"parameter": str(_l("No safety parameter %(code)s.", code=code))})
    return parameter


# Lab results ----------------------------------------------------------------------------------------------


def record_result(batch: Batch, command: NewResult, actor: User) -> LabResult:
    """Record and judge a lab result for a batch.

    Judged against the batch's style category. The lot, when given, must be one of the batch's lots.
    Raises ValidationError naming each bad field; nothing is stored then.
    """
    parameter = _named_parameter(command.parameter)
    lot = None
    if command.lot:
        lot = next((candidate for candidate in batch.lots if candidate.number == command.lot), None)
        if lot is None:
            raise _invalid(
                {
                    "lot": str(
                        _l(
                            "Lot %(lot)s is not used in batch %(batch)s.",
                            lot=command.lot,
                            batch=batch.number,
                        )
                    )
                }
            )
    evaluation = evaluate(
        parameter, batch.style, command.value, reporting_limit=command.reporting_limit, na_reason=command.na_reason
    )
    with unit_of_work() as session:
        result = result_from(evaluation, batch=batch, lot=lot, report=command, actor=actor)
        session.add(result)
    return result


class LabReport(Protocol):
    """Where a result comes from: a lab's report of a given date (each may be missing on a retest)."""

    lab: str | None
    report_number: str | None
    tested_at: date | None


def result_from(
    evaluation: Evaluation, *, batch: Batch | None, lot: MaterialLot | None, report: LabReport, actor: User
) -> LabResult:
    """The result record of ``evaluation``, with the lab, report number and test date of ``report``."""
    limit = evaluation.limit
    judgement = evaluation.judgement
    return LabResult(
        batch=batch,
        lot=lot,
        parameter=evaluation.parameter,
        value=judgement.value,
        reported=evaluation.reported,
        reporting_limit=None if judgement.reporting_limit is None else format_decimal(judgement.reporting_limit),
        na_reason=evaluation.na_reason,
        verdict=evaluation.judgement.outcome.value,
        category=evaluation.category,
        comparator=limit.comparator if limit else None,
        limit=limit.limit if limit else None,
        unit=evaluation.parameter.unit,
        explanation=evaluation.judgement.explanation,
        near_limit=evaluation.judgement.near_limit,
        lab=report.lab or "",
        report_number=report.report_number or "",
        tested_at=report.tested_at or plant_today(),
        recorded_by=actor,
    )


def newest_first(query):
    """Results in the order that decides which is the latest: test date, then recording time, then id."""
    return query.order_by(LabResult.tested_at.desc(), LabResult.recorded_at.desc(), LabResult.id.desc())


def by_parameter(result: LabResult) -> Hashable:
    return result.parameter_id


def by_batch_and_parameter(result: LabResult) -> Hashable:
    return (result.batch_id, result.parameter_id)


def latest_of(results_newest_first: Iterable[LabResult], key: Callable[[LabResult], Hashable] = by_parameter) -> dict:
    """The latest result per ``key`` (per parameter unless said otherwise) of results read newest first: the one
    rule of "the latest result", for results read by :func:`latest_results` or already at hand."""
    latest: dict = {}
    for result in results_newest_first:
        latest.setdefault(key(result), result)
    return latest


def latest_results(condition: Any, key: Callable[[LabResult], Hashable] = by_parameter) -> dict:
    """The latest result per ``key`` among the results matching ``condition``, in one query: a batch's
    (``LabResult.batch_id.in_(…)``), an NC's retests (``LabResult.nc_id == …``), a style's lab dips."""
    return latest_of(db.session.scalars(newest_first(select(LabResult).where(condition))), key)


def results_for_batch(batch: Batch) -> list[LabResult]:
    query = (
        select(LabResult)
        .where(LabResult.batch_id == batch.id)
        .options(
            selectinload(LabResult.parameter),
            selectinload(LabResult.lot),
            selectinload(LabResult.recorded_by),
        )
    )
    return list(db.session.scalars(newest_first(query)))


# Quality plans --------------------------------------------------------------------------------------------


@dataclass
class UnapprovedSupplier:
    """A supplier of a style's trim lots not approved for them: the lots, why, and the concessions recorded for
    them in the style's batches (a concession lets a lot in; it does not approve its supplier)."""

    supplier: Any
    lots: list[MaterialLot]
    why: str
    concessions: list[LotConcession] = field(default_factory=list)


@dataclass
class QualityPlan:
    style: Style
    parameters: list[SafetyParameter]
    added: set[str] = field(default_factory=set)
    dropped: list[SafetyParameter] = field(default_factory=list)
    #: Lab-dip parameters (chemical and colorfastness) with their status from results on fabric or dye lots.
    lab_dip: list[ParameterStatus] = field(default_factory=list)
    #: Suppliers of the style's trim lots that are not approved for them, with the lots concerned and why.
    trim_suppliers_unapproved: list["UnapprovedSupplier"] = field(default_factory=list)
    trim_lot_count: int = 0
    batches: list[BatchCoverage] = field(default_factory=list)
    changes: list[PlanChange] = field(default_factory=list)
    #: Parameters of the style's markets that its attributes rule out, shown with when they would apply.
    not_applicable: list[SafetyParameter] = field(default_factory=list)

    @cached_property
    def profile(self) -> GarmentProfile:
        return GarmentProfile.of(self.style)

    def limit_of(self, parameter: SafetyParameter) -> ParameterLimit | None:
        """The limit of ``parameter`` that applies to this style (its category, attributes and conditions)."""
        return applicability.limit_for(parameter, self.profile)

    @property
    def lab_dip_met(self) -> bool:
        return bool(self.lab_dip) and all(entry.status == "passed" for entry in self.lab_dip)

    @property
    def trim_suppliers_met(self) -> bool:
        return self.trim_lot_count > 0 and not self.trim_suppliers_unapproved


def lot_requirements(style: Style) -> dict[str, tuple[str, ...]]:
    """What a CMIA style's lots are to meet, by lot kind: the codes of its plan's parameters concerning each
    (:func:`capa.safety.materials.required_by_kind`); what a supplier's approval by parameter is checked on."""
    required, _added, _dropped = plan_parameters(style)
    return required_by_kind(required)


def create_batch(command: NewBatch, actor: User | None = None) -> Batch:
    """:func:`capa.masterdata.service.create_batch`, its lots' suppliers checked for the parameters of the
    style's plan (:mod:`capa.masterdata.approval`): the one way pages and API record a batch."""
    return masterdata.create_batch(command, actor, requirements=lot_requirements)


def add_lots(batch: Batch, command: AddLots, actor: User | None = None) -> Batch:
    """:func:`capa.masterdata.service.add_lots`, checked as :func:`create_batch`."""
    return masterdata.add_lots(batch, command, actor, requirements=lot_requirements)


def plan_parameters(style: Style) -> tuple[list[SafetyParameter], set[str], list[SafetyParameter]]:
    """The parameters a style's plan requires, the codes added by hand, and the applicable ones a quality
    manager marked not applicable (with the reason kept in the plan's history).

    Derived: every parameter that applies to the style (:mod:`capa.safety.applicability`: its markets,
    category and attributes). A mandatory parameter stays required even where an older adjustment dropped it.
    """
    if not style.cmia_required:
        return [], set(), []
    return _plan_of(style, list_parameters(), _adjustments_of([style]).get(style.id, {}))


def required_of_styles(styles: Iterable[Style]) -> dict[int, list[SafetyParameter]]:
    """The parameters each of ``styles`` requires (:func:`plan_parameters`), by style id, reading the catalog and
    the plans' adjustments once for them all (two statements, however many styles)."""
    wanted = {style.id: style for style in styles if style.cmia_required}
    if not wanted:
        return {style.id: [] for style in styles}
    catalog, adjustments = list_parameters(), _adjustments_of(wanted.values())
    found = {style.id: [] for style in styles}
    for style_id, style in wanted.items():
        found[style_id] = _plan_of(style, catalog, adjustments.get(style_id, {}))[0]
    return found


def _adjustments_of(styles: Iterable[Style]) -> dict[int, dict[str, PlanAdjustment]]:
    """The plan adjustments of ``styles``, by style id and parameter code (one statement)."""
    query = (
        select(PlanAdjustment)
        .where(PlanAdjustment.style_id.in_([style.id for style in styles]))
        .options(selectinload(PlanAdjustment.parameter).selectinload(SafetyParameter.limits))
    )
    found: dict[int, dict[str, PlanAdjustment]] = {}
    for adjustment in db.session.scalars(query):
        found.setdefault(adjustment.style_id, {})[adjustment.parameter.code] = adjustment
    return found


def _plan_of(
    style: Style, catalog: list[SafetyParameter], adjustments: dict[str, PlanAdjustment]
) -> tuple[list[SafetyParameter], set[str], list[SafetyParameter]]:
    """:func:`plan_parameters` of a CMIA style from the catalog and the style's adjustments, by code."""
    profile = GarmentProfile.of(style)
    derived = [p for p in catalog if applicability.applies(p, profile)]

    def dropped_by_hand(parameter: SafetyParameter) -> bool:
        adjustment = adjustments.get(parameter.code)
        return adjustment is not None and not adjustment.included and not parameter.mandatory

    required = [p for p in derived if not dropped_by_hand(p)]
    dropped = [p for p in derived if dropped_by_hand(p)]
    derived_codes = {p.code for p in derived}
    added = [
        a.parameter
        for a in adjustments.values()
        if a.included
        and a.parameter.code not in derived_codes
        and not a.parameter.retired
        and applicability.limit_for(a.parameter, profile) is not None
    ]
    required = sorted(required + added, key=lambda p: p.code)
    return required, {p.code for p in added}, dropped


def not_applicable_by_attributes(style: Style) -> list[SafetyParameter]:
    """The parameters of the style's markets with a limit for its category that its attributes rule out
    (no prints, no cords of that kind, another age group…): shown on the plan with when they would apply."""
    profile = GarmentProfile.of(style)
    return [
        parameter
        for parameter in list_parameters()
        if not parameter.retired
        and parameter.market in profile.markets
        and applicability.limit_for(parameter, profile) is not None
        and not applicability.holds(parameter.applies_when, profile)
    ]


def coverage_for(batch: Batch) -> BatchCoverage:
    """For a batch: each parameter its style's plan requires, per colourway and overall, by the rules of
    :mod:`capa.safety.coverage`, and the lots that come from suppliers that are not approved."""
    required, _added, dropped = plan_parameters(batch.style)
    return batch_coverages([batch], required, dropped)[0]


def plan_for(style: Style) -> QualityPlan:
    """The quality plan of a style: required parameters and the three checkpoints (lab dip, trim suppliers,
    final batch test per batch)."""
    required, added, dropped = plan_parameters(style)
    plan = QualityPlan(style, required, added, dropped)
    if not style.cmia_required:
        return plan
    plan.not_applicable = not_applicable_by_attributes(style)
    batches = masterdata.list_batches(style=style)
    plan.batches = batch_coverages(batches, required, dropped)

    lab_dip_lots = {lot.id for batch in batches for lot in batch.lots if lot.kind in DYED_FABRIC}
    # Only results judged against this style's category count: a shared fabric lot may have passed a
    # category B limit that fails category A.
    lot_results = (
        latest_results(and_(LabResult.lot_id.in_(lab_dip_lots), LabResult.category == style.category))
        if lab_dip_lots
        else {}
    )
    for parameter in required:
        if parameter.kind in ("chemical", "colorfastness"):
            result = lot_results.get(parameter.id)
            status = "missing" if result is None else ("passed" if result.verdict == Outcome.PASS else "failed")
            plan.lab_dip.append(ParameterStatus(parameter, status, result))

    trim_lots = {lot.id: lot for batch in batches for lot in batch.lots if lot.kind == LotKind.TRIM}
    plan.trim_lot_count = len(trim_lots)
    concessions = [concession for batch in batches for concession in batch.concessions]
    by_supplier: dict[int, UnapprovedSupplier] = {}
    trim_sorted = sorted(trim_lots.values(), key=lambda lot: lot.number)
    for entry in unapproved_lots(trim_sorted, required, plant_today()):
        lot = entry.lot
        found = by_supplier.setdefault(lot.supplier_id, UnapprovedSupplier(lot.supplier, [], entry.why))
        found.lots.append(lot)
        found.concessions.extend(concession for concession in concessions if concession.lot_id == lot.id)
    plan.trim_suppliers_unapproved = list(by_supplier.values())
    plan.changes = list(
        db.session.scalars(
            select(PlanChange)
            .where(PlanChange.style_id == style.id)
            .order_by(PlanChange.changed_at.desc(), PlanChange.id.desc())
        )
    )
    return plan


def adjust_plan(style: Style, command: AdjustPlan, actor: User) -> PlanChange:
    """Add (``included`` true) or drop a ``parameter`` from a style's plan, for a ``reason``; recorded.

    Raises ValidationError for an unknown parameter, a missing reason, or a style that does not require CMIA.
    """
    if not style.cmia_required:
        raise _invalid({"parameter": str(_l("Style %(code)s does not require CMIA; it has no plan.", code=style.code))})
    parameter = _named_parameter(command.parameter)
    if not command.included and parameter.mandatory:
        raise _invalid(
            {
                "parameter": str(
                    _l(
                        "%(code)s always applies where it has a limit: it cannot be marked not applicable.",
                        code=parameter.code,
                    )
                )
            }
        )
    if command.included and parameter.retired:
        raise _invalid(
            {
                "parameter": str(
                    _l("%(code)s was retired from the catalog; it is no longer planned.", code=parameter.code)
                )
            }
        )
    if command.included and applicability.limit_for(parameter, GarmentProfile.of(style)) is None:
        # Its results would all be not_applicable: the batch could never show it as passed.
        raise _invalid(
            {
                "parameter": str(
                    _l("%(code)s has no limit for category %(category)s.", code=parameter.code, category=style.category)
                )
            }
        )
    with unit_of_work() as session:
        adjustment = session.scalar(
            select(PlanAdjustment).where(
                PlanAdjustment.style_id == style.id, PlanAdjustment.parameter_id == parameter.id
            )
        )
        if adjustment is None:
            session.add(PlanAdjustment(style=style, parameter=parameter, included=command.included))
        else:
            adjustment.included = command.included
        change = PlanChange(
            style_id=style.id,
            parameter=parameter,
            included=command.included,
            reason=command.reason,
            changed_by=actor,
        )
        session.add(change)
    return change
