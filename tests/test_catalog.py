"""The shipped catalog of CMIA safety parameters (capa/reference/cmia_parameters.csv).

Loaded complete at init; a second load changes nothing; a newer file updates only the limits it changed (a
limit row is keyed by its category and its condition), records each change without a user, adds what is new,
deletes nothing and retires the parameters it no longer lists; a quality manager's correction survives a newer
file that does not touch that limit; a result keeps its link to its parameter; and a malformed file is refused
whole, naming the line.

The expectations are counted from the CSV with the csv module, independently of the loader.
"""

import csv
from pathlib import Path

import pytest
from sqlalchemy import select

from capa.common.commands import parse
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from capa.safety import rejudging, service
from capa.safety.catalog import CATALOG_PATH, CATALOG_UPDATE_REASON, CatalogError, LoadReport, load_catalog
from capa.safety.commands import ChangeLimit, NewParameter, NewResult
from capa.safety.models import ParameterChange

SHIPPED = Path(__file__).resolve().parent.parent / "capa" / "reference" / "cmia_parameters.csv"
REASON = "Shipped catalog updated"

# Helpers -------------------------------------------------------------------------------------------------


def read_rows(path: Path = SHIPPED) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [{key: (value or "").strip() for key, value in row.items()} for row in csv.DictReader(handle)]


def columns() -> list[str]:
    with SHIPPED.open(newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


def write_catalog(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns())
        writer.writeheader()
        writer.writerows(rows)
    return path


def edited(
    rows: list[dict[str, str]], code: str, category: str, condition: str = "", **changes: str
) -> list[dict[str, str]]:
    """A copy of ``rows`` with the row of ``code``, ``category`` and ``condition`` (the plain one: "") changed."""
    found = [row for row in rows if (row["code"], row["category"], row["condition"]) == (code, category, condition)]
    assert len(found) == 1, (code, category, condition)
    return [{**row, **changes} if row is found[0] else dict(row) for row in rows]


def without(rows: list[dict[str, str]], code: str, category: str | None = None) -> list[dict[str, str]]:
    return [row for row in rows if not (row["code"] == code and category in (None, row["category"]))]


NEW_PARAMETER_ROW = {
    "code": "CN-TEST-NEW",
    "name": "A parameter the newer catalog adds",
    "name_zh": "",
    "kind": "chemical",
    "standard": "GB 18401-2010",
    "clause": "new clause",
    "test_method": "GB/T 0000",
    "unit": "mg/kg",
    "comparator": "max",
    "market": "CN",
    "applies_when": "",
    "mandatory": "no",
    "reporting_limit": "",
    "category": "all",
    "condition": "",
    "limit": "5",
    "confirmed": "yes",
    "notes": "Added in the newer file.",
    "source": "https://example.org/newer",
}


def expected_limits(rows: list[dict[str, str]]) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(code, category, condition) -> (comparator, limit) of each row."""
    return {(row["code"], row["category"], row["condition"]): (row["comparator"], row["limit"]) for row in rows}


def stored_limits() -> dict[tuple[str, str, str], tuple[str, str]]:
    return {
        (parameter.code, limit.category, limit.condition): (limit.comparator, limit.limit)
        for parameter in service.list_parameters()
        for limit in parameter.limits
    }


def stored_parameter_changes() -> list[tuple]:
    """Every recorded parameter change in order: (code, field, old, new, reason, username or None)."""
    return [
        (
            change.parameter.code,
            change.field,
            change.old,
            change.new,
            change.reason,
            change.changed_by.username if change.changed_by else None,
        )
        for change in db.session.scalars(select(ParameterChange).order_by(ParameterChange.id))
    ]


def stored_changes() -> list[tuple]:
    """Every recorded limit change: (code, category, old, new, reason, username or None)."""
    return [
        (
            parameter.code,
            change.category,
            (change.old_comparator, change.old_limit),
            (change.new_comparator, change.new_limit),
            change.reason,
            change.changed_by.username if change.changed_by else None,
        )
        for parameter in service.list_parameters()
        for change in parameter.changes
    ]


def limit_of(code: str, category: str, condition: str = "") -> tuple[str, str]:
    limit = next(
        row for row in service.get_parameter(code).limits if (row.category, row.condition) == (category, condition)
    )
    return limit.comparator, limit.limit


@pytest.fixture
def qm(make_user):
    return make_user("quality_manager", "qm-lin")


@pytest.fixture
def newer(tmp_path):
    """Write a newer catalog file into tmp_path: ``newer(rows)`` returns its path."""

    def write(rows: list[dict[str, str]], name: str = "cmia_parameters.csv") -> Path:
        return write_catalog(tmp_path / name, rows)

    return write


# The catalog after init ----------------------------------------------------------------------------------


def test_the_loader_reads_the_shipped_csv():
    assert CATALOG_PATH.resolve() == SHIPPED
    assert REASON == CATALOG_UPDATE_REASON


def test_after_init_the_catalog_holds_every_parameter_and_every_limit_row_of_the_csv(app):
    rows = read_rows()
    codes = {row["code"] for row in rows}
    assert len(codes) > 40 and len(rows) > len(codes)  # the file itself is what we think it is

    parameters = service.list_parameters()
    assert {parameter.code for parameter in parameters} == codes
    assert len(parameters) == len(codes)
    assert sum(len(parameter.limits) for parameter in parameters) == len(rows)
    assert stored_limits() == expected_limits(rows)
    assert all(parameter.from_catalog for parameter in parameters)
    assert not any(parameter.retired for parameter in parameters)
    assert stored_changes() == []
    assert stored_parameter_changes() == []


def test_each_parameter_carries_its_csv_details_and_each_limit_its_notes_and_sources(app):
    rows = read_rows()
    for row in rows:
        parameter = service.get_parameter(row["code"])
        assert (
            parameter.name,
            parameter.kind,
            parameter.unit,
            parameter.standard,
            parameter.test_method,
        ) == (
            row["name"],
            row["kind"],
            row["unit"],
            row["standard"],
            row["test_method"],
        )
        assert (
            parameter.market,
            parameter.applies_when,
            parameter.mandatory,
            parameter.reporting_limit,
        ) == (row["market"], row["applies_when"], row["mandatory"] == "yes", row["reporting_limit"] or None)
        limit = next(
            limit
            for limit in parameter.limits
            if (limit.category, limit.condition) == (row["category"], row["condition"])
        )
        assert (limit.clause, limit.notes, limit.source, limit.confirmed) == (
            row["clause"],
            row["notes"],
            row["source"],
            row["confirmed"] == "yes",
        )


def test_wet_rubbing_has_a_plain_and_a_dark_shade_limit_for_category_a(app):
    assert limit_of("CN-CF-RUBWET", "A") == ("grade_min", "3")
    assert limit_of("CN-CF-RUBWET", "A", "dark_shade") == ("grade_min", "2-3")
    assert service.find_parameter("CN-CF-RUBWET-DARK") is None


def test_shipped_formaldehyde_and_ph_limits_are_those_of_gb_18401(app):
    assert [limit_of("CN-FORM", category) for category in "ABC"] == [
        ("max", "20"),
        ("max", "75"),
        ("max", "300"),
    ]
    assert limit_of("CN-PH", "A") == ("range", "4.0..7.5")
    assert limit_of("CN-PH", "B") == ("range", "4.0..8.5")
    assert limit_of("CN-PH", "C") == ("range", "4.0..9.0")


def test_saliva_fastness_has_a_limit_for_category_a_only(app):
    saliva = service.get_parameter("CN-CF-SALIVA")
    assert [(limit.category, limit.comparator, limit.limit) for limit in saliva.limits] == [("A", "grade_min", "4")]
    assert saliva.limit_for("A") is not None
    assert saliva.limit_for("B") is None
    assert saliva.limit_for("C") is None


def test_a_limit_for_all_categories_applies_to_each_category(app):
    cords = service.get_parameter("CN-CORD-HOOD-U7")
    assert [limit.category for limit in cords.limits] == ["all"]
    assert {cords.limit_for(category).category for category in "ABC"} == {"all"}


# Loading again -------------------------------------------------------------------------------------------


def test_loading_the_shipped_catalog_again_changes_nothing(app):
    before = stored_limits()
    report = load_catalog()
    assert report == LoadReport(
        parameters_added=0, limits_added=0, limits_updated=0, parameters_changed=0, parameters_retired=0
    )
    assert stored_limits() == before
    assert stored_changes() == []
    assert stored_parameter_changes() == []


def test_loading_an_identical_copy_twice_changes_nothing(app, newer):
    path = newer(read_rows())
    assert load_catalog(path) == LoadReport()
    assert load_catalog(path) == LoadReport()
    assert stored_limits() == expected_limits(read_rows())
    assert stored_changes() == []


# A newer catalog file ------------------------------------------------------------------------------------


def test_a_newer_file_updates_exactly_the_limit_it_changed_and_records_it_without_a_user(app, newer):
    rows = read_rows()
    changed = edited(rows, "CN-FORM", "A", limit="16")

    report = load_catalog(newer(changed))

    assert report == LoadReport(parameters_added=0, limits_added=0, limits_updated=1)
    expected = expected_limits(rows) | {("CN-FORM", "A", ""): ("max", "16")}
    assert stored_limits() == expected
    assert stored_changes() == [("CN-FORM", "A", ("max", "20"), ("max", "16"), REASON, None)]
    change = service.get_parameter("CN-FORM").changes[0]
    assert change.changed_by is None
    assert change.changed_at is not None


def test_a_newer_file_updates_a_conditional_limit_apart_from_the_plain_one_of_its_category(app, newer):
    rows = read_rows()
    report = load_catalog(newer(edited(rows, "CN-CF-RUBWET", "A", "dark_shade", limit="3")))

    assert report == LoadReport(limits_updated=1)
    assert limit_of("CN-CF-RUBWET", "A", "dark_shade") == ("grade_min", "3")
    assert limit_of("CN-CF-RUBWET", "A") == ("grade_min", "3")
    assert stored_limits() == expected_limits(rows) | {("CN-CF-RUBWET", "A", "dark_shade"): ("grade_min", "3")}
    change = service.get_parameter("CN-CF-RUBWET").changes[0]
    assert (change.category, change.condition, change.old_limit, change.new_limit, change.changed_by) == (
        "A",
        "dark_shade",
        "2-3",
        "3",
        None,
    )


def test_a_newer_file_may_change_the_comparator_too(app, newer):
    rows = read_rows()
    load_catalog(newer(edited(rows, "EU-PHTH-51", "all", comparator="max", limit="0.09")))
    assert limit_of("EU-PHTH-51", "all") == ("max", "0.09")
    assert stored_changes() == [("EU-PHTH-51", "all", ("lt", "0.1"), ("max", "0.09"), REASON, None)]


def test_a_newer_file_updates_a_limit_s_notes_and_source_without_recording_a_change(app, newer):
    rows = edited(read_rows(), "CN-PH", "B", notes="Confirmed 4.0-8.5.", source="https://example.org/ph")
    assert load_catalog(newer(rows)) == LoadReport()
    limit = next(limit for limit in service.get_parameter("CN-PH").limits if limit.category == "B")
    assert (limit.notes, limit.source) == ("Confirmed 4.0-8.5.", "https://example.org/ph")
    assert stored_changes() == []


def test_a_newer_file_adds_a_new_parameter_and_a_new_limit_row(app, newer):
    rows = read_rows()
    saliva_b = {
        **next(row for row in rows if row["code"] == "CN-CF-SALIVA"),
        "category": "B",
        "limit": "3-4",
    }
    report = load_catalog(newer([*rows, saliva_b, NEW_PARAMETER_ROW]))

    assert report == LoadReport(parameters_added=1, limits_added=2, limits_updated=0)
    added = service.get_parameter("CN-TEST-NEW")
    assert (added.market, added.applies_when, added.mandatory, added.retired) == ("CN", "", False, False)
    assert (added.name, added.kind, added.unit, added.standard, added.test_method, added.from_catalog) == (
        "A parameter the newer catalog adds",
        "chemical",
        "mg/kg",
        "GB 18401-2010",
        "GB/T 0000",
        True,
    )
    assert [(limit.category, limit.comparator, limit.limit, limit.notes) for limit in added.limits] == [
        ("all", "max", "5", "Added in the newer file.")
    ]
    assert limit_of("CN-CF-SALIVA", "B") == ("grade_min", "3-4")
    assert stored_limits() == expected_limits([*rows, saliva_b, NEW_PARAMETER_ROW])
    # Loading that file again changes nothing either.
    assert load_catalog(newer([*rows, saliva_b, NEW_PARAMETER_ROW])) == LoadReport()


def test_a_newer_file_that_lacks_a_limit_row_deletes_nothing(app, newer):
    rows = read_rows()
    shorter = without(without(rows, "CN-PH", "C"), "CN-CF-RUBWET", "A")

    assert load_catalog(newer(shorter)) == LoadReport()

    assert stored_limits() == expected_limits(rows)
    assert limit_of("CN-PH", "C") == ("range", "4.0..9.0")
    assert limit_of("CN-CF-RUBWET", "A", "dark_shade") == ("grade_min", "2-3")
    assert not service.get_parameter("CN-PH").retired
    assert stored_changes() == []
    assert stored_parameter_changes() == []


def test_a_newer_file_that_no_longer_lists_a_parameter_retires_it_and_deletes_nothing(app, newer):
    rows = read_rows()
    shorter = without(without(rows, "EU-CORD-HEM"), "CN-CORD-LOOP")

    assert load_catalog(newer(shorter)) == LoadReport(parameters_retired=2)

    assert stored_limits() == expected_limits(rows)
    assert service.get_parameter("EU-CORD-HEM").retired
    assert service.get_parameter("CN-CORD-LOOP").retired
    assert service.get_parameter("EU-CORD-HEM").limits
    assert not service.get_parameter("CN-FORM").retired
    assert stored_changes() == []
    assert sorted(stored_parameter_changes()) == [
        ("CN-CORD-LOOP", "retired", "no", "yes", REASON, None),
        ("EU-CORD-HEM", "retired", "no", "yes", REASON, None),
    ]
    # Loading that file again retires nothing more.
    assert load_catalog(newer(shorter)) == LoadReport()
    assert len(stored_parameter_changes()) == 2


def test_a_retired_parameter_listed_again_is_taken_back_and_the_change_recorded(app, newer):
    load_catalog(newer(without(read_rows(), "EU-CORD-HEM")))

    assert load_catalog() == LoadReport(parameters_changed=1)

    assert not service.get_parameter("EU-CORD-HEM").retired
    assert stored_parameter_changes() == [
        ("EU-CORD-HEM", "retired", "no", "yes", REASON, None),
        ("EU-CORD-HEM", "retired", "yes", "no", REASON, None),
    ]


def test_a_parameter_a_quality_manager_added_is_never_retired_by_a_file(app, qm, newer):
    service.add_parameter(
        parse(
            NewParameter,
            {
                "code": "BUYER-PFAS",
                "name": "PFAS (buyer protocol)",
                "kind": "chemical",
                "unit": "mg/kg",
                "standard": "Buyer RSL",
                "limits": [{"category": "all", "comparator": "max", "limit": "25"}],
                "reason": "Buyer RSL 2024",
            },
        ),
        qm,
    )
    assert load_catalog(newer(read_rows())) == LoadReport()
    assert not service.get_parameter("BUYER-PFAS").retired


def test_a_newer_file_changing_where_a_parameter_applies_records_each_field(app, newer):
    rows = read_rows()
    changed = edited(rows, "CN-FLAM", "all", applies_when="!fibres_only=wool", mandatory="yes", reporting_limit="1")

    assert load_catalog(newer(changed)) == LoadReport(parameters_changed=1)

    flam = service.get_parameter("CN-FLAM")
    assert (flam.applies_when, flam.mandatory, flam.reporting_limit) == ("!fibres_only=wool", True, "1")
    assert sorted(stored_parameter_changes()) == [
        ("CN-FLAM", "applies_when", "", "!fibres_only=wool", REASON, None),
        ("CN-FLAM", "mandatory", "no", "yes", REASON, None),
        ("CN-FLAM", "reporting_limit", "", "1", REASON, None),
    ]
    assert stored_changes() == []
    assert load_catalog(newer(changed)) == LoadReport()


# A quality manager's corrections against a newer file -----------------------------------------------------


def test_a_correction_of_a_limit_the_newer_file_does_not_change_is_kept(app, qm, newer):
    rejudging.change_limit(
        service.get_parameter("CN-PH"),
        "B",
        parse(
            ChangeLimit, {"comparator": "range", "limit": "4.0..7.5", "reason": "Buyer protocol keeps the 2003 range"}
        ),
        qm,
    )

    load_catalog()  # the shipped file again does not change it
    load_catalog(newer(edited(read_rows(), "CN-FORM", "A", limit="16")))

    assert limit_of("CN-PH", "B") == ("range", "4.0..7.5")
    assert limit_of("CN-FORM", "A") == ("max", "16")
    assert [change for change in stored_changes() if change[0] == "CN-PH"] == [
        (
            "CN-PH",
            "B",
            ("range", "4.0..8.5"),
            ("range", "4.0..7.5"),
            "Buyer protocol keeps the 2003 range",
            "qm-lin",
        )
    ]


def test_a_correction_of_a_limit_the_newer_file_changes_is_replaced_by_the_file_s_figure(app, qm, newer):
    rejudging.change_limit(
        service.get_parameter("CN-FORM"),
        "A",
        parse(ChangeLimit, {"comparator": "max", "limit": "15", "reason": "Buyer asks for 15"}),
        qm,
    )
    assert limit_of("CN-FORM", "A") == ("max", "15")

    report = load_catalog(newer(edited(read_rows(), "CN-FORM", "A", limit="18")))

    assert report.limits_updated == 1
    assert limit_of("CN-FORM", "A") == ("max", "18")
    # Newest first: the catalog's change, then the quality manager's; both kept.
    assert stored_changes() == [
        ("CN-FORM", "A", ("max", "15"), ("max", "18"), REASON, None),
        ("CN-FORM", "A", ("max", "20"), ("max", "15"), "Buyer asks for 15", "qm-lin"),
    ]


def test_a_limit_a_quality_manager_added_is_taken_over_when_the_file_adds_it(app, qm, newer):
    rejudging.change_limit(
        service.get_parameter("CN-CF-SALIVA"),
        "B",
        parse(ChangeLimit, {"comparator": "grade_min", "limit": "3", "reason": "Buyer requires it for bibs"}),
        qm,
    )
    rows = read_rows()
    saliva_b = {**next(row for row in rows if row["code"] == "CN-CF-SALIVA"), "category": "B", "limit": "3-4"}

    load_catalog(newer([*rows, saliva_b]))

    assert limit_of("CN-CF-SALIVA", "B") == ("grade_min", "3-4")
    assert [change[3] for change in stored_changes()] == [("grade_min", "3-4"), ("grade_min", "3")]


# Results judged before a catalog update ------------------------------------------------------------------


@pytest.fixture
def romper_batch(app):
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Line 1"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "FAB-01", "name": "Fabric mill"}))
    masterdata.create_style(
        parse(NewStyle, {"code": "RMP-2301", "name": "Infant romper", "category": "A", "cmia_required": True})
    )
    return masterdata.create_batch(
        parse(
            NewBatch,
            {
                "number": "B-1",
                "style": "RMP-2301",
                "line": "L1",
                "lots": [{"number": "F-1", "kind": "fabric", "supplier": "FAB-01"}],
            },
        )
    )


def result_facts(batch) -> list[tuple]:
    return [
        (r.parameter.code, r.value, r.verdict, r.category, r.comparator, r.limit, r.explanation)
        for r in service.results_for_batch(batch)
    ]


def test_a_result_recorded_before_a_catalog_update_is_judged_again_and_keeps_its_earlier_verdict(
    app, qm, newer, romper_batch
):
    service.record_result(
        romper_batch,
        parse(
            NewResult,
            {
                "parameter": "CN-FORM",
                "value": "18",
                "lab": "SGS",
                "report_number": "R-1",
                "tested_at": "2024-03-01",
            },
        ),
        qm,
    )
    before = result_facts(romper_batch)
    assert before == [
        ("CN-FORM", "18", "pass", "A", "max", "20", "18 mg/kg is within the category A limit of 20 mg/kg")
    ]

    load_catalog(newer(edited(read_rows(), "CN-FORM", "A", limit="16")))

    assert result_facts(masterdata.get_batch("B-1")) == [
        ("CN-FORM", "18", "fail", "A", "max", "16", "18 mg/kg exceeds the category A limit of 16 mg/kg")
    ]
    (result,) = service.results_for_batch(masterdata.get_batch("B-1"))
    (entry,) = result.rejudgements
    change = service.get_parameter("CN-FORM").changes[0]
    assert (entry.cause, entry.old_verdict, entry.new_verdict, entry.old_limit, entry.new_limit) == (
        "catalog",
        "pass",
        "fail",
        "max 20",
        "max 16",
    )
    assert (entry.limit_change, entry.reason, entry.changed_by) == (change, REASON, None)
    # The same value judged now meets the newer, stricter limit and fails.
    again = service.record_result(
        romper_batch,
        parse(
            NewResult,
            {
                "parameter": "CN-FORM",
                "value": "18",
                "lab": "SGS",
                "report_number": "R-2",
                "tested_at": "2024-03-02",
            },
        ),
        qm,
    )
    assert (again.verdict, again.limit) == ("fail", "16")


def test_a_result_keeps_its_parameter_when_a_newer_file_no_longer_lists_it(app, qm, newer, romper_batch):
    service.record_result(
        romper_batch,
        parse(
            NewResult,
            {
                "parameter": "CN-FORM",
                "value": "35",
                "lab": "SGS",
                "report_number": "R-1",
                "tested_at": "2024-03-01",
            },
        ),
        qm,
    )
    load_catalog(newer(without(read_rows(), "CN-FORM")))
    assert result_facts(masterdata.get_batch("B-1")) == [
        ("CN-FORM", "35", "fail", "A", "max", "20", "35 mg/kg exceeds the category A limit of 20 mg/kg")
    ]
    assert service.get_parameter("CN-FORM").limits
    assert service.get_parameter("CN-FORM").retired


# Malformed catalog files ---------------------------------------------------------------------------------

MALFORMED = [
    ("CN-FORM", "B", {"limit": "abc"}),
    ("CN-FORM", "C", {"limit": "-3"}),
    ("CN-PH", "B", {"limit": "8.5..4.0"}),
    ("CN-PH", "C", {"limit": "4.0-9.0"}),
    ("CN-CF-SALIVA", "A", {"limit": "6"}),
    ("CN-CF-WATER", "B", {"limit": ""}),
    ("CN-PB", "A", {"category": "D"}),
    ("CN-CD", "A", {"category": "a"}),
    ("CN-AZO", "all", {"comparator": "between"}),
    ("CN-ODOUR", "all", {"market": "JP"}),
    ("CN-ODOUR", "all", {"market": ""}),
    ("CN-PB", "A", {"applies_when": "printed"}),
    ("CN-PB", "A", {"applies_when": "age=teen"}),
    ("CN-FORM", "B", {"mandatory": "maybe"}),
    ("CN-FORM", "C", {"confirmed": ""}),
    ("CN-PH", "B", {"reporting_limit": "abc"}),
    ("CN-PH", "C", {"condition": "dark"}),
]


@pytest.mark.parametrize(("code", "category", "change"), MALFORMED)
def test_a_malformed_catalog_is_refused_naming_the_line_and_stores_nothing(app, newer, code, category, change):
    rows = [NEW_PARAMETER_ROW, *edited(read_rows(), "CN-FORM", "A", limit="16")]
    bad_index = next(i for i, row in enumerate(rows) if (row["code"], row["category"]) == (code, category))
    rows[bad_index] = {**rows[bad_index], **change}
    line = bad_index + 2  # the header is line 1
    before = stored_limits()

    with pytest.raises(CatalogError, match=rf"\bline {line}\b"):
        load_catalog(newer(rows))

    assert stored_limits() == before
    assert service.find_parameter("CN-TEST-NEW") is None
    assert limit_of("CN-FORM", "A") == ("max", "20")
    assert stored_changes() == []


def test_a_catalog_row_with_an_unknown_kind_is_refused_naming_the_line(app, newer):
    rows = [*edited(read_rows(), "CN-FORM", "A", limit="16"), {**NEW_PARAMETER_ROW, "kind": "biological"}]
    before = stored_limits()
    with pytest.raises(CatalogError, match=rf"\bline {len(rows) + 1}\b"):
        load_catalog(newer(rows))
    assert service.find_parameter("CN-TEST-NEW") is None
    assert stored_limits() == before


def test_the_line_named_is_the_file_s_line_when_a_note_spans_two_lines(app, newer):
    rows = edited(read_rows(), "CN-FORM", "A", notes="First line of the note\nsecond line of the note")
    bad_index = next(i for i, row in enumerate(rows) if (row["code"], row["category"]) == ("CN-PH", "B"))
    rows[bad_index] = {**rows[bad_index], "limit": "unreadable-limit"}
    path = newer(rows)
    lines = path.read_text("utf-8").splitlines()
    file_line = next(n for n, text in enumerate(lines, start=1) if "unreadable-limit" in text)
    assert file_line == bad_index + 3
    with pytest.raises(CatalogError, match=rf"\bline {file_line}\b"):
        load_catalog(path)


def test_a_catalog_listing_a_code_and_category_twice_is_refused_naming_the_line(app, tmp_path):
    original = CATALOG_PATH.read_text(encoding="utf-8").splitlines()
    duplicate = next(line for line in original if line.startswith("CN-FORM,") and ",A,,20," in line)
    path = tmp_path / "catalog.csv"
    path.write_text("\n".join([*original, duplicate]) + "\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=rf"line {len(original) + 1}: CN-FORM A is listed twice"):
        load_catalog(path)
