"""The history of a style and of a safety parameter, as one list each, newest first.

A style's history is its StyleChange entries (its creation, every changed field with the reason, and for a
change of what decides its judgements the results it judged again) and its quality plan's PlanChange entries
(a parameter added or dropped, why). A parameter's history is its LimitChange entries (a limit set or
corrected, from what to what, why) and its ParameterChange entries (when it applies, whether it is mandatory,
its reporting limit, its retirement). Entries without a person were made by a newer shipped catalog.
"""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from capa.audit import chain
from capa.audit.records import Entry, newest_first
from capa.extensions import db
from capa.masterdata.models import Style, StyleChange
from capa.safety import rejudging
from capa.safety.models import LimitChange, ParameterChange, PlanChange, SafetyParameter


def style_history(style: Style) -> list[Entry]:
    """Every change of ``style`` and of its quality plan, newest first; each style change carries the
    ResultRejudgements it caused in ``details``. A few queries, whatever the length."""
    changes = db.session.scalars(
        select(StyleChange).where(StyleChange.style_id == style.id).options(selectinload(StyleChange.changed_by))
    )
    rejudged = rejudging.rejudgements_of_style(style)
    plan = db.session.scalars(
        select(PlanChange)
        .where(PlanChange.style_id == style.id)
        .options(selectinload(PlanChange.changed_by), selectinload(PlanChange.parameter))
    )
    return newest_first(
        (
            Entry(
                at=change.changed_at,
                actor=change.changed_by,
                kind="created" if change.field == "created" else "field",
                field="" if change.field == "created" else change.field,
                old=change.old,
                new=change.new,
                reason=change.reason,
                details=tuple(rejudged.get(change.id, ())),
            )
            for change in sorted(changes, key=lambda change: change.id, reverse=True)
        ),
        (
            Entry(
                at=change.changed_at,
                actor=change.changed_by,
                kind="plan",
                field=change.parameter.code,
                new="added" if change.included else "dropped",
                reason=change.reason,
            )
            for change in sorted(plan, key=lambda change: change.id, reverse=True)
        ),
    )


def style_tampering(style: Style) -> chain.Break | None:
    """The first entry of the style's or its plan's history that is not as the app wrote it, or None."""
    return chain.first_break((StyleChange, [style.id]), (PlanChange, [style.id]))


def parameter_tampering(parameter: SafetyParameter) -> chain.Break | None:
    """The first entry of the parameter's history that is not as the app wrote it, or None."""
    return chain.first_break((LimitChange, [parameter.id]), (ParameterChange, [parameter.id]))


def _limit(comparator: str | None, limit: str | None) -> str:
    return f"{comparator} {limit}" if limit else ""


def parameter_history(parameter: SafetyParameter) -> list[Entry]:
    """Every change of ``parameter``'s limits and of what it is, newest first. A limit's entry names its
    category (and the condition it holds under) as its field, and the limit as ``max 20``."""
    limits = db.session.scalars(
        select(LimitChange)
        .where(LimitChange.parameter_id == parameter.id)
        .options(selectinload(LimitChange.changed_by))
        .order_by(LimitChange.id.desc())
    )
    others = db.session.scalars(
        select(ParameterChange)
        .where(ParameterChange.parameter_id == parameter.id)
        .options(selectinload(ParameterChange.changed_by))
        .order_by(ParameterChange.id.desc())
    )
    return newest_first(
        (
            Entry(
                at=change.changed_at,
                actor=change.changed_by,
                kind="limit",
                field=f"{change.category} ({change.condition})" if change.condition else change.category,
                old=_limit(change.old_comparator, change.old_limit),
                new=_limit(change.new_comparator, change.new_limit),
                reason=change.reason,
            )
            for change in limits
        ),
        (
            Entry(
                at=change.changed_at,
                actor=change.changed_by,
                kind="field",
                field=change.field,
                old=change.old,
                new=change.new,
                reason=change.reason,
            )
            for change in others
        ),
    )
