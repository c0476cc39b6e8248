"""Errors raised by the services, each carrying what a page or the API needs to answer it.

Services raise these; the API turns them into ``{"error": {"code", "message", "fields"}}`` with the status
given here, and pages show them next to the form field they name.
"""

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, fields: Mapping[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})
        self.extra = extra

    def renamed(self, aliases: Mapping[str, str]) -> "DomainError":
        """The same error with its fields renamed, for a page whose fields are named otherwise."""
        renamed = type(self)(self.message, fields={aliases.get(k, k): v for k, v in self.fields.items()}, **self.extra)
        return renamed

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "fields": self.fields}
        body.update(self.extra)
        return body


class ValidationError(DomainError):
    """Input that cannot be accepted; ``fields`` maps each bad field to what is wrong with it."""

    status = 400
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Duplicate(DomainError):
    """A record with the same unique code or number exists already."""

    status = 409
    code = "duplicate"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
