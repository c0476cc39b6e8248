"""The defect library: coded defects with their class (critical, major, minor) and area, the seeded list and
its editing.

The rules:
- a code is upper-case letters, digits and ``-_./`` (``SEW-01``), unique, and never changes;
- every safety defect is critical (a needle or metal fragment, a detached small part, a sharp point, a
  non-compliant cord): a code of the safety area with another class is refused, naming ``defect_class``;
- its defect type and parameters must exist (the defect type is the one an NC raised for it is filed under);
- ``init-db`` adds the seeded codes that are missing and leaves existing ones as the quality managers edited
  them; the creation and every change is kept in the code's history.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from capa.accounts.models import User
from capa.audit import records
from capa.capas.lookup import find_defect_type, find_parameters, invalid
from capa.capas.models import DefectType
from capa.common.errors import Duplicate, NotFound
from capa.common.transaction import unit_of_work
from capa.common.types import identifier
from capa.extensions import db
from capa.inspections.commands import DefectCodeChanges, DefectCodeFilters, DefectsFound, NewDefectCode
from capa.inspections.models import DefectArea, DefectClass, DefectCode
from capa.safety.models import SafetyParameter

C, MA, MI = DefectClass.CRITICAL, DefectClass.MAJOR, DefectClass.MINOR

#: (code, class, area, name, Chinese name, defect type, parameter codes)
SEED: list[tuple[str, DefectClass, DefectArea, str, str, str | None, tuple[str, ...]]] = [
    ("FAB-01", MA, DefectArea.FABRIC, "Hole", "破洞", None, ()),
    ("FAB-02", MI, DefectArea.FABRIC, "Slub or thick yarn", "粗节纱", None, ()),
    ("FAB-03", MA, DefectArea.FABRIC, "Shade variation within a garment", "同件色差", "shade_variation", ()),
    ("FAB-04", MI, DefectArea.FABRIC, "Stain", "污渍", "stain", ()),
    ("FAB-05", MA, DefectArea.FABRIC, "Dropped stitch in knit fabric", "漏针（针织面料）", None, ()),
    ("FAB-06", MI, DefectArea.FABRIC, "Pilling", "起毛起球", None, ()),
    ("SEW-01", MA, DefectArea.SEWING, "Open seam", "开缝", "open_seam", ()),
    ("SEW-02", MA, DefectArea.SEWING, "Broken stitch", "断线", "broken_stitch", ()),
    ("SEW-03", MI, DefectArea.SEWING, "Skipped stitch", "跳针", "broken_stitch", ()),
    ("SEW-04", MI, DefectArea.SEWING, "Stitch density off standard", "针距密度不符", None, ()),
    ("SEW-05", MI, DefectArea.SEWING, "Puckered seam", "缝迹起皱", None, ()),
    ("SEW-06", MI, DefectArea.SEWING, "Untrimmed thread ends", "线头未剪", None, ()),
    ("TRM-01", MA, DefectArea.TRIMS, "Loose button or snap", "纽扣或四合扣松动", "loose_button", ()),
    ("TRM-02", MA, DefectArea.TRIMS, "Zip not running smoothly", "拉链不顺滑", None, ()),
    ("TRM-03", MI, DefectArea.TRIMS, "Trim of the wrong colour", "辅料颜色错误", None, ()),
    ("MEA-01", MA, DefectArea.MEASUREMENT, "Measurement out of tolerance", "尺寸超出公差",
     "measurement_out_of_tolerance", ()),
    ("MEA-02", MI, DefectArea.MEASUREMENT, "Left and right not symmetrical", "左右不对称", None, ()),
    ("PAC-01", MI, DefectArea.PACKING, "Poor folding or presentation", "折叠不良", None, ()),
    ("PAC-02", MA, DefectArea.PACKING, "Wrong size or colour in the carton", "装箱错码或错色", None, ()),
    ("PAC-03", MA, DefectArea.PACKING, "Wrong carton marking", "箱唛错误", None, ()),
    ("LAB-01", MA, DefectArea.LABELLING, "Care label missing or wrong", "洗水唛缺失或错误", "labelling_error",
     ("CN-LABEL-18401", "CN-LABEL-31701")),
    ("LAB-02", MA, DefectArea.LABELLING, "Size label wrong", "尺码标错误", "labelling_error", ()),
    ("SAF-01", C, DefectArea.SAFETY, "Broken needle or metal fragment", "断针或金属碎片", "needle_or_metal_found", ()),
    ("SAF-02", C, DefectArea.SAFETY, "Small part detached", "小部件脱落", "small_part_detached",
     ("CN-ATT-SMALL", "CN-ATT-3TO6")),
    ("SAF-03", C, DefectArea.SAFETY, "Sharp point or edge", "锐利尖端或边缘", "sharp_point_or_edge",
     ("CN-SHARP-POINT", "CN-SHARP-EDGE")),
    ("SAF-04", C, DefectArea.SAFETY, "Cord or drawstring non-compliant", "绳带不符合要求", "drawstring_non_compliant",
     ("CN-CORD-HOOD-U7", "CN-CORD-OTHER")),
    ("SAF-05", C, DefectArea.SAFETY, "Button or snap fails its pull test", "纽扣或四合扣拉力不足", "loose_button",
     ("CN-ATT-3TO6", "CN-ATT-GT6")),
]  # fmt: skip


@dataclass
class SeedReport:
    added: int = 0


def load_defect_codes() -> SeedReport:
    """Add the seeded codes that are missing (with the defect types and parameters that exist); returns how many
    were added. A code that exists stays as it was edited."""
    report = SeedReport()
    with unit_of_work() as session:
        existing = set(session.scalars(select(DefectCode.code)))
        types = {defect_type.code: defect_type for defect_type in session.scalars(select(DefectType))}
        parameters = {p.code: p for p in session.scalars(select(SafetyParameter))}
        for code, defect_class, area, name, name_zh, type_code, parameter_codes in SEED:
            if code in existing:
                continue
            session.add(
                DefectCode(
                    code=code,
                    name=name,
                    name_zh=name_zh,
                    defect_class=defect_class.value,
                    area=area.value,
                    defect_type=types.get(type_code) if type_code else None,
                    active=True,
                    parameters=[parameters[c] for c in parameter_codes if c in parameters],
                )
            )
            report.added += 1
    return report


def list_defect_codes(filters: DefectCodeFilters | None = None) -> list[DefectCode]:
    """The library by area and code, filtered; its defect types and parameters read in the same go."""
    query = (
        select(DefectCode)
        .options(selectinload(DefectCode.defect_type), selectinload(DefectCode.parameters))
        .order_by(DefectCode.code)
    )
    if filters is not None:
        if filters.defect_class is not None:
            query = query.where(DefectCode.defect_class == filters.defect_class.value)
        if filters.area is not None:
            query = query.where(DefectCode.area == filters.area.value)
        if filters.active is not None:
            query = query.where(DefectCode.active == (filters.active == "true"))
    return list(db.session.scalars(query))


def find_defect_code(code: str) -> DefectCode | None:
    key = identifier(code, upper=True)
    return None if key is None else db.session.scalar(select(DefectCode).where(DefectCode.code == key))


def found_codes(entries: Sequence[DefectsFound], problems: dict[str, str]) -> list[DefectCode | None]:
    """The coded defects ``entries`` name, in order (None for one not found); each bad one's problem goes into
    ``problems`` under ``defects[i].code``: an unknown code, a retired one, or one listed twice."""
    codes: list[DefectCode | None] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        field = f"defects[{index}].code"
        code = find_defect_code(entry.code)
        if code is None:
            problems[field] = str(_l("No defect code %(code)s.", code=entry.code))
        elif not code.active:
            problems[field] = str(_l("%(code)s is no longer in use.", code=code.code))
        elif code.code in seen:
            problems[field] = str(_l("%(code)s is listed twice: give its count once.", code=code.code))
        else:
            seen.add(code.code)
        codes.append(code)
    return codes


def get_defect_code(code: str) -> DefectCode:
    """The code ``code`` (any case); raises NotFound."""
    found = find_defect_code(code)
    if found is None:
        raise NotFound(str(_l("No defect code %(code)s.", code=code)), fields={"code": "unknown"})
    return found


SAFETY_IS_CRITICAL = _l("A safety defect is always critical.")


def save_defect_code(
    defect_code: DefectCode | None, command: NewDefectCode | DefectCodeChanges, actor: User | None = None
) -> DefectCode:
    """Create (``defect_code`` None, a NewDefectCode) or change a coded defect (the fields given); the creation and
    each changed field are recorded in its history with ``actor``. Raises ValidationError naming
    ``defect_class`` for a safety defect that is not critical, ``defect_type`` or ``parameters[i]`` for one
    that does not exist, and Duplicate (409) for a code in use."""
    values = command.model_dump() if defect_code is None else command.given()
    problems: dict[str, str] = {}
    area = values.get("area") or (defect_code.area if defect_code is not None else None)
    defect_class = values.get("defect_class") or (defect_code.defect_class if defect_code is not None else None)
    if area == DefectArea.SAFETY and defect_class != DefectClass.CRITICAL:
        problems["defect_class"] = str(SAFETY_IS_CRITICAL)
    defect_type = None
    if values.get("defect_type"):
        defect_type = find_defect_type(values["defect_type"])
        if defect_type is None:
            problems["defect_type"] = str(_l("No defect type %(code)s.", code=values["defect_type"]))
    if problems:
        raise invalid(problems)
    parameters = find_parameters(values["parameters"], "parameters") if values.get("parameters") is not None else None
    if defect_code is None and find_defect_code(values["code"]) is not None:
        raise Duplicate(
            str(_l("A defect code %(code)s exists already.", code=values["code"])),
            fields={"code": str(_l("Already in use."))},
        )
    with unit_of_work() as session:
        created = defect_code is None
        if defect_code is None:
            defect_code = DefectCode(code=values["code"])
            session.add(defect_code)
        before = None if created else _recorded(defect_code)
        for name in ("name", "active"):
            if values.get(name) is not None:
                setattr(defect_code, name, values[name])
        for name in ("defect_class", "area"):
            if values.get(name) is not None:
                setattr(defect_code, name, values[name].value)
        if "name_zh" in values:
            defect_code.name_zh = values["name_zh"] or ""
        if "defect_type" in values:
            defect_code.defect_type = defect_type
        if parameters is not None:
            defect_code.parameters = parameters
        if created:
            # Flushed first, so that the defaults it was stored with are what its history says.
            session.flush()
        records.note_saved("defect_code", defect_code, actor, before, _recorded(defect_code))
    return defect_code


def _recorded(defect_code: DefectCode) -> dict:
    """What a coded defect's history records of it."""
    return {
        "name": defect_code.name,
        "name_zh": defect_code.name_zh,
        "defect_class": defect_code.defect_class,
        "area": defect_code.area,
        "defect_type": defect_code.defect_type.code if defect_code.defect_type else None,
        "active": defect_code.active,
        "parameters": [parameter.code for parameter in defect_code.parameters],
    }
