"""The master data pages: lines, suppliers, styles and batches with their material lots.

Records are seeded through the services; what was stored is read back in a new app context, so in a session
of its own, and anything a refused request left uncommitted in the test's session does not count as stored.
"""

import re

import pytest

from capa.common.commands import parse
from capa.common.errors import NotFound
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from tests.pages import (
    cells,
    control,
    errors_in,
    field_block,
    field_blocks,
    field_id,
    input_value,
    link_texts,
    links,
    one,
    options,
    parsed,
    selected_value,
    table_rows,
    text,
    texts,
    under_heading,
    values_in,
)

# Helpers -------------------------------------------------------------------------------------------------


@pytest.fixture
def stored(app):
    """What the database holds, read in a new app context (a new session): ``stored("lines")``."""

    def read(kind: str) -> dict:
        with app.app_context():
            if kind == "lines":
                return {line.code: line.name for line in masterdata.list_lines()}
            if kind == "suppliers":
                return {s.code: (s.name, s.approval) for s in masterdata.list_suppliers()}
            if kind == "styles":
                return {s.code: (s.name, s.category, s.cmia_required) for s in masterdata.list_styles()}
            if kind == "batches":
                return {
                    b.number: (b.style.code, b.line.code, sorted(lot.number for lot in b.lots))
                    for b in masterdata.list_batches()
                }
            if kind == "lots":
                return {
                    lot.number: (lot.kind, lot.supplier.code) for s in masterdata.list_suppliers() for lot in s.lots
                }
            raise AssertionError(kind)

    return read


def everything(stored) -> dict:
    return {kind: stored(kind) for kind in ("lines", "suppliers", "styles", "batches", "lots")}


def lot_rows(*rows: tuple[str, str, str], total: int = 4) -> dict[str, str]:
    """Lot rows as the batch form posts them: every row shown, the unused ones blank."""
    data: dict[str, str] = {}
    padded = list(rows) + [("", "", "")] * max(0, total - len(rows))
    for index, (number, kind, supplier) in enumerate(padded):
        data |= {
            f"lots-{index}-number": number,
            f"lots-{index}-kind": kind,
            f"lots-{index}-supplier": supplier,
        }
    return data


def lot_row_with_number(html: str, number: str):
    """The lot row (of the batch form) whose number input holds ``number``."""

    def holds(row) -> bool:
        return any(
            re.fullmatch(r"lots-\d+-number", node.attributes.get("name") or "")
            and node.attributes.get("type") == "text"
            and node.attributes.get("value") == number
            for node in row.css("input")
        )

    matching = [row for row in parsed(html).css("div.row") if holds(row)]
    assert len(matching) == 1, f"expected one row holding lot {number!r}, found {len(matching)}"
    return matching[0]


def row_field(row, name: str):
    """One field (``kind``, ``supplier``) of a lot row."""
    [block] = [block for block in field_blocks(row) if re.fullmatch(rf"lots-\d+-{name}", field_id(block))]
    return block


@pytest.fixture
def qm(auth):
    return auth.as_role("quality_manager")


@pytest.fixture
def supervisor(auth):
    return auth.as_role("supervisor")


@pytest.fixture
def basics(app):
    """A line, an approved and a suspended supplier, and a category A style."""
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "DYE-01", "name": "Sunrise Dye House"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "TRIM-02", "name": "Snap Co", "approval": "suspended"}))
    masterdata.create_style(parse(NewStyle, {"code": "RMP-2301", "name": "Infant romper", "category": "A"}))


@pytest.fixture
def batch(basics):
    """Batch B-100 of RMP-2301 on L1 with fabric lot F-1 from DYE-01."""
    masterdata.create_batch(
        parse(
            NewBatch,
            {
                "number": "B-100",
                "style": "RMP-2301",
                "line": "L1",
                "lots": [{"number": "F-1", "kind": "fabric", "supplier": "DYE-01"}],
            },
        ),
    )


# Creating lines, suppliers and styles ---------------------------------------------------------------------


def test_quality_manager_creates_a_line_listed_with_its_code_upper_cased(client, qm, stored):
    assert client.get("/lines/new").status_code == 200
    response = client.post("/lines/new", data={"code": " l-2 ", "name": "Cutting line"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/lines"
    assert stored("lines") == {"L-2": "Cutting line"}
    page = client.get("/lines").text
    assert "Line L-2 added." in page
    assert link_texts(page).get("/lines/L-2/edit") == "L-2"
    assert "Cutting line" in page


def test_quality_manager_creates_a_supplier_shown_in_list_and_detail(client, qm, stored):
    response = client.post(
        "/suppliers/new", data={"code": "dye-07", "name": "Blue River Dyeing", "approval": "conditional"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/suppliers/DYE-07"
    assert stored("suppliers") == {"DYE-07": ("Blue River Dyeing", "conditional")}
    detail = client.get("/suppliers/dye-07")
    assert detail.status_code == 200
    assert "Supplier DYE-07 added." in detail.text
    assert text(one(detail.text, "h1")) == "DYE-07 · Blue River Dyeing"
    assert "Conditional" in texts(detail.text, "span.badge-conditional")
    listing = client.get("/suppliers").text
    assert link_texts(listing).get("/suppliers/DYE-07") == "DYE-07"
    assert "Conditional" in listing


def test_quality_manager_creates_a_style_shown_in_list_and_detail(client, qm, stored):
    response = client.post(
        "/styles/new",
        data={"code": "rmp-2302", "name": "Baby bodysuit", "category": "A", "cmia_required": "y", "markets": "CN"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/styles/RMP-2302"
    assert stored("styles") == {"RMP-2302": ("Baby bodysuit", "A", True)}
    listing = client.get("/styles").text
    assert link_texts(listing).get("/styles/RMP-2302") == "RMP-2302"
    assert "Baby bodysuit" in listing
    detail = client.get("/styles/RMP-2302").text
    assert text(one(detail, "h1")) == "RMP-2302 · Baby bodysuit"
    assert "A: infants, 36 months and under" in detail
    assert "required by the tech pack" in detail


def test_style_without_the_cmia_box_ticked_does_not_require_cmia(client, qm, stored):
    response = client.post("/styles/new", data={"code": "TSH-1", "name": "T-shirt", "category": "C", "markets": "CN"})
    assert response.status_code == 302
    assert stored("styles") == {"TSH-1": ("T-shirt", "C", False)}
    assert "not required" in client.get("/styles/TSH-1").text


# Refused submissions --------------------------------------------------------------------------------------

FORMS = {
    "lines": ("/lines/new", {"code": "L9", "name": "Packing line"}),
    "suppliers": ("/suppliers/new", {"code": "S9", "name": "Button Works", "approval": "conditional"}),
    "styles": (
        "/styles/new",
        {"code": "ST9", "name": "Girls dress", "category": "B", "cmia_required": "y", "markets": "CN"},
    ),
}
PROBLEMS = {
    "empty-name": ({"name": ""}, "name", "This field is required."),
    "long-name": ({"name": "n" * 121}, "name", "At most 120 characters."),
    "malformed-code": (
        {"code": "bad code!"},
        "code",
        "Use letters, digits and - _ . / only, starting with a letter or digit.",
    ),
}


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("kind", FORMS)
def test_bad_submission_is_refused_beside_the_field_and_form_keeps_input(client, qm, stored, kind, problem):
    path, good = FORMS[kind]
    change, bad_field, message = PROBLEMS[problem]
    data = good | change
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert errors_in(field_block(response.text, bad_field)) == [message]
    for name in ("code", "name"):
        assert input_value(field_block(response.text, name)) == data[name]
    other = "name" if bad_field == "code" else "code"
    assert errors_in(field_block(response.text, other)) == []
    if kind == "suppliers":
        assert selected_value(field_block(response.text, "approval")) == "conditional"
    if kind == "styles":
        assert selected_value(field_block(response.text, "category")) == "B"
        assert "checked" in control(field_block(response.text, "cmia_required")).attributes
    assert stored(kind) == {}


@pytest.mark.parametrize("kind", FORMS)
def test_duplicate_code_is_refused_and_form_keeps_input(client, qm, stored, kind):
    path, good = FORMS[kind]
    assert client.post(path, data=good).status_code == 302
    before = stored(kind)
    data = good | {"code": good["code"].lower(), "name": "Another name"}
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert errors_in(field_block(response.text, "code")) == ["Already in use."]
    assert input_value(field_block(response.text, "code")) == data["code"]
    assert input_value(field_block(response.text, "name")) == "Another name"
    assert stored(kind) == before
    assert "Another name" not in str(before)


# Editing --------------------------------------------------------------------------------------------------


def test_line_edit_form_shows_the_record_with_the_code_read_only(client, qm, basics):
    response = client.get("/lines/l1/edit")
    assert response.status_code == 200
    code = field_block(response.text, "code")
    assert input_value(code) == "L1"
    assert "readonly" in control(code).attributes
    assert input_value(field_block(response.text, "name")) == "Sewing line 1"


def test_line_is_renamed(client, qm, basics, stored):
    response = client.post("/lines/L1/edit", data={"code": "L1", "name": "Sewing line one"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/lines"
    assert stored("lines") == {"L1": "Sewing line one"}
    page = client.get("/lines").text
    assert "Line L1 saved." in page
    assert "Sewing line one" in page


def test_line_code_cannot_be_changed_by_editing(client, qm, basics, stored):
    client.post("/lines/L1/edit", data={"code": "L7", "name": "Sewing line 1"})
    assert stored("lines") == {"L1": "Sewing line 1"}
    with pytest.raises(NotFound):
        masterdata.get_line("L7")
    assert client.get("/lines/L7/edit").status_code == 404


def test_line_edit_with_empty_name_is_refused_and_keeps_the_stored_name(client, qm, basics, stored):
    response = client.post("/lines/L1/edit", data={"code": "L1", "name": "  "})
    assert response.status_code == 400
    assert errors_in(field_block(response.text, "name")) == ["This field is required."]
    assert stored("lines") == {"L1": "Sewing line 1"}


def test_supplier_is_suspended_by_editing(client, qm, basics, stored):
    form = client.get("/suppliers/DYE-01/edit")
    assert selected_value(field_block(form.text, "approval")) == "approved"
    response = client.post(
        "/suppliers/DYE-01/edit",
        data={"code": "DYE-01", "name": "Sunrise Dye House", "approval": "suspended", "reason": "Audit failed"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/suppliers/DYE-01"
    assert stored("suppliers")["DYE-01"] == ("Sunrise Dye House", "suspended")
    detail = client.get("/suppliers/DYE-01").text
    assert "Suspended" in texts(detail, "span.badge-suspended")
    assert "Supplier DYE-01 saved." in detail


def test_supplier_code_cannot_be_changed_by_editing(client, qm, basics, stored):
    client.post("/suppliers/DYE-01/edit", data={"code": "DYE-99", "name": "Renamed", "approval": "approved"})
    suppliers = stored("suppliers")
    assert "DYE-99" not in suppliers
    assert set(suppliers) == {"DYE-01", "TRIM-02"}


def test_style_category_is_changed_by_editing(client, qm, basics, stored):
    form = client.get("/styles/RMP-2301/edit")
    assert selected_value(field_block(form.text, "category")) == "A"
    assert "readonly" in control(field_block(form.text, "code")).attributes
    without_reason = client.post(
        "/styles/RMP-2301/edit",
        data={"code": "RMP-2301", "name": "Infant romper", "category": "B", "cmia_required": "y", "markets": "CN"},
    )
    assert without_reason.status_code == 400
    assert any("Say why" in error for error in errors_in(field_block(without_reason.text, "reason")))
    assert stored("styles") == {"RMP-2301": ("Infant romper", "A", False)}
    response = client.post(
        "/styles/RMP-2301/edit",
        data={
            "code": "RMP-2301",
            "name": "Infant romper",
            "category": "B",
            "cmia_required": "y",
            "markets": "CN",
            "reason": "Sized for toddlers of 4 years",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/styles/RMP-2301"
    assert stored("styles") == {"RMP-2301": ("Infant romper", "B", True)}
    detail = client.get("/styles/RMP-2301").text
    assert "B: in direct contact with the skin" in detail
    assert "Style RMP-2301 saved." in detail
    assert "Sized for toddlers of 4 years" in detail


def test_style_code_cannot_be_changed_by_editing(client, qm, basics, stored):
    client.post("/styles/RMP-2301/edit", data={"code": "NEW-1", "name": "Infant romper", "category": "C"})
    assert set(stored("styles")) == {"RMP-2301"}


# Batches and their lots -----------------------------------------------------------------------------------


def test_batch_form_offers_existing_styles_lines_and_suppliers(client, qm, basics):
    response = client.get("/batches/new")
    assert response.status_code == 200
    assert options(field_block(response.text, "style"), selected=False)["RMP-2301"] == "RMP-2301 · Infant romper"
    assert options(field_block(response.text, "line"), selected=False)["L1"] == "L1 · Sewing line 1"
    for index in range(4):
        supplier = field_block(response.text, f"lots-{index}-supplier")
        assert options(supplier, selected=False)["TRIM-02"] == "TRIM-02 · Snap Co"


def test_batch_is_recorded_with_its_lots_and_blank_rows_ignored(client, qm, basics, stored):
    data = {"number": "b-200", "style": "RMP-2301", "line": "L1"} | lot_rows(
        ("f-7", "fabric", "DYE-01"), ("", "", ""), ("tr-3", "trim", "TRIM-02")
    )
    response = client.post("/batches/new", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/batches/B-200"
    assert stored("batches") == {"B-200": ("RMP-2301", "L1", ["F-7", "TR-3"])}
    assert stored("lots") == {"F-7": ("fabric", "DYE-01"), "TR-3": ("trim", "TRIM-02")}
    assert "B-200" in client.get("/batches").text


def test_batch_page_lists_its_lots_with_the_supplier_approval(client, qm, basics):
    masterdata.create_batch(
        parse(
            NewBatch,
            {
                "number": "B-300",
                "style": "RMP-2301",
                "line": "L1",
                "lots": [
                    {"number": "F-9", "kind": "fabric", "supplier": "DYE-01"},
                    {"number": "SN-1", "kind": "trim", "supplier": "TRIM-02"},
                ],
            },
        ),
    )
    response = client.get("/batches/b-300")
    assert response.status_code == 200
    lots = table_rows(one(under_heading(response.text, "Material lots"), "table"))
    shown = [(*cells(row)[:2], text(one(row, 'span[class*="badge-"]'))) for row in lots]
    assert shown == [("F-9", "Fabric", "Approved"), ("SN-1", "Trim", "Suspended")]
    assert "RMP-2301" in response.text
    assert "L1 · Sewing line 1" in response.text


def test_lot_row_naming_an_unknown_supplier_is_refused_on_that_row(client, qm, basics, stored):
    data = {"number": "B-201", "style": "RMP-2301", "line": "L1"} | lot_rows(
        ("", "", ""), ("F-8", "fabric", "DYE-01"), ("X-1", "trim", "NOPE-9")
    )
    response = client.post("/batches/new", data=data)
    assert response.status_code in (200, 400)  # which of them: test_refused_lot_row_answers_400
    bad_row = lot_row_with_number(response.text, "X-1")
    assert errors_in(row_field(bad_row, "supplier")) == ["No supplier NOPE-9."]
    assert selected_value(row_field(bad_row, "kind")) == "trim"
    assert "No supplier" not in text(lot_row_with_number(response.text, "F-8"))
    assert input_value(field_block(response.text, "number")) == "B-201"
    assert stored("batches") == {}
    assert stored("lots") == {}


def test_existing_lot_given_with_another_kind_is_refused_on_that_row(client, qm, batch, stored):
    before = everything(stored)
    data = {"number": "B-202", "style": "RMP-2301", "line": "L1"} | lot_rows(
        ("N-1", "thread", "DYE-01"), ("F-1", "trim", "DYE-01")
    )
    response = client.post("/batches/new", data=data)
    assert response.status_code in (200, 400)  # which of them: test_refused_lot_row_answers_400
    bad_row = lot_row_with_number(response.text, "F-1")
    kind = row_field(bad_row, "kind")
    assert errors_in(kind) == ["Lot F-1 is recorded as fabric."]
    assert selected_value(kind) == "trim"
    assert errors_in(lot_row_with_number(response.text, "N-1")) == []
    assert everything(stored) == before


def test_existing_lot_from_another_supplier_is_refused_on_that_row(client, qm, batch, stored):
    before = everything(stored)
    data = {"number": "B-203", "style": "RMP-2301", "line": "L1"} | lot_rows(("F-1", "fabric", "TRIM-02"))
    response = client.post("/batches/new", data=data)
    assert response.status_code in (200, 400)  # which of them: test_refused_lot_row_answers_400
    bad_row = lot_row_with_number(response.text, "F-1")
    supplier = row_field(bad_row, "supplier")
    assert errors_in(supplier) == ["Lot F-1 is recorded from DYE-01."]
    assert everything(stored) == before


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (
            "/batches/new",
            {"number": "B-207", "style": "RMP-2301", "line": "L1"} | lot_rows(("X-2", "trim", "NOPE")),
        ),
        ("/batches/B-100/lots", lot_rows(("X-2", "trim", "NOPE"))),
    ],
    ids=["new-batch", "add-lots"],
)
def test_refused_lot_row_answers_400(client, qm, batch, path, data):
    response = client.post(path, data=data)
    assert "No supplier NOPE." in text(lot_row_with_number(response.text, "X-2"))
    assert response.status_code == 400
    assert "Please correct the fields marked." in response.text


def test_existing_lot_with_its_recorded_kind_is_reused_by_a_new_batch(client, qm, batch, stored):
    data = {"number": "B-204", "style": "RMP-2301", "line": "L1"} | lot_rows(("f-1", "fabric", "DYE-01"))
    assert client.post("/batches/new", data=data).status_code == 302
    assert stored("batches")["B-204"] == ("RMP-2301", "L1", ["F-1"])
    assert stored("lots") == {"F-1": ("fabric", "DYE-01")}
    supplier_page = client.get("/suppliers/DYE-01").text
    [lot] = [row for row in table_rows(supplier_page) if cells(row)[0] == "F-1"]
    assert "B-100, B-204" in cells(lot)[2]
    assert link_texts(lot).items() >= {"/batches/B-100": "B-100", "/batches/B-204": "B-204"}.items()


def test_duplicate_batch_number_is_refused_beside_the_number(client, qm, batch, stored):
    before = everything(stored)
    data = {"number": "b-100", "style": "RMP-2301", "line": "L1"} | lot_rows(("N-5", "thread", "DYE-01"))
    response = client.post("/batches/new", data=data)
    assert response.status_code == 400
    assert errors_in(field_block(response.text, "number")) == ["Already in use."]
    assert everything(stored) == before


def test_batch_without_style_or_line_is_refused_beside_those_fields(client, qm, basics, stored):
    data = {"number": "B-205", "style": "", "line": ""} | lot_rows(("N-5", "thread", "DYE-01"))
    response = client.post("/batches/new", data=data)
    assert response.status_code == 400
    assert errors_in(field_block(response.text, "style")) == ["This field is required."]
    assert errors_in(field_block(response.text, "line")) == ["This field is required."]
    assert stored("batches") == {}
    assert stored("lots") == {}


def test_lot_rows_left_out_of_the_post_count_as_blank(client, qm, basics, stored):
    data = {
        "number": "B-206",
        "style": "RMP-2301",
        "line": "L1",
        "lots-0-number": "F-6",
        "lots-0-kind": "fabric",
        "lots-0-supplier": "DYE-01",
    }
    response = client.post("/batches/new", data=data)
    assert response.status_code == 302
    assert stored("batches") == {"B-206": ("RMP-2301", "L1", ["F-6"])}


def test_lots_are_added_to_an_existing_batch(client, qm, batch, stored):
    form = client.get("/batches/B-100/lots")
    assert form.status_code == 200
    assert "Add material lots to batch B-100" in form.text
    response = client.post(
        "/batches/b-100/lots",
        data=lot_rows(("d-4", "dye_lot", "DYE-01"), ("", "", ""), ("F-1", "fabric", "DYE-01")),
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/batches/B-100"
    assert stored("batches") == {"B-100": ("RMP-2301", "L1", ["D-4", "F-1"])}
    page = client.get("/batches/B-100").text
    assert "Lots added to batch B-100." in page
    assert ["D-4", "Dye lot"] in [cells(row)[:2] for row in table_rows(page)]


def test_adding_a_lot_with_the_wrong_kind_stores_none_of_the_rows(client, qm, batch, stored):
    before = everything(stored)
    response = client.post(
        "/batches/B-100/lots", data=lot_rows(("D-5", "dye_lot", "DYE-01"), ("F-1", "label", "DYE-01"))
    )
    assert response.status_code in (200, 400)  # which of them: test_refused_lot_row_answers_400
    assert errors_in(row_field(lot_row_with_number(response.text, "F-1"), "kind")) == ["Lot F-1 is recorded as fabric."]
    assert "D-5" in values_in(response.text)
    assert everything(stored) == before


def test_adding_no_lots_at_all_is_refused(client, qm, batch):
    response = client.post("/batches/B-100/lots", data=lot_rows())
    assert response.status_code == 400


# What a supervisor may do ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "shows"),
    [
        ("/lines", "Sewing line 1"),
        ("/suppliers", "Snap Co"),
        ("/suppliers/TRIM-02", "TRIM-02 · Snap Co"),
        ("/styles", "Infant romper"),
        ("/styles/RMP-2301", "B-100"),
        ("/batches", "B-100"),
        ("/batches/B-100", "F-1"),
    ],
)
def test_supervisor_reads_every_list_and_detail_page_without_change_links(client, batch, supervisor, path, shows):
    response = client.get(path)
    assert response.status_code == 200
    assert shows in response.text
    assert not [href for href in links(one(response.text, "main")) if re.search(r"/(new|edit|lots)$", href)]


CHANGE_PAGES = [
    "/lines/new",
    "/lines/L1/edit",
    "/suppliers/new",
    "/suppliers/DYE-01/edit",
    "/styles/new",
    "/styles/RMP-2301/edit",
    "/batches/new",
    "/batches/B-100/lots",
]
CHANGE_POSTS = {
    "/lines/new": {"code": "L8", "name": "Sneaky line"},
    "/lines/L1/edit": {"code": "L1", "name": "Renamed by a supervisor"},
    "/suppliers/new": {"code": "S8", "name": "Sneaky supplier", "approval": "approved"},
    "/suppliers/DYE-01/edit": {"code": "DYE-01", "name": "Sunrise Dye House", "approval": "suspended"},
    "/styles/new": {"code": "ST8", "name": "Sneaky style", "category": "C"},
    "/styles/RMP-2301/edit": {"code": "RMP-2301", "name": "Infant romper", "category": "C"},
    "/batches/new": {"number": "B-800", "style": "RMP-2301", "line": "L1"} | lot_rows(("Z-8", "trim", "DYE-01")),
    "/batches/B-100/lots": lot_rows(("Z-9", "trim", "DYE-01")),
}


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", CHANGE_PAGES)
def test_supervisor_is_forbidden_every_change_page(client, batch, supervisor, stored, path, method):
    before = everything(stored)
    response = client.open(path, method=method, data=CHANGE_POSTS[path] if method == "POST" else None)
    assert response.status_code == 403
    assert "Not allowed" in response.text
    assert parsed(response.text).css("form[novalidate]") == []
    assert everything(stored) == before


# Unknown records ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/suppliers/NOPE",
        "/styles/NOPE",
        "/batches/NOPE",
        "/lines/NOPE/edit",
        "/suppliers/NOPE/edit",
        "/styles/NOPE/edit",
        "/batches/NOPE/lots",
    ],
)
def test_unknown_code_gives_the_not_found_page(client, qm, basics, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert text(one(response.text, "h1")) == "Not found"
    assert "Back to the home page" in response.text
