"""Judging a lab result against a safety limit: plain Python, exact, and strict about what it can read.

A wrong verdict on an infant garment is the worst mistake this product can make, so the rules here are
few and literal:

- numbers are compared as decimals, never floats: 20 passes ``max 20``, 20.01 fails it;
- ``max``: value ≤ limit; ``lt``: value < limit; ``min``: value ≥ limit; ``range``: low ≤ value ≤ high
  (limit written ``low..high``);
- ``grade_min``: a grey-scale grade, 1 (worst) to 5 (best) in half steps written ``3-4`` (also ``3/4``,
  ``3–4`` or ``3.5``); ``3-4`` lies between 3 and 4, so it fails a limit of 4. When several grades are
  given (colour change and staining), the lowest decides;
- ``absent``: ``none``, ``not detected``, ``n.d.``, ``absent`` … pass; ``found``, ``detected`` … fail;
- ``pass_fail``: the lab's verdict, ``pass`` or ``fail``.

A value that cannot be read for the parameter (a grade for a mg/kg limit, ``abc``, a negative
concentration, a pH outside 0–14, a grade of 6) raises :class:`UnreadableValue` with a message for the
person who typed it; nothing is judged.
"""

import re
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
# A passing result this close to a max/min limit (as a share of the limit) is a near-limit warning.
NEAR_LIMIT_SHARE = Decimal("0.10")

#: What a judgement says, as whole sentences to translate: the first for a limit of the style's own category,
#: the second for a limit that holds for every category. Placeholders: value, limit (or span), category.
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
}


def _sentence(case: str, category: str, **values: str) -> str:
    """The sentence of ``case`` in the reader's language, for a category's own limit or one for all."""
    own, every = SENTENCES[case]
    return str(every if category == "all" else own) % {"category": category, **values}


class UnreadableValue(ValueError):
    """The value cannot be read for this parameter; the message says why, for the person who typed it."""


class InvalidLimit(ValueError):
    """A limit written in a form its comparator cannot use."""


@dataclass(frozen=True)
class Judgement:
    outcome: Outcome
    #: The value as read, in canonical form ("35", "3-4", "not detected").
    value: str
    explanation: str
    #: Passed, but within NEAR_LIMIT_SHARE of a max, lt or min limit.
    near_limit: bool = False


# Grades ---------------------------------------------------------------------------------------------------

_GRADE = re.compile(r"([1-5])(?:\s*[-/–—]\s*([1-5]))?")


def parse_grade(text: Any) -> int:
    """A grey-scale grade in half steps: "1" → 2, "3-4" → 7, "5" → 10. Raises UnreadableValue."""
    if isinstance(text, bool):
        raise UnreadableValue(str(_l("Expected a grade from 1 to 5, such as 4 or 3-4.")))
    if isinstance(text, int | float | Decimal):
        text = str(text)
    if not isinstance(text, str):
        raise UnreadableValue(str(_l("Expected a grade from 1 to 5, such as 4 or 3-4.")))
    cleaned = text.strip().lower().removeprefix("grade").strip()
    half = re.fullmatch(r"([1-4])\.5", cleaned)
    if half:
        return int(half.group(1)) * 2 + 1
    whole = re.fullmatch(r"([1-5])(?:\.0)?", cleaned)
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


def _parse_grades(value: Any) -> int:
    """The lowest of one or more grades ("4, 3-4" or a list): the worst reading decides."""
    if isinstance(value, list):
        parts = value
    elif isinstance(value, str) and re.search(r"[,;]", value):
        parts = [part for part in re.split(r"[,;]", value) if part.strip()]
    else:
        parts = [value]
    if not parts:
        raise UnreadableValue(str(_l("Expected a grade from 1 to 5, such as 4 or 3-4.")))
    return min(parse_grade(part) for part in parts)


# Numbers --------------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def parse_decimal(value: Any) -> Decimal:
    """A finite decimal from a JSON number or numeric text ("35", "20.01", " 4,5 " is refused)."""
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


def _check_plausible(number: Decimal, unit: str) -> None:
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


# Words ----------------------------------------------------------------------------------------------------

ABSENT_WORDS = frozenset({"none", "not detected", "n.d.", "nd", "n.d", "absent", "not found", "not present", "no"})
FOUND_WORDS = frozenset({"found", "detected", "present", "yes"})
PASS_WORDS = frozenset({"pass", "passed"})
FAIL_WORDS = frozenset({"fail", "failed"})


def _word(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UnreadableValue(str(_l("Expected a word, such as pass or fail.")))
    return " ".join(value.strip().lower().split())


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


def judge(comparator: Comparator | str, limit_text: str, unit: str, value: Any, *, category: str) -> Judgement:
    """Judge ``value`` against the limit ``limit_text`` of ``category`` with ``comparator``.

    Raises UnreadableValue when the value cannot be read for this comparator and unit, and InvalidLimit
    when the stored limit itself is malformed.
    """
    comparator = Comparator(comparator)
    limit = parse_limit(comparator, limit_text)

    if comparator in NUMERIC:
        try:
            number = parse_decimal(value.strip() if isinstance(value, str) else value)
        except UnreadableValue as exc:
            shown_unit = unit if unit.strip() not in ("", "-") else ""
            expected = (
                _l("This parameter is measured as a number in %(unit)s.", unit=shown_unit)
                if shown_unit
                else _l("This parameter is measured as a number.")
            )
            raise UnreadableValue(f"{exc} {expected}") from exc
        _check_plausible(number, unit)
        shown = with_unit(format_decimal(number), unit)
        return _judge_number(comparator, limit, number, shown, unit, category)

    if comparator is Comparator.GRADE_MIN:
        grade = _parse_grades(value)
        shown = format_grade(grade)
        case, outcome = ("grade_meets", Outcome.PASS) if grade >= limit else ("grade_below", Outcome.FAIL)
        return Judgement(outcome, shown, _sentence(case, category, value=shown, limit=format_grade(limit)))

    word = _word(value)
    if comparator is Comparator.ABSENT:
        if word in ABSENT_WORDS:
            return Judgement(
                Outcome.PASS,
                "not detected" if word in {"nd", "n.d.", "n.d"} else word,
                str(_l("%(value)s: meets the requirement (%(limit)s)", value=word, limit=limit)),
            )
        if word in FOUND_WORDS:
            return Judgement(
                Outcome.FAIL,
                word,
                str(_l("%(value)s where the requirement is: %(limit)s", value=word, limit=limit)),
            )
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
        case, outcome = ("within_range", Outcome.PASS) if low <= number <= high else ("outside_range", Outcome.FAIL)
        return Judgement(outcome, format_decimal(number), _sentence(case, category, value=shown, span=span))

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
