"""The scorecard's weights and grades, read from the settings (and shown on the supplier's page as they are).

``CAPA_SCORECARD_WEIGHTS`` (``incoming=25,lab=15,safety=30,ncs=15,scars=15``): the points each part of the score
can take off 100; they add up to 100. ``CAPA_SCORECARD_SAFETY_FAILURE_POINTS`` (15): what each failed safety
result takes off, up to the ``safety`` weight. ``CAPA_SCORECARD_GRADES``
(``A=90:approved,B=75:approved,C=60:conditional,D=0:suspended``): each grade's lowest score and the approval it
suggests, best grade first, the last one's lowest score 0.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask import current_app

from capa.masterdata.models import SupplierApproval

#: The parts of the score, in the order they are shown.
PARTS = ("incoming", "lab", "safety", "ncs", "scars")


class InvalidScorecardSetting(ValueError):
    """A scorecard setting cannot be read; the message names the setting and the part."""


@dataclass(frozen=True)
class Grade:
    letter: str
    #: The lowest score of the grade.
    floor: Decimal
    #: The approval the grade suggests (a SupplierApproval value).
    suggests: str


@dataclass(frozen=True)
class ScorecardSettings:
    weights: dict[str, int]
    safety_failure_points: int
    #: Best first; the last one's floor is 0.
    grades: tuple[Grade, ...]

    def grade_of(self, score: Decimal) -> Grade:
        return next(grade for grade in self.grades if score >= grade.floor)


def _pairs(name: str, setting: str):
    for part in (setting or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, sign, value = part.partition("=")
        if not sign or not key.strip() or not value.strip():
            raise InvalidScorecardSetting(f"{name}: cannot read {part!r}")
        yield part, key.strip(), value.strip()


def read_weights(setting: str) -> dict[str, int]:
    """``incoming=25,…`` read; every part named once, whole numbers from 0 that add up to 100."""
    weights: dict[str, int] = {}
    for part, key, value in _pairs("CAPA_SCORECARD_WEIGHTS", setting):
        if key not in PARTS or key in weights or not value.isdigit():
            raise InvalidScorecardSetting(f"CAPA_SCORECARD_WEIGHTS: cannot read {part!r}")
        weights[key] = int(value)
    if set(weights) != set(PARTS) or sum(weights.values()) != 100:
        raise InvalidScorecardSetting(f"CAPA_SCORECARD_WEIGHTS: name each of {', '.join(PARTS)} once, adding up to 100")
    return {key: weights[key] for key in PARTS}


def read_grades(setting: str) -> tuple[Grade, ...]:
    """``A=90:approved,…`` read; floors falling from the first grade to a last one of 0, approvals known."""
    grades: list[Grade] = []
    for part, letter, value in _pairs("CAPA_SCORECARD_GRADES", setting):
        floor_text, colon, suggests = value.partition(":")
        try:
            floor = Decimal(floor_text.strip())
        except InvalidOperation:
            floor = None
        known = {grade.letter for grade in grades}
        if (
            not colon
            or floor is None
            or not floor.is_finite()
            or not 0 <= floor <= 100
            or suggests.strip() not in set(SupplierApproval)
            or letter in known
            or (grades and floor >= grades[-1].floor)
        ):
            raise InvalidScorecardSetting(f"CAPA_SCORECARD_GRADES: cannot read {part!r}")
        grades.append(Grade(letter, floor, suggests.strip()))
    if not grades or grades[-1].floor != 0:
        raise InvalidScorecardSetting("CAPA_SCORECARD_GRADES: the last grade's lowest score is 0")
    return tuple(grades)


def read(config) -> ScorecardSettings:
    """The settings of ``config`` (a Flask config); raises InvalidScorecardSetting."""
    points = config["CAPA_SCORECARD_SAFETY_FAILURE_POINTS"]
    if not isinstance(points, int) or not 0 <= points <= 100:
        raise InvalidScorecardSetting("CAPA_SCORECARD_SAFETY_FAILURE_POINTS: a whole number from 0 to 100")
    return ScorecardSettings(
        read_weights(config["CAPA_SCORECARD_WEIGHTS"]), points, read_grades(config["CAPA_SCORECARD_GRADES"])
    )


def check_settings(config) -> None:
    """Stop the start on a setting that cannot be read."""
    read(config)


def current() -> ScorecardSettings:
    return read(current_app.config)
