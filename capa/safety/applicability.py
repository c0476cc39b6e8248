"""When a safety parameter applies to a garment: plain Python, tested without a request.

A parameter applies to a style when all of these hold:

- it is not retired from the catalog;
- its market (CN, EU, US) is one of the markets the style is sold in;
- its condition (``applies_when``) holds for the style's profile;
- it has a limit for the style's category (its own or one for all categories).

A condition is written as clauses separated by ``;``, every clause must hold:

- ``prints``: a yes/no attribute is yes, or a list attribute (``trims``, ``cords``) is not empty;
- ``!prints``: the opposite;
- ``age=infant|child_3_7``: the attribute's value is one of those; for a list attribute, it holds one of them;
- ``!age=infant``: the opposite (a style whose age group nobody gave meets neither, so a rule that depends on
  age does not apply until somebody says);
- ``fibres_only=polyester|wool``: every fibre of the style's fibre content is one of those (an empty fibre
  content does not meet it, so an exemption by fibre needs the label).

A limit row may carry a condition of the same form (``dark_shade`` for wet rubbing): where it holds it replaces
the plain limit of the same category. Malformed conditions raise :class:`InvalidCondition` naming the clause.
"""

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from capa.masterdata.models import AgeGroup, CordPlace, Fill, Market, TrimSize

if TYPE_CHECKING:
    from capa.masterdata.models import Style
    from capa.safety.models import ParameterLimit, SafetyParameter

#: Yes/no attributes of a style that a condition may name.
FLAGS = ("prints", "metal_parts", "dark_shade", "raised_surface", "sleepwear", "childcare")
#: Attributes holding a set of values, and the values each may hold.
SETS: dict[str, frozenset[str]] = {
    "trims": frozenset(TrimSize),
    "cords": frozenset(CordPlace),
    "markets": frozenset(Market),
}
#: Attributes holding one value.
SINGLES: dict[str, frozenset[str]] = {"age": frozenset(AgeGroup), "fill": frozenset(Fill)}
FIBRES_ONLY = "fibres_only"

#: Fibre names as labels write them, in English and Chinese, to the one name conditions use.
FIBRE_NAMES = {
    "cotton": "cotton",
    "棉": "cotton",
    "polyester": "polyester",
    "涤纶": "polyester",
    "聚酯纤维": "polyester",
    "nylon": "nylon",
    "polyamide": "nylon",
    "锦纶": "nylon",
    "尼龙": "nylon",
    "acrylic": "acrylic",
    "腈纶": "acrylic",
    "modacrylic": "modacrylic",
    "改性腈纶": "modacrylic",
    "olefin": "olefin",
    "polypropylene": "olefin",
    "丙纶": "olefin",
    "wool": "wool",
    "羊毛": "wool",
    "elastane": "elastane",
    "spandex": "elastane",
    "氨纶": "elastane",
    "viscose": "viscose",
    "rayon": "viscose",
    "粘纤": "viscose",
    "粘胶纤维": "viscose",
    "linen": "linen",
    "麻": "linen",
    "silk": "silk",
    "蚕丝": "silk",
}


class InvalidCondition(ValueError):
    """A condition that cannot be read; the message names the clause."""


@dataclass(frozen=True)
class GarmentProfile:
    """What decides which parameters apply to a garment: a style's attributes, read once."""

    category: str
    markets: frozenset[str] = frozenset({Market.CN.value})
    age: str | None = None
    prints: bool = False
    trims: frozenset[str] = frozenset()
    metal_parts: bool = False
    cords: frozenset[str] = frozenset()
    fill: str = Fill.NONE.value
    dark_shade: bool = False
    raised_surface: bool = False
    sleepwear: bool = False
    childcare: bool = False
    #: Fibre names (see FIBRE_NAMES) of the fibre content; empty when nobody gave it.
    fibres: frozenset[str] = frozenset()

    @classmethod
    def of(cls, style: "Style") -> "GarmentProfile":
        return cls(
            category=style.category,
            markets=frozenset(style.markets or ()),
            age=style.age_group,
            prints=bool(style.prints),
            trims=frozenset(style.trims or ()),
            metal_parts=bool(style.metal_parts),
            cords=frozenset(style.cords or ()),
            fill=style.fill or Fill.NONE.value,
            dark_shade=bool(style.dark_shade),
            raised_surface=bool(style.raised_surface),
            sleepwear=bool(style.sleepwear),
            childcare=bool(style.childcare),
            fibres=fibres_of(style.fibre_content or ""),
        )


def fibres_of(content: str) -> frozenset[str]:
    """The fibres named in a fibre content as labels write it ("95% cotton, 5% elastane", "棉95% 氨纶5%").

    A word that is not a known fibre is kept as written (lower-cased), so it never counts as an exempt fibre.
    """
    found: set[str] = set()
    # A share ("95%") ends one fibre's name and starts the next's, also without a comma between them.
    for part in re.split(r"[,;/、，；+\n]|\d+(?:\.\d+)?\s*[%\uff05]", content.lower()):  # \uff05: full-width %
        words = re.sub(r"[\d.%\uff05]+", " ", part).split()
        name = " ".join(words)
        if not name:
            continue
        found.add(FIBRE_NAMES.get(name, name))
    return frozenset(found)


@dataclass(frozen=True)
class Clause:
    name: str
    negated: bool
    values: frozenset[str]

    def holds(self, profile: GarmentProfile) -> bool:
        if self.name in SINGLES and getattr(profile, self.name) is None:
            return False  # nobody gave it: neither the clause nor its negation holds
        return self._holds(profile) != self.negated

    def _holds(self, profile: GarmentProfile) -> bool:
        if self.name == FIBRES_ONLY:
            return bool(profile.fibres) and profile.fibres <= self.values
        current = getattr(profile, self.name)
        if not self.values:
            return bool(current)
        if isinstance(current, frozenset):
            return bool(current & self.values)
        return current in self.values


_CLAUSE = re.compile(r"(!?)\s*([a-z_]+)\s*(?:=\s*(.+))?")


def parse_condition(text: str) -> tuple[Clause, ...]:
    """The clauses of a condition; an empty text is no condition. Raises InvalidCondition."""
    clauses = []
    for raw in (text or "").split(";"):
        raw = raw.strip()
        if not raw:
            continue
        match = _CLAUSE.fullmatch(raw)
        if match is None:
            raise InvalidCondition(str(_l("Cannot read the condition %(clause)s.", clause=raw)))
        negated, name, listed = bool(match.group(1)), match.group(2), match.group(3)
        values = frozenset(value.strip() for value in listed.split("|")) if listed else frozenset()
        if name in FLAGS:
            if values:
                raise InvalidCondition(str(_l("%(name)s is yes or no and takes no values.", name=name)))
        elif name in SETS or name in SINGLES:
            allowed = SETS.get(name) or SINGLES[name]
            unknown = sorted(values - allowed)
            if unknown or (name in SINGLES and not values):
                raise InvalidCondition(
                    str(
                        _l(
                            "%(name)s takes one or more of: %(allowed)s.",
                            name=name,
                            allowed=", ".join(sorted(allowed)),
                        )
                    )
                )
        elif name == FIBRES_ONLY:
            if not values:
                raise InvalidCondition(str(_l("fibres_only needs the fibres, such as fibres_only=polyester|wool.")))
        else:
            raise InvalidCondition(str(_l("Unknown attribute %(name)s.", name=name)))
        clauses.append(Clause(name, negated, values))
    return tuple(clauses)


def holds(condition: str, profile: GarmentProfile) -> bool:
    """Whether every clause of ``condition`` holds for ``profile`` (an empty condition always holds)."""
    return all(clause.holds(profile) for clause in parse_condition(condition))


def conditions_met(parameter: "SafetyParameter", profile: GarmentProfile) -> set[str]:
    """The limit conditions of ``parameter`` that hold for ``profile``."""
    return {limit.condition for limit in parameter.limits if limit.condition and holds(limit.condition, profile)}


def limit_for(parameter: "SafetyParameter", profile: GarmentProfile) -> "ParameterLimit | None":
    """The limit of ``parameter`` that applies to a garment of ``profile``: a conditional row of its category
    whose condition holds, else the plain row of its category, else the row for all categories."""
    return parameter.limit_for(profile.category, conditions_met(parameter, profile))


def applies(parameter: "SafetyParameter", profile: GarmentProfile) -> bool:
    """Whether ``parameter`` applies to a garment of ``profile`` (see the module's rule)."""
    return (
        not parameter.retired
        and parameter.market in profile.markets
        and holds(parameter.applies_when, profile)
        and limit_for(parameter, profile) is not None
    )


# Wording ----------------------------------------------------------------------------------------------------

ATTRIBUTE_LABELS = {
    "prints": _l("has prints or coatings"),
    "metal_parts": _l("has metal parts"),
    "dark_shade": _l("is a dark shade"),
    "raised_surface": _l("has a raised-fibre surface"),
    "sleepwear": _l("is sleepwear"),
    "childcare": _l("is a child-care article"),
    "trims": _l("has trims"),
    "cords": _l("has cords"),
    "markets": _l("is sold in"),
    "age": _l("is for"),
    "fill": _l("is filled with"),
    FIBRES_ONLY: _l("is made only of"),
}
NEGATED_LABELS = {
    "prints": _l("has no prints or coatings"),
    "metal_parts": _l("has no metal parts"),
    "dark_shade": _l("is not a dark shade"),
    "raised_surface": _l("has a plain surface"),
    "sleepwear": _l("is not sleepwear"),
    "childcare": _l("is not a child-care article"),
    "trims": _l("has no trims"),
    "cords": _l("has no cords"),
    FIBRES_ONLY: _l("is not made only of"),
}
VALUE_LABELS = {
    "infant": _l("infants (36 months and under)"),
    "child_3_7": _l("children over 3 up to 7 years"),
    "child_7_14": _l("children 7 to 14 years"),
    "small": _l("small (3 mm or less)"),
    "medium": _l("medium (over 3 up to 6 mm)"),
    "large": _l("large (over 6 mm)"),
    "hood_neck": _l("hood and neck"),
    "waist": _l("waist"),
    "hem": _l("hem"),
    "sleeve": _l("sleeve"),
    "back": _l("back"),
    "tie_belt": _l("tie belt"),
    "shoulder_strap": _l("shoulder straps"),
    "other": _l("elsewhere"),
    "none": _l("no fill"),
    "fibre": _l("fibre fill"),
    "down": _l("down or feather"),
}


def describe(condition: str) -> str:
    """A condition as a person reads it: "is for infants (36 months and under); has cords: hood and neck"."""
    parts = []
    for clause in parse_condition(condition):
        values = ", ".join(str(VALUE_LABELS.get(value, value)) for value in sorted(clause.values))
        if clause.negated and clause.name in NEGATED_LABELS:
            label = str(NEGATED_LABELS[clause.name])
        elif clause.negated:
            label = str(_l("not: %(what)s", what=ATTRIBUTE_LABELS[clause.name]))
        else:
            label = str(ATTRIBUTE_LABELS[clause.name])
        parts.append(f"{label}: {values}" if values else label)
    return "; ".join(parts)
