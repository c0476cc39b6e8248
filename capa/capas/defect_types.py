"""Defect types and the safety parameters each usually concerns: the seeded list and its editing.

Loaded by ``init-db``: types missing from the database are added; a type that exists is left as the
quality manager edited it. A type's code is lower-case letters, digits and ``_``, unique, and never changes;
its parameters must exist in the catalog.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from capa.capas.commands import DefectTypeChanges, NewDefectType
from capa.capas.lookup import find_defect_type, find_parameters
from capa.capas.models import (
    DefectType,
)
from capa.common.errors import Duplicate, NotFound
from capa.common.transaction import unit_of_work
from capa.safety.models import SafetyParameter

#: (code, name, parameter codes)
SEED: list[tuple[str, str, tuple[str, ...]]] = [
    ("loose_button", "Loose button", ("CN-ATT-3TO6", "CN-ATT-GT6")),
    ("broken_stitch", "Broken stitch", ()),
    ("open_seam", "Open seam", ()),
    ("colorfastness_failure", "Colorfastness failure", ("CN-CF-SALIVA", "CN-CF-PERSP-ACID", "CN-CF-PERSP-ALK")),
    ("formaldehyde_over_limit", "Formaldehyde over limit", ("CN-FORM",)),
    ("ph_out_of_range", "pH out of range", ("CN-PH",)),
    ("azo_dye_found", "Azo dye found", ("CN-AZO",)),
    ("drawstring_non_compliant", "Drawstring non-compliant", ("CN-CORD-HOOD-U7", "CN-CORD-OTHER")),
    ("sharp_point_or_edge", "Sharp point or edge", ("CN-SHARP-POINT", "CN-SHARP-EDGE")),
    ("small_part_detached", "Small part detached", ("CN-ATT-SMALL", "CN-ATT-3TO6")),
    ("needle_or_metal_found", "Needle or metal found", ()),
    ("shade_variation", "Shade variation", ()),
    ("measurement_out_of_tolerance", "Measurement out of tolerance", ()),
    ("labelling_error", "Labelling error", ("CN-LABEL-18401", "CN-LABEL-31701")),
    ("stain", "Stain", ()),
]


@dataclass
class SeedReport:
    added: int = 0


def load_defect_types() -> SeedReport:
    """Add the seeded defect types that are missing; returns how many were added."""
    report = SeedReport()
    with unit_of_work() as session:
        existing = set(session.scalars(select(DefectType.code)))
        parameters = {p.code: p for p in session.scalars(select(SafetyParameter))}
        for code, name, parameter_codes in SEED:
            if code in existing:
                continue
            session.add(
                DefectType(
                    code=code,
                    name=name,
                    active=True,
                    parameters=[parameters[c] for c in parameter_codes if c in parameters],
                )
            )
            report.added += 1
    return report


def get_defect_type(code: str) -> DefectType:
    defect_type = find_defect_type(code)
    if defect_type is None:
        raise NotFound(str(_l("No defect type %(code)s.", code=code)), fields={"code": "unknown"})
    return defect_type


def save_defect_type(defect_type: DefectType | None, command: NewDefectType | DefectTypeChanges) -> DefectType:
    """Create (``defect_type`` None, a NewDefectType) or change a defect type; the code of an existing type
    stays. Raises ValidationError for an unknown parameter, or Duplicate for a taken code."""
    values = command.given() if defect_type is not None else command.model_dump()
    parameters = find_parameters(values["parameters"], "parameters") if values.get("parameters") is not None else None
    if defect_type is None and find_defect_type(values["code"]) is not None:
        raise Duplicate(
            str(_l("A defect type %(code)s exists already.", code=values["code"])),
            fields={"code": str(_l("Already in use."))},
        )
    with unit_of_work() as session:
        if defect_type is None:
            defect_type = DefectType(code=values["code"])
            session.add(defect_type)
        for name in ("name", "active"):
            if name in values:
                setattr(defect_type, name, values[name])
        if parameters is not None:
            defect_type.parameters = parameters
    return defect_type
