"""What the master-data services accept: lines, suppliers, styles, batches and their lots.

A ``New…`` command creates a record; a ``…Changes`` command changes only the fields it carries (a code is a
record's identity and never changes).
"""

from pydantic import Field

from capa.common.commands import Boolean, Choice, Code, Command, Items, Text
from capa.masterdata.models import LotKind, SafetyCategory, SupplierApproval

Name = Text(120)


class NewLine(Command):
    code: Code()
    name: Name


class LineChanges(Command):
    code: Code() = None
    name: Name = None


class NewSupplier(Command):
    code: Code()
    name: Name
    #: Approved unless said otherwise.
    approval: Choice(SupplierApproval, required=False) = None


class SupplierChanges(Command):
    code: Code() = None
    name: Name = None
    approval: Choice(SupplierApproval) = None


class NewStyle(Command):
    code: Code()
    name: Name
    #: GB 18401: A infants (36 months and under), B skin contact, C no skin contact.
    category: Choice(SafetyCategory)
    #: The tech pack requires CMIA testing: the style gets a quality plan.
    cmia_required: Boolean = False


class StyleChanges(Command):
    code: Code() = None
    name: Name = None
    category: Choice(SafetyCategory) = None
    cmia_required: Boolean = None


class NewLot(Command):
    number: Code(64)
    kind: Choice(LotKind)
    #: The supplier's code.
    supplier: Code()


class NewBatch(Command):
    number: Code(64)
    #: The style's code.
    style: Code()
    #: The production line's code.
    line: Code()
    #: Lots seen before are reused and must match their recorded kind and supplier.
    lots: Items(NewLot) = Field(default_factory=list)


class AddLots(Command):
    lots: Items(NewLot, required=True)
