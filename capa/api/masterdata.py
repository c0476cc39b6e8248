"""Lines, suppliers, buyers, styles and batches: read by every role, written by quality managers and admins.

Each endpoint declares its input (the service's command) and its answer; APIFlask validates, serializes and
documents both from those declarations.
"""

from datetime import date

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.models import Answer, Record, Ref, Timestamp
from capa.capas import queries
from capa.changes import service as changes
from capa.http.guard import request_user
from capa.masterdata import service
from capa.masterdata.commands import (
    AddLots,
    BuyerChanges,
    LineChanges,
    NewBatch,
    NewBuyer,
    NewLine,
    NewStyle,
    NewSupplier,
    StyleChanges,
    SupplierChanges,
)
from capa.masterdata.models import (
    AgeGroup,
    Batch,
    CordPlace,
    Fill,
    LotKind,
    Market,
    SafetyCategory,
    SupplierApproval,
    TrimSize,
)
from capa.safety import rejudging
from capa.safety import service as safety


class Line(Record):
    code: str
    name: str


class Supplier(Record):
    code: str
    name: str
    approval: SupplierApproval
    #: The material kinds its approval covers; empty: every kind.
    approved_kinds: list[LotKind] = []
    #: The codes of the safety parameters its approval covers (a quality manager's decision sets them,
    #: ``POST /api/v1/suppliers/<code>/decisions``); empty: every parameter.
    approved_parameters: list[str] = []
    #: The day its approval is to be evaluated again (after it, the approval has lapsed); null: none set.
    reevaluate_on: date | None = None


class Buyer(Record):
    code: str
    name: str


class Style(Record):
    code: str
    name: str
    category: SafetyCategory
    cmia_required: bool
    #: Whose style it is (the buyer's code); null when none is named.
    buyer: str | None = Ref("buyer", "code", default=None)
    # What decides which safety parameters apply to the garment.
    age_group: AgeGroup | None
    markets: list[Market]
    prints: bool
    trims: list[TrimSize]
    metal_parts: bool
    cords: list[CordPlace]
    fill: Fill
    dark_shade: bool
    raised_surface: bool
    sleepwear: bool
    childcare: bool
    fibre_content: str


class Lot(Record):
    number: str
    kind: LotKind
    supplier: str = Ref("supplier", "code")
    supplier_approval: SupplierApproval = Ref("supplier", "approval")


class Concession(Record):
    lot: str = Ref("lot", "number")
    #: Why the supplier's approval did not cover the lot, as it stood then.
    approval: str
    reason: str
    granted_by: str | None = Ref("granted_by", "username", default=None)
    granted_at: Timestamp


class BatchRecord(Record):
    number: str
    style: str = Ref("style", "code")
    line: str = Ref("line", "code")
    category: SafetyCategory = Ref("style", "category")
    lots: list[Lot]
    #: The colourways made in the batch; coverage is judged per colourway.
    colourways: list[str] = []
    #: The open NCs that hold this batch or one of its lots: goods that must not move on.
    held_by: list[str] = []
    #: The change requests holding one of its lots: new material whose change has not taken effect yet.
    held_by_changes: list[str] = []
    #: The lots in the batch under a concession: their supplier was not approved for them when they were added.
    concessions: list[Concession] = []


class Lines(Answer):
    items: list[Line]


class Suppliers(Answer):
    items: list[Supplier]


class Buyers(Answer):
    items: list[Buyer]


class Styles(Answer):
    items: list[Style]


class Batches(Answer):
    items: list[BatchRecord]


def batch_record(
    batch: Batch, held_by: list[str] | None = None, held_by_changes: list[str] | None = None
) -> BatchRecord:
    held = queries.held_numbers(batch) if held_by is None else held_by
    if held_by_changes is None:
        held_by_changes = changes.holding_changes_for([batch])[batch.id]
    return BatchRecord.model_validate(batch).model_copy(update={"held_by": held, "held_by_changes": held_by_changes})


@bp.get("/lines")
@bp.output(Lines)
@requires(Permission.VIEW)
def list_lines():
    return {"items": service.list_lines()}


@bp.post("/lines")
@bp.input(NewLine, arg_name="command")
@bp.output(Line, status_code=201)
@requires(Permission.MANAGE_MASTERDATA)
def create_line(command: NewLine):
    return service.create_line(command, request_user())


@bp.get("/lines/<code>")
@bp.output(Line)
@requires(Permission.VIEW)
def get_line(code: str):
    return service.get_line(code)


@bp.patch("/lines/<code>")
@bp.input(LineChanges, arg_name="changes")
@bp.output(Line)
@requires(Permission.MANAGE_MASTERDATA)
def update_line(code: str, changes: LineChanges):
    return service.update_line(service.get_line(code), changes, request_user())


@bp.get("/suppliers")
@bp.output(Suppliers)
@requires(Permission.VIEW)
def list_suppliers():
    return {"items": service.list_suppliers()}


@bp.post("/suppliers")
@bp.input(NewSupplier, arg_name="command")
@bp.output(Supplier, status_code=201)
@requires(Permission.MANAGE_MASTERDATA)
def create_supplier(command: NewSupplier):
    return service.create_supplier(command, request_user())


@bp.get("/suppliers/<code>")
@bp.output(Supplier)
@requires(Permission.VIEW)
def get_supplier(code: str):
    return service.get_supplier(code)


@bp.patch("/suppliers/<code>")
@bp.input(SupplierChanges, arg_name="changes")
@bp.output(Supplier)
@requires(Permission.MANAGE_MASTERDATA)
def update_supplier(code: str, changes: SupplierChanges):
    """Change a supplier's name or approval; a change of the approval needs ``reason`` (400 naming it)."""
    return service.update_supplier(service.get_supplier(code), changes, request_user())


@bp.get("/buyers")
@bp.output(Buyers)
@requires(Permission.VIEW)
def list_buyers():
    return {"items": service.list_buyers()}


@bp.post("/buyers")
@bp.input(NewBuyer, arg_name="command")
@bp.output(Buyer, status_code=201)
@requires(Permission.MANAGE_MASTERDATA)
def create_buyer(command: NewBuyer):
    """Add a buyer (a brand or retailer whose styles the factory makes); 409 naming ``code`` when it is taken."""
    return service.create_buyer(command, request_user())


@bp.get("/buyers/<code>")
@bp.output(Buyer)
@requires(Permission.VIEW)
def get_buyer(code: str):
    return service.get_buyer(code)


@bp.patch("/buyers/<code>")
@bp.input(BuyerChanges, arg_name="changes")
@bp.output(Buyer)
@requires(Permission.MANAGE_MASTERDATA)
def update_buyer(code: str, changes: BuyerChanges):
    """Rename a buyer."""
    return service.update_buyer(service.get_buyer(code), changes, request_user())


@bp.get("/styles")
@bp.output(Styles)
@requires(Permission.VIEW)
def list_styles():
    return {"items": service.list_styles()}


@bp.post("/styles")
@bp.input(NewStyle, arg_name="command")
@bp.output(Style, status_code=201)
@requires(Permission.MANAGE_MASTERDATA)
def create_style(command: NewStyle):
    return service.create_style(command, request_user())


@bp.get("/styles/<code>")
@bp.output(Style)
@requires(Permission.VIEW)
def get_style(code: str):
    return service.get_style(code)


@bp.patch("/styles/<code>")
@bp.input(StyleChanges, arg_name="changes")
@bp.output(Style)
@requires(Permission.MANAGE_MASTERDATA)
def update_style(code: str, changes: StyleChanges):
    style = service.get_style(code)
    rejudging.change_style(style, changes, request_user())
    return style


@bp.get("/batches")
@bp.output(Batches)
@requires(Permission.VIEW)
def list_batches():
    batches = service.list_batches()
    held = queries.held_numbers_for(batches)
    by_changes = changes.holding_changes_for(batches)
    return Batches(items=[batch_record(batch, held[batch.id], by_changes[batch.id]) for batch in batches])


@bp.post("/batches")
@bp.input(NewBatch, arg_name="command")
@bp.output(BatchRecord, status_code=201)
@requires(Permission.MANAGE_MASTERDATA)
def create_batch(command: NewBatch):
    return batch_record(safety.create_batch(command, request_user()))


@bp.get("/batches/<number>")
@bp.output(BatchRecord)
@requires(Permission.VIEW)
def get_batch(number: str):
    return batch_record(service.get_batch(number))


@bp.post("/batches/<number>/lots")
@bp.input(AddLots, arg_name="command")
@bp.output(BatchRecord)
@requires(Permission.MANAGE_MASTERDATA)
def add_batch_lots(number: str, command: AddLots):
    return batch_record(safety.add_lots(service.get_batch(number), command, request_user()))
