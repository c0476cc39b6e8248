"""The refusals of the CAPA workflow, with the error codes outside clients rely on."""

from capa.accounts.signing import SignatureRefused  # noqa: F401  (a refusal of the workflow's signing steps)
from capa.common.errors import Conflict, PermissionDenied


class InvalidState(Conflict):
    """The step is not allowed in the CAPA's current state (409 invalid_state)."""

    code = "invalid_state"


class StaleVersion(Conflict):
    """The record changed since the client read it (409 stale_version); nothing was overwritten."""

    code = "stale_version"


class GatesUnmet(Conflict):
    """Closing was refused; ``unmet`` names each gate still open (409 gates_unmet)."""

    code = "gates_unmet"


class IdempotencyKeyReused(Conflict):
    """A filing sent with an idempotency key that already filed an NC with other content (409
    idempotency_key_reused): nothing was filed. ``number`` is the NC the key filed."""

    code = "idempotency_key_reused"

    def __init__(self, message: str, *, number: str, **kwargs):
        super().__init__(message, number=number, **kwargs)
        self.number = number


class AlreadyReviewed(Conflict):
    """The closed CAPA's effectiveness was reviewed already (409 already_reviewed): a review is recorded once."""

    code = "already_reviewed"


class SamePerson(PermissionDenied):
    """The root cause under review was submitted by the quality manager approving it, while
    CAPA_SEPARATE_ROOT_CAUSE_APPROVER asks for another one (403 same_person)."""

    code = "same_person"
