"""The history of each master-data record, of the catalog, and of users: who changed what, when, from what to
what, and why, newest first.

Lines, suppliers, buyers, batches, lots and users keep theirs in :mod:`capa.audit.records`; a style's is its changes
and its quality plan's (:func:`capa.safety.history.style_history`), a parameter's its limits' and its own
(:func:`capa.safety.history.parameter_history`). Every record's history is read by every role, but a user's,
which only administrators read.
"""

from capa.accounts import service as accounts
from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.models import Answer, Record, Ref, Timestamp
from capa.audit import records
from capa.audit.records import Entry
from capa.capas import defect_types
from capa.inspections import defects
from capa.masterdata import service as masterdata
from capa.safety import history
from capa.safety import service as safety


class HistoryEntry(Record):
    """One change of a record."""

    at: Timestamp
    #: Who made it (a user name); null for the system: the command line, a newer shipped catalog.
    actor: str | None = Ref("actor", "username", default=None)
    #: ``created`` (``new`` sums the record up), ``field`` (one field changed), ``lots`` (lots added to a batch),
    #: ``limit`` (a parameter's limit for the category in ``field``), ``plan`` (a parameter, in ``field``,
    #: ``added`` to or ``dropped`` from a style's quality plan), ``password``, ``token_issued``,
    #: ``token_revoked``.
    kind: str
    #: The field changed; empty for a creation.
    field: str
    #: The old and new value as text (a list joined with commas, ``yes``/``no``); empty where there is none.
    old: str
    new: str
    #: Why, as given with the change (required for a style's category or attributes, a supplier's approval, a
    #: limit); empty when none was given.
    reason: str


class History(Answer):
    #: Newest first.
    items: list[HistoryEntry]


def _answer(entries: list[Entry]) -> dict:
    return {"items": entries}


@bp.get("/lines/<code>/history")
@bp.output(History)
@requires(Permission.VIEW)
def line_history(code: str):
    """The history of a production line."""
    return _answer(records.history_of("line", masterdata.get_line(code).id))


@bp.get("/suppliers/<code>/history")
@bp.output(History)
@requires(Permission.VIEW)
def supplier_history(code: str):
    """The history of a supplier, its approval's changes with their reasons."""
    return _answer(records.history_of("supplier", masterdata.get_supplier(code).id))


@bp.get("/buyers/<code>/history")
@bp.output(History)
@requires(Permission.VIEW)
def buyer_history(code: str):
    """The history of a buyer."""
    return _answer(records.history_of("buyer", masterdata.get_buyer(code).id))


@bp.get("/buyers/<code>/aqls/history")
@bp.output(History)
@requires(Permission.VIEW)
def buyer_aqls_history(code: str):
    """The history of a buyer's AQLs: each change with who made it, when and why."""
    return _answer(records.history_of("buyer_aqls", masterdata.get_buyer(code).id))


@bp.get("/styles/<code>/history")
@bp.output(History)
@requires(Permission.VIEW)
def style_history(code: str):
    """The history of a style and of its quality plan."""
    return _answer(history.style_history(masterdata.get_style(code)))


@bp.get("/batches/<number>/history")
@bp.output(History)
@requires(Permission.VIEW)
def batch_history(number: str):
    """The history of a batch: its creation with its lots and colourways, lots added later."""
    return _answer(records.history_of("batch", masterdata.get_batch(number).id))


@bp.get("/lots/<number>/history")
@bp.output(History)
@requires(Permission.VIEW)
def lot_history(number: str):
    """The history of a material lot: its creation, and each further batch it was used in."""
    return _answer(records.history_of("lot", masterdata.get_lot(number).id))


@bp.get("/parameters/<code>/history")
@bp.output(History)
@requires(Permission.VIEW)
def parameter_history(code: str):
    """The history of a safety parameter: its limits' changes and its own."""
    return _answer(history.parameter_history(safety.get_parameter(code)))


@bp.get("/defect-types/<code>/history")
@bp.output(History)
@requires(Permission.VIEW)
def defect_type_history(code: str):
    """The history of a defect type."""
    return _answer(records.history_of("defect_type", defect_types.get_defect_type(code).id))


@bp.get("/defect-codes/<code>/history")
@bp.output(History)
@requires(Permission.VIEW)
def defect_code_history(code: str):
    """The history of a coded defect of the defect library."""
    return _answer(records.history_of("defect_code", defects.get_defect_code(code).id))


@bp.get("/styles/<code>/aqls/history")
@bp.output(History)
@requires(Permission.VIEW)
def style_aqls_history(code: str):
    """The history of a style's own AQLs: each change with who made it, when and why."""
    return _answer(records.history_of("style_aqls", masterdata.get_style(code).id))


@bp.get("/styles/<code>/fabric-acceptance/history")
@bp.output(History)
@requires(Permission.VIEW)
def style_fabric_history(code: str):
    """The history of a style's acceptance points for its fabric: each change with who made it, when and why."""
    return _answer(records.history_of("style_fabric", masterdata.get_style(code).id))


@bp.get("/styles/<code>/measurement-spec/history")
@bp.output(History)
@requires(Permission.VIEW)
def measurement_spec_history(code: str):
    """The history of a style's measurement spec: each change with who made it, when and why; ``old`` and ``new``
    are the spec's unit, then its grid, tab-separated."""
    return _answer(records.history_of("measurement_spec", masterdata.get_style(code).id))


@bp.get("/users/<username>/history")
@bp.output(History)
@requires(Permission.MANAGE_USERS)
def user_history(username: str):
    """The history of a user: creation, role, active, e-mail and full name changes, new passwords (without any
    value), API tokens issued and revoked (by their prefix)."""
    return _answer(records.history_of("user", accounts.get_user(username).id))
