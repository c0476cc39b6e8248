"""The shipped catalog of CMIA safety parameters (``capa/reference/cmia_parameters.csv``) and its loading.

Loading is idempotent: a second load of the same file changes nothing. A newer file updates a limit only
where the file's own figure changed since the last load, so a quality manager's correction of a limit
the file did not change is kept; every limit the file changes is recorded as a LimitChange without a user.
Parameters are never deleted, so every record linked to one keeps its link. A parameter's Chinese name
(the optional ``name_zh`` column) is filled in where the database has none, and never overwrites one a
quality manager gave.
"""

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from capa.common.transaction import unit_of_work
from capa.safety.judging import InvalidLimit, parse_limit
from capa.safety.models import KINDS, LimitChange, ParameterLimit, SafetyParameter

CATALOG_PATH = Path(__file__).resolve().parent.parent / "reference" / "cmia_parameters.csv"
CATALOG_UPDATE_REASON = "Shipped catalog updated"


@dataclass
class LoadReport:
    parameters_added: int = 0
    limits_added: int = 0
    limits_updated: int = 0


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the line."""


def read_catalog(path: Path = CATALOG_PATH) -> dict[str, list[dict[str, str]]]:
    """The catalog's rows grouped by parameter code, checked: raises CatalogError naming the bad line."""
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            # The line the record starts on, even when a quoted note spans several lines.
            line_number = reader.line_num - sum(value.count("\n") for value in row.values() if value)
            row = {key: (value or "").strip() for key, value in row.items()}
            if row["kind"] not in KINDS:
                raise CatalogError(f"{path.name} line {line_number}: unknown kind {row['kind']!r}")
            try:
                parse_limit(row["comparator"], row["limit"])
            except (InvalidLimit, ValueError) as exc:
                raise CatalogError(f"{path.name} line {line_number}: {exc}") from exc
            if row["category"] not in ("A", "B", "C", "all"):
                raise CatalogError(f"{path.name} line {line_number}: unknown category {row['category']!r}")
            if any(seen["category"] == row["category"] for seen in grouped[row["code"]]):
                raise CatalogError(f"{path.name} line {line_number}: {row['code']} {row['category']} is listed twice")
            grouped[row["code"]].append(row)
    return grouped


def load_catalog(path: Path = CATALOG_PATH) -> LoadReport:
    """Bring the database's catalog up to date with the file at ``path``, in one unit of work."""
    grouped = read_catalog(path)
    report = LoadReport()
    with unit_of_work() as session:
        existing = {
            parameter.code: parameter
            for parameter in session.scalars(select(SafetyParameter).options(selectinload(SafetyParameter.limits)))
        }
        for code, rows in grouped.items():
            first = rows[0]
            parameter = existing.get(code)
            if parameter is None:
                parameter = SafetyParameter(
                    code=code,
                    name=first["name"],
                    name_zh=first.get("name_zh", ""),
                    kind=first["kind"],
                    unit=first["unit"],
                    standard=first["standard"],
                    clause=first["clause"],
                    test_method=first["test_method"],
                    from_catalog=True,
                )
                session.add(parameter)
                report.parameters_added += 1
            elif not parameter.name_zh and first.get("name_zh"):
                parameter.name_zh = first["name_zh"]
            limits = {limit.category: limit for limit in parameter.limits}
            for row in rows:
                limit = limits.get(row["category"])
                if limit is None:
                    parameter.limits.append(
                        ParameterLimit(
                            category=row["category"],
                            comparator=row["comparator"],
                            limit=row["limit"],
                            catalog_comparator=row["comparator"],
                            catalog_limit=row["limit"],
                            clause=row["clause"],
                            notes=row["notes"],
                            source=row["source"],
                        )
                    )
                    report.limits_added += 1
                    continue
                if (limit.catalog_comparator, limit.catalog_limit) != (row["comparator"], row["limit"]):
                    session.add(
                        LimitChange(
                            parameter=parameter,
                            category=limit.category,
                            old_comparator=limit.comparator,
                            old_limit=limit.limit,
                            new_comparator=row["comparator"],
                            new_limit=row["limit"],
                            reason=CATALOG_UPDATE_REASON,
                        )
                    )
                    limit.comparator = limit.catalog_comparator = row["comparator"]
                    limit.limit = limit.catalog_limit = row["limit"]
                    report.limits_updated += 1
                limit.clause, limit.notes, limit.source = row["clause"], row["notes"], row["source"]
    return report
