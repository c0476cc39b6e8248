"""The records a filing names (defect type, line, style, batch, parameters), looked up together.

Each unknown or inconsistent one is a problem on its field; they are all gathered, so that a person who
filed with a mistyped line and a batch of another style sees both at once. The linked parameters default to
the defect type's usual ones that have a limit for the NC's category.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from capa.capas.lookup import find_defect_type, find_parameters
from capa.capas.models import DefectType
from capa.common.errors import ValidationError
from capa.masterdata import service as masterdata
from capa.masterdata.models import Batch, ProductionLine, Style
from capa.safety.models import SafetyParameter


@dataclass
class FilingReferences:
    defect_type: DefectType | None = None
    line: ProductionLine | None = None
    style: Style | None = None
    batch: Batch | None = None
    #: The style's category, or the one given when the NC names no style.
    category: str | None = None
    parameters: list[SafetyParameter] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)


def resolve_filing(values: Mapping[str, Any]) -> FilingReferences:
    """Look up what ``values`` (a filing's well-formed fields) name; ``problems`` holds one per bad field."""
    found = FilingReferences()
    problems = found.problems
    code = values.get("defect_type")
    if code:
        found.defect_type = find_defect_type(code)
        if found.defect_type is None or not found.defect_type.active:
            problems["defect_type"] = str(_l("No defect type %(code)s.", code=code))
    if values.get("line"):
        found.line = masterdata.find_line(values["line"])
        if found.line is None:
            problems["line"] = str(_l("No line %(value)s.", value=values["line"]))
    if values.get("style"):
        found.style = masterdata.find_style(values["style"])
        if found.style is None:
            problems["style"] = str(_l("No style %(value)s.", value=values["style"]))
    if values.get("batch"):
        found.batch = masterdata.find_batch(values["batch"])
        if found.batch is None:
            problems["batch"] = str(_l("No batch %(value)s.", value=values["batch"]))
    batch, style = found.batch, found.style
    if batch is not None and style is not None and batch.style_id != style.id:
        problems["batch"] = str(
            _l("Batch %(batch)s is of style %(style)s.", batch=batch.number, style=batch.style.code)
        )
    if batch is not None and style is None and not values.get("style"):
        found.style = batch.style
    found.category = found.style.category if found.style is not None else values.get("category")
    try:
        if values.get("parameters") is not None:
            found.parameters = find_parameters(values["parameters"], "parameters", category=found.category)
        elif found.defect_type is not None:
            found.parameters = [
                p
                for p in found.defect_type.parameters
                if found.category is None or p.limit_for(found.category) is not None
            ]
    except ValidationError as exc:
        problems.update(exc.fields)
    return found
