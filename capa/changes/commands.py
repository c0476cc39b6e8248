"""What change control takes: a change request, its conditions, how a condition is met, a rejection, a link to an
NC."""

from capa.changes.models import ChangeStatus, ChangeSubject, ConditionKind
from capa.common.commands import Choice, Code, Command, Day, Integer, Items, Text
from capa.masterdata.models import LotKind


class NewChange(Command):
    """A change request: what changes, why, from when, and what it concerns."""

    subject: Choice(ChangeSubject)
    #: What changes, in a line ("Fixing agent FA-2 replaced by FA-7").
    title: Text(200)
    #: From what to what, in full; optional.
    description: Text(4000, required=False) = None
    reason: Text(4000)
    #: The day it is to take effect from (``YYYY-MM-DD``), today or later.
    effective_from: Day()
    #: The supplier whose material changes, or the new supplier: required but for a process change.
    supplier: Code(required=False) = None
    #: The kind of material that changes (fabric, dye_lot, trim…); left out: every kind of the supplier.
    lot_kind: Choice(LotKind, required=False) = None
    #: The line a process change is made on: a process change names a line or styles.
    line: Code(required=False) = None
    #: Styles it concerns besides those its supplier's material or its line reach.
    styles: Items(Code(), max_items=200) = []
    #: NCs it is linked to (the NC whose CAPA raised it), by number.
    ncs: Items(Code(64), max_items=50) = []
    #: The CAPA action that raised it, by id: its NC is linked too.
    action: Integer(required=False, minimum=1) = None


class NewCondition(Command):
    """A condition the change takes effect on."""

    #: ``lab_test`` (with ``parameter``), ``first_article``, ``buyer_notification`` (with ``buyer``).
    kind: Choice(ConditionKind)
    parameter: Code(40, required=False) = None
    buyer: Code(required=False) = None
    #: What is asked, in words.
    note: Text(2000, required=False) = None


class MeetCondition(Command):
    """How a condition was met: a lab test by a passing result on the new material, a first article by an accepted
    final inspection of a batch of a style the change concerns, a buyer's notification by its reference."""

    result: Integer(required=False, minimum=1) = None
    inspection: Integer(required=False, minimum=1) = None
    reference: Text(2000, required=False) = None


class Rejection(Command):
    reason: Text(2000)


class NcLink(Command):
    """An NC linked to a change: a later NC whose cause the change was."""

    nc: Code(64)


class ChangeFilters(Command):
    status: Choice(ChangeStatus, required=False) = None
