"""Failed log-ins limited per account and per client address (capa/accounts/login_limits.py), on the login page:
429 with the reason beside the password, the user name kept, and Retry-After; the right password never counted."""

import time

import pytest

from capa import create_app
from capa.accounts import service as accounts
from capa.accounts.login_limits import InvalidLimitSetting, TooManyAttempts
from capa.extensions import limiter
from tests.conftest import PASSWORD
from tests.pages import field_block, input_value, text
from tests.test_capa_rules_api import ROOT_CAUSE, file, make_world

ACCOUNT_LIMIT, ADDRESS_LIMIT = 3, 5
WINDOW_SECONDS = 15 * 60
PER_ACCOUNT = "Too many failed log-ins with this user name."
PER_ADDRESS = "Too many failed log-ins from this network address."


@pytest.fixture
def app_config(app_config):
    return {
        **app_config,
        "RATELIMIT_ENABLED": True,
        "CAPA_LOGIN_LIMIT_PER_ACCOUNT": f"{ACCOUNT_LIMIT} per 15 minutes",
        "CAPA_LOGIN_LIMIT_PER_ADDRESS": f"{ADDRESS_LIMIT} per 15 minutes",
    }


@pytest.fixture(autouse=True)
def no_counts_yet(app):
    """Each test starts with nothing counted (the counts of the process's storage outlive a test's database)."""
    limiter.reset()
    yield
    limiter.reset()


def log_in(client, username: str, password: str, address: str = "127.0.0.10"):
    return client.post(
        "/login", data={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def assert_refused_for_too_many(response, username: str, reason: str, password: str) -> int:
    """The login page again, 429, the reason beside the password, the name kept; returns Retry-After."""
    assert response.status_code == 429, response.text
    assert reason in text(field_block(response.text, "password"))
    assert "Try again in" in text(field_block(response.text, "password"))
    assert input_value(field_block(response.text, "username")) == username
    assert password not in response.text
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= WINDOW_SECONDS
    return int(retry_after)


def is_logged_in(client) -> bool:
    return client.get("/").status_code == 200


def test_failed_log_ins_at_one_account_shut_it_from_every_address(client, make_user):
    make_user("supervisor", "mei.lin")
    for attempt in range(ACCOUNT_LIMIT):
        response = log_in(client, "mei.lin", "not the password", address=f"127.0.0.{20 + attempt}")
        assert response.status_code == 400
    for address in ("127.0.0.20", "127.0.0.99"):
        # Even the right password is not checked once the limit is reached.
        refused = log_in(client, "mei.lin", PASSWORD, address=address)
        assert_refused_for_too_many(refused, "mei.lin", PER_ACCOUNT, PASSWORD)
    assert not is_logged_in(client)


def test_another_person_at_the_same_address_still_logs_in(client, make_user):
    make_user("supervisor", "mei.lin")
    make_user("supervisor", "wang")
    for _ in range(ACCOUNT_LIMIT):
        log_in(client, "mei.lin", "not the password")
    assert log_in(client, "mei.lin", PASSWORD).status_code == 429
    assert log_in(client, "wang", PASSWORD).status_code == 302
    assert is_logged_in(client)


def test_failed_log_ins_from_one_address_shut_that_address_only(app, make_user):
    make_user("supervisor", "mei.lin")
    attacker, colleague = app.test_client(), app.test_client()
    for attempt in range(ADDRESS_LIMIT):
        assert log_in(attacker, f"guess{attempt}", "password12", address="127.0.0.66").status_code == 400
    refused = log_in(attacker, "mei.lin", PASSWORD, address="127.0.0.66")
    assert_refused_for_too_many(refused, "mei.lin", PER_ADDRESS, PASSWORD)
    assert log_in(colleague, "mei.lin", PASSWORD, address="127.0.0.67").status_code == 302
    assert is_logged_in(colleague)


def test_the_right_password_is_never_counted(client, make_user):
    make_user("supervisor", "mei.lin")
    for _ in range(ADDRESS_LIMIT + ACCOUNT_LIMIT):
        assert log_in(client, "mei.lin", PASSWORD).status_code == 302
        client.post("/logout")
    # Typing wrong up to the limit less one, then right: no refusal, at any point.
    for _ in range(ACCOUNT_LIMIT - 1):
        assert log_in(client, "mei.lin", "not the password").status_code == 400
    assert log_in(client, "mei.lin", PASSWORD).status_code == 302


def test_unknown_names_are_limited_like_known_ones(app, make_user):
    make_user("supervisor", "mei.lin")
    known, unknown = app.test_client(), app.test_client()
    for _ in range(ACCOUNT_LIMIT):
        log_in(known, "mei.lin", "not the password", address="127.0.0.30")
        log_in(unknown, "mei.lin2", "not the password", address="127.0.0.31")
    first = log_in(known, "mei.lin", "not the password", address="127.0.0.30")
    second = log_in(unknown, "mei.lin2", "not the password", address="127.0.0.31")
    assert first.status_code == second.status_code == 429
    assert text(field_block(first.text, "password")) == text(field_block(second.text, "password"))


def test_names_are_counted_whatever_their_case(client, make_user):
    make_user("supervisor", "mei.lin")
    for name in ("mei.lin", "MEI.LIN", " Mei.Lin "):
        log_in(client, name, "not the password")
    assert log_in(client, "mei.lin", PASSWORD).status_code == 429


def test_a_refused_attempt_is_not_counted_so_the_wait_never_grows(client, make_user):
    make_user("supervisor", "mei.lin")
    for _ in range(ACCOUNT_LIMIT):
        log_in(client, "mei.lin", "not the password")
    waits = [
        assert_refused_for_too_many(
            log_in(client, "mei.lin", "not the password"), "mei.lin", PER_ACCOUNT, "not the password"
        )
        for _ in range(ADDRESS_LIMIT + 2)
    ]
    # Past the address's own limit in refused attempts, yet only the account's limit refuses: none were counted.
    assert waits == sorted(waits, reverse=True)


def test_the_account_opens_again_once_the_window_has_passed(app, client, make_user):
    app.config["CAPA_LOGIN_LIMIT_PER_ACCOUNT"] = f"{ACCOUNT_LIMIT} per 1 second"
    make_user("supervisor", "mei.lin")
    for _ in range(ACCOUNT_LIMIT):
        log_in(client, "mei.lin", "not the password")
    assert log_in(client, "mei.lin", PASSWORD).status_code == 429
    time.sleep(1.1)
    assert log_in(client, "mei.lin", PASSWORD).status_code == 302


def test_a_password_re_entered_to_sign_counts_with_the_accounts_log_ins(client, make_user):
    signer = make_user("quality_manager", "qm.zhao")
    for _ in range(ACCOUNT_LIMIT + 1):
        assert accounts.password_matches(signer, PASSWORD)  # the right one: never counted
    for _ in range(ACCOUNT_LIMIT):
        assert not accounts.password_matches(signer, "not the password")
    with pytest.raises(TooManyAttempts) as refused:
        accounts.password_matches(signer, PASSWORD)
    assert (refused.value.status, refused.value.code) == (429, "too_many_attempts")
    assert PER_ACCOUNT in refused.value.fields["password"]
    assert 1 <= refused.value.to_dict()["retry_after"] <= WINDOW_SECONDS
    # One count for the account: the log-in page refuses the name too.
    assert log_in(client, "qm.zhao", PASSWORD).status_code == 429


def test_limits_switched_off_count_nothing(app, client, make_user):
    app.config["RATELIMIT_ENABLED"] = False
    make_user("supervisor", "mei.lin")
    for _ in range(ADDRESS_LIMIT + ACCOUNT_LIMIT):
        assert log_in(client, "mei.lin", "not the password").status_code == 400
    assert log_in(client, "mei.lin", PASSWORD).status_code == 302


@pytest.mark.parametrize("setting", ["CAPA_LOGIN_LIMIT_PER_ACCOUNT", "CAPA_LOGIN_LIMIT_PER_ADDRESS"])
def test_a_limit_that_cannot_be_read_stops_the_start(tmp_path, setting):
    with pytest.raises(InvalidLimitSetting, match=setting):
        create_app({"CAPA_INSTANCE_PATH": str(tmp_path / "i"), setting: "ten a minute"})


def test_the_limits_are_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CAPA_LOGIN_LIMIT_PER_ACCOUNT", "5 per hour")
    monkeypatch.setenv("CAPA_RATELIMIT_STORAGE_URI", "memory://")
    application = create_app({"CAPA_INSTANCE_PATH": str(tmp_path / "i")})
    assert application.config["CAPA_LOGIN_LIMIT_PER_ACCOUNT"] == "5 per hour"
    assert application.config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_a_signing_step_through_the_api_past_the_limit_answers_429_with_retry_after(client):
    """Wrong passwords re-entered to sign count against the account: past the limit the API answers 429
    ``too_many_attempts`` naming ``password``, with Retry-After, and the step is not taken."""
    world = make_world(client)
    number = file(world)["number"]
    world.qm.post(f"/api/v1/nonconformances/{number}/containment", json={"description": "Held.", "hold": []})
    world.sup.post(f"/api/v1/nonconformances/{number}/root-cause", json=ROOT_CAUSE)
    review = {"decision": "approve", "comment": "Sound.", "password": "not the password"}
    for _ in range(ACCOUNT_LIMIT):
        assert world.qm.post(f"/api/v1/nonconformances/{number}/review", json=review).status_code == 401
    answer = world.qm.post(f"/api/v1/nonconformances/{number}/review", json={**review, "password": PASSWORD})
    assert answer.status_code == 429
    error = answer.get_json()["error"]
    assert (error["code"], set(error["fields"])) == ("too_many_attempts", {"password"})
    assert 1 <= int(answer.headers["Retry-After"]) <= WINDOW_SECONDS
    assert error["retry_after"] == int(answer.headers["Retry-After"])
    record = world.qm.get(f"/api/v1/nonconformances/{number}").get_json()
    assert (record["status"], record["signatures"]) == ("review", [])
