"""Judging results again when the rule changes: a style's category or attributes, or a limit.

Rules that live here:
- a change of a style field that decides its judgements (:data:`capa.masterdata.service.JUDGING_FIELDS`)
  needs a reason; it is recorded as a StyleChange (who, when, old, new, why) per field, as every other changed
  field of the style is (:func:`capa.masterdata.service.apply_style_changes`);
- a limit is changed only with a reason, recorded as a LimitChange;
- in the same unit of work, every result the change concerns is judged again from the value it keeps (the
  style's results on its batches; for a limit, every result of the parameter); each result whose verdict or
  limit changes keeps the earlier ones in a ResultRejudgement naming the change, so the history says which
  results changed verdict and why;
- a result recorded as not applicable (with a reason) is a statement, not a value, and is left as it is
  (coverage does not count it where the parameter now applies);
- a result the new rule cannot decide (a "not detected" whose reporting limit is above the new limit, a value
  the new comparator cannot read) no longer shows compliance: it is recorded as failing with the judge's reason.

NC retests recorded without a batch are judged against the NC's category and are not re-judged by a style
change (the NC names the category they were judged against).
"""

from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from capa.accounts.models import User
from capa.accounts.permissions import Permission, allowed
from capa.common.errors import PermissionDenied, ValidationError
from capa.common.transaction import unit_of_work
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import StyleChanges
from capa.masterdata.models import Batch, Style, StyleChange
from capa.safety import applicability, service
from capa.safety.commands import ChangeLimit
from capa.safety.judging import Outcome
from capa.safety.models import LabResult, LimitChange, ParameterLimit, ResultRejudgement, SafetyParameter


@dataclass
class Rejudged:
    """What a change did: the records it changed and the results whose verdict or limit changed."""

    rejudgements: list[ResultRejudgement] = field(default_factory=list)

    @property
    def verdicts_changed(self) -> list[ResultRejudgement]:
        return [entry for entry in self.rejudgements if entry.old_verdict != entry.new_verdict]


def _limit_text(comparator: str | None, limit: str | None) -> str:
    return f"{comparator} {limit}" if comparator else ""


def rejudge(result: LabResult, target: Style | str, **cause: Any) -> ResultRejudgement | None:
    """Judge ``result`` again for ``target`` (its style, or a category) inside the caller's unit of work.

    Returns the ResultRejudgement added when the verdict, category or limit changed, else None. ``cause`` holds
    the ResultRejudgement's cause, reason, changed_by and style_change or limit_change.
    """
    if result.verdict == Outcome.NOT_APPLICABLE and result.na_reason:
        return None
    try:
        evaluation = service.evaluate(result.parameter, target, result.value, reporting_limit=result.reporting_limit)
    except ValidationError as refusal:
        return _undecided(result, target, refusal, cause)
    judgement, limit = evaluation.judgement, evaluation.limit
    comparator, limit_text = (limit.comparator, limit.limit) if limit else (None, None)
    before = (result.verdict, result.category, result.comparator, result.limit)
    after = (judgement.outcome.value, evaluation.category, comparator, limit_text)
    if before == after:
        return None
    entry = ResultRejudgement(
        result=result,
        old_verdict=result.verdict,
        new_verdict=judgement.outcome.value,
        old_category=result.category,
        new_category=evaluation.category,
        old_limit=_limit_text(result.comparator, result.limit),
        new_limit=_limit_text(comparator, limit_text),
        **cause,
    )
    result.verdict, result.category, result.comparator, result.limit = after
    result.explanation, result.near_limit = judgement.explanation, judgement.near_limit
    db.session.add(entry)
    return entry


def _undecided(
    result: LabResult, target: Style | str, refusal: ValidationError, cause: dict
) -> ResultRejudgement | None:
    """A result the new rule cannot decide (its reporting limit is above the new limit, or its value cannot be
    read the new limit's way) no longer shows compliance: it is recorded as failing, with the judge's reason, so
    that coverage asks for a new test and an open CAPA linked to it is flagged."""
    style = target if isinstance(target, Style) else None
    category = style.category if style is not None else target
    limit = (
        applicability.limit_for(result.parameter, applicability.GarmentProfile.of(style))
        if style is not None
        else result.parameter.limit_for(category)
    )
    comparator, limit_text = (limit.comparator, limit.limit) if limit else (None, None)
    if (result.verdict, result.category, result.comparator, result.limit) == (
        Outcome.FAIL.value,
        category,
        comparator,
        limit_text,
    ):
        return None
    entry = ResultRejudgement(
        result=result,
        old_verdict=result.verdict,
        new_verdict=Outcome.FAIL.value,
        old_category=result.category,
        new_category=category,
        old_limit=_limit_text(result.comparator, result.limit),
        new_limit=_limit_text(comparator, limit_text),
        **cause,
    )
    result.verdict, result.category, result.comparator, result.limit = (
        Outcome.FAIL.value,
        category,
        comparator,
        limit_text,
    )
    result.explanation = next(iter(refusal.fields.values()), refusal.message)
    result.near_limit = False
    db.session.add(entry)
    return entry


def _results_of(condition: Any) -> list[LabResult]:
    query = (
        select(LabResult)
        .where(condition)
        .options(
            selectinload(LabResult.parameter).selectinload(SafetyParameter.limits),
            selectinload(LabResult.batch).selectinload(Batch.style),
        )
        .order_by(LabResult.id)
    )
    return list(db.session.scalars(query))


def change_style(style: Style, changes: StyleChanges, actor: User) -> Rejudged:
    """Apply ``changes`` to ``style``; when they touch what decides its judgements, record each such field
    with the reason and judge the style's results again, all in one unit of work.

    Raises PermissionDenied when such a field is changed by someone who may not correct limits (an
    administrator), ValidationError naming ``reason`` when such a field changes without one, and ``code`` for a
    changed code.
    """
    found = masterdata.style_changes(style, changes)
    judging = [name for name in masterdata.JUDGING_FIELDS if name in found]
    if judging and not allowed(actor, Permission.MAINTAIN_CATALOG):
        # They decide verdicts as a limit does: whoever may correct a limit decides them, not any editor of a style.
        raise PermissionDenied(
            str(_l("Only a quality manager changes what decides a style's safety judgements.")),
            fields={name: str(_l("Only a quality manager may change this.")) for name in judging},
        )
    if judging and not changes.reason:
        raise ValidationError(
            str(service.PLEASE_CORRECT),
            fields={"reason": str(_l("Say why: the change decides which limits this style's results are judged by."))},
        )
    outcome = Rejudged()
    with unit_of_work() as session:
        # Every changed field is recorded (the name and CMIA requirement too); the judging ones name the cause
        # of the results judged again.
        entries = masterdata.apply_style_changes(style, found, actor, changes.reason)
        judged = [entry for entry in entries if entry.field in judging]
        if judged:
            session.flush()
            batch_ids = select(Batch.id).where(Batch.style_id == style.id)
            for result in _results_of(LabResult.batch_id.in_(batch_ids)):
                entry = rejudge(
                    result,
                    style,
                    cause="style",
                    style_change=judged[0],
                    reason=changes.reason or "",
                    changed_by=actor,
                )
                if entry is not None:
                    outcome.rejudgements.append(entry)
    return outcome


def rejudge_parameter(
    parameter: SafetyParameter, category: str, *, cause: str, reason: str, actor: User | None, **link: Any
) -> list[ResultRejudgement]:
    """Judge every result of ``parameter`` concerned by a change of its limit for ``category`` (A, B, C or
    all) again, inside the caller's unit of work."""
    db.session.flush()
    condition = LabResult.parameter_id == parameter.id
    if category != "all":
        condition = condition & or_(LabResult.category == category, LabResult.batch_id.is_not(None))
    entries = []
    for result in _results_of(condition):
        target = result.batch.style if result.batch is not None else result.category
        if isinstance(target, Style) and category != "all" and target.category != category:
            continue
        entry = rejudge(result, target, cause=cause, reason=reason, changed_by=actor, **link)
        if entry is not None:
            entries.append(entry)
    return entries


def change_limit(parameter: SafetyParameter, category: str, command: ChangeLimit, actor: User) -> ParameterLimit:
    """Set a parameter's limit for ``category`` for a reason (:func:`capa.safety.service.stage_limit_change`)
    and judge every result it concerns again, in one unit of work. Raises ValidationError like the former."""
    with unit_of_work():
        limit, change = service.stage_limit_change(parameter, category, command, actor)
        if change is not None:
            rejudge_parameter(
                parameter, category, cause="limit", reason=command.reason, actor=actor, limit_change=change
            )
    return limit


def rejudgements_of_style(style: Style) -> dict[int, list[ResultRejudgement]]:
    """The results each of the style's changes judged again, by the change's id, in one query."""
    entries = db.session.scalars(
        select(ResultRejudgement)
        .join(StyleChange, StyleChange.id == ResultRejudgement.style_change_id)
        .where(StyleChange.style_id == style.id)
        .options(selectinload(ResultRejudgement.result).selectinload(LabResult.parameter))
        .order_by(ResultRejudgement.id)
    )
    found: dict[int, list[ResultRejudgement]] = {}
    for entry in entries:
        found.setdefault(entry.style_change_id, []).append(entry)
    return found


def rejudged_by(change: LimitChange | StyleChange) -> list[ResultRejudgement]:
    """The results a change judged again."""
    column = ResultRejudgement.limit_change_id if isinstance(change, LimitChange) else ResultRejudgement.style_change_id
    return list(
        db.session.scalars(
            select(ResultRejudgement)
            .where(column == change.id)
            .options(selectinload(ResultRejudgement.result).selectinload(LabResult.parameter))
            .order_by(ResultRejudgement.id)
        )
    )
