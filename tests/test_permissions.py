"""Who may do what: one policy, declared on every view, checked for every role."""

import pytest

from capa import create_app
from capa.common.commands import parse
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from tests.conftest import PASSWORD

ROLES = ["supervisor", "quality_manager", "admin"]
EVERYONE = set(ROLES)
MANAGERS = {"quality_manager", "admin"}

# (method, path, JSON body, roles allowed, status when allowed)
API_MATRIX = [
    ("GET", "/api/v1/me", None, EVERYONE, 200),
    ("GET", "/api/v1/lines", None, EVERYONE, 200),
    ("GET", "/api/v1/lines/L1", None, EVERYONE, 200),
    ("POST", "/api/v1/lines", {"code": "L9", "name": "Line 9"}, MANAGERS, 201),
    ("PATCH", "/api/v1/lines/L1", {"name": "Line one"}, MANAGERS, 200),
    ("GET", "/api/v1/suppliers", None, EVERYONE, 200),
    ("GET", "/api/v1/suppliers/S1", None, EVERYONE, 200),
    ("POST", "/api/v1/suppliers", {"code": "S9", "name": "S9"}, MANAGERS, 201),
    ("PATCH", "/api/v1/suppliers/S1", {"name": "Snap Co Ltd"}, MANAGERS, 200),
    # The approval decides whether its material may be used: a quality manager's decision alone.
    ("PATCH", "/api/v1/suppliers/S1", {"approval": "suspended", "reason": "Audit failed"}, {"quality_manager"}, 200),
    ("GET", "/api/v1/styles", None, EVERYONE, 200),
    ("GET", "/api/v1/styles/ST1", None, EVERYONE, 200),
    ("POST", "/api/v1/styles", {"code": "ST9", "name": "T", "category": "B"}, MANAGERS, 201),
    ("PATCH", "/api/v1/styles/ST1", {"name": "Tee for toddlers"}, MANAGERS, 200),
    # The category and the attributes decide verdicts, like a limit: the quality manager's, not the admin's.
    ("PATCH", "/api/v1/styles/ST1", {"category": "B", "reason": "Sized for older children"}, {"quality_manager"}, 200),
    ("PATCH", "/api/v1/styles/ST1", {"prints": True, "reason": "Chest print added"}, {"quality_manager"}, 200),
    ("GET", "/api/v1/lines/L1/history", None, EVERYONE, 200),
    ("GET", "/api/v1/suppliers/S1/history", None, EVERYONE, 200),
    ("GET", "/api/v1/suppliers/S1/scorecard", None, EVERYONE, 200),
    ("GET", "/api/v1/suppliers/S1/decisions", None, EVERYONE, 200),
    ("POST", "/api/v1/suppliers/S1/decisions", {"approval": "approved", "reason": "Done"}, {"quality_manager"}, 201),
    ("GET", "/api/v1/styles/ST1/history", None, EVERYONE, 200),
    ("GET", "/api/v1/batches/B1/history", None, EVERYONE, 200),
    ("GET", "/api/v1/parameters/CN-FORM/history", None, EVERYONE, 200),
    ("GET", "/api/v1/batches", None, EVERYONE, 200),
    ("GET", "/api/v1/batches/B1", None, EVERYONE, 200),
    ("POST", "/api/v1/batches", {"number": "B9", "style": "ST1", "line": "L1"}, MANAGERS, 201),
    (
        "POST",
        "/api/v1/batches/B1/lots",
        {"lots": [{"number": "F9", "kind": "fabric", "supplier": "S1"}]},
        MANAGERS,
        200,
    ),
    ("GET", "/api/v1/sampling-plan?lot_size=500&aql=2.5", None, EVERYONE, 200),
    ("GET", "/api/v1/defect-codes", None, EVERYONE, 200),
    ("GET", "/api/v1/defect-codes/SEW-01", None, EVERYONE, 200),
    ("GET", "/api/v1/defect-codes/SEW-01/history", None, EVERYONE, 200),
    # The defect library is a quality decision, like the catalog: the quality manager's.
    (
        "POST",
        "/api/v1/defect-codes",
        {"code": "SEW-99", "name": "x", "defect_class": "minor", "area": "sewing"},
        {"quality_manager"},
        201,
    ),
    ("PATCH", "/api/v1/defect-codes/SEW-01", {"name": "Seam open"}, {"quality_manager"}, 200),
    ("GET", "/api/v1/inspections", None, EVERYONE, 200),
    ("POST", "/api/v1/inspections", {"batch": "B1", "lot_size": 500}, EVERYONE, 201),
    ("GET", "/api/v1/fabric-inspections", None, EVERYONE, 200),
    (
        "POST",
        "/api/v1/fabric-inspections",
        {"lot": "F1", "supplier": "S1", "rolls": [{"number": "R1", "length": 100, "width": 58}]},
        EVERYONE,
        201,
    ),
    ("GET", "/api/v1/suppliers/S1/fabric-acceptance", None, EVERYONE, 200),
    ("PUT", "/api/v1/suppliers/S1/fabric-acceptance", {"points": 30, "reason": "Agreed"}, {"quality_manager"}, 200),
    ("PUT", "/api/v1/styles/ST1/fabric-acceptance", {"points": 30, "reason": "Tech pack"}, {"quality_manager"}, 200),
    ("GET", "/api/v1/styles/ST1/fabric-acceptance/history", None, EVERYONE, 200),
    ("GET", "/api/v1/line-checks", None, EVERYONE, 200),
    ("GET", "/api/v1/line-checks/figures", None, EVERYONE, 200),
    ("POST", "/api/v1/line-checks", {"line": "L1", "stage": "inline", "units_checked": 10}, EVERYONE, 201),
    ("GET", "/api/v1/lines/L1/dhu-alert-level", None, EVERYONE, 200),
    ("PUT", "/api/v1/lines/L1/dhu-alert-level", {"alert_level": 4, "reason": "Buyer"}, {"quality_manager"}, 200),
    ("GET", "/api/v1/needle-control", None, EVERYONE, 200),
    ("GET", "/api/v1/needle-breaks", None, EVERYONE, 200),
    (
        "POST",
        "/api/v1/needle-breaks",
        {"line": "L1", "operator": "Op 1", "all_fragments_found": True},
        EVERYONE,
        201,
    ),
    ("GET", "/api/v1/detector-checks", None, EVERYONE, 200),
    ("POST", "/api/v1/detector-checks", {"detector": "MD-1", "test_piece": "Fe 1.0", "detected": True}, EVERYONE, 201),
    ("GET", "/api/v1/metal-detections", None, EVERYONE, 200),
    ("POST", "/api/v1/metal-detections", {"detector": "MD-1", "line": "L1"}, EVERYONE, 201),
]

PAGE_MATRIX = [
    ("/", EVERYONE),
    ("/lines", EVERYONE),
    ("/lines/new", MANAGERS),
    ("/lines/L1", EVERYONE),
    ("/lines/L1/edit", MANAGERS),
    ("/suppliers", EVERYONE),
    ("/suppliers/S1", EVERYONE),
    ("/suppliers/new", MANAGERS),
    ("/suppliers/S1/edit", MANAGERS),
    ("/styles", EVERYONE),
    ("/styles/ST1", EVERYONE),
    ("/styles/new", MANAGERS),
    ("/styles/ST1/edit", MANAGERS),
    ("/batches", EVERYONE),
    ("/batches/B1", EVERYONE),
    ("/batches/new", MANAGERS),
    ("/batches/B1/lots", MANAGERS),
    ("/users", {"admin"}),
    ("/users/new", {"admin"}),
    ("/sampling-plan", EVERYONE),
    ("/defect-codes", EVERYONE),
    ("/defect-codes/new", {"quality_manager"}),
    ("/defect-codes/SEW-01", {"quality_manager"}),
    ("/inspections", EVERYONE),
    ("/inspections/new", EVERYONE),
    ("/line-checks", EVERYONE),
    ("/line-checks/new", EVERYONE),
    ("/needle-control", EVERYONE),
    ("/needle-control/needle-breaks/new", EVERYONE),
    ("/needle-control/detector-checks/new", EVERYONE),
    ("/needle-control/metal-detections/new", EVERYONE),
]


@pytest.fixture
def world(app):
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Line 1"}))
    masterdata.create_supplier(parse(NewSupplier, {"code": "S1", "name": "Supplier 1"}))
    masterdata.create_style(parse(NewStyle, {"code": "ST1", "name": "Style 1", "category": "A"}))
    masterdata.create_batch(parse(NewBatch, {"number": "B1", "style": "ST1", "line": "L1"}))


def snapshot() -> dict:
    return {
        "lines": [(x.code, x.name) for x in masterdata.list_lines()],
        "suppliers": [(x.code, x.name, x.approval) for x in masterdata.list_suppliers()],
        "styles": [(x.code, x.name, x.category, x.cmia_required) for x in masterdata.list_styles()],
        "batches": [(x.number, [lot.number for lot in x.lots]) for x in masterdata.list_batches()],
    }


def test_every_view_declares_the_permission_it_needs(app):
    undeclared = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and getattr(app.view_functions[rule.endpoint], "required_permission", None) is None
    ]
    assert undeclared == []


def test_a_view_that_declares_nothing_is_refused_even_to_an_admin(app, make_user):
    # An app of its own: a route cannot be added to one that has served requests already.
    other = create_app({**app.config, "CAPA_INSTANCE_PATH": app.instance_path})
    other.add_url_rule("/undeclared", "undeclared", lambda: "secret")
    make_user("admin", "root1")
    client = other.test_client()
    client.post("/login", data={"username": "root1", "password": PASSWORD})
    response = client.get("/undeclared")
    with other.app_context():
        db.engine.dispose()
    assert response.status_code == 403
    assert b"secret" not in response.data


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "body", "allowed", "status"), API_MATRIX)
def test_api_permission_matrix(world, api, role, method, path, body, allowed, status):
    before = snapshot()
    response = api(role).open(method, path, body)
    if role in allowed:
        assert response.status_code == status, response.json
    else:
        assert response.status_code == 403
        assert response.json["error"]["code"] == "forbidden"
        assert snapshot() == before


@pytest.mark.parametrize(("method", "path", "body", "allowed", "status"), API_MATRIX)
def test_api_without_a_valid_token_is_401(world, client, method, path, body, allowed, status):
    for headers in (
        {},
        {"Authorization": "Bearer capa_not-a-real-token"},
        {"Authorization": "Basic YWRtaW46eA=="},
    ):
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"


def test_api_ignores_the_session_cookie(world, client, auth):
    auth.as_role("admin")
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/lines").status_code == 401


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "allowed"), PAGE_MATRIX)
def test_page_permission_matrix(world, client, auth, role, path, allowed):
    auth.as_role(role)
    before = snapshot()
    assert client.get(path).status_code == (200 if role in allowed else 403)
    if role not in allowed:
        client.post(path, data={"code": "X1", "name": "Intruder", "number": "X1", "category": "A"})
        assert snapshot() == before


@pytest.mark.parametrize(("path", "allowed"), PAGE_MATRIX)
def test_pages_send_anonymous_visitors_to_the_login_page(world, client, path, allowed):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_navigation_fits_the_role(world, client, auth):
    auth.as_role("supervisor")
    page = client.get("/lines").text
    assert "/users" not in page
    assert "/lines/new" not in page
    auth.logout()
    auth.as_role("admin")
    page = client.get("/lines").text
    assert "/users" in page
    assert "/lines/new" in page


# The matrix generated from the declarations ----------------------------------------------------------------

#: A value for each URL argument: records that do not exist, so that a request let through the door stops
#: at a 400 or a 404 and changes nothing, while a refused one is 403 before anything is read.
ABSENT = {
    "number": "NC-2000-99999",
    "code": "NOPE9",
    "category": "A",
    "hold_id": 999999,
    "action_id": 999999,
    "photo_id": 999999,
    "token": "0" * 32,  # a pending photo's token of the right shape, kept for nobody
    "week": "2000-W01",
    "username": "nobody.here",
    "name": "trend",
    "report_id": 999999,
    "result_id": 999999,
    "attachment_id": 999999,
    "disposition_id": 999999,
    "inspection_id": 999999,
    "check_id": 999999,
    "break_id": 999999,
    "revision": "Z9",
    "request_id": 999999,
    "file_id": 999999,
    "round_number": 9,
    "change_id": 999999,
    "condition_id": 999999,
}


def declared_views(app):
    """Every (rule, method, need) of the app, from what each view declares."""
    for rule in app.url_map.iter_rules():
        # Logging out would end the session the matrix walks with; it is public like logging in.
        if rule.endpoint in ("static", "accounts.logout"):
            continue
        need = app.view_functions[rule.endpoint].required_permission
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, need


@pytest.mark.parametrize("role", ROLES)
def test_every_declared_view_admits_exactly_the_roles_its_need_admits(app, client, make_user, role):
    from capa.accounts import service as accounts

    user = make_user(role, f"matrix.{role}")
    token = accounts.create_token(user)
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    wrong = []
    for rule, method, need in declared_views(app):
        path = rule.build({name: ABSENT[name] for name in rule.arguments}, append_unknown=False)[1]
        is_api = path.startswith("/api/")
        headers = {"Authorization": f"Bearer {token}"} if is_api else {}
        response = client.open(path, method=method, json={} if is_api and method != "GET" else None, headers=headers)
        admitted = need.allows(user)
        refused = response.status_code == 403
        if admitted == refused or response.status_code >= 500:
            wrong.append(f"{method} {path} ({need}): {response.status_code}")
        if refused and is_api:
            assert response.json["error"]["code"] == "forbidden"
    assert wrong == [], "\n".join(wrong)


def test_every_step_of_the_workflow_declares_its_step(app):
    """No write of the workflow is left at the door of 'any logged-in user': each names its step."""
    from capa.capas.policy import StepPermission

    writes = [
        (rule.rule, method, need)
        for rule, method, need in declared_views(app)
        if method != "GET" and (rule.rule.startswith(("/nc", "/actions", "/api/v1/nonconformances", "/api/v1/actions")))
    ]
    assert writes
    assert [(path, method) for path, method, need in writes if not isinstance(need, StepPermission)] == []
