"""Typed commands: what a service accepts, declared once as a Pydantic model.

A service that changes something takes a :class:`Command`. The pages build it from a form's data, the API from
the JSON body (APIFlask reads the same model to validate the request and to write the OpenAPI document), and
the command line from its options, all through :func:`parse`. So the shape of an operation, its limits and its
messages are written once.

The rules every command follows:
- text is stripped of surrounding white space, and blank text counts as missing;
- a missing required field, an unknown field, a wrong type or an out-of-range value raises
  :class:`~capa.common.errors.ValidationError` naming *every* bad field at once, in the names outside clients
  use: ``name``, ``lots[1].kind``, ``parameters[0]``;
- messages are the sentences a person reads beside the field, translated.

Field types are built by the functions below (``Text(120)``, ``Code()``, ``Choice(LotKind)``…) so that the
same limits appear in the validation and in the document.
"""

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from capa.common.errors import ValidationError

PLEASE_CORRECT = _l("Please correct the fields marked.")
REQUIRED = _l("This field is required.")


class Command(BaseModel):
    """A typed input of a service: unknown fields are refused (a misspelt field is never silently dropped),
    and a command, once parsed, does not change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def given(self) -> dict[str, Any]:
        """The fields the caller actually sent, for a change that touches only those (in the order the command
        declares them, so that what is done with them is done in the same order every time)."""
        return {name: getattr(self, name) for name in type(self).model_fields if name in self.model_fields_set}

    @classmethod
    def reference_problems(cls, values: Mapping[str, Any]) -> dict[str, str]:
        """Problems with the records that the well-formed ``values`` name (an unknown line, say), found while
        other fields are malformed, so that a person sees every problem in one round. None by default; a
        command whose service looks references up says so here."""
        return {}


C = TypeVar("C", bound=Command)


def refuse(message: Any) -> PydanticCustomError:
    return PydanticCustomError("capa", "{message}", {"message": str(message)})


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# Field types -------------------------------------------------------------------------------------------------


def Text(
    max_length: int,
    *,
    required: bool = True,
    pattern: str | None = None,
    pattern_message: Any = None,
    upper: bool = False,
    lower: bool = False,
) -> Any:
    """Text of at most ``max_length`` characters, stripped; optionally upper- or lower-cased and matched."""
    compiled = re.compile(pattern) if pattern else None

    def clean(value: Any) -> str | None:
        if _blank(value):
            if required:
                raise refuse(REQUIRED)
            return None
        if not isinstance(value, str):
            raise refuse(_l("Must be text."))
        value = value.strip()
        value = value.upper() if upper else value.lower() if lower else value
        if len(value) > max_length:
            raise refuse(_l("At most %(n)d characters.", n=max_length))
        if "\x00" in value:
            raise refuse(_l("Contains a character that is not allowed."))
        if compiled and not compiled.fullmatch(value):
            raise refuse(pattern_message or _l("Has an unexpected format."))
        return value

    # Blank optional text means "not given", so only required text documents a minimum length.
    documented = Annotated[str, Field(min_length=1 if required else 0, max_length=max_length)]
    if required:
        return Annotated[documented, BeforeValidator(clean)]
    return Annotated[documented | None, BeforeValidator(clean)]


CODE_PATTERN = r"[A-Z0-9][A-Z0-9._/-]*"
CODE_MESSAGE = _l("Use letters, digits and - _ . / only, starting with a letter or digit.")


def Code(max_length: int = 32, *, required: bool = True) -> Any:
    """An identifier such as a line code or batch number: upper-cased, letters, digits and ``-_./``."""
    return Text(max_length, required=required, pattern=CODE_PATTERN, pattern_message=CODE_MESSAGE, upper=True)


E = TypeVar("E", bound=StrEnum)


def Choice(choices: type[E], *, required: bool = True) -> Any:
    """One value of the enum ``choices``, given as its text."""
    allowed = [member.value for member in choices]

    def clean(value: Any) -> Any:
        if _blank(value):
            if required:
                raise refuse(REQUIRED)
            return None
        if isinstance(value, str) and value.strip() in allowed:
            return choices(value.strip())
        raise refuse(_l("Must be one of: %(choices)s.", choices=", ".join(allowed)))

    return Annotated[choices if required else choices | None, BeforeValidator(clean)]


#: true or false, as JSON booleans (a form's checkbox gives one too); "yes" or 1 are refused.
Boolean = Annotated[bool, Strict()]


def Integer(*, required: bool = True, minimum: int = 0, maximum: int = 2_000_000_000) -> Any:
    """A whole number within bounds; numeric text is accepted (forms, query strings), never a fraction."""

    def clean(value: Any) -> int | None:
        if _blank(value):
            if required:
                raise refuse(REQUIRED)
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise refuse(_l("Must be a whole number."))
        if isinstance(value, str):
            if not re.fullmatch(r"[+-]?\d{1,12}", value.strip()):
                raise refuse(_l("Must be a whole number."))
            value = int(value.strip())
        if not minimum <= value <= maximum:
            raise refuse(_l("Must be between %(low)d and %(high)d.", low=minimum, high=maximum))
        return value

    documented = Annotated[int, Field(ge=minimum, le=maximum)]
    return Annotated[documented if required else documented | None, BeforeValidator(clean)]


def Measure(*, maximum: int, required: bool = True, places: int = 2, zero: bool = False) -> Any:
    """A measured number (a length, a width, a size) above 0 (or 0 itself, with ``zero``) and at most
    ``maximum``, with at most ``places`` decimals: a JSON number or numeric text (``12.5``), read as an exact
    decimal; more places are refused, not rounded (a tape reads to what it reads)."""
    message = _l("Must be a number with at most %(places)d decimals.", places=places)

    def clean(value: Any) -> Decimal | None:
        if _blank(value):
            if required:
                raise refuse(REQUIRED)
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise refuse(message)
        text = repr(value) if isinstance(value, float) else str(value).strip()
        if not re.fullmatch(rf"\d{{1,9}}(\.\d{{1,{places}}})?", text):
            raise refuse(message)
        number = Decimal(text)
        if not (number >= 0 if zero else number > 0) or number > maximum:
            low = _l("Must be between 0 and %(high)d.", high=maximum) if zero else None
            raise refuse(low or _l("Must be above 0 and at most %(high)d.", high=maximum))
        return number

    bounds = {"ge": 0} if zero else {"gt": 0}
    documented = Annotated[Decimal, Field(**bounds, le=maximum, decimal_places=places)]
    return Annotated[documented if required else documented | None, BeforeValidator(clean)]


def Day(*, required: bool = True, not_after: Callable[[], date] | None = None) -> Any:
    """A calendar date written ``YYYY-MM-DD`` (or a date, from a form), between the years 1900 and 9998."""

    def clean(value: Any) -> date | None:
        if _blank(value):
            if required:
                raise refuse(REQUIRED)
            return None
        if isinstance(value, datetime):
            value = value.date()
        if not isinstance(value, date):
            if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
                raise refuse(_l("Use a date written YYYY-MM-DD."))
            try:
                value = date.fromisoformat(value.strip())
            except ValueError:
                raise refuse(_l("No such date.")) from None
        if not 1900 <= value.year <= 9998:
            raise refuse(_l("Out of range."))
        if not_after is not None and value > not_after():
            raise refuse(_l("Cannot be in the future."))
        return value

    return Annotated[date if required else date | None, BeforeValidator(clean)]


def Items(
    item: Any, *, max_items: int = 200, required: bool = False, null_is_empty: bool = True, drop_blank: bool = False
) -> Any:
    """A list of ``item`` (a field type or a nested command); errors name the item: ``lots[1].kind``.

    ``null`` is an empty list, unless ``null_is_empty`` is false (a change: null then means "unchanged").
    With ``drop_blank``, blank entries are left out (the unused lines of a form's five whys)."""

    def clean(value: Any) -> Any:
        if value is None and not required:
            return [] if null_is_empty else None
        if value is None:
            raise refuse(REQUIRED)
        if not isinstance(value, list):
            raise refuse(_l("Must be a list."))
        if drop_blank:
            value = [entry for entry in value if not _blank(entry)]
        if required and not value:
            raise refuse(_l("Give at least one."))
        if len(value) > max_items:
            raise refuse(_l("At most %(n)d items.", n=max_items))
        return value

    documented = Annotated[list[item], Field(max_length=max_items)]
    return Annotated[documented if null_is_empty else documented | None, BeforeValidator(clean)]


def Moment(zone: Callable[[], Any], *, required: bool = True) -> Any:
    """A point in time in ISO 8601; without an offset it is read in ``zone()`` (the plant's time)."""
    message = _l("Use a date and time in ISO 8601, such as 2026-03-05T14:30+08:00.")

    def clean(value: Any) -> datetime | None:
        if _blank(value):
            if required:
                raise refuse(REQUIRED)
            return None
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                raise refuse(message) from None
        else:
            raise refuse(message)
        if not 1900 <= moment.year <= 9998:
            raise refuse(_l("Out of range."))
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone())

    return Annotated[datetime if required else datetime | None, BeforeValidator(clean)]


def LabValue(*, required: bool = True) -> Any:
    """A lab result as sent: a number, a text (``ND``, ``4-5``) or a short list of either; its reading is the
    judge's, against the parameter's limit."""

    def clean(value: Any) -> Any:
        if _blank(value):
            if not required:
                return None
            raise refuse(REQUIRED)
        if isinstance(value, str) and len(value) > 100:
            raise refuse(_l("At most %(n)d characters.", n=100))
        if isinstance(value, list) and (len(value) > 10 or any(len(str(item)) > 20 for item in value)):
            raise refuse(_l("At most 10 short values."))
        if isinstance(value, str | int | float | Decimal | list) and not isinstance(value, bool):
            return value
        raise refuse(_l("Must be a number or text."))

    # Decimal: a JSON body's numbers are read as decimals (capa.http.json), so 20.000000000000001 stays above 20.
    accepted = str | int | float | Decimal | list[str | int | float | Decimal]
    return Annotated[accepted if required else accepted | None, BeforeValidator(clean)]


# Parsing -----------------------------------------------------------------------------------------------------

#: Messages for the checks Pydantic makes itself, by its error type.
_MESSAGES: dict[str, Any] = {
    "missing": REQUIRED,
    "extra_forbidden": _l("Unknown field."),
    "bool_type": _l("Must be true or false."),
    "list_type": _l("Must be a list."),
    "model_type": _l("Must be an object."),
    "model_attributes_type": _l("Must be an object."),
    "dict_type": _l("Must be an object."),
    "string_type": _l("Must be text."),
}


def field_name(location: tuple[str | int, ...]) -> str:
    """Pydantic's location ``("lots", 1, "kind")`` as clients name the field: ``lots[1].kind``; a bad key of a
    mapping (``("targets", "xl!", "[key]")``) is named by the key itself: ``targets.xl!``."""
    name = ""
    for part in location:
        if part == "[key]":
            continue
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name or "body"


def errors_of(error: PydanticValidationError) -> dict[str, str]:
    """Each bad field with the sentence a person reads beside it (the first problem per field)."""
    fields: dict[str, str] = {}
    for problem in error.errors(include_url=False):
        # A BeforeValidator's refusal is reported at the field; Pydantic adds no location part for it.
        name = field_name(tuple(problem["loc"]))
        if problem["type"] == "capa":
            message = problem["ctx"]["message"]
        elif problem["type"] in _MESSAGES:
            message = str(_MESSAGES[problem["type"]])
        else:
            message = problem["msg"]
        fields.setdefault(name, message)
    return fields


def _clean(command: type[Command], name: str, value: Any) -> Any:
    """One field of ``command`` validated alone (it passed inside the whole, so it passes here)."""
    info = command.model_fields[name]
    # A nested command (``laboratory: NewLaboratory``) has no metadata, and Annotated needs some.
    annotated = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(annotated).validate_python(value)


def parse(command: type[C], data: Any) -> C:
    """``data`` (a mapping from a form, a JSON body or options) as ``command``; raises ValidationError naming
    each bad field, or ``body`` when the data is not an object at all."""
    if not isinstance(data, Mapping):
        raise ValidationError(
            str(_l("Expected an object with fields.")), fields={"body": str(_l("Must be an object."))}
        )
    try:
        return command.model_validate(dict(data))
    except PydanticValidationError as error:
        fields = errors_of(error)
    malformed = {re.split(r"[.\[]", name, maxsplit=1)[0] for name in fields}
    well_formed = {
        name: _clean(command, name, value)
        for name, value in data.items()
        if name in command.model_fields and name not in malformed
    }
    # A format problem is the more useful message where a field has both.
    fields = command.reference_problems(well_formed) | fields
    raise ValidationError(str(PLEASE_CORRECT), fields=fields)
