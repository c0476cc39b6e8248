"""A tally sheet's counts per defect code: one input per code of the library in use (``count-SEW-01``), read from
the form, sent as a command's ``defects`` and, when the service refuses one, the error put beside its code."""

from dataclasses import dataclass, field

from flask import request

from capa.common.commands import parse
from capa.common.errors import DomainError
from capa.inspections import defects
from capa.inspections.commands import DefectCodeFilters
from capa.inspections.models import DefectCode


def input_name(code: str) -> str:
    return f"count-{code}"


@dataclass
class CodeCounts:
    """The codes in use, what was typed for each, and the errors beside them."""

    library: list[DefectCode]
    #: code -> the text sent for it ("" when nothing).
    counts: dict[str, str]
    #: input name -> the error shown beside it.
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls) -> "CodeCounts":
        """The codes in use, and the counts of the form sent (none on a first display)."""
        library = defects.list_defect_codes(parse(DefectCodeFilters, {"active": "true"}))
        return cls(library, {code.code: request.form.get(input_name(code.code), "").strip() for code in library})

    def found(self) -> list[tuple[str, str]]:
        """(code, count as typed) of the codes counted; an empty or 0 count is none."""
        return [(code, count) for code, count in self.counts.items() if count not in ("", "0")]

    def defects(self) -> list[dict[str, str]]:
        """The command's ``defects``."""
        return [{"code": code, "count": count} for code, count in self.found()]

    def set_aside(self, error: DomainError) -> DomainError:
        """Keep the errors ``error`` names on ``defects[i]`` beside their codes' inputs; answers the error with the
        others, for the form's own fields."""
        aliases = {
            f"defects[{index}].{part}": input_name(code)
            for index, (code, _) in enumerate(self.found())
            for part in ("code", "count")
        }
        error = error.renamed(aliases)
        self.errors = {name: message for name, message in error.fields.items() if name.startswith("count-")}
        rest = {name: message for name, message in error.fields.items() if name not in self.errors}
        return type(error)(error.message, fields=rest, **error.extra)

    def areas(self) -> dict[str, list[DefectCode]]:
        """The codes by area, in the library's order."""
        grouped: dict[str, list[DefectCode]] = {}
        for code in self.library:
            grouped.setdefault(code.area, []).append(code)
        return grouped
