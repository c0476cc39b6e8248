"""What the master-data services accept: lines, suppliers, buyers, styles, batches and their lots.

A ``New…`` command creates a record; a ``…Changes`` command changes only the fields it carries (a code is a
record's identity and never changes).
"""

from pydantic import Field

from capa.common.commands import Boolean, Choice, Code, Command, Day, Items, Text
from capa.masterdata.models import (
    AgeGroup,
    CordPlace,
    Fill,
    LotKind,
    Market,
    SafetyCategory,
    SupplierApproval,
    TrimSize,
)

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
    #: The material kinds the approval covers (fabric, dye_lot, trim, thread, label, packaging, other); none: all.
    approved_kinds: Items(Choice(LotKind), max_items=len(LotKind)) = Field(default_factory=list)
    #: The day the approval is to be evaluated again (``YYYY-MM-DD``); after it the approval lapses.
    reevaluate_on: Day(required=False) = None


class SupplierChanges(Command):
    """A supplier's changes; a change of its approval, of the kinds it covers or of its re-evaluation date needs a
    ``reason``, kept in its history."""

    code: Code() = None
    name: Name = None
    approval: Choice(SupplierApproval) = None
    #: The material kinds the approval covers; an empty list: all kinds; null or left out: unchanged.
    approved_kinds: Items(Choice(LotKind), max_items=len(LotKind), null_is_empty=False) = None
    #: The day the approval is to be evaluated again; null takes the date away.
    reevaluate_on: Day(required=False) = None
    #: Why, for a change of the approval, its kinds or its date (whether its material may be used).
    reason: Text(1000, required=False) = None


class NewBuyer(Command):
    code: Code()
    name: Name


class BuyerChanges(Command):
    code: Code() = None
    name: Name = None


Markets = Items(Choice(Market), max_items=3, null_is_empty=False)
TrimSizes = Items(Choice(TrimSize), max_items=3, null_is_empty=False)
CordPlaces = Items(Choice(CordPlace), max_items=8, null_is_empty=False)
FibreContent = Text(200, required=False)


class NewStyle(Command):
    code: Code()
    name: Name
    #: GB 18401: A infants (36 months and under), B skin contact, C no skin contact.
    category: Choice(SafetyCategory)
    #: The tech pack requires CMIA testing: the style gets a quality plan.
    cmia_required: Boolean = False
    #: The buyer's code; none for the factory's own style. Its AQLs apply where the style has none of its own.
    buyer: Code(required=False) = None
    # What decides which safety parameters apply (capa.safety.applicability).
    #: infant (36 months and under), child_3_7, child_7_14.
    age_group: Choice(AgeGroup, required=False) = None
    #: Where it is sold: CN, EU, US. China unless said otherwise.
    markets: Items(Choice(Market), max_items=3, null_is_empty=False) = Field(default_factory=lambda: [Market.CN])
    #: Has prints or coatings.
    prints: Boolean = False
    #: Size classes of its attachments: small (3 mm or less), medium (over 3 up to 6 mm), large (over 6 mm).
    trims: Items(Choice(TrimSize), max_items=3) = Field(default_factory=list)
    metal_parts: Boolean = False
    #: Where it has cords: hood_neck, waist, hem, sleeve, back, tie_belt, shoulder_strap, other.
    cords: Items(Choice(CordPlace), max_items=8) = Field(default_factory=list)
    fill: Choice(Fill, required=False) = Fill.NONE
    dark_shade: Boolean = False
    raised_surface: Boolean = False
    sleepwear: Boolean = False
    childcare: Boolean = False
    fibre_content: FibreContent = None


class StyleChanges(Command):
    """A style's changes; a change of what decides its safety judgements (category and the attributes below it)
    needs a ``reason``, and judges its results again."""

    code: Code() = None
    name: Name = None
    category: Choice(SafetyCategory) = None
    cmia_required: Boolean = None
    #: The buyer's code; null (given) takes the buyer away.
    buyer: Code(required=False) = None
    age_group: Choice(AgeGroup, required=False) = None
    markets: Markets = None
    prints: Boolean = None
    trims: TrimSizes = None
    metal_parts: Boolean = None
    cords: CordPlaces = None
    fill: Choice(Fill, required=False) = None
    dark_shade: Boolean = None
    raised_surface: Boolean = None
    sleepwear: Boolean = None
    childcare: Boolean = None
    fibre_content: FibreContent = None
    #: Why, for a change of the category or of an attribute that decides which limits apply.
    reason: Text(1000, required=False) = None


class NewLot(Command):
    number: Code(64)
    kind: Choice(LotKind)
    #: The supplier's code.
    supplier: Code()
    #: Why the lot may go into a CMIA batch although its supplier is not approved for that material: a quality
    #: manager's concession, recorded with the batch. Needed only then.
    concession: Text(1000, required=False) = None


class NewBatch(Command):
    number: Code(64)
    #: The style's code.
    style: Code()
    #: The production line's code.
    line: Code()
    #: Lots seen before are reused and must match their recorded kind and supplier.
    lots: Items(NewLot) = Field(default_factory=list)
    #: The colourways made in the batch ("navy", "red"); lab coverage is judged per colourway.
    colourways: Items(Text(80), max_items=30, drop_blank=True) = Field(default_factory=list)


class AddLots(Command):
    lots: Items(NewLot, required=True)
