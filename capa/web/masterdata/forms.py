from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired
from wtforms.widgets import CheckboxInput, ListWidget

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
from capa.web.forms import options

APPROVAL_LABELS = {
    SupplierApproval.APPROVED: _l("Approved"),
    SupplierApproval.CONDITIONAL: _l("Conditional"),
    SupplierApproval.SUSPENDED: _l("Suspended"),
    SupplierApproval.DISQUALIFIED: _l("Disqualified"),
}
CATEGORY_LABELS = {
    SafetyCategory.A: _l("A: infants, 36 months and under"),
    SafetyCategory.B: _l("B: in direct contact with the skin"),
    SafetyCategory.C: _l("C: not in direct contact with the skin"),
}
LOT_KIND_LABELS = {
    LotKind.FABRIC: _l("Fabric"),
    LotKind.DYE_LOT: _l("Dye lot"),
    LotKind.TRIM: _l("Trim"),
    LotKind.THREAD: _l("Thread"),
    LotKind.LABEL: _l("Label"),
    LotKind.PACKAGING: _l("Packaging"),
    LotKind.OTHER: _l("Other"),
}


class CheckboxesField(SelectMultipleField):
    """Several choices as a group of check boxes (rendered as a fieldset by the form templates)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LineForm(FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired()])
    name = StringField(_l("Name"), validators=[InputRequired()])


class SupplierForm(FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired()])
    name = StringField(_l("Name"), validators=[InputRequired()])
    approval = SelectField(_l("Approval"), choices=options(APPROVAL_LABELS))
    approved_kinds = CheckboxesField(
        _l("Approved for (none checked: every kind of material)"), choices=options(LOT_KIND_LABELS)
    )
    # Checked by the command, which names a bad date beside the field.
    reevaluate_on = StringField(_l("Re-evaluate the approval by (YYYY-MM-DD)"))


class ApprovalDecisionForm(FlaskForm):
    """A quality manager's decision on a supplier's approval, from its scorecard."""

    approval = SelectField(_l("Approval decided"), choices=options(APPROVAL_LABELS))
    approved_kinds = CheckboxesField(
        _l("Approved for (none checked: every kind of material)"), choices=options(LOT_KIND_LABELS)
    )
    # The catalog's parameters of suppliers' material; the page sets the choices.
    approved_parameters = CheckboxesField(
        _l("Approved for the safety parameters (none checked: every parameter)"), choices=[]
    )
    # Checked by the command, which names a bad date beside the field.
    reevaluate_on = StringField(_l("Re-evaluate the approval by (YYYY-MM-DD)"))
    reason = TextAreaField(_l("Why (kept with the decision and in the supplier's history)"))


class BuyerForm(FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired()])
    name = StringField(_l("Name"), validators=[InputRequired()])


class SupplierEditForm(SupplierForm):
    reason = TextAreaField(_l("Reason for a change of approval (kept in the supplier's history)"))


AGE_GROUP_LABELS = {
    AgeGroup.INFANT: _l("Infants, 36 months and under"),
    AgeGroup.CHILD_3_7: _l("Children over 3 up to 7 years (about 130 cm)"),
    AgeGroup.CHILD_7_14: _l("Children 7 to 14 years"),
}
MARKET_LABELS = {Market.CN: _l("China"), Market.EU: _l("European Union"), Market.US: _l("United States")}
TRIM_SIZE_LABELS = {
    TrimSize.SMALL: _l("Small: 3 mm or less"),
    TrimSize.MEDIUM: _l("Medium: over 3 up to 6 mm"),
    TrimSize.LARGE: _l("Large: over 6 mm"),
}
CORD_PLACE_LABELS = {
    CordPlace.HOOD_NECK: _l("Hood and neck"),
    CordPlace.WAIST: _l("Waist"),
    CordPlace.HEM: _l("Lower hem"),
    CordPlace.SLEEVE: _l("Sleeve"),
    CordPlace.BACK: _l("Back"),
    CordPlace.TIE_BELT: _l("Tie belt"),
    CordPlace.SHOULDER_STRAP: _l("Shoulder straps"),
    CordPlace.OTHER: _l("Elsewhere"),
}
FILL_LABELS = {Fill.NONE: _l("No fill"), Fill.FIBRE: _l("Fibre fill"), Fill.DOWN: _l("Down or feather")}


class StyleForm(FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired()])
    name = StringField(_l("Name"), validators=[InputRequired()])
    category = SelectField(_l("Safety category (GB 18401)"), choices=options(CATEGORY_LABELS))
    cmia_required = BooleanField(_l("Tech pack requires CMIA compliance"))
    # Choices (the buyers) set by the view; the service refuses an unknown one.
    buyer = SelectField(_l("Buyer"), choices=[], validate_choice=False)
    age_group = SelectField(
        _l("Age group"), choices=options(AGE_GROUP_LABELS, blank=True), default="", validate_choice=False
    )
    markets = CheckboxesField(_l("Sold in"), choices=options(MARKET_LABELS), default=[Market.CN.value])
    prints = BooleanField(_l("Has prints or coatings"))
    trims = CheckboxesField(_l("Trims and attachments, by largest dimension"), choices=options(TRIM_SIZE_LABELS))
    metal_parts = BooleanField(_l("Has metal parts (snaps, rivets, zips)"))
    cords = CheckboxesField(_l("Cords, drawstrings or ties"), choices=options(CORD_PLACE_LABELS))
    # Checked by the command, which reads a fill left out as "unchanged".
    fill = SelectField(_l("Fill"), choices=options(FILL_LABELS), default=Fill.NONE.value, validate_choice=False)
    dark_shade = BooleanField(_l("Dark shade (deeper than 1/1 standard depth)"))
    raised_surface = BooleanField(_l("Raised-fibre surface (fleece, pile)"))
    sleepwear = BooleanField(_l("Children's sleepwear"))
    childcare = BooleanField(_l("Child-care article (bib, sleepwear for 3 years and under)"))
    fibre_content = StringField(_l("Fibre content as on the label"))


class StyleEditForm(StyleForm):
    reason = TextAreaField(_l("Reason for a change of category or attributes"))


class LotForm(Form):
    """One row of a batch's material lots; a row left blank is ignored."""

    number = StringField(_l("Lot number"))
    kind = SelectField(_l("Kind"), choices=options(LOT_KIND_LABELS, blank=True), default="")
    supplier = SelectField(_l("Supplier"), choices=[], validate_choice=False)
    concession = StringField(_l("Concession: why, if its supplier is not approved for it"))

    def is_blank(self) -> bool:
        filled = (self.number.data, self.kind.data, self.supplier.data, self.concession.data)
        return not any((value or "").strip() for value in filled)


class BatchForm(FlaskForm):
    number = StringField(_l("Batch number"), validators=[InputRequired()])
    style = SelectField(_l("Style"), choices=[], validate_choice=False)
    line = SelectField(_l("Line"), choices=[], validate_choice=False)
    lots = FieldList(FormField(LotForm), min_entries=4)


class AddLotsForm(FlaskForm):
    lots = FieldList(FormField(LotForm), min_entries=4)
