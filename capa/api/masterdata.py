"""Lines, suppliers, styles and batches: read by every role, written by quality managers and admins."""

from typing import Any

from flask import jsonify

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp, json_body
from capa.capas import queries
from capa.masterdata import service
from capa.masterdata.models import Batch, MaterialLot, ProductionLine, Style, Supplier


def line_json(line: ProductionLine) -> dict[str, Any]:
    return {"code": line.code, "name": line.name}


def supplier_json(supplier: Supplier) -> dict[str, Any]:
    return {"code": supplier.code, "name": supplier.name, "approval": supplier.approval}


def style_json(style: Style) -> dict[str, Any]:
    return {
        "code": style.code,
        "name": style.name,
        "category": style.category,
        "cmia_required": style.cmia_required,
    }


def lot_json(lot: MaterialLot) -> dict[str, Any]:
    return {
        "number": lot.number,
        "kind": lot.kind,
        "supplier": lot.supplier.code,
        "supplier_approval": lot.supplier.approval,
    }


def batch_json(batch: Batch, held_by: list[str] | None = None) -> dict[str, Any]:
    return {
        "number": batch.number,
        "style": batch.style.code,
        "line": batch.line.code,
        "category": batch.style.category,
        "lots": [lot_json(lot) for lot in batch.lots],
        #: The open NCs that hold this batch or one of its lots: goods that must not move on.
        "held_by": queries.held_numbers(batch) if held_by is None else held_by,
    }


def _items(records, serialize):
    return jsonify({"items": [serialize(record) for record in records]})


def _created(record, serialize):
    return jsonify(serialize(record)), 201


@bp.get("/lines")
@requires(Permission.VIEW)
def list_lines():
    return _items(service.list_lines(), line_json)


@bp.post("/lines")
@requires(Permission.MANAGE_MASTERDATA)
def create_line():
    return _created(service.create_line(json_body()), line_json)


@bp.get("/lines/<code>")
@requires(Permission.VIEW)
def get_line(code: str):
    return jsonify(line_json(service.get_line(code)))


@bp.patch("/lines/<code>")
@requires(Permission.MANAGE_MASTERDATA)
def update_line(code: str):
    return jsonify(line_json(service.update_line(service.get_line(code), json_body())))


@bp.get("/suppliers")
@requires(Permission.VIEW)
def list_suppliers():
    return _items(service.list_suppliers(), supplier_json)


@bp.post("/suppliers")
@requires(Permission.MANAGE_MASTERDATA)
def create_supplier():
    return _created(service.create_supplier(json_body()), supplier_json)


@bp.get("/suppliers/<code>")
@requires(Permission.VIEW)
def get_supplier(code: str):
    return jsonify(supplier_json(service.get_supplier(code)))


@bp.patch("/suppliers/<code>")
@requires(Permission.MANAGE_MASTERDATA)
def update_supplier(code: str):
    return jsonify(supplier_json(service.update_supplier(service.get_supplier(code), json_body())))


@bp.get("/styles")
@requires(Permission.VIEW)
def list_styles():
    return _items(service.list_styles(), style_json)


@bp.post("/styles")
@requires(Permission.MANAGE_MASTERDATA)
def create_style():
    return _created(service.create_style(json_body()), style_json)


@bp.get("/styles/<code>")
@requires(Permission.VIEW)
def get_style(code: str):
    return jsonify(style_json(service.get_style(code)))


@bp.patch("/styles/<code>")
@requires(Permission.MANAGE_MASTERDATA)
def update_style(code: str):
    return jsonify(style_json(service.update_style(service.get_style(code), json_body())))


@bp.get("/batches")
@requires(Permission.VIEW)
def list_batches():
    batches = service.list_batches()
    held = queries.held_numbers_for(batches)
    return jsonify({"items": [batch_json(batch, held[batch.id]) for batch in batches]})


@bp.post("/batches")
@requires(Permission.MANAGE_MASTERDATA)
def create_batch():
    return _created(service.create_batch(json_body()), batch_json)


@bp.get("/batches/<number>")
@requires(Permission.VIEW)
def get_batch(number: str):
    return jsonify(batch_json(service.get_batch(number)))


@bp.post("/batches/<number>/lots")
@requires(Permission.MANAGE_MASTERDATA)
def add_batch_lots(number: str):
    return jsonify(batch_json(service.add_lots(service.get_batch(number), json_body())))
