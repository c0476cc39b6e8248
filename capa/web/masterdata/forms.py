from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, StringField
from wtforms.validators import InputRequired

from capa.masterdata.models import LotKind, SafetyCategory, SupplierApproval
from capa.web.forms import options

APPROVAL_LABELS = {
    SupplierApproval.APPROVED: _l("Approved"),
    SupplierApproval.CONDITIONAL: _l("Conditional"),
    SupplierApproval.SUSPENDED: _l("Suspended"),
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


class LineForm(FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired()])
    name = StringField(_l("Name"), validators=[InputRequired()])


class SupplierForm(FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired()])
    name = StringField(_l("Name"), validators=[InputRequired()])
    approval = SelectField(_l("Approval"), choices=options(APPROVAL_LABELS))


class StyleForm(FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired()])
    name = StringField(_l("Name"), validators=[InputRequired()])
    category = SelectField(_l("Safety category (GB 18401)"), choices=options(CATEGORY_LABELS))
    cmia_required = BooleanField(_l("Tech pack requires CMIA compliance"))


class LotForm(Form):
    """One row of a batch's material lots; a row left blank is ignored."""

    number = StringField(_l("Lot number"))
    kind = SelectField(_l("Kind"), choices=options(LOT_KIND_LABELS, blank=True), default="")
    supplier = SelectField(_l("Supplier"), choices=[], validate_choice=False)

    def is_blank(self) -> bool:
        return not (self.number.data or "").strip() and not self.kind.data and not self.supplier.data


class BatchForm(FlaskForm):
    number = StringField(_l("Batch number"), validators=[InputRequired()])
    style = SelectField(_l("Style"), choices=[], validate_choice=False)
    line = SelectField(_l("Line"), choices=[], validate_choice=False)
    lots = FieldList(FormField(LotForm), min_entries=4)


class AddLotsForm(FlaskForm):
    lots = FieldList(FormField(LotForm), min_entries=4)
