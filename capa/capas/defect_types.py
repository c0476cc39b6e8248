"""The seeded list of defect types and the safety parameters each usually concerns.

Loaded by ``init-db``: types missing from the database are added; a type that exists is left as the
quality manager edited it.
"""

from dataclasses import dataclass

from sqlalchemy import select

from capa.capas.models import DefectType
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
