"""The shipped catalog of CMIA safety parameters (``capa/reference/cmia_parameters.csv``) and its loading.

Loading is idempotent: a second load of the same file changes nothing. A newer file updates a limit only
where the file's own figure changed since the last load, so a quality manager's correction of a limit
the file did not change is kept; every limit the file changes is recorded as a LimitChange without a user, and
the results it concerns are judged again in the same unit of work (:mod:`capa.safety.rejudging`, cause
``catalog``).
A limit row is keyed by its category and its condition (``dark_shade``). What decides where a parameter
applies (market, ``applies_when``, mandatory, default reporting limit) follows the file, each change recorded
as a ParameterChange. Parameters are never deleted, so every record linked to one keeps its link: a shipped
parameter the file no longer lists is retired (kept, recorded, out of new plans). A parameter's Chinese name
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
from capa.masterdata.models import Market
from capa.safety import rejudging
from capa.safety.applicability import InvalidCondition, parse_condition
from capa.safety.judging import InvalidLimit, UnreadableValue, parse_decimal, parse_limit
from capa.safety.models import KINDS, LimitChange, ParameterChange, ParameterLimit, SafetyParameter

CATALOG_PATH = Path(__file__).resolve().parent.parent / "reference" / "cmia_parameters.csv"
CATALOG_UPDATE_REASON = "Shipped catalog updated"


@dataclass
class LoadReport:
    parameters_added: int = 0
    limits_added: int = 0
    limits_updated: int = 0
    parameters_changed: int = 0
    parameters_retired: int = 0


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
            row.setdefault("condition", "")
            if any(
                (seen["category"], seen["condition"]) == (row["category"], row["condition"])
                for seen in grouped[row["code"]]
            ):
                raise CatalogError(f"{path.name} line {line_number}: {row['code']} {row['category']} is listed twice")
            _check_applicability(row, f"{path.name} line {line_number}")
            grouped[row["code"]].append(row)
    return grouped


def _check_applicability(row: dict[str, str], where: str) -> None:
    """The columns saying where a row applies, checked; absent columns take their defaults (an older file)."""
    row.setdefault("market", Market.CN.value)
    row.setdefault("applies_when", "")
    row.setdefault("mandatory", "no")
    row.setdefault("reporting_limit", "")
    row.setdefault("confirmed", "yes")
    if row["market"] not in set(Market):
        raise CatalogError(f"{where}: unknown market {row['market']!r}")
    for column in ("mandatory", "confirmed"):
        if row[column] not in ("yes", "no"):
            raise CatalogError(f"{where}: {column} must be yes or no, not {row[column]!r}")
    for column in ("applies_when", "condition"):
        try:
            parse_condition(row[column])
        except InvalidCondition as exc:
            raise CatalogError(f"{where}: {column}: {exc}") from exc
    if row["reporting_limit"]:
        try:
            parse_decimal(row["reporting_limit"])
        except UnreadableValue as exc:
            raise CatalogError(f"{where}: reporting_limit: {exc}") from exc


def _parameter_fields(row: dict[str, str]) -> dict[str, object]:
    """What a catalog row says about where its parameter applies, as the parameter stores it."""
    return {
        "market": row["market"],
        "applies_when": row["applies_when"],
        "mandatory": row["mandatory"] == "yes",
        "reporting_limit": row["reporting_limit"] or None,
    }


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


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
                    **_parameter_fields(first),
                )
                session.add(parameter)
                report.parameters_added += 1
            else:
                if not parameter.name_zh and first.get("name_zh"):
                    parameter.name_zh = first["name_zh"]
                changed = False
                for name, value in {**_parameter_fields(first), "retired": False}.items():
                    if getattr(parameter, name) != value:
                        session.add(
                            ParameterChange(
                                parameter=parameter,
                                field=name,
                                old=_shown(getattr(parameter, name)),
                                new=_shown(value),
                                reason=CATALOG_UPDATE_REASON,
                            )
                        )
                        setattr(parameter, name, value)
                        changed = True
                report.parameters_changed += changed
            limits = {(limit.category, limit.condition): limit for limit in parameter.limits}
            for row in rows:
                limit = limits.get((row["category"], row["condition"]))
                if limit is None:
                    parameter.limits.append(
                        ParameterLimit(
                            category=row["category"],
                            condition=row["condition"],
                            confirmed=row["confirmed"] == "yes",
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
                    if code in existing:
                        # A new row of a parameter results may already be judged against (a dark-shade limit).
                        change = LimitChange(
                            parameter=parameter,
                            category=row["category"],
                            condition=row["condition"],
                            new_comparator=row["comparator"],
                            new_limit=row["limit"],
                            reason=CATALOG_UPDATE_REASON,
                        )
                        session.add(change)
                        session.flush()
                        rejudging.rejudge_parameter(
                            parameter,
                            row["category"],
                            cause="catalog",
                            reason=CATALOG_UPDATE_REASON,
                            actor=None,
                            limit_change=change,
                        )
                    continue
                if (limit.catalog_comparator, limit.catalog_limit) != (row["comparator"], row["limit"]):
                    change = LimitChange(
                        parameter=parameter,
                        category=limit.category,
                        condition=limit.condition,
                        old_comparator=limit.comparator,
                        old_limit=limit.limit,
                        new_comparator=row["comparator"],
                        new_limit=row["limit"],
                        reason=CATALOG_UPDATE_REASON,
                    )
                    session.add(change)
                    limit.comparator = limit.catalog_comparator = row["comparator"]
                    limit.limit = limit.catalog_limit = row["limit"]
                    report.limits_updated += 1
                    session.flush()
                    rejudging.rejudge_parameter(
                        parameter,
                        limit.category,
                        cause="catalog",
                        reason=CATALOG_UPDATE_REASON,
                        actor=None,
                        limit_change=change,
                    )
                limit.clause, limit.notes, limit.source = row["clause"], row["notes"], row["source"]
                limit.confirmed = row["confirmed"] == "yes"
        for code, parameter in existing.items():
            if parameter.from_catalog and code not in grouped and not parameter.retired:
                session.add(
                    ParameterChange(
                        parameter=parameter, field="retired", old="no", new="yes", reason=CATALOG_UPDATE_REASON
                    )
                )
                parameter.retired = True
                report.parameters_retired += 1
    return report
