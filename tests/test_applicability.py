"""Which safety parameters apply to a garment (capa/safety/applicability.py) and the plans derived from it.

First the condition grammar as plain Python (every clause form, negation, errors, fibre exemptions); then the
shipped catalog through the service and the API on a real database: what a style's attributes bring into its
plan, the dark-shade wet-rubbing limit, mandatory parameters, retired parameters, and results recorded N/A.
"""

import csv
from pathlib import Path

import pytest

from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.common.errors import ValidationError
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle
from capa.safety import service
from capa.safety.applicability import (
    GarmentProfile,
    InvalidCondition,
    applies,
    describe,
    fibres_of,
    holds,
    limit_for,
    parse_condition,
)
from capa.safety.catalog import CATALOG_PATH, load_catalog
from capa.safety.commands import AdjustPlan

# The grammar ----------------------------------------------------------------------------------------------

A = GarmentProfile(category="A")


def profile(**attributes) -> GarmentProfile:
    """A category A profile with ``attributes``; list attributes given as lists or sets."""
    return GarmentProfile(
        category=attributes.pop("category", "A"),
        **{key: frozenset(value) if isinstance(value, list | set) else value for key, value in attributes.items()},
    )


@pytest.mark.parametrize("condition", ["", "   ", ";", " ; ; "])
def test_an_empty_condition_has_no_clauses_and_always_holds(condition):
    assert parse_condition(condition) == ()
    assert holds(condition, A)
    assert holds(condition, profile(prints=True, age="child_7_14", markets=["US"]))


@pytest.mark.parametrize("flag", ["prints", "metal_parts", "dark_shade", "raised_surface", "sleepwear", "childcare"])
def test_a_flag_holds_when_it_is_yes_and_its_negation_when_it_is_no(flag):
    assert not holds(flag, A)
    assert holds(f"!{flag}", A)
    assert holds(flag, profile(**{flag: True}))
    assert not holds(f"!{flag}", profile(**{flag: True}))
    assert holds(f"! {flag}", A)  # a space after the negation is allowed


@pytest.mark.parametrize(("name", "value"), [("trims", "small"), ("cords", "waist"), ("markets", "EU")])
def test_a_list_attribute_named_alone_holds_when_it_is_not_empty(name, value):
    empty = profile(**{name: []})
    assert not holds(name, empty)
    assert holds(f"!{name}", empty)
    assert holds(name, profile(**{name: [value]}))
    assert not holds(f"!{name}", profile(**{name: [value]}))


def test_a_list_attribute_with_values_holds_when_it_holds_one_of_them():
    garment = profile(cords=["hood_neck", "waist"], trims=["large"], markets=["CN", "EU"])
    assert holds("cords=hood_neck", garment)
    assert holds("cords=hem|waist", garment)
    assert not holds("cords=hem|back", garment)
    assert holds("!cords=hem|back", garment)
    assert not holds("!cords=waist", garment)
    assert holds("trims=large", garment)
    assert not holds("trims=small|medium", garment)
    assert holds("markets=EU", garment)
    assert not holds("markets=US", garment)


def test_a_single_attribute_holds_when_its_value_is_one_of_those_listed():
    assert holds("age=infant", profile(age="infant"))
    assert holds("age=infant|child_3_7", profile(age="child_3_7"))
    assert not holds("age=infant|child_3_7", profile(age="child_7_14"))
    assert holds("!age=infant", profile(age="child_7_14"))
    assert not holds("!age=infant", profile(age="infant"))
    assert holds("fill=down", profile(fill="down"))
    assert not holds("fill=down", A)
    assert holds("fill=none", A)
    assert holds("!fill=fibre|down", A)


def test_an_age_nobody_gave_meets_neither_a_clause_on_age_nor_its_negation():
    assert A.age is None
    assert not holds("age=infant", A)
    assert not holds("!age=infant", A)
    assert not holds("age=infant|child_3_7|child_7_14", A)
    assert not holds("!age=child_7_14; cords", profile(cords=["waist"]))


def test_every_clause_must_hold():
    condition = "age=infant; cords=hood_neck; !prints"
    assert holds(condition, profile(age="infant", cords=["hood_neck"]))
    assert not holds(condition, profile(age="infant", cords=["hood_neck"], prints=True))
    assert not holds(condition, profile(age="child_7_14", cords=["hood_neck"]))
    assert not holds(condition, profile(age="infant", cords=["waist"]))


def test_clauses_are_read_with_spaces_around_their_parts():
    assert parse_condition(" age = infant | child_3_7 ;  !prints ") == parse_condition("age=infant|child_3_7;!prints")
    (age, prints) = parse_condition("age=infant|child_3_7;!prints")
    assert (age.name, age.negated, age.values) == ("age", False, frozenset({"infant", "child_3_7"}))
    assert (prints.name, prints.negated, prints.values) == ("prints", True, frozenset())


@pytest.mark.parametrize(
    ("condition", "named"),
    [
        ("colour", "colour"),
        ("colour=red", "colour"),
        ("age=teen", "age"),
        ("age", "age"),
        ("!age", "age"),
        ("fill", "fill"),
        ("fill=feathers", "fill"),
        ("cords=rope", "cords"),
        ("trims=huge", "trims"),
        ("markets=JP", "markets"),
        ("prints=yes", "prints"),
        ("!dark_shade=no", "dark_shade"),
        ("fibres_only", "fibres_only"),
        ("fibres_only=", "fibres_only"),
        ("Prints", "Prints"),
        ("!!prints", "!!prints"),
        ("prints; age=teen", "age"),
        ("age=infant,child_3_7", "age"),
    ],
)
def test_a_condition_that_cannot_be_read_is_refused_naming_the_clause_or_attribute(condition, named):
    with pytest.raises(InvalidCondition) as refused:
        parse_condition(condition)
    assert named in str(refused.value)
    with pytest.raises(InvalidCondition):
        holds(condition, A)


def test_an_unknown_value_is_refused_listing_the_values_allowed():
    with pytest.raises(InvalidCondition, match="age takes one or more of: child_3_7, child_7_14, infant"):
        parse_condition("age=teen")
    with pytest.raises(InvalidCondition, match=r"Unknown attribute colour\b"):
        parse_condition("!colour")


# Fibre content -----

EXEMPT = "fibres_only=acrylic|modacrylic|nylon|olefin|polyester|wool"


@pytest.mark.parametrize(
    ("content", "fibres"),
    [
        ("100% polyester", {"polyester"}),
        ("100% Polyester", {"polyester"}),
        ("Polyester 100%", {"polyester"}),
        ("95% cotton, 5% elastane", {"cotton", "elastane"}),
        ("95% cotton 5% spandex", {"cotton", "elastane"}),
        ("60% wool; 40% polyamide", {"wool", "nylon"}),
        ("80% rayon / 20% nylon", {"viscose", "nylon"}),
        ("涤纶100%", {"polyester"}),
        ("100%聚酯纤维", {"polyester"}),
        ("棉95% 氨纶5%", {"cotton", "elastane"}),
        ("棉 95.5\uff05 氨纶 4.5\uff05", {"cotton", "elastane"}),  # \uff05: the full-width per cent sign
        ("羊毛80%，锦纶20%", {"wool", "nylon"}),
        ("腈纶70%、羊毛30%", {"acrylic", "wool"}),
        ("Cotton", {"cotton"}),
        ("100% bamboo", {"bamboo"}),
        ("", set()),
        ("   ", set()),
    ],
)
def test_fibre_content_is_read_as_labels_write_it_in_english_and_chinese(content, fibres):
    assert fibres_of(content) == frozenset(fibres)


@pytest.mark.parametrize(
    "content",
    ["100% polyester", "涤纶100%", "聚酯纤维 100%", "60% wool, 40% polyester", "羊毛60% 涤纶40%", "100% polyamide"],
)
def test_fibres_only_holds_when_every_fibre_is_listed_in_english_or_chinese(content):
    garment = profile(fibres=fibres_of(content))
    assert holds(EXEMPT, garment)
    assert not holds(f"!{EXEMPT}", garment)


@pytest.mark.parametrize("content", ["95% polyester, 5% elastane", "棉100%", "涤纶65% 棉35%", "100% bamboo"])
def test_fibres_only_does_not_hold_when_one_fibre_is_not_listed(content):
    garment = profile(fibres=fibres_of(content))
    assert not holds(EXEMPT, garment)
    assert holds(f"!{EXEMPT}", garment)


def test_an_empty_fibre_content_is_never_exempt():
    assert not holds(EXEMPT, A)
    assert holds(f"!{EXEMPT}", A)
    assert holds(f"!raised_surface; !{EXEMPT}", profile(fibres=fibres_of("")))


def test_a_condition_reads_as_a_person_would_say_it():
    assert describe("") == ""
    assert describe("prints") == "has prints or coatings"
    assert describe("!prints") == "has no prints or coatings"
    assert describe("age=infant; cords=hood_neck") == "is for: infants (36 months and under); has cords: hood and neck"
    assert describe("fill=down") == "is filled with: down or feather"
    with pytest.raises(InvalidCondition):
        describe("colour")


# The shipped catalog through the service ----------------------------------------------------------------


def catalog_codes(market: str) -> set[str]:
    with CATALOG_PATH.open(newline="", encoding="utf-8") as handle:
        return {row["code"] for row in csv.DictReader(handle) if row["market"] == market}


@pytest.fixture
def line(app):
    return masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))


_made = iter(range(1, 10_000))


def new_style(category: str = "A", **attributes):
    """A style requiring CMIA with ``attributes`` (the defaults otherwise), created through the service."""
    code = attributes.pop("code", f"ST-{next(_made)}")
    body = {"code": code, "name": f"Style {code}", "category": category, "cmia_required": True, **attributes}
    return masterdata.create_style(parse(NewStyle, body))


def plan(style) -> set[str]:
    required, _added, _dropped = service.plan_parameters(style)
    return {parameter.code for parameter in required}


def test_a_default_style_gets_the_rows_that_apply_to_every_garment_of_its_market_and_category(app):
    codes = plan(new_style("A"))
    assert {"CN-FORM", "CN-PH", "CN-ODOUR", "CN-AZO", "CN-CF-SALIVA", "CN-CF-RUBWET", "CN-ATT-SMALL"} <= codes
    assert {"CN-LABEL-18401", "CN-LABEL-31701", "CN-FLAM"} <= codes
    assert codes <= catalog_codes("CN")
    assert not {"CN-PB", "CN-CD", "CN-PHTH1", "CN-PHTH2", "CN-FILL-DOWN", "CN-FILL-FIBRE", "CN-SHARP-POINT"} & codes
    assert not {code for code in codes if code.startswith("CN-CORD-")}


def test_a_category_a_infant_style_without_cords_gets_no_head_and_neck_cord_rule(app):
    codes = plan(new_style("A", age_group="infant"))
    assert "CN-CORD-HOOD-U7" not in codes
    assert "CN-CORD-HOOD-7UP" not in codes


@pytest.mark.parametrize(
    ("age", "expected", "not_expected"),
    [
        ("infant", "CN-CORD-HOOD-U7", "CN-CORD-HOOD-7UP"),
        ("child_3_7", "CN-CORD-HOOD-U7", "CN-CORD-HOOD-7UP"),
        ("child_7_14", "CN-CORD-HOOD-7UP", "CN-CORD-HOOD-U7"),
    ],
)
def test_hood_cords_bring_the_rule_of_the_age_group_only(app, age, expected, not_expected):
    codes = plan(new_style("A" if age == "infant" else "B", age_group=age, cords=["hood_neck"]))
    assert expected in codes
    assert not_expected not in codes
    assert {"CN-CORD-FREEEND", "CN-CORD-LOOP"} <= codes  # every garment with cords


def test_hood_cords_of_a_style_whose_age_nobody_gave_bring_no_age_rule(app):
    codes = plan(new_style("B", cords=["hood_neck"]))
    assert not {"CN-CORD-HOOD-U7", "CN-CORD-HOOD-7UP"} & codes
    assert {"CN-CORD-FREEEND", "CN-CORD-LOOP"} <= codes


def test_prints_bring_the_heavy_metals_and_phthalates_of_prints_for_category_a(app):
    printed = plan(new_style("A", prints=True))
    assert {"CN-PB", "CN-CD", "CN-PHTH1", "CN-PHTH2"} <= printed
    assert printed - plan(new_style("A")) == {"CN-PB", "CN-CD", "CN-PHTH1", "CN-PHTH2"}
    # They have limits for category A only.
    assert not {"CN-PB", "CN-CD", "CN-PHTH1", "CN-PHTH2"} & plan(new_style("B", prints=True))


@pytest.mark.parametrize(
    ("fill", "brings", "not_brought"),
    [("down", "CN-FILL-DOWN", "CN-FILL-FIBRE"), ("fibre", "CN-FILL-FIBRE", "CN-FILL-DOWN")],
)
def test_fill_brings_the_rule_of_its_kind(app, fill, brings, not_brought):
    codes = plan(new_style("A", fill=fill))
    assert brings in codes
    assert not_brought not in codes


def test_trims_bring_the_attachment_rules_of_their_sizes(app):
    codes = plan(new_style("A", trims=["large"]))
    assert {"CN-ATT-GT6", "CN-SHARP-POINT", "CN-SHARP-EDGE"} <= codes
    assert "CN-ATT-3TO6" not in codes


def test_markets_bring_their_rows(app):
    china = plan(new_style("A"))
    eu = plan(new_style("A", markets=["CN", "EU"]))
    assert eu - china == {"EU-AZO", "EU-FORM"}
    assert {"EU-AZO", "EU-FORM", "EU-PHTH-51"} <= plan(new_style("A", markets=["CN", "EU"], prints=True))
    us = plan(new_style("A", markets=["US"], sleepwear=True))
    assert {"US-FLAM-SLEEP-AVG", "US-FLAM-SLEEP-FULL", "US-FLAM-1610-PLAIN"} <= us
    assert us <= catalog_codes("US")  # not sold in China: no GB rows
    assert not {code for code in china if code.startswith(("EU-", "US-"))}


def test_general_apparel_flammability_is_exempt_only_by_a_fibre_content_that_says_so(app):
    assert "US-FLAM-1610-PLAIN" in plan(new_style("B", markets=["US"]))
    assert "US-FLAM-1610-PLAIN" in plan(new_style("B", markets=["US"], fibre_content="100% cotton"))
    assert "US-FLAM-1610-PLAIN" not in plan(new_style("B", markets=["US"], fibre_content="100% polyester"))
    assert "US-FLAM-1610-PLAIN" not in plan(new_style("B", markets=["US"], fibre_content="涤纶100%"))
    raised = plan(new_style("B", markets=["US"], raised_surface=True))
    assert ("US-FLAM-1610-RAISED" in raised, "US-FLAM-1610-PLAIN" in raised) == (True, False)


def test_what_the_attributes_rule_out_is_listed_with_the_style(app):
    style = new_style("A")
    ruled_out = {parameter.code for parameter in service.not_applicable_by_attributes(style)}
    assert {"CN-PB", "CN-CD", "CN-FILL-DOWN", "CN-CORD-HOOD-U7", "CN-CORD-HOOD-7UP"} <= ruled_out
    assert not ruled_out & plan(style)
    assert "CN-FORM" not in ruled_out
    assert not {code for code in ruled_out if code.startswith(("EU-", "US-"))}  # other markets are not listed


def test_a_dark_shade_style_of_category_a_is_judged_by_the_dark_shade_wet_rubbing_limit(app):
    wet = service.get_parameter("CN-CF-RUBWET")
    dark, light = new_style("A", dark_shade=True), new_style("A")
    assert (limit_for(wet, GarmentProfile.of(dark)).limit, limit_for(wet, GarmentProfile.of(light)).limit) == (
        "2-3",
        "3",
    )
    on_dark = service.evaluate(wet, dark, "2-3")
    on_light = service.evaluate(wet, light, "2-3")
    assert (on_dark.judgement.outcome, on_dark.limit.limit, on_dark.limit.condition) == ("pass", "2-3", "dark_shade")
    assert (on_light.judgement.outcome, on_light.limit.limit, on_light.limit.condition) == ("fail", "3", "")
    # A category B style has no dark-shade row: its own limit holds whatever the shade.
    assert service.evaluate(wet, new_style("B", dark_shade=True), "2-3").limit.limit == "2-3"
    assert service.evaluate(wet, new_style("B", dark_shade=True), "2").judgement.outcome == "fail"
    # A bare category (no style known) takes the plain limit.
    assert service.evaluate(wet, "A", "2-3").judgement.outcome == "fail"


def test_applies_needs_the_market_the_condition_and_a_limit(app):
    lead = service.get_parameter("CN-PB")
    assert applies(lead, profile(prints=True))
    assert not applies(lead, profile(prints=True, markets=["EU"]))
    assert not applies(lead, profile(prints=False))
    assert not applies(lead, profile(prints=True, category="B"))


# Marking a parameter not applicable --------------------------------------------------------------------

MANDATORY = ["CN-FORM", "CN-PH", "CN-ODOUR", "CN-AZO", "CN-CF-SALIVA", "CN-LABEL-18401", "CN-LABEL-31701"]


@pytest.fixture
def qm_user(make_user):
    return make_user("quality_manager")


@pytest.mark.parametrize("code", MANDATORY)
def test_a_mandatory_parameter_cannot_be_marked_not_applicable(app, qm_user, code):
    style = new_style("A")
    with pytest.raises(ValidationError) as refused:
        service.adjust_plan(style, parse(AdjustPlan, {"parameter": code, "included": False, "reason": "x"}), qm_user)
    assert "parameter" in refused.value.fields
    assert code in plan(style)
    assert service.plan_for(style).changes == []


@pytest.mark.parametrize("code", ["EU-AZO", "EU-FORM"])
def test_the_mandatory_eu_rows_cannot_be_marked_not_applicable_for_an_eu_style(app, qm_user, code):
    style = new_style("A", markets=["CN", "EU"])
    with pytest.raises(ValidationError) as refused:
        service.adjust_plan(style, parse(AdjustPlan, {"parameter": code, "included": False, "reason": "x"}), qm_user)
    assert "parameter" in refused.value.fields
    assert code in plan(style)


def test_the_api_refuses_to_mark_a_mandatory_parameter_not_applicable_naming_parameter(app, api):
    qm = api("quality_manager")
    new_style("A", code="RMP-A")
    response = qm.post("/api/v1/styles/RMP-A/plan", json={"parameter": "CN-FORM", "included": False, "reason": "x"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid"
    assert "parameter" in response.json["error"]["fields"]
    after = qm.get("/api/v1/styles/RMP-A/plan").json
    assert "CN-FORM" in [parameter["code"] for parameter in after["parameters"]]
    assert after["dropped"] == []


def test_a_non_mandatory_parameter_is_marked_not_applicable_with_a_reason_and_shows_as_dropped(app, api):
    qm = api("quality_manager")
    new_style("A", code="RMP-A", fill="down")
    response = qm.post(
        "/api/v1/styles/RMP-A/plan",
        json={"parameter": "CN-FILL-DOWN", "included": False, "reason": "Down certified by the supplier's test"},
    )
    assert response.status_code == 200
    assert response.json["dropped"] == ["CN-FILL-DOWN"]
    assert "CN-FILL-DOWN" not in [parameter["code"] for parameter in response.json["parameters"]]
    without_reason = qm.post("/api/v1/styles/RMP-A/plan", json={"parameter": "CN-FLAM", "included": False})
    assert without_reason.status_code == 400
    assert "reason" in without_reason.json["error"]["fields"]
    assert qm.get("/api/v1/styles/RMP-A/plan").json["dropped"] == ["CN-FILL-DOWN"]


# Retired parameters -----


def test_a_retired_parameter_never_appears_in_a_plan(app, qm_user, tmp_path):
    style = new_style("A", markets=["CN"])
    service.adjust_plan(style, parse(AdjustPlan, {"parameter": "EU-NI-27", "reason": "Buyer asks"}), qm_user)
    assert {"CN-FLAM", "EU-NI-27"} <= plan(style)

    with CATALOG_PATH.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [row for row in reader if row["code"] not in ("CN-FLAM", "EU-NI-27")]
        columns = reader.fieldnames
    newer = Path(tmp_path / "cmia_parameters.csv")
    with newer.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    assert load_catalog(newer).parameters_retired == 2

    required, added, dropped = service.plan_parameters(style)
    codes = {parameter.code for parameter in required} | added | {parameter.code for parameter in dropped}
    assert not {"CN-FLAM", "EU-NI-27"} & codes
    assert "CN-FLAM" not in plan(new_style("A"))
    assert "CN-FLAM" not in {p.code for p in service.not_applicable_by_attributes(style)}


# Results recorded N/A ------------------------------------------------------------------------------------


@pytest.fixture
def qm(api):
    return api("quality_manager")


@pytest.fixture
def batch(app, line):
    masterdata.create_style(
        parse(NewStyle, {"code": "RMP-A", "name": "Infant romper", "category": "A", "cmia_required": True})
    )
    return masterdata.create_batch(parse(NewBatch, {"number": "A-1", "style": "RMP-A", "line": "L1"}))


def na_result(parameter: str, **extra) -> dict:
    body = {"parameter": parameter, "value": "N/A", "lab": "SGS Shanghai", "report_number": "SH-1"}
    return body | {"tested_at": plant_today().isoformat(), **extra}


def stored(batch_number: str) -> list[tuple]:
    return [
        (r.parameter.code, r.value, r.verdict, r.na_reason)
        for r in service.results_for_batch(masterdata.get_batch(batch_number))
    ]


def test_n_a_is_recorded_with_a_reason_for_a_parameter_that_does_not_apply(qm, batch):
    response = qm.post("/api/v1/batches/A-1/results", json=na_result("CN-PB", na_reason="No prints or coatings"))
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["parameter"], body["value"], body["verdict"], body["na_reason"]) == (
        "CN-PB",
        "N/A",
        "not_applicable",
        "No prints or coatings",
    )
    assert stored("A-1") == [("CN-PB", "N/A", "not_applicable", "No prints or coatings")]


def test_n_a_is_accepted_for_a_parameter_the_quality_manager_marked_not_applicable(qm, batch):
    qm.post("/api/v1/styles/RMP-A/plan", json={"parameter": "CN-FLAM", "included": False, "reason": "Exempt fabric"})
    response = qm.post("/api/v1/batches/A-1/results", json=na_result("CN-FLAM", na_reason="Exempt fabric"))
    assert response.status_code == 201, response.json
    assert response.json["verdict"] == "not_applicable"


@pytest.mark.parametrize("code", ["CN-FORM", "CN-CF-WATER", "CN-FLAM"])
def test_n_a_is_refused_naming_value_for_a_parameter_that_applies(qm, batch, code):
    response = qm.post("/api/v1/batches/A-1/results", json=na_result(code, na_reason="Lab did not test it"))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid"
    assert "value" in response.json["error"]["fields"]
    assert stored("A-1") == []


@pytest.mark.parametrize("extra", [{}, {"na_reason": ""}, {"na_reason": "   "}])
def test_n_a_without_a_reason_is_refused_naming_na_reason(qm, batch, extra):
    response = qm.post("/api/v1/batches/A-1/results", json=na_result("CN-PB", **extra))
    assert response.status_code == 400
    assert "na_reason" in response.json["error"]["fields"]
    assert stored("A-1") == []
