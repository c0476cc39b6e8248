"""Who may do what: the one table of permissions, and the decorator every view declares its need with.

Every view names the permission it needs with :func:`requires` (or :func:`public`); the guard in
:mod:`capa.http.guard` checks it before the view runs, for pages and API alike. A view that declares
nothing is refused, so a forgotten check fails closed, and a test walks the URL map to prove none is missing.
"""

from collections.abc import Callable
from enum import StrEnum
from typing import Protocol, TypeVar

from capa.accounts.models import STAFF, Role, User


class Permission(StrEnum):
    PUBLIC = "public"
    #: Any logged-in user: read master data, the catalog, NCs, their own profile. A step of the CAPA workflow
    #: is declared as that step instead (capa/capas/policy.py: role at the door, state and ownership in the
    #: service).
    VIEW = "view"
    MANAGE_MASTERDATA = "manage_masterdata"
    MANAGE_USERS = "manage_users"
    #: Correct limits, add parameters, adjust the quality plan of a style: quality decisions.
    MAINTAIN_CATALOG = "maintain_catalog"
    #: File a non-conformance.
    FILE_NC = "file_nc"
    #: Record lab results against batches.
    RECORD_RESULTS = "record_results"
    #: Take in non-conformances from a factory's earlier spreadsheets (capa.capas.importing).
    IMPORT_NCS = "import_ncs"
    #: Any account, a supplier's too: the home page (which sends each to theirs), who the token belongs to.
    ANY_ACCOUNT = "any_account"
    #: Read supplier corrective action requests: the factory's people all of them, a supplier's account only
    #: those sent to its supplier (the service decides which: capa.suppliers.scars).
    READ_SCARS = "read_scars"
    #: Answer the corrective action requests sent to one's supplier: a supplier's account.
    ANSWER_SCARS = "answer_scars"

    def allows(self, user: User | None) -> bool:
        return allowed(user, self)


class Need(Protocol):
    """What a view declares it needs: a Permission, or a step of the workflow
    (:class:`capa.capas.policy.StepPermission`)."""

    def allows(self, user: User | None) -> bool: ...


POLICY: dict[Permission, frozenset[Role]] = {
    # A supplier's account holds none of the factory's permissions: it reaches its requests and nothing else.
    Permission.VIEW: STAFF,
    Permission.MANAGE_MASTERDATA: frozenset({Role.QUALITY_MANAGER, Role.ADMIN}),
    Permission.MANAGE_USERS: frozenset({Role.ADMIN}),
    Permission.MAINTAIN_CATALOG: frozenset({Role.QUALITY_MANAGER}),
    Permission.RECORD_RESULTS: frozenset({Role.QUALITY_MANAGER}),
    Permission.FILE_NC: STAFF,
    Permission.IMPORT_NCS: frozenset({Role.QUALITY_MANAGER, Role.ADMIN}),
    Permission.ANY_ACCOUNT: frozenset(Role),
    Permission.READ_SCARS: frozenset(Role),
    Permission.ANSWER_SCARS: frozenset({Role.SUPPLIER}),
}


def is_active_user(user: User | None) -> bool:
    """A logged-in (or token-bearing) user whose account is active."""
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def allowed(user: User | None, permission: Permission) -> bool:
    """True when ``user`` holds ``permission``. Inactive and anonymous users hold none but PUBLIC."""
    if permission is Permission.PUBLIC:
        return True
    return is_active_user(user) and Role(user.role) in POLICY[permission]


F = TypeVar("F", bound=Callable)


def requires(need: Need) -> Callable[[F], F]:
    """Declare what a view needs; the guard checks ``need.allows(user)`` before the view runs."""

    def mark(view: F) -> F:
        view.required_permission = need  # type: ignore[attr-defined]
        return view

    return mark


public = requires(Permission.PUBLIC)
