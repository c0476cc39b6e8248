"""Building blocks of the API's answers: models read from stored records.

An answer is a Pydantic model read from a record's attributes (``from_attributes``); a field that is another
record's code names the path to it (``Ref("style", "code")``), so the answer's shape, its document and its
reading are one declaration. Times are written as ``datetime.isoformat()`` writes them (``+00:00``), as
clients have always received them.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AliasPath, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema


class Answer(BaseModel):
    """The body of an answer. Its document describes what is written (serialization), so a field read from
    another name (``validation_alias``) is documented under the name it is answered as."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        kwargs["mode"] = "serialization"
        return super().model_json_schema(*args, **kwargs)


class Record(Answer):
    """An answer read from a stored record's attributes."""

    model_config = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)


def Ref(*path: str | int, default: Any = ...) -> Any:
    """A field read from ``path`` of the record (``"style", "code"``); a missing record gives ``default``."""
    return Field(default, validation_alias=AliasPath(*path))


#: A moment in time, written in ISO 8601 with its offset.
Timestamp = Annotated[
    datetime,
    PlainSerializer(lambda moment: moment.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

#: A measured or computed number, exact to its hundredths, answered as a JSON number.
Measured = Annotated[Decimal, PlainSerializer(float, return_type=float), WithJsonSchema({"type": "number"})]

#: Text stored empty when there is none, answered as null.
OrNone = Annotated[str | None, BeforeValidator(lambda value: value or None)]


def Codes(attribute: str = "code") -> Any:
    """A list of records answered as their codes (or numbers: ``Codes("number")``)."""
    return Annotated[list[str], BeforeValidator(lambda records: [getattr(record, attribute) for record in records])]


class With:
    """A record with a few attributes added, for an answer that reads them beside the record's own
    (``With(nc, tests=...)``)."""

    def __init__(self, record: Any, **added: Any):
        self._record = record
        self.__dict__.update(added)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._record, name)
