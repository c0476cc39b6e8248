"""Column types that behave the same on SQLite and PostgreSQL."""

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, always returned as an aware UTC datetime.

    SQLite keeps no time zone, so values are stored as naive UTC and made aware again on the way out; on
    PostgreSQL the column is ``timestamp with time zone``. Naive datetimes are refused: a naive value is a
    bug waiting for the plant's time zone to differ from the server's.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def identifier(value: str, *, upper: bool = False, lower: bool = False) -> str | None:
    """An identifier as typed (a code, a number, a user name) in the form it is stored in: stripped, and upper-
    or lower-cased. None for one that no record can have: with a NUL byte, which PostgreSQL refuses in text,
    so a lookup answers "not found" instead of failing."""
    if "\x00" in value:
        return None
    value = value.strip()
    return value.upper() if upper else value.lower() if lower else value


def one_of(
    column: str, values: type[StrEnum] | Iterable[str], *, nullable: bool = False, name: str | None = None
) -> CheckConstraint:
    """A CHECK constraint keeping ``column`` to the values of an enum (or NULL when ``nullable``): the database
    holds the same vocabulary as the code, so a row written around the app cannot hold an unknown state."""
    listed = ", ".join(
        f"'{value}'" for value in (member.value if isinstance(member, StrEnum) else member for member in values)
    )
    condition = f"{column} IN ({listed})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=name or f"{column}_known")


class Hundredths(TypeDecorator[Decimal]):
    """A decimal number with at most two places (a length in metres, a width in centimetres), stored exactly as a
    whole number of hundredths: SQLite has no exact decimal type, and a float would turn 7.62 cm into a number
    just under or over 3 inches. A value with more places is refused, not rounded."""

    impl = BigInteger
    cache_ok = True
    places = 2

    def process_bind_param(self, value: Decimal | int | None, dialect) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value).scaleb(self.places)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.places} decimal places")
        return int(scaled)

    def process_result_value(self, value: int | None, dialect) -> Decimal | None:
        return None if value is None else Decimal(value).scaleb(-self.places)


class Thousandths(Hundredths):
    """A decimal number with at most three places (a garment measured in inches, to the eighth: 0.125), stored
    exactly as a whole number of thousandths."""

    cache_ok = True
    places = 3
