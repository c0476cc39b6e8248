"""Supplier evaluation: a supplier's scorecard (``/suppliers/<code>/scorecard``) and the quality manager's
decisions on its approval taken on it (``/suppliers/<code>/decisions``)."""

from datetime import date

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.models import Answer, Measured, Record, Ref, Timestamp
from capa.http.guard import request_user
from capa.masterdata import service as masterdata
from capa.masterdata.models import LotKind, SupplierApproval
from capa.suppliers import decisions, settings
from capa.suppliers.commands import ApprovalDecision
from capa.suppliers.scorecard import as_json, scorecard


class FabricFigures(Answer):
    #: The 4-point inspections of its fabric lots in the period, and their outcome.
    inspected: int
    accepted: int
    rejected: int
    #: Points per 100 square yards over the whole area inspected; null when none was.
    points_per_100: Measured | None


class IncomingFigures(Answer):
    #: The incoming inspections by attributes (ISO 2859-1) of its other lots in the period, and their outcome.
    inspected: int
    accepted: int
    rejected: int


class ParameterFigures(Answer):
    parameter: str
    name: str
    #: A safety parameter (chemical, physical or always mandatory) rather than a quality one.
    safety: bool
    results: int
    failed: int


class LabFigures(Answer):
    safety_results: int
    safety_failed: int
    quality_results: int
    quality_failed: int
    #: Per parameter tested on its lots in the period, by code.
    parameters: list[ParameterFigures]


class ScarFigures(Answer):
    #: SCARs of the NCs charged to it raised in the period.
    raised: int
    #: Those due in the period up to yesterday, and of them those done by their due day.
    due: int
    on_time: int
    late: int


class Deductions(Answer):
    incoming: Measured
    lab: Measured
    safety: Measured
    ncs: Measured
    scars: Measured


class PeriodFigures(Answer):
    #: ``2026-Q4`` for a quarter, ``12m`` for the rolling 12 months.
    period: str
    first_day: date
    #: The period's last day, today for the one in progress.
    last_day: date
    #: The quarter in progress, counted to today.
    to_date: bool
    lots_received: int
    fabric: FabricFigures
    incoming: IncomingFigures
    lab: LabFigures
    #: NCs reported in the period charged to the supplier by the weekly summary's rule (cancelled left out).
    ncs: int
    scars: ScarFigures
    #: What each part took off 100; null without a score.
    deductions: Deductions | None
    #: 0–100, to a tenth; null for a period without any record.
    score: Measured | None
    grade: str | None


class GradeSetting(Answer):
    grade: str
    lowest_score: Measured
    suggests: SupplierApproval


class ScorecardSettings(Answer):
    #: The points each part can take off 100 (CAPA_SCORECARD_WEIGHTS).
    weights: dict[str, int]
    #: What each failed safety result takes off, up to the safety weight.
    safety_failure_points: int
    #: Best first (CAPA_SCORECARD_GRADES).
    grades: list[GradeSetting]


class Scorecard(Answer):
    supplier: str
    #: The plant day it was computed for.
    as_of: date
    #: The four quarters before the one in progress, then it; oldest first.
    quarters: list[PeriodFigures]
    rolling_12_months: PeriodFigures
    #: ``improving``, ``worsening`` or ``steady`` between the last two whole quarters (5 points or more); null
    #: when either has no score.
    trend: str | None
    #: The approval the rolling 12 months' grade suggests; a quality manager decides (``…/decisions``).
    suggested_approval: SupplierApproval | None
    settings: ScorecardSettings


class Decision(Record):
    previous_approval: SupplierApproval
    approval: SupplierApproval
    approved_kinds: list[LotKind] = []
    #: The safety parameters' codes the approval covers after the decision; empty: every parameter.
    approved_parameters: list[str] = []
    reevaluate_on: date | None = None
    #: The rolling 12 months' score, grade and suggested approval it was taken on.
    score: Measured | None = None
    grade: str | None = None
    suggested_approval: SupplierApproval | None = None
    reason: str
    decided_by: str | None = Ref("decided_by", "username", default=None)
    decided_at: Timestamp


class Decisions(Answer):
    items: list[Decision]


@bp.get("/suppliers/<code>/scorecard")
@bp.output(Scorecard)
@requires(Permission.VIEW)
def get_scorecard(code: str):
    """A supplier's scorecard: per quarter and over the rolling 12 months, from its records

    Lots received, incoming fabric inspections, lab results on its lots per parameter (safety failures apart),
    NCs charged to it, SCARs and how many were answered on time; the score, grade and trend, and the approval
    the grade suggests. The weights and grades are the settings answered in `settings`.
    """
    return as_json(scorecard(masterdata.get_supplier(code), settings.current()))


@bp.get("/suppliers/<code>/decisions")
@bp.output(Decisions)
@requires(Permission.VIEW)
def list_decisions(code: str):
    """The decisions on a supplier's approval, latest first."""
    return {"items": decisions.decisions_of(masterdata.get_supplier(code))}


@bp.post("/suppliers/<code>/decisions")
@bp.input(ApprovalDecision, arg_name="command")
@bp.output(Decision, status_code=201)
@requires(Permission.MAINTAIN_CATALOG)
def decide(code: str, command: ApprovalDecision):
    """Decide a supplier's approval on its scorecard

    Sets the approval (and `approved_kinds`, `approved_parameters`, `reevaluate_on` when given) and records the
    decision with the rolling 12 months' score, grade and suggestion; it may confirm the approval as it stands.
    `approved_parameters` limits the approval to safety parameters of the catalog that concern a kind of material:
    a lot of the supplier then goes into a CMIA batch without a concession only when its style's plan requires no
    parameter of that lot's material outside them. 400 naming `reason`, `approval`, `approved_kinds`,
    `approved_parameters[i]` (not in the catalog, or of no supplier's material), `reevaluate_on`.
    """
    card = scorecard(masterdata.get_supplier(code), settings.current())
    return decisions.decide(card, command, request_user())
