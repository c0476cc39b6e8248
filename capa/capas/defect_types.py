"""Defect types and the safety parameters each usually concerns: the seeded list and its editing.

Loaded by ``init-db``: types missing from the database are added; a type that exists is left as the
quality manager edited it, except that a seeded type without a Chinese name gets the seed's. A type's code
is lower-case letters, digits and ``_``, unique, and never changes; its parameters must exist in the catalog;
its ``effectiveness_days`` (1 to 730, 90 unless set) date the effectiveness review of its closed CAPAs.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from capa.accounts.models import User
from capa.audit import records
from capa.capas.commands import DefectTypeChanges, NewDefectType
from capa.capas.lookup import find_defect_type, find_parameters
from capa.capas.models import (
    DefectType,
)
from capa.common.errors import Duplicate, NotFound
from capa.common.transaction import unit_of_work
from capa.safety.models import SafetyParameter

#: (code, name, Chinese name, parameter codes)
SEED: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("loose_button", "Loose button", "纽扣松脱", ("CN-ATT-3TO6", "CN-ATT-GT6")),
    ("broken_stitch", "Broken stitch", "断线", ()),
    ("open_seam", "Open seam", "开缝", ()),
    (
        "colorfastness_failure",
        "Colorfastness failure",
        "色牢度不合格",
        ("CN-CF-SALIVA", "CN-CF-PERSP-ACID", "CN-CF-PERSP-ALK"),
    ),
    ("formaldehyde_over_limit", "Formaldehyde over limit", "甲醛超标", ("CN-FORM",)),
    ("ph_out_of_range", "pH out of range", "pH值超出范围", ("CN-PH",)),
    ("azo_dye_found", "Azo dye found", "检出禁用偶氮染料", ("CN-AZO",)),
    ("drawstring_non_compliant", "Drawstring non-compliant", "绳带不符合要求", ("CN-CORD-HOOD-U7", "CN-CORD-OTHER")),
    ("sharp_point_or_edge", "Sharp point or edge", "锐利尖端或边缘", ("CN-SHARP-POINT", "CN-SHARP-EDGE")),
    ("small_part_detached", "Small part detached", "小部件脱落", ("CN-ATT-SMALL", "CN-ATT-3TO6")),
    ("needle_or_metal_found", "Needle or metal found", "发现断针或金属", ()),
    ("shade_variation", "Shade variation", "色差", ()),
    ("measurement_out_of_tolerance", "Measurement out of tolerance", "尺寸超出公差", ()),
    ("labelling_error", "Labelling error", "标签错误", ("CN-LABEL-18401", "CN-LABEL-31701")),
    ("stain", "Stain", "污渍", ()),
    ("fabric_points_over_limit", "Fabric defects over the acceptance points", "面料疵点评分超标", ()),
    ("fabric_width_short", "Cuttable width short", "有效门幅不足", ()),
    ("packing_error", "Packing error", "包装错误", ()),
]


@dataclass
class SeedReport:
    added: int = 0


def load_defect_types() -> SeedReport:
    """Add the seeded defect types that are missing, and the Chinese name of a seeded type that has none;
    returns how many were added."""
    report = SeedReport()
    with unit_of_work() as session:
        existing = {defect_type.code: defect_type for defect_type in session.scalars(select(DefectType))}
        parameters = {p.code: p for p in session.scalars(select(SafetyParameter))}
        for code, name, name_zh, parameter_codes in SEED:
            if code in existing:
                if not existing[code].name_zh:
                    existing[code].name_zh = name_zh
                continue
            session.add(
                DefectType(
                    code=code,
                    name=name,
                    name_zh=name_zh,
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


def save_defect_type(
    defect_type: DefectType | None, command: NewDefectType | DefectTypeChanges, actor: User | None = None
) -> DefectType:
    """Create (``defect_type`` None, a NewDefectType) or change a defect type; the code of an existing type
    stays. The creation and each changed field are recorded in the type's history with ``actor``. Raises
    ValidationError for an unknown parameter, or Duplicate for a taken code."""
    values = command.given() if defect_type is not None else command.model_dump()
    parameters = find_parameters(values["parameters"], "parameters") if values.get("parameters") is not None else None
    if defect_type is None and find_defect_type(values["code"]) is not None:
        raise Duplicate(
            str(_l("A defect type %(code)s exists already.", code=values["code"])),
            fields={"code": str(_l("Already in use."))},
        )
    with unit_of_work() as session:
        created = defect_type is None
        if defect_type is None:
            defect_type = DefectType(code=values["code"])
            session.add(defect_type)
        before = None if created else _recorded(defect_type)
        for name in ("name", "active", "effectiveness_days"):
            if values.get(name) is not None:
                setattr(defect_type, name, values[name])
        if "name_zh" in values:
            # A blank Chinese name means none: the English name stands in on Chinese pages.
            defect_type.name_zh = values["name_zh"] or ""
        if parameters is not None:
            defect_type.parameters = parameters
        if created:
            # Flushed first, so that the defaults it was stored with are what its history says.
            session.flush()
        records.note_saved("defect_type", defect_type, actor, before, _recorded(defect_type))
    return defect_type


def _recorded(defect_type: DefectType) -> dict:
    """What a defect type's history records of it."""
    return {
        "name": defect_type.name,
        "name_zh": defect_type.name_zh,
        "active": defect_type.active,
        "effectiveness_days": defect_type.effectiveness_days,
        "parameters": [parameter.code for parameter in defect_type.parameters],
    }
