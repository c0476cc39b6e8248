"""The refusals of the CAPA workflow, with the error codes outside clients rely on."""

from capa.common.errors import Conflict


class InvalidState(Conflict):
    """The step is not allowed in the CAPA's current state (409 invalid_state)."""

    code = "invalid_state"


class StaleVersion(Conflict):
    """The record changed since the client read it (409 stale_version); nothing was overwritten."""

    code = "stale_version"


class GatesUnmet(Conflict):
    """Closing was refused; ``unmet`` names each gate still open (409 gates_unmet)."""

    code = "gates_unmet"
