"""Rules for master data: codes are unique, references must exist, a lot keeps its kind and supplier.

A style may name its buyer (ValidationError naming ``buyer`` for an unknown one); a change of it is recorded
among the style's changes like any other field.

Codes and numbers are compared upper-cased (``l1`` and ``L1`` are one line). Every function that changes data
takes a typed command (:mod:`capa.masterdata.commands`) and is one unit of work: it stores everything or, on
any error, nothing. Each creation and each change is recorded in the same unit of work with who made it (the
``actor``; None for the system and the command line): lines, suppliers, buyers, batches and lots in their history
(:mod:`capa.audit.records`), styles as StyleChange entries. A supplier's approval changes only with a reason.
"""

from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Row, func, select
from sqlalchemy.orm import selectinload

from capa.accounts.models import User
from capa.accounts.permissions import Permission, allowed
from capa.audit import records
from capa.common.clock import plant_today
from capa.common.commands import Command
from capa.common.errors import Duplicate, NotFound, PermissionDenied, ValidationError
from capa.common.transaction import unit_of_work
from capa.common.types import identifier
from capa.extensions import db
from capa.masterdata.approval import KIND_WORDS, approval_for
from capa.masterdata.commands import (
    AddLots,
    BuyerChanges,
    LineChanges,
    NewBatch,
    NewBuyer,
    NewLine,
    NewLot,
    NewStyle,
    NewSupplier,
    StyleChanges,
    SupplierChanges,
)
from capa.masterdata.models import (
    Batch,
    Buyer,
    Fill,
    LotConcession,
    Market,
    MaterialLot,
    ProductionLine,
    Style,
    StyleChange,
    Supplier,
    SupplierApproval,
)

M = TypeVar("M", ProductionLine, Supplier, Buyer, Style, Batch, MaterialLot)


def _find(model: type[M], key: str, value: str) -> M | None:
    value = identifier(value, upper=True)
    return None if value is None else db.session.scalar(select(model).where(getattr(model, key) == value))


def find_line(code: str) -> ProductionLine | None:
    return _find(ProductionLine, "code", code)


def find_supplier(code: str) -> Supplier | None:
    return _find(Supplier, "code", code)


def find_buyer(code: str) -> Buyer | None:
    return _find(Buyer, "code", code)


def find_style(code: str) -> Style | None:
    return _find(Style, "code", code)


def find_batch(number: str) -> Batch | None:
    return _find(Batch, "number", number)


def find_lot(number: str) -> MaterialLot | None:
    return _find(MaterialLot, "number", number)


def _get(model: type[M], key: str, value: str, what: str) -> M:
    record = _find(model, key, value)
    if record is None:
        raise NotFound(str(_l("No %(what)s %(value)s.", what=what, value=value)), fields={key: "unknown"})
    return record


def _refuse_duplicate(model: type[M], key: str, value: str, what: str) -> None:
    if _find(model, key, value) is not None:
        raise Duplicate(
            str(_l("A %(what)s %(value)s exists already.", what=what, value=value)),
            fields={key: str(_l("Already in use."))},
        )


def _reference(model: type[M], key: str, value: str, field: str, what: str) -> M:
    """A record named in the input: unknown references are the caller's mistake (400, field named)."""
    record = _find(model, key, value)
    if record is None:
        raise ValidationError(
            str(_l("Please correct the fields marked.")),
            fields={field: str(_l("No %(what)s %(value)s.", what=what, value=value))},
        )
    return record


def _create(model: type[M], command: Command, what: str, record_type: str, actor: User | None) -> M:
    values = command.model_dump(mode="json") if model is Style else command.model_dump()
    if model is Style:
        values["fibre_content"] = values.get("fibre_content") or ""
        values["fill"] = values.get("fill") or Fill.NONE.value
        if values.get("markets") is None:
            values["markets"] = [Market.CN.value]
        _refuse_no_market(values["markets"])
        for name in ("markets", "trims", "cords"):
            values[name] = sorted(dict.fromkeys(values[name]))
        buyer = values.pop("buyer", None)
        values["buyer"] = _reference(Buyer, "code", buyer, "buyer", str(_l("buyer"))) if buyer else None
    if model is Supplier:
        values["approved_kinds"] = _kinds(values["approved_kinds"])
    _refuse_duplicate(model, "code", values["code"], what)
    with unit_of_work() as session:
        record = model(**values)
        session.add(record)
        if model is Style:
            session.add(
                StyleChange(style=record, field="created", new=_style_summary(values), changed_by_id=_id(actor))
            )
        else:
            records.note_created(record_type, record, actor, {k: v for k, v in values.items() if k != "code"})
    return record


def _id(actor: User | None) -> int | None:
    return actor.id if actor is not None else None


def _changed_fields(record: M, changes: Command) -> dict[str, Any]:
    """The fields ``changes`` carries with a value (but its ``reason``); the code is the record's identity and
    stays (ValidationError naming ``code`` otherwise)."""
    given = {name: value for name, value in changes.given().items() if name != "reason"}
    code = given.pop("code", None)
    if code is not None and code != record.code:
        raise ValidationError(
            str(_l("Please correct the fields marked.")), fields={"code": str(_l("A code cannot change."))}
        )
    return {name: value for name, value in given.items() if value is not None}


def _update(record: M, changes: Command, record_type: str, actor: User | None) -> M:
    """Change the fields ``changes`` carries and record each that changed, with the command's reason if any."""
    given = _changed_fields(record, changes)
    with unit_of_work():
        changed = records.set_changed(record, given)
        records.note_changes(record_type, record, actor, changed, getattr(changes, "reason", None))
    return record


# Lines ---------------------------------------------------------------------------------------------------


def list_lines() -> list[ProductionLine]:
    return list(db.session.scalars(select(ProductionLine).order_by(ProductionLine.code)))


def get_line(code: str) -> ProductionLine:
    return _get(ProductionLine, "code", code, str(_l("line")))


def create_line(command: NewLine, actor: User | None = None) -> ProductionLine:
    """Add a production line; raises Duplicate for a taken code."""
    return _create(ProductionLine, command, str(_l("line")), "line", actor)


def update_line(line: ProductionLine, changes: LineChanges, actor: User | None = None) -> ProductionLine:
    """Rename a line; raises ValidationError for a changed code."""
    return _update(line, changes, "line", actor)


# Suppliers -----------------------------------------------------------------------------------------------


def list_suppliers() -> list[Supplier]:
    return list(db.session.scalars(select(Supplier).order_by(Supplier.code)))


def get_supplier(code: str) -> Supplier:
    return _get(Supplier, "code", code, str(_l("supplier")))


def lots_of(supplier: Supplier) -> list[MaterialLot]:
    """The supplier's lots by number, with the batches each went into, in two queries however many."""
    query = select(MaterialLot).where(MaterialLot.supplier_id == supplier.id).options(selectinload(MaterialLot.batches))
    # Sorted here, not by the database, whose collation may order punctuation differently.
    return sorted(db.session.scalars(query), key=lambda lot: lot.number)


def create_supplier(command: NewSupplier, actor: User | None = None) -> Supplier:
    """Add a supplier (approved unless the command says otherwise)."""
    approval = command.approval or SupplierApproval.APPROVED
    update = {"approval": approval, "approved_kinds": sorted(set(command.approved_kinds))}
    return _create(Supplier, command.model_copy(update=update), str(_l("supplier")), "supplier", actor)


def _kinds(kinds) -> list[str]:
    """Material kinds as stored: their values, each once, sorted."""
    return sorted({str(kind) for kind in kinds})


#: What decides whether a supplier's material may be used: a change of any needs a reason.
APPROVAL_FIELDS = ("approval", "approved_kinds", "approved_parameters", "reevaluate_on")


def update_supplier(supplier: Supplier, changes: SupplierChanges, actor: User | None = None) -> Supplier:
    """Change a supplier's name, approval, the material kinds it covers or its re-evaluation date. These decide
    whether its material may be used (:mod:`capa.masterdata.approval`), so a change of any needs a ``reason``
    (ValidationError naming ``reason`` otherwise, and nothing is changed) and is a quality manager's
    (PermissionDenied naming the fields for anyone else; the command line may); the reason is kept in the
    supplier's history. Raises ValidationError naming ``code`` for a changed code."""
    given = _changed_fields(supplier, changes)
    if "reevaluate_on" in changes.model_fields_set:
        given["reevaluate_on"] = changes.reevaluate_on
    with unit_of_work():
        apply_supplier_changes(supplier, given, changes.reason, actor)
    return supplier


def apply_supplier_changes(supplier: Supplier, given: dict[str, Any], reason: str | None, actor: User | None) -> None:
    """Set ``given`` on ``supplier`` and note the changes with ``reason`` in its history, inside the caller's unit
    of work, by the rules of :func:`update_supplier` (the errors it names raised before anything is set)."""
    if "approved_kinds" in given:
        given["approved_kinds"] = _kinds(given["approved_kinds"])
    if "approved_parameters" in given:
        given["approved_parameters"] = sorted(set(given["approved_parameters"]))
    changing = [name for name in APPROVAL_FIELDS if name in given and given[name] != getattr(supplier, name)]
    if changing and not reason:
        raise ValidationError(
            str(_l("Please correct the fields marked.")),
            fields={"reason": str(_l("Say why: the approval decides whether this supplier's material may be used."))},
        )
    if changing and actor is not None and not allowed(actor, Permission.MAINTAIN_CATALOG):
        raise PermissionDenied(
            str(_l("Only a quality manager decides a supplier's approval.")),
            fields={name: str(_l("Only a quality manager may change this.")) for name in changing},
        )
    changed = records.set_changed(supplier, given)
    records.note_changes("supplier", supplier, actor, changed, reason)


def due_for_reevaluation(within_days: int = 30) -> list[Supplier]:
    """The suppliers whose approval is to be evaluated again within ``within_days`` days from today, or is past
    its date, soonest first."""
    limit = plant_today() + timedelta(days=within_days)
    query = select(Supplier).where(Supplier.reevaluate_on.is_not(None), Supplier.reevaluate_on <= limit)
    return list(db.session.scalars(query.order_by(Supplier.reevaluate_on, Supplier.code)))


# Buyers --------------------------------------------------------------------------------------------------


def list_buyers() -> list[Buyer]:
    return list(db.session.scalars(select(Buyer).order_by(Buyer.code)))


def buyer_choices() -> list[Row[tuple[str, str]]]:
    """Every buyer's code and name (``.code``, ``.name``), by code: what a form's choice of buyer shows."""
    return list(db.session.execute(select(Buyer.code, Buyer.name).order_by(Buyer.code)))


def get_buyer(code: str) -> Buyer:
    return _get(Buyer, "code", code, str(_l("buyer")))


def referenced_buyer(code: str | None) -> Buyer | None:
    """The buyer named in an input, or None when none is; raises ValidationError naming ``buyer`` for an unknown
    code."""
    return None if code is None else _reference(Buyer, "code", code, "buyer", str(_l("buyer")))


def create_buyer(command: NewBuyer, actor: User | None = None) -> Buyer:
    """Add a buyer; raises Duplicate for a taken code."""
    return _create(Buyer, command, str(_l("buyer")), "buyer", actor)


def update_buyer(buyer: Buyer, changes: BuyerChanges, actor: User | None = None) -> Buyer:
    """Rename a buyer; raises ValidationError for a changed code."""
    return _update(buyer, changes, "buyer", actor)


def styles_of(buyer: Buyer) -> list[Style]:
    """The buyer's styles, by code."""
    return list(db.session.scalars(select(Style).where(Style.buyer_id == buyer.id).order_by(Style.code)))


# Styles --------------------------------------------------------------------------------------------------


def list_styles() -> list[Style]:
    """Every style by code, with its buyer read in the same go."""
    return list(db.session.scalars(select(Style).options(selectinload(Style.buyer)).order_by(Style.code)))


def style_choices() -> list[Row[tuple[str, str]]]:
    """Every style's code and name (``.code``, ``.name``), by code: what a form's choice of style shows, read
    without the styles' other columns (a factory group has thousands)."""
    return list(db.session.execute(select(Style.code, Style.name).order_by(Style.code)))


def get_style(code: str) -> Style:
    return _get(Style, "code", code, str(_l("style")))


def create_style(command: NewStyle, actor: User | None = None) -> Style:
    """Add a style with its safety category; its creation is the first entry of its changes."""
    return _create(Style, command, str(_l("style")), "style", actor)


def _style_summary(values: dict[str, Any]) -> str:
    """A new style as its ``created`` change sums it up: name, category, CMIA, and the attributes it has."""
    shown = {name: values[name] for name in ("name", "category", "cmia_required")}
    if values.get("buyer") is not None:
        shown["buyer"] = values["buyer"].code
    for name in JUDGING_FIELDS:
        value = values.get(name)
        if name not in shown and value not in (None, False, "", [], Fill.NONE.value):
            shown[name] = value
    return records.summary(shown)


#: The style fields that decide which limits apply and how its results are judged.
JUDGING_FIELDS = (
    "category",
    "age_group",
    "markets",
    "prints",
    "trims",
    "metal_parts",
    "cords",
    "fill",
    "dark_shade",
    "raised_surface",
    "sleepwear",
    "childcare",
    "fibre_content",
)


def style_changes(style: Style, changes: StyleChanges) -> dict[str, tuple[Any, Any]]:
    """The fields ``changes`` really changes, old and new value each, in stored form (lists sorted, enums as
    text, the buyer by its code). Raises ValidationError for a changed code or an unknown buyer."""
    given = changes.model_dump(mode="json", include=changes.model_fields_set, exclude={"reason"})
    code = given.pop("code", None)
    if code is not None and code != style.code:
        raise ValidationError(
            str(_l("Please correct the fields marked.")), fields={"code": str(_l("A code cannot change."))}
        )
    found: dict[str, tuple[Any, Any]] = {}
    for name, value in given.items():
        if value is None and name not in ("age_group", "fibre_content", "buyer"):
            continue
        if name == "fibre_content":
            value = value or ""
        if isinstance(value, list):
            value = sorted(dict.fromkeys(value))
        if name == "buyer":
            if value is not None:
                _reference(Buyer, "code", value, "buyer", str(_l("buyer")))
            old = style.buyer.code if style.buyer is not None else None
            if old != value:
                found[name] = (old, value)
            continue
        old = getattr(style, name)
        if (sorted(old) if isinstance(old, list) else old) != value:
            found[name] = (old, value)
    if "markets" in found:
        _refuse_no_market(found["markets"][1])
    return found


def _refuse_no_market(markets: list) -> None:
    if not markets:
        raise ValidationError(
            str(_l("Please correct the fields marked.")),
            fields={"markets": str(_l("Name at least one market the style is sold in."))},
        )


def apply_style_changes(
    style: Style, found: dict[str, tuple[Any, Any]], actor: User | None = None, reason: str | None = None
) -> list[StyleChange]:
    """Set the changed fields on ``style`` and record each as a StyleChange (who, old, new, the reason), inside
    the caller's unit of work (nothing is committed here). Returns the changes recorded, in field order."""
    entries = []
    for name, (old, new) in found.items():
        if name == "buyer":
            style.buyer = find_buyer(new) if new is not None else None
        else:
            setattr(style, name, new)
        entry = StyleChange(
            style=style,
            field=name,
            old=records.text_of(old),
            new=records.text_of(new),
            reason=reason or "",
            changed_by_id=_id(actor),
        )
        db.session.add(entry)
        entries.append(entry)
    return entries


def update_style(style: Style, changes: StyleChanges, actor: User | None = None) -> Style:
    """Change a style's name or CMIA requirement, recorded in its changes. A change of a field that decides its
    safety judgements goes through :func:`capa.safety.rejudging.change_style`, which also judges its results
    again."""
    with unit_of_work():
        apply_style_changes(style, style_changes(style, changes), actor, changes.reason)
    return style


# Batches and lots ----------------------------------------------------------------------------------------


def list_batches(*, style: Style | None = None) -> list[Batch]:
    query = select(Batch).options(
        selectinload(Batch.style),
        selectinload(Batch.line),
        selectinload(Batch.lots).selectinload(MaterialLot.supplier),
        selectinload(Batch.concessions).selectinload(LotConcession.lot),
        selectinload(Batch.concessions).selectinload(LotConcession.granted_by),
    )
    if style is not None:
        query = query.where(Batch.style_id == style.id)
    return list(db.session.scalars(query.order_by(Batch.created_at.desc(), Batch.number)))


def get_batch(number: str) -> Batch:
    return _get(Batch, "number", number, str(_l("batch")))


def get_lot(number: str) -> MaterialLot:
    return _get(MaterialLot, "number", number, str(_l("lot")))


def lot_conditions(lot_id, *, lot: str | None = None, supplier: str | None = None) -> list:
    """The conditions keeping a list of records about lots (``lot_id``, their column naming the lot) to the lot
    numbered ``lot`` and to the lots of the supplier coded ``supplier``, when given; raises NotFound for an
    unknown lot or supplier."""
    conditions = []
    if lot:
        conditions.append(lot_id == get_lot(lot).id)
    if supplier:
        of_supplier = select(MaterialLot.id).where(MaterialLot.supplier_id == get_supplier(supplier).id)
        conditions.append(lot_id.in_(of_supplier))
    return conditions


def _resolve_lots(lots: list[NewLot], *, field: str = "lots") -> list[MaterialLot | dict[str, Any]]:
    """Check each lot given: an existing lot must come with its recorded kind and supplier.

    Returns the existing lots, and for new ones the values to create them from (with the supplier found),
    so that nothing enters the session before the unit of work that stores it.
    """
    errors: dict[str, str] = {}
    resolved: list[MaterialLot | dict[str, Any]] = []
    seen: set[str] = set()
    for index, given in enumerate(lots):
        lot = given.model_dump()
        where = f"{field}[{index}]"
        if lot["number"] in seen:
            errors[f"{where}.number"] = str(_l("Listed twice."))
            continue
        seen.add(lot["number"])
        supplier = _find(Supplier, "code", lot["supplier"])
        if supplier is None:
            errors[f"{where}.supplier"] = str(_l("No supplier %(value)s.", value=lot["supplier"]))
            continue
        existing = _find(MaterialLot, "number", lot["number"])
        lot.pop("concession", None)
        if existing is None:
            resolved.append({**lot, "supplier": supplier})
        elif existing.kind != lot["kind"]:
            recorded = KIND_WORDS.get(existing.kind, existing.kind)
            errors[f"{where}.kind"] = str(_l("Lot %(n)s is recorded as %(k)s.", n=lot["number"], k=recorded))
        elif existing.supplier_id != supplier.id:
            errors[f"{where}.supplier"] = str(
                _l("Lot %(n)s is recorded from %(s)s.", n=lot["number"], s=existing.supplier.code)
            )
        else:
            resolved.append(existing)
    if errors:
        raise ValidationError(str(_l("Please correct the fields marked.")), fields=errors)
    return resolved


#: What a CMIA style's lots are to meet: the codes of the parameters its plan requires, by the value of the lot kind
#: they concern (:func:`capa.safety.materials.required_by_kind`, which the safety layer passes down).
Requirements = Callable[[Style], Mapping[str, Iterable[str]]]


def _concessions_needed(
    style: Style,
    entries: list[tuple[int, NewLot, MaterialLot | dict[str, Any]]],
    actor: User | None,
    requirements: Requirements | None,
) -> dict[int, tuple[str, str]]:
    """For a CMIA style, each lot of ``entries`` (index in the command, lot as given, lot resolved) whose supplier
    is not approved for its material today (:mod:`capa.masterdata.approval`; for the parameters ``requirements``
    gives, when given), by its index, with why and the concession given for it. Raises ValidationError naming
    ``lots[i].concession`` for such a lot given without one, PermissionDenied naming it when the one giving a
    concession may not decide safety matters (a quality manager does; the command line and the system may)."""
    if not style.cmia_required:
        return {}
    today = plant_today()
    required = requirements(style) if requirements is not None and entries else {}
    needed: dict[int, tuple[str, str]] = {}
    problems: dict[str, str] = {}
    for index, given, lot in entries:
        supplier = lot["supplier"] if isinstance(lot, dict) else lot.supplier
        check = approval_for(supplier, given.kind, today, required.get(given.kind, ()))
        if check.approved:
            continue
        if not given.concession:
            problems[f"lots[{index}].concession"] = str(
                _l("%(why)s A CMIA batch takes its lot only under a concession: say why.", why=check.why)
            )
        else:
            needed[index] = (check.why, given.concession)
    if problems:
        raise ValidationError(str(_l("Please correct the fields marked.")), fields=problems)
    if needed and actor is not None and not allowed(actor, Permission.MAINTAIN_CATALOG):
        raise PermissionDenied(
            str(_l("Only a quality manager grants a concession.")),
            fields={f"lots[{index}].concession": str(_l("Only a quality manager may grant this.")) for index in needed},
        )
    return needed


def _grant(batch: Batch, lots: dict[int, MaterialLot], needed: dict[int, tuple[str, str]], actor: User | None) -> None:
    """Record the concessions ``needed`` (by index into ``lots``) with ``batch``, each also in its history."""
    for index, (why, reason) in needed.items():
        lot = lots[index]
        batch.concessions.append(LotConcession(lot=lot, approval=why, reason=reason, granted_by_id=_id(actor)))
        records.note_event("batch", batch, actor, "concession", field=lot.number, new=why, reason=reason)


def _materialize(lots: list[MaterialLot | dict[str, Any]]) -> list[MaterialLot]:
    return [lot if isinstance(lot, MaterialLot) else MaterialLot(**lot) for lot in lots]


def _note_lots_joined(batch: Batch, lots: list[MaterialLot], new: list[MaterialLot], actor: User | None) -> None:
    """Record, for each lot just put into ``batch``, its creation (one of the ``new`` lots) or the batch it now
    also feeds."""
    for lot in lots:
        if lot in new:
            records.note_created(
                "lot", lot, actor, {"kind": lot.kind, "supplier": lot.supplier.code, "batch": batch.number}
            )
        else:
            batches = sorted(other.number for other in lot.batches)
            earlier = [number for number in batches if number != batch.number]
            records.note_changes("lot", lot, actor, {"batches": (earlier, batches)})


def create_batch(command: NewBatch, actor: User | None = None, *, requirements: Requirements | None = None) -> Batch:
    """Record a batch of a style on a line, with the material lots in it.

    For a CMIA style, a lot whose supplier is not approved for it (for the parameters ``requirements`` gives;
    :func:`capa.safety.service.create_batch` passes the style's plan) goes in only under a concession a quality
    manager gives with it (ValidationError naming ``lots[i].concession`` without one, PermissionDenied for anyone
    else's).

    Style, line and suppliers are named by code and must exist (ValidationError naming the field
    otherwise). A lot seen before is reused and must match its recorded kind and supplier; a new lot is
    created. Raises Duplicate when the batch number is taken. The batch's creation (with its style, line, lots
    and colourways), each new lot's, and each reused lot's new batch are recorded.
    """
    _refuse_duplicate(Batch, "number", command.number, str(_l("batch")))
    problems: dict[str, str] = {}
    style = line = None
    try:
        style = _reference(Style, "code", command.style, "style", str(_l("style")))
    except ValidationError as exc:
        problems.update(exc.fields)
    try:
        line = _reference(ProductionLine, "code", command.line, "line", str(_l("line")))
    except ValidationError as exc:
        problems.update(exc.fields)
    try:
        lots = _resolve_lots(command.lots)
    except ValidationError as exc:
        problems.update(exc.fields)
    if problems:
        raise ValidationError(str(_l("Please correct the fields marked.")), fields=problems)
    needed = _concessions_needed(
        style, list(zip(range(len(lots)), command.lots, lots, strict=True)), actor, requirements
    )
    with unit_of_work() as session:
        materialized = _materialize(lots)
        new_lots = [lot for lot in materialized if lot.id is None]
        batch = Batch(
            number=command.number,
            style=style,
            line=line,
            lots=materialized,
            colourways=list(dict.fromkeys(command.colourways)),
        )
        session.add(batch)
        records.note_created(
            "batch",
            batch,
            actor,
            {
                "style": style.code,
                "line": line.code,
                "lots": [lot.number for lot in materialized],
                "colourways": batch.colourways,
            },
        )
        _note_lots_joined(batch, materialized, new_lots, actor)
        _grant(batch, dict(enumerate(materialized)), needed, actor)
    return batch


def add_lots(
    batch: Batch, command: AddLots, actor: User | None = None, *, requirements: Requirements | None = None
) -> Batch:
    """Add lots to a batch; lots already in it are left as they are. The lots added are recorded in the
    batch's history, each new lot's creation and each reused lot's new batch in the lot's. Concessions as
    :func:`create_batch`."""
    lots = _resolve_lots(command.lots)
    already_in_batch = {lot.id for lot in batch.lots}
    # Only the lots not in the batch yet are checked, and given a concession where they need one.
    fresh = [
        (index, given, lot)
        for index, (given, lot) in enumerate(zip(command.lots, lots, strict=True))
        if _lot_id(lot) not in already_in_batch
    ]
    needed = _concessions_needed(batch.style, fresh, actor, requirements)
    with unit_of_work():
        added = dict(zip([index for index, _, _ in fresh], _materialize([lot for _, _, lot in fresh]), strict=True))
        new_lots = [lot for lot in added.values() if lot.id is None]
        batch.lots.extend(added.values())
        if added:
            db.session.flush()
            records.note_event("batch", batch, actor, "lots", field="lots", new=[lot.number for lot in added.values()])
            _note_lots_joined(batch, list(added.values()), new_lots, actor)
            _grant(batch, added, needed, actor)
    return batch


def _lot_id(lot: MaterialLot | dict[str, Any]) -> int | None:
    return None if isinstance(lot, dict) else lot.id


def counts() -> dict[str, int]:
    """How many lines, suppliers, styles and batches exist, in one query."""
    row = db.session.execute(
        select(
            select(func.count()).select_from(ProductionLine).scalar_subquery().label("lines"),
            select(func.count()).select_from(Supplier).scalar_subquery().label("suppliers"),
            select(func.count()).select_from(Style).scalar_subquery().label("styles"),
            select(func.count()).select_from(Batch).scalar_subquery().label("batches"),
        )
    ).one()
    return dict(row._mapping)
