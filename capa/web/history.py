"""How the pages write a record's history (``templates/_history.html``): what changed, and stored values, in the
reader's language.

An entry keeps its field and values as stored (``approval``, ``suspended``, ``yes``), so that the history reads
the same whatever language it was written in; here they are named for the reader. A value without a label
(a name, a lot number, a summary) is shown as stored.
"""

from typing import Any

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.fields.core import UnboundField

from capa.audit.records import Entry
from capa.web.accounts.forms import ROLE_LABELS
from capa.web.inspections.forms import AREA_LABELS, CLASS_LABELS
from capa.web.masterdata.forms import APPROVAL_LABELS, LOT_KIND_LABELS, StyleEditForm

#: The fields of master data, users, styles and parameters that have a history, by their stored name.
FIELD_LABELS: dict[str, Any] = {
    "name": _l("Name"),
    "approval": _l("Approval"),
    "role": _l("Role"),
    "active": _l("Active"),
    "email": _l("E-mail"),
    "full_name": _l("Full name"),
    "lots": _l("Material lots"),
    "batches": _l("Used in batches"),
    "colourways": _l("Colourways"),
    "kind": _l("Kind"),
    "market": _l("Market"),
    "applies_when": _l("Applies"),
    "mandatory": _l("Mandatory"),
    "reporting_limit": _l("Default reporting limit"),
    "retired": _l("Retired from the catalog"),
    "effectiveness_days": _l("Days to the effectiveness review"),
    "parameters": _l("Safety parameters"),
    "name_zh": _l("Chinese name"),
    "defect_class": _l("Class"),
    "area": _l("Area"),
    "defect_type": _l("Defect type of the NC it raises"),
    "aql_major": _l("AQL, major defects"),
    "aql_minor": _l("AQL, minor defects"),
    "spec": _l("Measurement spec"),
}

#: What happened, for the entries that are not the change of one field.
KIND_LABELS: dict[str, Any] = {
    "created": _l("Created"),
    "lots": _l("Lots added"),
    "concession": _l("Lot taken under a concession"),
    "decision": _l("Approval decided on the scorecard"),
    "password": _l("Password changed"),
    "token_issued": _l("API token issued"),
    "token_revoked": _l("API token revoked"),
}

#: Stored values with a label, by field.
VALUE_LABELS: dict[str, dict[str, Any]] = {
    "approval": APPROVAL_LABELS,
    "role": ROLE_LABELS,
    "kind": LOT_KIND_LABELS,
    "defect_class": CLASS_LABELS,
    "area": AREA_LABELS,
}


def _style_labels() -> dict[str, Any]:
    """The style form's labels, by field (the fields it inherits included)."""
    fields = {name: getattr(StyleEditForm, name) for name in dir(StyleEditForm)}
    return {name: field.args[0] for name, field in fields.items() if isinstance(field, UnboundField) and field.args}


def history_what(entry: Entry) -> str:
    """What an entry changed: the field's label, or what happened."""
    if entry.kind == "field":
        labels = {**_style_labels(), **FIELD_LABELS}
        return str(labels.get(entry.field, entry.field))
    if entry.kind == "limit":
        return _("Limit for %(category)s", category=entry.field)
    if entry.kind == "plan":
        return _("Quality plan: %(parameter)s", parameter=entry.field)
    return str(KIND_LABELS.get(entry.kind, entry.kind.replace("_", " ")))


def history_value(value: str, entry: Entry) -> str:
    """An old or new value of ``entry`` in the reader's language where it is a word of the app's vocabulary."""
    if value == "yes":
        return _("yes")
    if value == "no":
        return _("no")
    if entry.kind == "plan":
        return _("added to the plan") if value == "added" else _("dropped from the plan")
    labels = VALUE_LABELS.get(entry.field, {})
    return str(labels.get(value, value))


def init_app(app: Flask) -> None:
    app.add_template_filter(history_what)
    app.add_template_filter(history_value)
