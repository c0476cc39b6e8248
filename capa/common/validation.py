"""Declarative checks of incoming data, shared by the pages and the API.

A service states the shape of what it accepts as a :class:`Schema`; both the HTML forms and the JSON API
hand it a plain mapping, so a rule about a field lives in exactly one place. :meth:`Schema.validate` either
returns the cleaned values or raises :class:`~capa.common.errors.ValidationError` naming *every* bad field
at once, so a user fixes all problems in one round.
"""

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from capa.common.errors import ValidationError


class FieldError(Exception):
    """One field's value is unacceptable; the message says why, in words a user understands."""


class Field:
    def __init__(self, *, required: bool = True, default: Any = None):
        self.required = required
        self.default = default

    def clean(self, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.required:
                raise FieldError(_l("This field is required."))
            return self.default
        return self.convert(value)

    def convert(self, value: Any) -> Any:
        return value


class Text(Field):
    """A string, stripped of surrounding white space; empty counts as missing."""

    def __init__(
        self,
        max_length: int,
        *,
        required: bool = True,
        pattern: str | None = None,
        pattern_message: str | None = None,
        upper: bool = False,
        lower: bool = False,
    ):
        super().__init__(required=required)
        self.max_length = max_length
        self.pattern = re.compile(pattern) if pattern else None
        self.pattern_message = pattern_message
        self.upper = upper
        self.lower = lower

    def convert(self, value: Any) -> str:
        if not isinstance(value, str):
            raise FieldError(_l("Must be text."))
        value = value.strip()
        if self.upper:
            value = value.upper()
        if self.lower:
            value = value.lower()
        if len(value) > self.max_length:
            raise FieldError(_l("At most %(n)d characters.", n=self.max_length))
        if "\x00" in value:
            raise FieldError(_l("Contains a character that is not allowed."))
        if self.pattern and not self.pattern.fullmatch(value):
            raise FieldError(self.pattern_message or _l("Has an unexpected format."))
        return value


class Code(Text):
    """An identifier such as a line code or batch number: upper-cased, letters, digits and ``-_./``."""

    def __init__(self, max_length: int = 32, *, required: bool = True):
        super().__init__(
            max_length,
            required=required,
            pattern=r"[A-Z0-9][A-Z0-9._/-]*",
            pattern_message=_l("Use letters, digits and - _ . / only, starting with a letter or digit."),
            upper=True,
        )


class Choice(Field):
    def __init__(self, choices: Sequence[str], *, required: bool = True, default: str | None = None):
        super().__init__(required=required, default=default)
        self.choices = tuple(choices)

    def convert(self, value: Any) -> str:
        if not isinstance(value, str) or value.strip() not in self.choices:
            raise FieldError(_l("Must be one of: %(choices)s.", choices=", ".join(self.choices)))
        return value.strip()


class Boolean(Field):
    def __init__(self, *, default: bool = False):
        super().__init__(required=False, default=default)

    def clean(self, value: Any) -> bool:
        if value is None:
            return self.default
        if not isinstance(value, bool):
            raise FieldError(_l("Must be true or false."))
        return value


class ListOf(Field):
    """A list whose every item is checked against ``schema``; errors name the item, e.g. ``lots[1].kind``."""

    def __init__(self, schema: "Schema", *, max_items: int = 200, required: bool = False):
        super().__init__(required=required, default=())
        self.schema = schema
        self.max_items = max_items

    def clean(self, value: Any) -> list[dict[str, Any]]:
        if value is None:
            if self.required:
                raise FieldError(_l("This field is required."))
            return []
        if not isinstance(value, list):
            raise FieldError(_l("Must be a list."))
        if self.required and not value:
            raise FieldError(_l("Give at least one."))
        if len(value) > self.max_items:
            raise FieldError(_l("At most %(n)d items.", n=self.max_items))
        return value  # items are checked by Schema.validate, which knows the field's name


class Schema:
    def __init__(self, **fields: Field):
        self.fields = fields

    def check(self, data: Any) -> tuple[dict[str, Any], dict[str, str]]:
        """The cleaned values that passed, and the errors of those that did not: for a service that goes on
        to check references too, so that a person sees every problem in one round."""
        try:
            return self.validate(data), {}
        except ValidationError as exc:
            if not isinstance(data, Mapping):
                raise
            errors = exc.fields
        good = {name: data.get(name) for name in self.fields if name not in errors}
        cleaned = self.validate(good, partial=True)
        return {name: cleaned.get(name) for name in self.fields}, errors

    def validate(
        self, data: Any, *, partial: bool = False, allow_unknown: bool = False, prefix: str = ""
    ) -> dict[str, Any]:
        """Return the cleaned values of ``data`` or raise ValidationError naming each bad field.

        ``partial`` checks only the fields present (an update); ``allow_unknown`` lets fields this schema
        does not know pass silently (HTML forms carry their CSRF token and buttons), otherwise they are
        refused so that a misspelt field in an API call is not ignored without a word.
        """
        if not isinstance(data, Mapping):
            name = prefix.rstrip(".") or "body"
            raise ValidationError(
                str(_l("Expected an object with fields.")), fields={name: str(_l("Must be an object."))}
            )
        errors: dict[str, str] = {}
        cleaned: dict[str, Any] = {}
        if not allow_unknown:
            for name in data:
                if name not in self.fields:
                    errors[f"{prefix}{name}"] = str(_l("Unknown field."))
        for name, field in self.fields.items():
            if partial and name not in data:
                continue
            try:
                value = field.clean(data.get(name))
            except FieldError as exc:
                errors[f"{prefix}{name}"] = str(exc)
                continue
            if isinstance(field, ListOf):
                items = []
                for index, item in enumerate(value):
                    try:
                        items.append(field.schema.validate(item, prefix=f"{prefix}{name}[{index}]."))
                    except ValidationError as exc:
                        errors.update(exc.fields)
                value = items
            cleaned[name] = value
        if errors:
            raise ValidationError(str(_l("Please correct the fields marked.")), fields=errors)
        return cleaned


class Date(Field):
    """A calendar date: ``YYYY-MM-DD`` text (the API) or a date (a form's DateField)."""

    def __init__(self, *, required: bool = True, not_after: Callable[[], date] | None = None):
        super().__init__(required=required)
        self.not_after = not_after

    def convert(self, value: Any) -> date:
        if isinstance(value, datetime):
            value = value.date()
        if not isinstance(value, date):
            if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
                raise FieldError(_l("Use a date written YYYY-MM-DD."))
            try:
                value = date.fromisoformat(value.strip())
            except ValueError as exc:
                raise FieldError(_l("No such date.")) from exc
        if not 1900 <= value.year <= 9998:
            raise FieldError(_l("Out of range."))
        if self.not_after is not None and value > self.not_after():
            raise FieldError(_l("Cannot be in the future."))
        return value


class Anything(Field):
    """A value whose reading is left to the service (a lab value is read against its parameter's limit)."""

    def convert(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > 100:
            raise FieldError(_l("At most %(n)d characters.", n=100))
        if isinstance(value, list) and (len(value) > 10 or any(len(str(item)) > 20 for item in value)):
            raise FieldError(_l("At most 10 short values."))
        if isinstance(value, str | int | float | list) and not isinstance(value, bool):
            return value
        raise FieldError(_l("Must be a number or text."))


class Integer(Field):
    """A whole number within bounds; numeric text is accepted from forms, never a fraction or a boolean."""

    def __init__(self, *, required: bool = True, minimum: int = 0, maximum: int = 2_000_000_000):
        super().__init__(required=required)
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise FieldError(_l("Must be a whole number."))
        if isinstance(value, str):
            if not re.fullmatch(r"[+-]?\d{1,12}", value.strip()):
                raise FieldError(_l("Must be a whole number."))
            value = int(value.strip())
        if not self.minimum <= value <= self.maximum:
            raise FieldError(_l("Must be between %(low)d and %(high)d.", low=self.minimum, high=self.maximum))
        return value


class Moment(Field):
    """A point in time in ISO 8601; without an offset it is read as the plant's local time."""

    def __init__(self, zone: Callable[[], Any], *, required: bool = True):
        super().__init__(required=required)
        self.zone = zone

    def convert(self, value: Any) -> datetime:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError as exc:
                raise FieldError(_l("Use a date and time in ISO 8601, such as 2026-03-05T14:30+08:00.")) from exc
        else:
            raise FieldError(_l("Use a date and time in ISO 8601, such as 2026-03-05T14:30+08:00."))
        if not 1900 <= moment.year <= 9998:
            raise FieldError(_l("Out of range."))
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self.zone())


class Strings(Field):
    """A list of short texts checked one by one by ``item`` (codes of parameters, the 5 whys…)."""

    def __init__(self, item: Field, *, max_items: int = 50, required: bool = False):
        super().__init__(required=required, default=None)
        self.item = item
        self.max_items = max_items

    def clean(self, value: Any) -> list | None:
        if value is None:
            if self.required:
                raise FieldError(_l("This field is required."))
            return None
        if not isinstance(value, list):
            raise FieldError(_l("Must be a list."))
        if len(value) > self.max_items:
            raise FieldError(_l("At most %(n)d items.", n=self.max_items))
        cleaned = []
        for index, item in enumerate(value):
            try:
                cleaned.append(self.item.clean(item))
            except FieldError as exc:
                raise FieldError(f"[{index}] {exc}") from exc
        return [item for item in cleaned if item is not None]
