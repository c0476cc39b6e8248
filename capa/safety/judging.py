"""Judging a lab result against a safety limit: plain Python, exact, and strict about what it can read.

A wrong verdict on an infant garment is the worst mistake this product can make, so the rules here are
few and literal:

- numbers are compared as decimals, never floats: 20 passes ``max 20``, 20.01 fails it (a JSON body is read
  with decimals too, see capa/http/json.py, so ``20.000000000000001`` stays above 20);
- ``max``: value ≤ limit; ``lt``: value < limit; ``min``: value ≥ limit; ``range``: low ≤ value ≤ high
  (limit written ``low..high``);
- ``grade_min``: a grey-scale grade, 1 (worst) to 5 (best) in half steps written ``3-4`` (also ``3/4``,
  ``3–4``, ``3~4``, ``3.5``, ``grade 4``, ``4级``); ``3-4`` lies between 3 and 4, so it fails a limit of 4.
  ``a/b`` is a half grade only where b = a + 1 (``4/5``; ``4/3-4`` is refused). When several grades are
  given (colour change and staining: ``4, 3-4``, ``4；3-4``, ``变色4级 沾色3-4级``,
  ``colour change: 4, staining: 3-4`` or a list), the lowest decides;
- ``absent``: ``none``, ``not detected``, ``ND``, ``无``, ``无异味``, ``未检出`` … pass; ``found``, ``detected``,
  ``有``, ``检出`` … fail; the lab's verdict (``pass``, ``合格`` / ``fail``, ``不合格``) is taken as well;
- ``pass_fail``: the lab's verdict: ``pass``, ``passed``, ``P``, ``合格``, ``符合`` or ``fail``, ``failed``,
  ``F``, ``不合格``, ``不符合``.

How values are written. Case and surrounding spaces do not matter, and full-width characters (the
less-than sign, comma, semicolon, colon and brackets of Chinese text) read as their ASCII forms. For the
numeric comparators:

- a decimal comma reads as a point (``20,5`` is 20.5); a comma followed by exactly three digits (``1,000``)
  could be a thousands separator and is refused, unless the whole part is 0 (``0,100`` is 0.100);
- the value may carry the parameter's unit (``20 mg/kg``, ``70 N``, ``0.1 %`` for ``% (w/w)``,
  ``µg/cm²/week``, ``pH 7.2``); units are compared without case or spaces, with µ/μ as u, ² as 2, and
  ``(w/w)`` dropped after %. Another unit (``20 ppm`` for mg/kg, ``2 cm`` for mm) is refused, naming the
  parameter's unit: nothing is converted;
- ``ND``, ``N.D.``, ``not detected`` or ``未检出`` is "not detected", optionally with the lab's reporting limit
  ``ND (<20)``; ``<20`` is "below the reporting limit 20"; ``>90`` is "above 90" (a pull test where nothing
  came off);
- ``DNI`` (did not ignite) and ``IBE`` (ignited but extinguished) are class 1 burn results: they pass a
  ``min`` limit in seconds (16 CFR 1610 burn times), and are refused elsewhere;
- ``N/A`` (``NA``, ``not applicable``, ``不适用``, ``/``) is never a value, for any comparator: where a parameter
  does not apply, that is recorded with a reason (see :func:`is_not_applicable`).

Results below or above what the lab could measure:

- the reporting limit (RL) of ``ND`` or ``<X`` is the one written in the value (``ND (<20)``, ``<20``), else
  the ``reporting_limit`` given with the result, else the parameter's ``default_reporting_limit``; a value
  that writes one while a different one is given is refused;
- ND or ``<X`` passes a ``max`` or ``lt`` limit only when the RL is at or below the limit (the true value is
  below the RL); with the RL above the limit nothing can be decided and :class:`Undecidable` says so (ask
  the lab for a lower RL); ND with no RL at all is Undecidable too. It is never a silent pass;
- ``<X`` against a ``min`` limit fails when X ≤ limit and is Undecidable when X > limit; ND against a
  ``min`` limit is refused (a minimum needs the measured value);
- ``>X`` against a ``min`` limit passes when X ≥ limit, Undecidable otherwise; against ``max`` or ``lt`` it
  fails when X ≥ limit, Undecidable otherwise;
- ND, ``<X`` and ``>X`` are refused for a ``range`` (a pH is a number).

Near-limit warnings: a passing number within NEAR_LIMIT_SHARE (10 %) of a max, lt or min limit (as a share
of the limit), or of either end of a range (as a share of its span: pH 4.0..7.5 warns from 7.15 and up to
4.35). A passing ND or ``<X`` is near the limit when its RL is within that margin below the limit (the lab
cannot say the value is comfortably below), and a passing ``>X`` when X is within the margin above a minimum.

Every judgement's ``value`` is canonical and reads back to the same judgement when judged again with the
same arguments: ``35``, ``20.5`` (numbers without their unit), ``ND (<20)`` (the RL that was applied, wherever
it came from), ``<20``, ``>90``, ``DNI``, ``IBE``, ``3-4`` (the lowest grade), ``not detected``, ``pass``.

A value that cannot be read for the parameter (a grade for a mg/kg limit, ``abc``, a negative
concentration, a pH outside 0–14, a grade of 6) raises :class:`UnreadableValue` with a message for the
person who typed it; nothing is judged.
"""

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l


class Comparator(StrEnum):
    MAX = "max"
    LT = "lt"
    MIN = "min"
    RANGE = "range"
    GRADE_MIN = "grade_min"
    ABSENT = "absent"
    PASS_FAIL = "pass_fail"


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"


NUMERIC = frozenset({Comparator.MAX, Comparator.LT, Comparator.MIN, Comparator.RANGE})
# A passing result this close to a max/min limit (as a share of the limit), or to either end of a range (as a
# share of its span), is a near-limit warning.
NEAR_LIMIT_SHARE = Decimal("0.10")

#: What a judgement says, as whole sentences to translate: the first for a limit of the style's own category,
#: the second for a limit that holds for every category. Placeholders: value, limit (or span), category and,
#: for results below a reporting limit, reporting_limit.
SENTENCES = {
    "grade_meets": (
        _l("grade %(value)s meets the category %(category)s minimum of grade %(limit)s"),
        _l("grade %(value)s meets the minimum of grade %(limit)s"),
    ),
    "grade_below": (
        _l("grade %(value)s is below the category %(category)s minimum of grade %(limit)s"),
        _l("grade %(value)s is below the minimum of grade %(limit)s"),
    ),
    "within_range": (
        _l("%(value)s is within the category %(category)s range %(span)s"),
        _l("%(value)s is within the range %(span)s"),
    ),
    "outside_range": (
        _l("%(value)s is outside the category %(category)s range %(span)s"),
        _l("%(value)s is outside the range %(span)s"),
    ),
    "meets_minimum": (
        _l("%(value)s meets the category %(category)s minimum of %(limit)s"),
        _l("%(value)s meets the minimum of %(limit)s"),
    ),
    "below_minimum": (
        _l("%(value)s is below the category %(category)s minimum of %(limit)s"),
        _l("%(value)s is below the minimum of %(limit)s"),
    ),
    "within_limit": (
        _l("%(value)s is within the category %(category)s limit of %(limit)s"),
        _l("%(value)s is within the limit of %(limit)s"),
    ),
    "not_below_limit": (
        _l("%(value)s is not below the category %(category)s limit of %(limit)s"),
        _l("%(value)s is not below the limit of %(limit)s"),
    ),
    "exceeds_limit": (
        _l("%(value)s exceeds the category %(category)s limit of %(limit)s"),
        _l("%(value)s exceeds the limit of %(limit)s"),
    ),
    "not_detected_within": (
        _l("not detected (reporting limit %(reporting_limit)s) is within the category %(category)s limit of %(limit)s"),
        _l("not detected (reporting limit %(reporting_limit)s) is within the limit of %(limit)s"),
    ),
    "below_reporting_limit_within": (
        _l("less than %(reporting_limit)s is within the category %(category)s limit of %(limit)s"),
        _l("less than %(reporting_limit)s is within the limit of %(limit)s"),
    ),
    "below_reporting_limit_under_minimum": (
        _l("less than %(value)s is below the category %(category)s minimum of %(limit)s"),
        _l("less than %(value)s is below the minimum of %(limit)s"),
    ),
    "above_meets_minimum": (
        _l("more than %(value)s meets the category %(category)s minimum of %(limit)s"),
        _l("more than %(value)s meets the minimum of %(limit)s"),
    ),
    "above_exceeds_limit": (
        _l("more than %(value)s exceeds the category %(category)s limit of %(limit)s"),
        _l("more than %(value)s exceeds the limit of %(limit)s"),
    ),
    "did_not_ignite": (
        _l("did not ignite (DNI): class 1"),
        _l("did not ignite (DNI): class 1"),
    ),
    "ignited_but_extinguished": (
        _l("ignited but extinguished (IBE): class 1"),
        _l("ignited but extinguished (IBE): class 1"),
    ),
}


def _sentence(case: str, category: str, **values: str) -> str:
    """The sentence of ``case`` in the reader's language, for a category's own limit or one for all."""
    own, every = SENTENCES[case]
    return str(every if category == "all" else own) % {"category": category, **values}


class UnreadableValue(ValueError):
    """The value cannot be read for this parameter; the message says why, for the person who typed it."""


class Undecidable(UnreadableValue):
    """The value is read, but says too little to decide against the limit (``ND (<50)`` against ``max 20``):
    never a silent pass. The message says what would decide it."""


class UnreadableReportingLimit(UnreadableValue):
    """The reporting limit given beside the value cannot be read (or contradicts the one in the value)."""


class InvalidLimit(ValueError):
    """A limit written in a form its comparator cannot use."""


@dataclass(frozen=True)
class Judgement:
    outcome: Outcome
    #: The value as read, in canonical form ("35", "3-4", "not detected", "ND (<20)", "<20", ">90", "DNI").
    value: str
    explanation: str
    #: Passed, but within NEAR_LIMIT_SHARE of a max, lt or min limit or of either end of a range.
    near_limit: bool = False
    #: The lab's reporting limit that was applied to a "not detected" or "<X" result, in the parameter's unit.
    reporting_limit: Decimal | None = None


# Text -----------------------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """``text`` with full-width forms as ASCII (NFKC: ``（`` → ``(``), µ as μ, ² as 2, single spaces, stripped.

    Case is kept (a unit is shown as it was written); the patterns below ignore it.
    """
    return " ".join(unicodedata.normalize("NFKC", text).split())


NOT_APPLICABLE_WORDS = frozenset({"n/a", "na", "n.a.", "not applicable", "不适用", "/"})
NOT_APPLICABLE = _l("N/A is recorded with a reason where the parameter does not apply to the garment, not as a value.")


def is_not_applicable(value: Any) -> bool:
    """Whether ``value`` is the N/A notation (``N/A``, ``NA``, ``not applicable``, ``不适用``, ``/``).

    :func:`judge` refuses it: N/A is recorded with a reason by the service, never judged as a value.
    """
    return isinstance(value, str) and _clean(value).lower() in NOT_APPLICABLE_WORDS


# Grades ---------------------------------------------------------------------------------------------------

_GRADE = re.compile(r"([1-5])(?:\s*[-/–—~]\s*([1-5]))?")
# Words around grades that say which reading it is: removed before the grades are read.
_GRADE_LABELS = re.compile(r"colou?r\s*change|change\s+in\s+colou?r|change|staining|stain|grade|变色|沾色|级|:", re.I)


def _grade_text(text: str) -> str:
    """``text`` without its labels, and without spaces around the dash of a half grade: "3 - 4级" → "3-4"."""
    text = _GRADE_LABELS.sub(" ", _clean(text))
    return " ".join(re.sub(r"\s*([-/–—~])\s*", r"\1", text).split())


def parse_grade(text: Any) -> int:
    """A grey-scale grade in half steps: "1" → 2, "3-4" → 7, "5" → 10, "4级" → 8. Raises UnreadableValue."""
    if isinstance(text, bool):
        raise UnreadableValue(str(_l("Expected a grade from 1 to 5, such as 4 or 3-4.")))
    if isinstance(text, int | float | Decimal):
        text = str(text)
    if not isinstance(text, str):
        raise UnreadableValue(str(_l("Expected a grade from 1 to 5, such as 4 or 3-4.")))
    cleaned = _grade_text(text)
    if not cleaned:
        raise UnreadableValue(str(_l("Expected a grade from 1 to 5, such as 4 or 3-4.")))
    half = re.fullmatch(r"([1-4])\.50*", cleaned)
    if half:
        return int(half.group(1)) * 2 + 1
    whole = re.fullmatch(r"([1-5])(?:\.0+)?", cleaned)
    if whole:
        return int(whole.group(1)) * 2
    match = _GRADE.fullmatch(cleaned)
    if match and match.group(2) and int(match.group(2)) == int(match.group(1)) + 1:
        return int(match.group(1)) * 2 + 1
    raise UnreadableValue(
        str(_l("%(value)s is not a grade: use 1 to 5 in half steps, such as 4 or 3-4.", value=text.strip()))
    )


def format_grade(half_steps: int) -> str:
    low, odd = divmod(half_steps, 2)
    return f"{low}-{low + 1}" if odd else str(low)


# "3,5" with nothing around the comma: grade 3.5 with a decimal comma, or grades 3 and 5?
_HALF_GRADE_COMMA = re.compile(r"(?<![\d.])([1-4]),5(?![\d.])")


def _parse_grades(value: Any) -> int:
    """The lowest of one or more grades ("4, 3-4", "变色4级 沾色3-4级" or a list): the worst reading decides."""
    items = value if isinstance(value, list) else [value]
    parts: list[Any] = []
    for item in items:
        if isinstance(item, str):
            text = _grade_text(item)
            ambiguous = _HALF_GRADE_COMMA.search(text)
            if ambiguous:
                # Grade 3.5 with a decimal comma, or colour change 3 and staining 5: the judge does not guess.
                raise UnreadableValue(
                    str(
                        _l(
                            "%(value)s may be one grade with a decimal comma or two grades: write it as %(half)s, "
                            "or as %(both)s.",
                            value=ambiguous.group(0),
                            half=format_grade(int(ambiguous.group(1)) * 2 + 1),
                            both=f"{ambiguous.group(1)}; 5",
                        )
                    )
                )
            parts.extend(part for part in re.split(r"[,;\s]+", text) if part)
        else:
            parts.append(item)
    if not parts:
        raise UnreadableValue(str(_l("Expected a grade from 1 to 5, such as 4 or 3-4.")))
    return min(parse_grade(part) for part in parts)


# Numbers --------------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DECIMAL_COMMA = re.compile(r"([+-]?\d+),(\d+)")
# A number, then perhaps a unit: "20", "20,5 mg/kg", "0.1 %", "70N".
_QUANTITY = re.compile(r"(?P<number>[+-]?[\d.,]+)\s*(?P<unit>.*)")
# What may follow a number as its unit: it starts with a letter, %, ° or µ; "1e3" is an exponent, not a unit.
_UNIT_START = re.compile(r"[^\W\d_]|[%°]")
_EXPONENT = re.compile(r"e[+-]?\d+", re.I)
_NOT_DETECTED = re.compile(
    r"(?:nd|n\.d\.?|not detected|未检出)(?:\s*\(\s*<\s*(?P<reporting_limit>[^()]*?)\s*\))?", re.IGNORECASE
)
_BEYOND = re.compile(r"(?P<sign>[<>])\s*(?P<quantity>.+)")
_DID_NOT_IGNITE = frozenset({"dni", "did not ignite"})
_IGNITED_BUT_EXTINGUISHED = frozenset({"ibe", "ignited but extinguished"})


def parse_decimal(value: Any) -> Decimal:
    """A finite decimal from a JSON number, a Decimal (kept exactly) or numeric text ("35", "20.01"; the
    decimal comma of a lab's value is read by :func:`judge`, not here: " 4,5 " is refused)."""
    if isinstance(value, bool):
        raise UnreadableValue(str(_l("Expected a number.")))
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))  # the shortest text that is this float: 20.01, not 20.0100000000000002
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = Decimal(value.strip())
    else:
        shown = value if isinstance(value, str) else type(value).__name__
        raise UnreadableValue(str(_l("%(value)s is not a number.", value=shown)))
    if not number.is_finite():
        raise UnreadableValue(str(_l("Expected a finite number.")))
    return number


def format_decimal(number: Decimal) -> str:
    """Plain notation, keeping the precision the lab reported: 0.10 stays 0.10, never 1.0E-1."""
    return format(number, "f")


# No lab reports more digits; a longer number (1e400 in a JSON body) could not be kept as the value read.
MAX_DIGITS = 30


def _check_plausible(number: Decimal, unit: str) -> None:
    # Counted without writing the number out: 1E+999999999 would be a billion characters.
    if max(number.adjusted() + 1, 1) + max(-number.as_tuple().exponent, 0) > MAX_DIGITS:
        raise UnreadableValue(str(_l("A lab value has at most %(n)d digits.", n=MAX_DIGITS)))
    if unit.strip().lower() == "ph":
        if not Decimal(0) <= number <= Decimal(14):
            raise UnreadableValue(str(_l("A pH lies between 0 and 14.")))
        return
    if number < 0:
        raise UnreadableValue(str(_l("A measured %(unit)s value cannot be negative.", unit=unit)))
    if unit.strip().startswith("%") and number > 100:
        raise UnreadableValue(str(_l("A share cannot exceed 100 %.")))


def with_unit(number: str, unit: str) -> str:
    unit = unit.strip()
    if unit in ("", "-"):
        return number
    if unit.lower() == "ph":
        return f"pH {number}"
    return f"{number} {unit}"


def _has_unit(unit: str) -> bool:
    return unit.strip() not in ("", "-")


def unit_key(unit: str) -> str:
    """A unit as compared: without case or spaces, µ/μ as u, ² as 2, and a share's "(w/w)" dropped."""
    key = "".join(unicodedata.normalize("NFKC", unit).lower().split()).replace("\u03bc", "u")
    if key.startswith("%"):
        key = key.replace("(w/w)", "").replace("w/w", "")
    return key


def _accepted_units(unit: str) -> set[str]:
    """The keys of the unit a value of the parameter may be written with: its own, and for a unit qualified
    by "per" (``mg/kg per amine``) the unit before it."""
    head, per, _ = unit.lower().partition(" per ")
    return {unit_key(unit), unit_key(head)} if per else {unit_key(unit)}


def _not_a_number(shown: Any, unit: str) -> UnreadableValue:
    """The refusal of a value that is no number, saying what the parameter is measured in."""
    if not isinstance(shown, str):
        shown = type(shown).__name__
    refusal = _l("%(value)s is not a number.", value=shown) if shown else _l("Expected a number.")
    expected = (
        _l("This parameter is measured as a number in %(unit)s.", unit=unit)
        if _has_unit(unit)
        else _l("This parameter is measured as a number.")
    )
    return UnreadableValue(f"{refusal} {expected}")


def _number_text(text: str, shown: str, unit: str) -> Decimal:
    """The number written ``text`` (a point or a decimal comma); ``1,000`` is refused as ambiguous."""
    if _NUMBER.fullmatch(text):
        return Decimal(text)
    comma = _DECIMAL_COMMA.fullmatch(text)
    if comma is None:
        raise _not_a_number(shown, unit)
    whole, fraction = comma.groups()
    point = f"{whole}.{fraction}"
    if len(fraction) == 3 and whole.lstrip("+-").strip("0"):
        raise UnreadableValue(
            str(
                _l(
                    "%(value)s is ambiguous: the comma may separate thousands or decimals. Write it without "
                    "the comma (%(whole)s) or with a decimal point (%(point)s).",
                    value=shown,
                    whole=whole + fraction,
                    point=point,
                )
            )
        )
    return Decimal(point)


def _quantity(text: str, shown: str, unit: str) -> Decimal:
    """The number of ``text`` (cleaned), which may carry the parameter's unit (``20 mg/kg``, ``pH 7.2``)."""
    if unit_key(unit) == "ph" and text[:2].lower() == "ph":
        text = text[2:].strip()
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise _not_a_number(shown, unit)
    written = match.group("unit").strip()
    if written and (not _UNIT_START.match(written) or _EXPONENT.fullmatch(written)):
        raise _not_a_number(shown, unit)
    number = _number_text(match.group("number"), shown, unit)
    if written and unit_key(written) not in _accepted_units(unit):
        if not _has_unit(unit):
            raise UnreadableValue(
                str(
                    _l(
                        "%(value)s is in %(written)s; this parameter is measured as a number without a unit.",
                        value=shown,
                        written=written,
                    )
                )
            )
        raise UnreadableValue(
            str(
                _l(
                    "%(value)s is in %(written)s; this parameter is measured in %(unit)s.",
                    value=shown,
                    written=written,
                    unit=unit.strip(),
                )
            )
        )
    return number


@dataclass(frozen=True)
class _Reading:
    """A numeric parameter's value as read: a number, "not detected" (with the reporting limit it writes, if
    any), below or above a figure, or a burn test's DNI or IBE."""

    kind: str  # "number", "not_detected", "below", "above", "did_not_ignite", "ignited_but_extinguished"
    number: Decimal | None = None


def _read_numeric(value: Any, comparator: Comparator, unit: str) -> _Reading:
    if not isinstance(value, str):
        try:
            return _Reading("number", parse_decimal(value))
        except UnreadableValue:
            raise _not_a_number(value, unit) from None
    shown = value.strip()
    text = _clean(value)
    not_detected = _NOT_DETECTED.fullmatch(text)
    if not_detected:
        written = not_detected.group("reporting_limit")
        return _Reading("not_detected", None if written is None else _quantity(written, shown, unit))
    beyond = _BEYOND.fullmatch(text)
    if beyond:
        kind = "below" if beyond.group("sign") == "<" else "above"
        return _Reading(kind, _quantity(beyond.group("quantity"), shown, unit))
    if comparator is Comparator.MIN and unit_key(unit) == "s":
        if text.lower() in _DID_NOT_IGNITE:
            return _Reading("did_not_ignite")
        if text.lower() in _IGNITED_BUT_EXTINGUISHED:
            return _Reading("ignited_but_extinguished")
    return _Reading("number", _quantity(text, shown, unit))


def _check_reporting_limit(number: Decimal, unit: str) -> Decimal:
    _check_plausible(number, unit)
    if number <= 0:
        raise UnreadableValue(str(_l("A reporting limit is above zero.")))
    return number


def parse_reporting_limit(value: Any, unit: str) -> Decimal | None:
    """A reporting limit given beside a value: a number, or text such as ``20``, ``20 mg/kg`` or ``<20``;
    None when none is given. Raises UnreadableReportingLimit."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, str):
            text = _clean(value).removeprefix("<").strip()
            number = _quantity(text, value.strip(), unit)
        else:
            number = parse_decimal(value)
        return _check_reporting_limit(number, unit)
    except UnreadableReportingLimit:
        raise
    except UnreadableValue as exc:
        refusal = _l("The reporting limit given beside the value cannot be read.")
        raise UnreadableReportingLimit(f"{refusal} {exc}") from exc


# Words ----------------------------------------------------------------------------------------------------

ABSENT_WORDS = frozenset(
    {
        "none",
        "not detected",
        "n.d.",
        "nd",
        "n.d",
        "absent",
        "not found",
        "not present",
        "no",
        "no odour",
        "no odor",
        "nil",
        "无",
        "无异味",
        "未发现",
        "未检出",
    }
)
FOUND_WORDS = frozenset(
    {"found", "detected", "present", "yes", "odour detected", "odor detected", "有", "有异味", "检出"}
)
PASS_WORDS = frozenset({"pass", "passed", "p", "合格", "符合"})
FAIL_WORDS = frozenset({"fail", "failed", "f", "不合格", "不符合"})


def _word(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UnreadableValue(str(_l("Expected a word, such as pass or fail.")))
    return _clean(value).lower()


# Limits ---------------------------------------------------------------------------------------------------


def parse_limit(comparator: Comparator | str, text: str) -> Any:
    """The limit written ``text`` in the form ``comparator`` needs; raises InvalidLimit.

    Numbers for max/lt/min, ``low..high`` for range, a grade for grade_min; absent and pass_fail limits
    are the requirement in words and any non-empty text is accepted.
    """
    comparator = Comparator(comparator)
    text = (text or "").strip()
    if not text:
        raise InvalidLimit(str(_l("A limit is required.")))
    try:
        if comparator in (Comparator.MAX, Comparator.LT, Comparator.MIN):
            number = parse_decimal(text)
            if number < 0:
                raise InvalidLimit(str(_l("A limit cannot be negative.")))
            return number
        if comparator is Comparator.RANGE:
            low_text, separator, high_text = text.partition("..")
            if not separator:
                raise InvalidLimit(str(_l("Write a range as low..high, such as 4.0..7.5.")))
            low, high = parse_decimal(low_text), parse_decimal(high_text)
            if low > high:
                raise InvalidLimit(str(_l("The low end of a range must not exceed the high end.")))
            return low, high
        if comparator is Comparator.GRADE_MIN:
            return parse_grade(text)
    except UnreadableValue as exc:
        raise InvalidLimit(str(exc)) from exc
    return text


def describe_limit(comparator: Comparator | str, text: str, unit: str) -> str:
    """The limit as a person reads it: "≤ 20 mg/kg", "4.0–7.5", "grade ≥ 4", "absent: none"."""
    comparator = Comparator(comparator)
    limit = parse_limit(comparator, text)
    if comparator is Comparator.MAX:
        return f"≤ {with_unit(format_decimal(limit), unit)}"
    if comparator is Comparator.LT:
        return f"< {with_unit(format_decimal(limit), unit)}"
    if comparator is Comparator.MIN:
        return f"≥ {with_unit(format_decimal(limit), unit)}"
    if comparator is Comparator.RANGE:
        return with_unit(f"{format_decimal(limit[0])}–{format_decimal(limit[1])}", unit)
    if comparator is Comparator.GRADE_MIN:
        return f"≥ {format_grade(limit)}"
    return limit


# Judging --------------------------------------------------------------------------------------------------


def judge(
    comparator: Comparator | str,
    limit_text: str,
    unit: str,
    value: Any,
    *,
    category: str,
    reporting_limit: Any = None,
    default_reporting_limit: Decimal | None = None,
) -> Judgement:
    """Judge ``value`` against the limit ``limit_text`` of ``category`` with ``comparator``.

    ``reporting_limit`` is the lab's reporting limit given beside the value (a number or text such as
    ``20 mg/kg``), ``default_reporting_limit`` the parameter's own; they apply to "not detected" results
    that write none (see the module's rules).

    Raises UnreadableValue when the value cannot be read for this comparator and unit (Undecidable, a kind
    of it, when it is read but cannot decide against the limit; UnreadableReportingLimit when the reporting
    limit given cannot be read), and InvalidLimit when the stored limit or default reporting limit itself is
    malformed.
    """
    comparator = Comparator(comparator)
    limit = parse_limit(comparator, limit_text)
    if is_not_applicable(value):
        raise UnreadableValue(str(NOT_APPLICABLE))

    if comparator in NUMERIC:
        reading = _read_numeric(value, comparator, unit)
        if reading.kind == "number":
            _check_plausible(reading.number, unit)
            shown = with_unit(format_decimal(reading.number), unit)
            return _judge_number(comparator, limit, reading.number, shown, unit, category)
        if comparator is Comparator.RANGE:
            raise UnreadableValue(
                str(
                    _l(
                        "%(value)s cannot be judged against a range: give the number the lab measured.",
                        value=value.strip(),
                    )
                )
            )
        if reading.kind in ("did_not_ignite", "ignited_but_extinguished"):
            canonical = "DNI" if reading.kind == "did_not_ignite" else "IBE"
            return Judgement(Outcome.PASS, canonical, _sentence(reading.kind, category))
        if reading.kind == "above":
            _check_plausible(reading.number, unit)
            return _judge_above(comparator, limit, reading.number, unit, category)
        applied = _applied_reporting_limit(reading, comparator, limit, unit, reporting_limit, default_reporting_limit)
        return _judge_below(comparator, limit, reading.kind == "not_detected", applied, unit, category)

    if comparator is Comparator.GRADE_MIN:
        grade = _parse_grades(value)
        shown = format_grade(grade)
        case, outcome = ("grade_meets", Outcome.PASS) if grade >= limit else ("grade_below", Outcome.FAIL)
        return Judgement(outcome, shown, _sentence(case, category, value=shown, limit=format_grade(limit)))

    word = _word(value)
    if comparator is Comparator.ABSENT:
        if word in ABSENT_WORDS or _NOT_DETECTED.fullmatch(word):
            shown = "not detected" if _NOT_DETECTED.fullmatch(word) else word
            return Judgement(
                Outcome.PASS, shown, str(_l("%(value)s: meets the requirement (%(limit)s)", value=shown, limit=limit))
            )
        if word in FOUND_WORDS:
            return Judgement(
                Outcome.FAIL,
                word,
                str(_l("%(value)s where the requirement is: %(limit)s", value=word, limit=limit)),
            )
        if word not in PASS_WORDS | FAIL_WORDS:
            raise UnreadableValue(str(_l("Expected none or not detected (pass), or found (fail).")))

    if word in PASS_WORDS:
        return Judgement(Outcome.PASS, "pass", str(_l("the lab reports pass (%(limit)s)", limit=limit)))
    if word in FAIL_WORDS:
        return Judgement(Outcome.FAIL, "fail", str(_l("the lab reports fail (%(limit)s)", limit=limit)))
    raise UnreadableValue(str(_l("Expected pass or fail.")))


def _judge_number(comparator, limit, number: Decimal, shown: str, unit: str, category: str) -> Judgement:
    if comparator is Comparator.RANGE:
        low, high = limit
        span = with_unit(f"{format_decimal(low)}–{format_decimal(high)}", unit)
        passed = low <= number <= high
        margin = (high - low) * NEAR_LIMIT_SHARE
        near = passed and (number <= low + margin or number >= high - margin)
        case, outcome = ("within_range", Outcome.PASS) if passed else ("outside_range", Outcome.FAIL)
        text = _sentence(case, category, value=shown, span=span)
        return Judgement(outcome, format_decimal(number), text, near_limit=near)

    bound = with_unit(format_decimal(limit), unit)
    margin = limit * NEAR_LIMIT_SHARE
    if comparator is Comparator.MIN:
        passed = number >= limit
        near = passed and number <= limit + margin
        case = "meets_minimum" if passed else "below_minimum"
    else:
        passed = number <= limit if comparator is Comparator.MAX else number < limit
        near = passed and number >= limit - margin
        if passed:
            case = "within_limit"
        elif comparator is Comparator.LT and number == limit:
            case = "not_below_limit"
        else:
            case = "exceeds_limit"
    text = _sentence(case, category, value=shown, limit=bound)
    return Judgement(Outcome.PASS if passed else Outcome.FAIL, format_decimal(number), text, near_limit=near)


def _applied_reporting_limit(
    reading: _Reading, comparator: Comparator, limit: Decimal, unit: str, given: Any, default: Any
) -> Decimal:
    """The reporting limit of a "not detected" or "<X" reading: its own, else the one given, else the
    parameter's default. Raises UnreadableValue when the value's own contradicts the one given, and
    Undecidable when "not detected" has none at all."""
    if reading.kind == "not_detected" and comparator is Comparator.MIN:
        raise UnreadableValue(
            str(
                _l(
                    "Not detected is not a reading for a minimum of %(limit)s: give the value the lab measured.",
                    limit=with_unit(format_decimal(limit), unit),
                )
            )
        )
    given_limit = parse_reporting_limit(given, unit)
    if reading.number is not None:
        written = _check_reporting_limit(reading.number, unit)
        if given_limit is not None and given_limit != written:
            raise UnreadableReportingLimit(
                str(
                    _l(
                        "The value gives the reporting limit %(written)s but the reporting limit given is "
                        "%(given)s: correct one of them.",
                        written=with_unit(format_decimal(written), unit),
                        given=with_unit(format_decimal(given_limit), unit),
                    )
                )
            )
        return written
    if given_limit is not None:
        return given_limit
    if default is not None:
        try:
            return _check_reporting_limit(parse_decimal(default), unit)
        except UnreadableValue as exc:
            raise InvalidLimit(str(exc)) from exc
    raise Undecidable(
        str(
            _l(
                "Not detected without a reporting limit cannot be judged against the limit %(limit)s: give the "
                "lab's reporting limit, such as ND (<%(example)s).",
                limit=with_unit(format_decimal(limit), unit),
                example=format_decimal(limit),
            )
        )
    )


def _judge_below(
    comparator: Comparator, limit: Decimal, not_detected: bool, applied: Decimal, unit: str, category: str
) -> Judgement:
    """ "not detected" or "<X" with the reporting limit ``applied``: the true value is below it."""
    bound = with_unit(format_decimal(limit), unit)
    shown = with_unit(format_decimal(applied), unit)
    canonical = f"ND (<{format_decimal(applied)})" if not_detected else f"<{format_decimal(applied)}"
    if comparator is Comparator.MIN:
        if applied <= limit:
            text = _sentence("below_reporting_limit_under_minimum", category, value=shown, limit=bound)
            return Judgement(Outcome.FAIL, canonical, text, reporting_limit=applied)
        raise Undecidable(
            str(
                _l(
                    "Less than %(value)s may or may not meet the minimum of %(limit)s: give the value the lab "
                    "measured.",
                    value=shown,
                    limit=bound,
                )
            )
        )
    if applied > limit:
        raise Undecidable(
            str(
                _l(
                    "The lab's reporting limit %(reporting_limit)s is above the limit %(limit)s: ask for a lower "
                    "reporting limit.",
                    reporting_limit=shown,
                    limit=bound,
                )
            )
        )
    case = "not_detected_within" if not_detected else "below_reporting_limit_within"
    near = applied >= limit - limit * NEAR_LIMIT_SHARE
    text = _sentence(case, category, reporting_limit=shown, limit=bound)
    return Judgement(Outcome.PASS, canonical, text, near_limit=near, reporting_limit=applied)


def _judge_above(comparator: Comparator, limit: Decimal, number: Decimal, unit: str, category: str) -> Judgement:
    """ ">X": the true value is above X."""
    bound = with_unit(format_decimal(limit), unit)
    shown = with_unit(format_decimal(number), unit)
    canonical = f">{format_decimal(number)}"
    if comparator is Comparator.MIN:
        if number >= limit:
            near = number <= limit + limit * NEAR_LIMIT_SHARE
            text = _sentence("above_meets_minimum", category, value=shown, limit=bound)
            return Judgement(Outcome.PASS, canonical, text, near_limit=near)
        raise Undecidable(
            str(
                _l(
                    "More than %(value)s may or may not meet the minimum of %(limit)s: give the value the lab "
                    "measured.",
                    value=shown,
                    limit=bound,
                )
            )
        )
    if number >= limit:
        text = _sentence("above_exceeds_limit", category, value=shown, limit=bound)
        return Judgement(Outcome.FAIL, canonical, text)
    raise Undecidable(
        str(
            _l(
                "More than %(value)s may or may not be within the limit of %(limit)s: give the value the lab measured.",
                value=shown,
                limit=bound,
            )
        )
    )
