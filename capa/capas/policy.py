"""May this user take this step on this CAPA now? The one answer, for services, pages, API and templates.

The rule, in the order it is checked:
1. role: the step's roles in :data:`capa.capas.states.STEP_ROLES` (the review, closing and cancelling are
   the quality manager's alone); some steps also admit by ownership: an action's owner completes it and adds
   its evidence files whatever their role, and a supervisor edits only the NCs they reported (PermissionDenied,
   403);
2. state: the NC's state must admit the step (:data:`capa.capas.states.STEP_STATES`; InvalidState, 409).

At the door of a page or an endpoint only the role can be known: :func:`step_permission` declares the roles
that may ever take the step (those of rule 1, ownership included), and the guard refuses everyone else
before the view runs. The service then checks the whole rule on the record (:func:`check`), and templates ask
:func:`can` to offer only the steps that would be accepted.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from capa.accounts.models import STAFF, Role, User
from capa.accounts.permissions import is_active_user
from capa.capas.errors import InvalidState
from capa.capas.models import Action, NonConformance
from capa.capas.states import STEP_ROLES, Step, allowed_in
from capa.common.errors import DomainError, PermissionDenied

#: Steps that admit a user by ownership of the record, whatever their role.
BY_OWNERSHIP = frozenset({Step.COMPLETE_ACTION, Step.ADD_EVIDENCE})


def door_roles(step: Step) -> frozenset[Role]:
    """The roles that may ever take ``step``: its roles, or every role of the factory where an owner may take it
    (an action is never a supplier account's)."""
    return STAFF if step in BY_OWNERSHIP else STEP_ROLES[step]


@dataclass(frozen=True)
class StepPermission:
    """The permission a page or endpoint that takes ``step`` declares (``@requires(step_permission(...))``)."""

    step: Step

    def __str__(self) -> str:
        return f"step:{self.step.value}"

    def allows(self, user: User | None) -> bool:
        return is_active_user(user) and Role(user.role) in door_roles(self.step)


def step_permission(step: Step) -> StepPermission:
    return StepPermission(step)


def refusal(
    user: User, step: Step, nc: NonConformance | None = None, *, action: Action | None = None
) -> DomainError | None:
    """Why ``user`` may not take ``step`` on ``nc`` (and ``action``) now, or None when they may."""
    role = Role(user.role)
    owns = step in BY_OWNERSHIP and action is not None and action.owner_id == user.id
    if not owns and role not in STEP_ROLES[step]:
        if step is Step.COMPLETE_ACTION:
            return PermissionDenied(str(_l("Only the action's owner or a quality manager may complete it.")))
        if step is Step.ADD_EVIDENCE and action is not None:
            return PermissionDenied(str(_l("Only the action's owner or a quality manager may add its evidence.")))
        return PermissionDenied(str(_l("The role %(role)s may not do this.", role=user.role)))
    elif step is Step.EDIT and role is Role.SUPERVISOR and nc is not None and nc.reported_by_id != user.id:
        return PermissionDenied(str(_l("Supervisors edit only the non-conformances they reported.")))
    if nc is not None and not allowed_in(step, nc.status):
        return InvalidState(
            str(_l("%(number)s is %(state)s: this step is not possible now.", number=nc.number, state=nc.status)),
            state=nc.status,
        )
    return None


def can(user: User | None, step: Step, nc: NonConformance | None = None, *, action: Action | None = None) -> bool:
    """True when ``user`` may take ``step`` on ``nc`` now (templates offer only these steps)."""
    return is_active_user(user) and refusal(user, step, nc, action=action) is None


def check(user: User, step: Step, nc: NonConformance | None = None, *, action: Action | None = None) -> None:
    """Raise PermissionDenied (403) or InvalidState (409) unless ``user`` may take ``step`` on ``nc`` now."""
    problem = refusal(user, step, nc, action=action)
    if problem is not None:
        raise problem
