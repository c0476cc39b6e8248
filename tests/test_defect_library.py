"""The defect library: the seeded codes, its rules (every safety defect critical, references that exist, codes
unique and unchanging), its history, and its API and pages in both languages.

What was stored is read back through the service in an app context, so a refused request cannot pass for a
stored one."""

import pytest

from capa.audit import records
from capa.common.commands import parse
from capa.common.errors import Duplicate, ValidationError
from capa.inspections import defects
from capa.inspections.commands import DefectCodeChanges, DefectCodeFilters, NewDefectCode
from capa.inspections.models import DefectArea, DefectClass
from tests.pages import cells, errors_in, field_block, fields_with_errors, input_value, one, selected_value, table_rows


def new_code(**values) -> NewDefectCode:
    fields = {"code": "SEW-90", "name": "Raw edge", "defect_class": "minor", "area": "sewing"}
    return parse(NewDefectCode, fields | values)


def test_the_seeded_library_has_every_area_and_every_safety_defect_critical(app):
    with app.app_context():
        library = defects.list_defect_codes()
        assert len(library) == len(defects.SEED)
        assert {code.area for code in library} == set(DefectArea)
        safety = [code for code in library if code.area == DefectArea.SAFETY]
        assert {code.code for code in safety} >= {"SAF-01", "SAF-02", "SAF-03", "SAF-04"}
        assert all(code.defect_class == DefectClass.CRITICAL for code in safety)
        needle = defects.get_defect_code("saf-01")
        assert (needle.name_zh, needle.defect_type.code) == ("断针或金属碎片", "needle_or_metal_found")
        cords = defects.get_defect_code("SAF-04")
        assert [p.code for p in cords.parameters] == ["CN-CORD-HOOD-U7", "CN-CORD-OTHER"]


def test_loading_the_seed_again_adds_nothing_and_keeps_edits(app):
    with app.app_context():
        defects.save_defect_code(defects.get_defect_code("FAB-01"), parse(DefectCodeChanges, {"name": "Hole (any)"}))
        assert defects.load_defect_codes().added == 0
        assert defects.get_defect_code("FAB-01").name == "Hole (any)"


@pytest.mark.parametrize("defect_class", ["major", "minor"])
def test_a_safety_defect_that_is_not_critical_is_refused(app, defect_class):
    with app.app_context():
        with pytest.raises(ValidationError) as refused:
            defects.save_defect_code(None, new_code(code="SAF-90", area="safety", defect_class=defect_class))
        assert set(refused.value.fields) == {"defect_class"}
        assert defects.find_defect_code("SAF-90") is None
        # Nor may a change make a safety code major, or move a minor code into the safety area.
        with pytest.raises(ValidationError) as refused:
            defects.save_defect_code(
                defects.get_defect_code("SAF-01"), parse(DefectCodeChanges, {"defect_class": "major"})
            )
        assert set(refused.value.fields) == {"defect_class"}
        with pytest.raises(ValidationError):
            defects.save_defect_code(defects.get_defect_code("SEW-06"), parse(DefectCodeChanges, {"area": "safety"}))
        assert defects.get_defect_code("SAF-01").defect_class == "critical"
        assert defects.get_defect_code("SEW-06").area == "sewing"


def test_references_must_exist_and_codes_are_unique(app):
    with app.app_context():
        with pytest.raises(ValidationError) as refused:
            defects.save_defect_code(None, new_code(defect_type="no_such_type"))
        assert set(refused.value.fields) == {"defect_type"}
        with pytest.raises(ValidationError) as refused:
            defects.save_defect_code(None, new_code(parameters=["CN-FORM", "NOPE"]))
        assert set(refused.value.fields) == {"parameters[1]"}
        with pytest.raises(Duplicate):
            defects.save_defect_code(None, new_code(code="sew-01"))
        assert defects.find_defect_code("SEW-90") is None


def test_the_creation_and_each_change_are_kept_in_the_history(app, make_user):
    with app.app_context():
        manager = make_user("quality_manager")
        made = defects.save_defect_code(None, new_code(code="trm-90", defect_type="loose_button"), manager)
        assert made.code == "TRM-90"
        defects.save_defect_code(
            made, parse(DefectCodeChanges, {"defect_class": "major", "defect_type": "", "name": "Raw edge"}), manager
        )
        entries = records.history_of("defect_code", made.id)
        changed = {(entry.field, entry.old, entry.new) for entry in entries if entry.kind == "field"}
        assert changed == {("defect_class", "minor", "major"), ("defect_type", "loose_button", "")}
        assert [entry.kind for entry in entries][-1] == "created"
        assert defects.get_defect_code("TRM-90").defect_type is None


def test_the_list_filters_by_class_area_and_use(app):
    with app.app_context():
        defects.save_defect_code(defects.get_defect_code("PAC-01"), parse(DefectCodeChanges, {"active": False}))
        by_area = defects.list_defect_codes(parse(DefectCodeFilters, {"area": "packing"}))
        assert [code.code for code in by_area] == ["PAC-01", "PAC-02", "PAC-03"]
        critical = defects.list_defect_codes(parse(DefectCodeFilters, {"defect_class": "critical"}))
        assert {code.area for code in critical} == {"safety"}
        retired = defects.list_defect_codes(parse(DefectCodeFilters, {"active": "false"}))
        assert [code.code for code in retired] == ["PAC-01"]


# The API ----------------------------------------------------------------------------------------------------------


def test_the_api_lists_and_reads_the_library(api):
    client = api("supervisor")
    listed = client.get("/api/v1/defect-codes?area=safety")
    assert listed.status_code == 200
    items = {item["code"]: item for item in listed.json["items"]}
    assert set(items) == {"SAF-01", "SAF-02", "SAF-03", "SAF-04", "SAF-05"}
    assert items["SAF-03"] == {
        "code": "SAF-03",
        "name": "Sharp point or edge",
        "name_zh": "锐利尖端或边缘",
        "defect_class": "critical",
        "area": "safety",
        "defect_type": "sharp_point_or_edge",
        "parameters": ["CN-SHARP-EDGE", "CN-SHARP-POINT"],
        "active": True,
    }
    assert client.get("/api/v1/defect-codes/sew-01").json["name"] == "Open seam"
    assert client.get("/api/v1/defect-codes/NOPE").status_code == 404
    refused = client.get("/api/v1/defect-codes?area=roof&defect_class=fatal")
    assert refused.status_code == 400 and set(refused.json["error"]["fields"]) == {"area", "defect_class"}


def test_quality_managers_add_and_change_codes_through_the_api(api, app):
    manager = api("quality_manager")
    body = {"code": "lab-90", "name": "Country of origin missing", "defect_class": "major", "area": "labelling"}
    created = manager.post("/api/v1/defect-codes", json=body)
    assert created.status_code == 201, created.text
    assert (created.json["code"], created.json["defect_type"], created.json["parameters"]) == ("LAB-90", None, [])
    assert manager.post("/api/v1/defect-codes", json=body).status_code == 409
    changed = manager.patch(
        "/api/v1/defect-codes/LAB-90", json={"name_zh": "缺产地标识", "parameters": ["CN-LABEL-18401"]}
    )
    assert changed.status_code == 200 and changed.json["parameters"] == ["CN-LABEL-18401"]
    history = manager.get("/api/v1/defect-codes/LAB-90/history").json["items"]
    assert {entry["field"] for entry in history if entry["kind"] == "field"} == {"name_zh", "parameters"}
    unsafe = manager.post("/api/v1/defect-codes", json=body | {"code": "SAF-90", "area": "safety"})
    assert unsafe.status_code == 400 and set(unsafe.json["error"]["fields"]) == {"defect_class"}
    renamed = manager.patch("/api/v1/defect-codes/LAB-90", json={"code": "LAB-91"})
    assert renamed.status_code == 400 and set(renamed.json["error"]["fields"]) == {"code"}
    with app.app_context():
        assert defects.find_defect_code("SAF-90") is None
        assert defects.get_defect_code("LAB-90").name_zh == "缺产地标识"


def test_a_supervisor_reads_the_library_but_does_not_change_it(api, app):
    supervisor = api("supervisor")
    body = {"code": "SEW-91", "name": "Raw edge", "defect_class": "minor", "area": "sewing"}
    assert supervisor.post("/api/v1/defect-codes", json=body).status_code == 403
    assert supervisor.patch("/api/v1/defect-codes/SEW-01", json={"name": "x"}).status_code == 403
    with app.app_context():
        assert defects.find_defect_code("SEW-91") is None
        assert defects.get_defect_code("SEW-01").name == "Open seam"


# The pages --------------------------------------------------------------------------------------------------------


def test_the_library_page_lists_codes_in_the_readers_language(client, auth):
    auth.as_role("supervisor")
    html = client.get("/defect-codes?area=safety").text
    rows = {cells(row)[0]: cells(row) for row in table_rows(html)}
    assert set(rows) == {"SAF-01", "SAF-02", "SAF-03", "SAF-04", "SAF-05"}
    assert rows["SAF-01"][1:4] == ["Broken needle or metal fragment", "Critical", "Safety"]
    client.post("/language", data={"language": "zh_Hans_CN"})
    html = client.get("/defect-codes?area=safety").text
    assert one(html, "h1").text(strip=True) == "疵点库"
    rows = {cells(row)[0]: cells(row) for row in table_rows(html)}
    assert rows["SAF-01"][1:4] == ["断针或金属碎片", "致命", "安全"]
    # Supervisors see no link to edit.
    assert client.get("/defect-codes/SAF-01").status_code == 403


def test_a_refused_form_keeps_what_was_typed_and_marks_the_field(client, auth, app):
    auth.as_role("quality_manager")
    form = {"code": "SAF-91", "name": "Loose wire", "name_zh": "", "defect_class": "major", "area": "safety"}
    response = client.post("/defect-codes/new", data=form | {"defect_type": "", "active": "yes"})
    assert response.status_code == 400
    html = response.text
    assert fields_with_errors(html) == {"defect_class"}
    assert "A safety defect is always critical." in errors_in(html)
    assert input_value(field_block(html, "name")) == "Loose wire"
    assert selected_value(field_block(html, "area")) == "safety"
    with app.app_context():
        assert defects.find_defect_code("SAF-91") is None
    saved = client.post(
        "/defect-codes/new", data=form | {"defect_class": "critical", "defect_type": "", "active": "yes"}
    )
    assert saved.status_code == 302
    with app.app_context():
        assert defects.get_defect_code("SAF-91").defect_class == "critical"
