"""The HTML login flow, CSRF on the login form, and the administrator's user pages, via the test client."""

from urllib.parse import parse_qs, quote, urlsplit

import pytest

from capa.accounts import service as accounts
from capa.accounts.commands import NewUser, UserChanges
from capa.common.commands import parse
from tests.conftest import PASSWORD
from tests.pages import (
    cells,
    control,
    elements,
    field_block,
    fields_with_errors,
    input_value,
    one,
    parsed,
    row_linking,
    selected_value,
    table_rows,
    text,
)

LOGIN_REFUSED = "Unknown user name or wrong password."


# Helpers -------------------------------------------------------------------------------------------------


def stored_users(app) -> dict[str, tuple[str, bool]]:
    """Every account as the database holds it, read in a new app context and so in a new session."""
    with app.app_context():
        return {user.username: (user.role, user.active) for user in accounts.list_users()}


def is_logged_out(client) -> bool:
    response = client.get("/")
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


# Logging in ----------------------------------------------------------------------------------------------


def test_login_page_shows_an_empty_form(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert input_value(field_block(response.text, "username")) == ""
    assert control(field_block(response.text, "password")).attributes.get("type") == "password"


def test_login_redirects_home_and_home_greets_user_by_name(client, make_user):
    make_user("supervisor", "mei.lin")
    response = client.post("/login", data={"username": "mei.lin", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Good day, mei.lin" in home.text


def test_user_name_is_matched_whatever_its_case(client, make_user):
    make_user("supervisor", "mei.lin")
    response = client.post("/login", data={"username": "  Mei.Lin ", "password": PASSWORD})
    assert response.status_code == 302
    assert "Good day, mei.lin" in client.get("/").text


@pytest.mark.parametrize(
    ("username", "password"),
    [("mei.lin", "not the password"), ("nobody.here", PASSWORD)],
    ids=["wrong-password", "unknown-user"],
)
def test_bad_credentials_are_refused_and_user_name_kept(client, make_user, username, password):
    make_user("supervisor", "mei.lin")
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 400
    assert input_value(field_block(response.text, "username")) == username
    password_field = field_block(response.text, "password")
    assert LOGIN_REFUSED in text(password_field)
    assert password not in response.text  # the password is never echoed back
    assert is_logged_out(client)


def test_both_answers_are_the_same_so_names_cannot_be_probed(client, make_user):
    make_user("supervisor", "mei.lin")
    wrong_password = client.post("/login", data={"username": "mei.lin", "password": "not the password"})
    unknown_user = client.post("/login", data={"username": "mei.lin2", "password": "not the password"})
    assert wrong_password.status_code == unknown_user.status_code == 400
    assert wrong_password.text.replace("mei.lin", "NAME") == unknown_user.text.replace("mei.lin2", "NAME")


def test_empty_login_form_marks_both_fields_required(client):
    response = client.post("/login", data={"username": "", "password": ""})
    assert response.status_code == 400
    assert "This field is required." in text(field_block(response.text, "username"))
    assert "This field is required." in text(field_block(response.text, "password"))
    assert is_logged_out(client)


def test_inactive_user_cannot_log_in(client, make_user):
    user = make_user("quality_manager", "old.qm")
    accounts.update_user(user, parse(UserChanges, {"active": False}))
    response = client.post("/login", data={"username": "old.qm", "password": PASSWORD})
    assert response.status_code == 400
    assert LOGIN_REFUSED in text(field_block(response.text, "password"))
    assert is_logged_out(client)


def test_user_deactivated_while_logged_in_is_logged_out_on_next_request(client, auth):
    user = auth.as_role("supervisor")
    assert client.get("/batches").status_code == 200
    accounts.update_user(user, parse(UserChanges, {"active": False}))
    response = client.get("/batches")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/batches"
    assert is_logged_out(client)


def test_logged_in_user_opening_login_is_sent_on(client, auth):
    auth.as_role("supervisor")
    response = client.get("/login?next=/styles")
    assert response.status_code == 302
    assert response.headers["Location"] == "/styles"


# Where a login leads -------------------------------------------------------------------------------------


def test_next_page_is_followed_after_login(client, make_user):
    make_user("supervisor", "mei.lin")
    response = client.post("/login?next=/suppliers", data={"username": "mei.lin", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/suppliers"
    assert client.get("/suppliers").status_code == 200


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "evil.example", "javascript:alert(1)"],
)
def test_next_pointing_off_site_leads_home_instead(client, make_user, target):
    make_user("supervisor", "mei.lin")
    response = client.post(f"/login?next={quote(target, safe='')}", data={"username": "mei.lin", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Good day, mei.lin" in client.get("/").text


def test_next_hiding_a_tab_cannot_lead_off_site(client, make_user):
    make_user("supervisor", "mei.lin")
    response = client.post("/login?next=/%09/evil.example", data={"username": "mei.lin", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_hiding_a_newline_leads_home(client, make_user):
    make_user("supervisor", "mei.lin")
    response = client.post("/login?next=/%0a/evil.example", data={"username": "mei.lin", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    "path", ["/", "/batches", "/users", "/styles", "/suppliers/S1", "/lines/new", "/batches?style=X"]
)
def test_anonymous_visitor_is_sent_to_login_with_the_page_as_next(client, path):
    response = client.get(path)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": [path]}


def test_anonymous_visitor_lands_on_the_asked_page_after_logging_in(client, make_user):
    make_user("quality_manager", "qm.wang")
    to_login = client.get("/suppliers?page=2").headers["Location"]
    login_page = client.get(to_login)
    assert login_page.status_code == 200
    response = client.post(to_login, data={"username": "qm.wang", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/suppliers?page=2"


# Logging out ---------------------------------------------------------------------------------------------


def test_logout_ends_the_session(client, auth):
    auth.as_role("quality_manager")
    assert client.get("/").status_code == 200
    response = auth.logout()
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "You are logged out." in client.get("/login").text
    assert is_logged_out(client)
    assert client.get("/suppliers").headers["Location"] == "/login?next=/suppliers"


def test_logout_is_not_reachable_by_a_plain_link(client, auth):
    auth.as_role("quality_manager")
    response = client.get("/logout")
    assert response.status_code == 405
    assert client.get("/").status_code == 200


# CSRF ----------------------------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(app_config, request):
    """An app with CSRF protection on, as in production: the flag must be set before ``app`` is built."""
    app_config["WTF_CSRF_ENABLED"] = True
    application = request.getfixturevalue("app")
    assert application.config["WTF_CSRF_ENABLED"] is True, "app was built before csrf_app could configure it"
    return application


@pytest.fixture
def csrf_client(csrf_app):
    return csrf_app.test_client()


@pytest.fixture
def csrf_user(csrf_app):
    return accounts.create_user(parse(NewUser, {"username": "mei.lin", "role": "supervisor", "password": PASSWORD}))


def scraped_csrf_token(html: str) -> str:
    tokens = [node.attributes.get("value") for node in parsed(html).css('input[name="csrf_token"]')]
    assert any(tokens), "the page has no hidden csrf_token input"
    return next(token for token in tokens if token)


def test_login_without_csrf_token_is_refused(csrf_client, csrf_user):
    csrf_client.get("/login")  # a session exists, so only the token is missing
    response = csrf_client.post("/login", data={"username": "mei.lin", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF token is missing" in response.text
    assert is_logged_out(csrf_client)


def test_login_with_a_forged_csrf_token_is_refused(csrf_client, csrf_user):
    csrf_client.get("/login")
    response = csrf_client.post("/login", data={"username": "mei.lin", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400
    assert is_logged_out(csrf_client)


def test_login_with_the_token_from_the_login_page_works(csrf_client, csrf_user):
    token = scraped_csrf_token(csrf_client.get("/login").text)
    response = csrf_client.post("/login", data={"username": "mei.lin", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Good day, mei.lin" in csrf_client.get("/").text


def test_logout_without_csrf_token_is_refused(csrf_client, csrf_user):
    token = scraped_csrf_token(csrf_client.get("/login").text)
    csrf_client.post("/login", data={"username": "mei.lin", "password": PASSWORD, "csrf_token": token})
    assert csrf_client.post("/logout").status_code == 400
    assert csrf_client.get("/").status_code == 200
    logout_token = scraped_csrf_token(csrf_client.get("/").text)
    assert csrf_client.post("/logout", data={"csrf_token": logout_token}).status_code == 302
    assert is_logged_out(csrf_client)


def test_a_session_cookie_copied_before_logout_no_longer_logs_anybody_in(csrf_app, csrf_client, csrf_user):
    token = scraped_csrf_token(csrf_client.get("/login").text)
    csrf_client.post("/login", data={"username": "mei.lin", "password": PASSWORD, "csrf_token": token})
    copied = csrf_client.get_cookie("session").value
    thief = csrf_app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/").status_code == 200  # the copy works while the session lasts
    csrf_client.post("/logout", data={"csrf_token": scraped_csrf_token(csrf_client.get("/").text)})
    assert thief.get("/").headers["Location"] == "/login?next=/"
    assert is_logged_out(thief)


def test_logging_out_ends_the_users_sessions_on_every_device(app, make_user):
    make_user("supervisor", "mei.lin")
    phone, desk = app.test_client(), app.test_client()
    for client in (phone, desk):
        client.post("/login", data={"username": "mei.lin", "password": PASSWORD})
        assert client.get("/").status_code == 200
    phone.post("/logout")
    assert is_logged_out(desk)


def test_a_new_password_ends_every_session_opened_with_the_old_one(app, make_user):
    make_user("supervisor", "mei.lin")
    desk = app.test_client()
    desk.post("/login", data={"username": "mei.lin", "password": PASSWORD})
    assert desk.get("/").status_code == 200
    accounts.set_password(accounts.find_user("mei.lin"), "a much longer new passphrase")
    assert is_logged_out(desk)
    desk.post("/login", data={"username": "mei.lin", "password": "a much longer new passphrase"})
    assert desk.get("/").status_code == 200


def test_the_session_and_its_csrf_token_change_at_login(csrf_client, csrf_user):
    before = scraped_csrf_token(csrf_client.get("/login").text)
    session_before = csrf_client.get_cookie("session").value
    csrf_client.post("/login", data={"username": "mei.lin", "password": PASSWORD, "csrf_token": before})
    assert csrf_client.get_cookie("session").value != session_before
    # A token planted before the login (a login CSRF, a fixated session) is worthless after it.
    assert csrf_client.post("/logout", data={"csrf_token": before}).status_code == 400
    assert csrf_client.get("/").status_code == 200
    assert scraped_csrf_token(csrf_client.get("/").text) != before


# Administering users -------------------------------------------------------------------------------------


@pytest.fixture
def admin(auth):
    return auth.as_role("admin")


def test_admin_sees_every_user_with_role_and_status(app, client, admin, make_user):
    make_user("supervisor", "sup.zhao")
    retired = make_user("quality_manager", "qm.retired")
    accounts.update_user(retired, parse(UserChanges, {"active": False}))
    response = client.get("/users")
    assert response.status_code == 200
    listed = [elements(elements(row)[0])[0].attributes["href"] for row in table_rows(response.text)]
    assert listed == [f"/users/{name}" for name in sorted([admin.username, "sup.zhao", "qm.retired"])]
    row = row_linking(response.text, "/users/sup.zhao")
    assert "Line supervisor" in text(row)
    assert "active" in cells(row)
    assert "inactive" in cells(row_linking(response.text, "/users/qm.retired"))


def test_admin_creates_a_user_who_can_then_log_in(app, client, admin, auth):
    form = client.get("/users/new")
    assert form.status_code == 200
    response = client.post(
        "/users/new", data={"username": "New.Planner", "role": "quality_manager", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/users"
    assert "User new.planner created." in client.get("/users").text
    assert stored_users(app)["new.planner"] == ("quality_manager", True)
    auth.logout()
    assert auth.login("new.planner").status_code == 302


def test_short_password_is_refused_beside_the_password_field_and_input_kept(app, client, admin):
    before = stored_users(app)
    response = client.post("/users/new", data={"username": "sup.qian", "role": "supervisor", "password": "short"})
    assert response.status_code == 400
    assert "At least 10 characters." in text(field_block(response.text, "password"))
    assert "username" not in fields_with_errors(response.text)
    assert input_value(field_block(response.text, "username")) == "sup.qian"
    assert selected_value(field_block(response.text, "role")) == "supervisor"
    assert stored_users(app) == before


def test_duplicate_user_name_is_refused_beside_the_user_name_and_input_kept(app, client, admin, make_user):
    make_user("supervisor", "sup.zhao")
    before = stored_users(app)
    response = client.post("/users/new", data={"username": "SUP.ZHAO", "role": "quality_manager", "password": PASSWORD})
    assert response.status_code == 400
    assert "Already taken." in text(field_block(response.text, "username"))
    assert input_value(field_block(response.text, "username")) == "SUP.ZHAO"
    assert selected_value(field_block(response.text, "role")) == "quality_manager"
    assert stored_users(app) == before
    assert before["sup.zhao"] == ("supervisor", True)


def test_malformed_user_name_is_refused_beside_the_user_name(app, client, admin):
    before = stored_users(app)
    response = client.post("/users/new", data={"username": "mei lin!", "role": "supervisor", "password": PASSWORD})
    assert response.status_code == 400
    assert "Use letters, digits and . _ - only." in text(field_block(response.text, "username"))
    assert stored_users(app) == before


def test_user_page_shows_the_current_role_and_status(client, admin, make_user):
    make_user("quality_manager", "qm.wang")
    response = client.get("/users/qm.wang")
    assert response.status_code == 200
    assert text(one(response.text, "h1")) == "qm.wang"
    assert selected_value(field_block(response.text, "role")) == "quality_manager"
    box = control(field_block(response.text, "active"))
    assert box.attributes.get("type") == "checkbox" and "checked" in box.attributes


def test_admin_changes_a_users_role(app, client, admin, make_user):
    make_user("supervisor", "sup.zhao")
    response = client.post("/users/sup.zhao", data={"role": "quality_manager", "active": "y"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/users"
    assert stored_users(app)["sup.zhao"] == ("quality_manager", True)
    row = row_linking(client.get("/users").text, "/users/sup.zhao")
    assert "Quality manager" in text(row)


def test_admin_deactivates_a_user_who_then_cannot_log_in(app, client, admin, make_user, auth):
    make_user("supervisor", "sup.zhao")
    response = client.post("/users/sup.zhao", data={"role": "supervisor"})  # the box left unticked
    assert response.status_code == 302
    assert stored_users(app)["sup.zhao"] == ("supervisor", False)
    auth.logout()
    assert auth.login("sup.zhao").status_code == 400


@pytest.mark.parametrize(
    "change",
    [{"role": "supervisor", "active": "y"}, {"role": "admin"}],
    ids=["demote", "deactivate"],
)
def test_last_active_admin_cannot_demote_or_deactivate_itself(app, client, admin, change):
    response = client.post(f"/users/{admin.username}", data=change)
    assert response.status_code == 400
    assert "This is the last active administrator." in text(field_block(response.text, "role"))
    assert stored_users(app)[admin.username] == ("admin", True)
    assert client.get("/users").status_code == 200


def test_inactive_admin_does_not_count_as_remaining_admin(app, client, admin, make_user):
    other = make_user("admin", "admin.retired")
    accounts.update_user(other, parse(UserChanges, {"active": False}))
    response = client.post(f"/users/{admin.username}", data={"role": "quality_manager", "active": "y"})
    assert response.status_code == 400
    assert stored_users(app)[admin.username] == ("admin", True)


def test_admin_may_step_down_while_another_admin_remains(app, client, admin, make_user):
    make_user("admin", "admin.two")
    response = client.post(f"/users/{admin.username}", data={"role": "quality_manager", "active": "y"})
    assert response.status_code == 302
    assert stored_users(app)[admin.username] == ("quality_manager", True)
    assert client.get("/users").status_code == 403


def test_unknown_user_page_is_not_found(client, admin):
    response = client.get("/users/nobody.here")
    assert response.status_code == 404
    assert "Not found" in response.text


@pytest.mark.parametrize("role", ["supervisor", "quality_manager"])
@pytest.mark.parametrize("path", ["/users", "/users/new", "/users/admin.one"])
def test_other_roles_are_forbidden_the_user_pages(app, client, auth, make_user, role, path):
    make_user("admin", "admin.one")
    auth.as_role(role)
    response = client.get(path)
    assert response.status_code == 403
    assert "Not allowed" in response.text
    assert "admin.one" not in response.text


@pytest.mark.parametrize("role", ["supervisor", "quality_manager"])
def test_other_roles_cannot_create_or_change_users(app, client, auth, make_user, role):
    make_user("admin", "admin.one")
    auth.as_role(role)
    before = stored_users(app)
    created = client.post("/users/new", data={"username": "intruder", "role": "admin", "password": PASSWORD})
    changed = client.post("/users/admin.one", data={"role": "supervisor"})
    assert created.status_code == changed.status_code == 403
    assert stored_users(app) == before
