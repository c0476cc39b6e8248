"""Password rules (capa/accounts/passwords.py) through the user pages, the command line and the service; one form
for every password (NFC); and refusing a log-in at the same cost whatever the user name."""

import unicodedata

import pytest
from werkzeug import security

from capa import create_app
from capa.accounts import service as accounts
from capa.accounts.commands import UserChanges
from capa.accounts.passwords import InvalidPasswordSetting
from capa.common.commands import parse
from capa.common.errors import ValidationError
from capa.extensions import db
from tests.conftest import PASSWORD
from tests.pages import field_block, fields_with_errors, input_value, text

ZERO_WIDTH_SPACE = "\u200b"
#: A strong password of 9 visible characters: one short of the minimum.
NINE = "Tq7#vLm2x"


def refusal(password: str, username: str = "sup.qian") -> str:
    """What the service answers beside ``password`` when it is set for an existing user ``username``."""
    user = accounts.find_user(username)
    with pytest.raises(ValidationError) as refused:
        accounts.set_password(user, password)
    assert set(refused.value.fields) == {"password"}
    return f"{refused.value.message} {refused.value.fields['password']}"


@pytest.fixture
def qian(make_user):
    return make_user("supervisor", "sup.qian")


# The issue's two passwords, on every surface that sets one ------------------------------------------------


@pytest.mark.parametrize("password", ["password12", "password12" + ZERO_WIDTH_SPACE * 10], ids=["plain", "zwsp"])
def test_the_issues_passwords_are_refused_on_the_user_page(app, client, auth, password):
    auth.as_role("admin")
    response = client.post("/users/new", data={"username": "sup.qian", "role": "supervisor", "password": password})
    assert response.status_code == 400
    assert "This is one of the most common passwords" in text(field_block(response.text, "password"))
    assert fields_with_errors(response.text) == {"password"}
    assert input_value(field_block(response.text, "username")) == "sup.qian"
    assert accounts.find_user("sup.qian") is None


def test_the_user_page_says_what_a_password_must_be(app, client, auth):
    auth.as_role("admin")
    hint = text(field_block(client.get("/users/new").text, "password"))
    assert "Use 10 or more characters; a common password, or one containing the user name, is refused." in hint


@pytest.mark.parametrize("password", ["password12", "password12" + ZERO_WIDTH_SPACE * 10], ids=["plain", "zwsp"])
def test_the_issues_passwords_are_refused_on_the_command_line(runner, qian, password):
    created = runner.invoke(args=["user", "create", "li.na", "--role", "supervisor", "--password", password])
    changed = runner.invoke(args=["user", "password", "sup.qian", "--password", password])
    for result in (created, changed):
        assert result.exit_code != 0
        assert "The password is too common." in result.output
        assert "password: This is one of the most common passwords" in result.output
    assert accounts.find_user("li.na") is None
    assert accounts.authenticate("sup.qian", PASSWORD) is not None


def test_the_command_line_sets_a_new_password_and_ends_the_sessions(app, runner, qian):
    desk = app.test_client()
    desk.post("/login", data={"username": "sup.qian", "password": PASSWORD})
    result = runner.invoke(args=["user", "password", "Sup.Qian"], input="river stone lantern 7\n" * 2)
    assert result.exit_code == 0, result.output
    assert "New password set for sup.qian" in result.output
    assert desk.get("/").status_code == 302
    assert accounts.authenticate("sup.qian", "river stone lantern 7") is not None
    assert accounts.authenticate("sup.qian", PASSWORD) is None
    unknown = runner.invoke(args=["user", "password", "nobody", "--password", "river stone lantern 7"])
    assert unknown.exit_code != 0
    assert "No user named nobody" in unknown.output


# Length in visible characters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "padding",
    [
        ZERO_WIDTH_SPACE * 10,
        "\u200d\u200c\ufeff\u2060\u00ad",  # joiners, byte order mark, word joiner, soft hyphen (all format, Cf)
        "\x07\x1b\x7f",  # controls (Cc)
        "\u0301\u0302\u0303",  # combining marks: drawn on the letter before them
        "   ",  # white space at the ends
    ],
    ids=["zero-width-spaces", "joiners-and-bom", "controls", "combining-marks", "spaces-at-the-ends"],
)
def test_invisible_characters_do_not_count_towards_the_length(qian, padding):
    assert len(NINE + padding) >= 10
    said = refusal(NINE + padding)
    assert "The password is too short." in said
    assert "At least 10 visible characters" in said
    accounts.set_password(accounts.find_user("sup.qian"), NINE + "k" + padding)  # ten visible: accepted


@pytest.mark.parametrize("password", [" " * 12, "\u3000" * 12, "\t \n" * 5, ZERO_WIDTH_SPACE * 20])
def test_white_space_or_invisible_characters_alone_are_no_password(qian, password):
    assert "The password is too short." in refusal(password)


def test_a_run_of_spaces_counts_once(qian):
    assert "The password is too short." in refusal("Tq7#v     Lm2")  # 9 visible
    accounts.set_password(accounts.find_user("sup.qian"), "Tq7#v  Lm2x")  # 10 visible, the run counting one


def test_a_short_password_is_refused_as_before(qian):
    said = refusal("Tq7#vLm")
    assert "The password is too short." in said
    assert "At least 10 characters." in said


def test_the_minimum_length_is_a_setting_that_never_goes_below_ten(app, qian, tmp_path):
    app.config["CAPA_PASSWORD_MIN_LENGTH"] = 14
    assert "At least 14 characters." in refusal("river-stone-7")
    accounts.set_password(accounts.find_user("sup.qian"), "river-stone-7x")
    for wrong in (8, 65, "12"):
        with pytest.raises(InvalidPasswordSetting, match="CAPA_PASSWORD_MIN_LENGTH"):
            create_app({"CAPA_INSTANCE_PATH": str(tmp_path / "i"), "CAPA_PASSWORD_MIN_LENGTH": wrong})


def test_the_minimum_length_is_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CAPA_PASSWORD_MIN_LENGTH", "16")
    assert create_app({"CAPA_INSTANCE_PATH": str(tmp_path / "i")}).config["CAPA_PASSWORD_MIN_LENGTH"] == 16


# Common, guessable, the user name ----------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["password12", "PASSWORD123", "qwertyuiop", "1234567890", "iloveyou12"])
def test_common_passwords_are_refused_whatever_the_case(qian, password):
    assert "The password is too common." in refusal(password)


@pytest.mark.parametrize(
    "password",
    ["Password2024!", "P@ssw0rd2024", "abc123abc123", "aaaaaaaaaaaa", "qwerty123456!", "sunshine2024", "asdfghjkl;12"],
)
def test_guessable_passwords_are_refused(qian, password):
    assert "The password is too easy to guess." in refusal(password)


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("zhang.weiming", "Zhang.Weiming"),
        ("mei.lin", "Mei.Lin-QC-2026"),
        ("mei.lin", "meilin-shirts-7"),
        ("wang", "9wang-river-7"),
    ],
)
def test_a_password_containing_the_user_name_is_refused(make_user, username, password):
    make_user("supervisor", username)
    assert "The password contains the user name." in refusal(password, username)


def test_the_user_name_is_refused_on_the_user_page_too(app, client, auth):
    auth.as_role("admin")
    response = client.post(
        "/users/new", data={"username": "mei.lin", "role": "supervisor", "password": "MEI.LIN-cutting-room"}
    )
    assert response.status_code == 400
    assert "Must not contain the user name." in text(field_block(response.text, "password"))


@pytest.mark.parametrize(
    "password",
    [
        PASSWORD,
        "river stone lantern 7",
        "缝纫车间的绿色灯笼亮了",
        "Zhang-Wei-2024",
        "pw-of-chen-li",
        "a" + "x7Qz!" * 30,
    ],
)
def test_good_passwords_are_accepted_and_work(qian, password):
    accounts.set_password(accounts.find_user("sup.qian"), password)
    assert accounts.authenticate("sup.qian", password) is not None


def test_a_password_is_taken_as_typed_spaces_included(app, client, auth):
    auth.as_role("admin")
    typed = "  river stone lantern 7 "
    response = client.post("/users/new", data={"username": "sup.qian", "role": "supervisor", "password": typed})
    assert response.status_code == 302
    assert accounts.authenticate("sup.qian", typed) is not None
    assert accounts.authenticate("sup.qian", typed.strip()) is None


def test_a_password_too_long_or_not_text_is_refused_naming_the_field(qian):
    assert "At most 200 characters." in refusal("x7Qz!" * 41)
    assert "Contains a character that is not allowed." in refusal("river stone \udcff lantern")


def test_a_refused_first_admin_password_names_its_setting(app):
    with pytest.raises(ValidationError) as refused:
        accounts.ensure_initial_admin("changeme123")
    assert set(refused.value.fields) == {"CAPA_ADMIN_PASSWORD"}
    assert accounts.find_user("admin") is None


# One form: NFC -----------------------------------------------------------------------------------------------

COMPOSED = unicodedata.normalize("NFC", "Café Zürich Brötchen 9")
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)


@pytest.mark.parametrize(("chosen", "typed"), [(DECOMPOSED, COMPOSED), (COMPOSED, DECOMPOSED)], ids=["nfd", "nfc"])
def test_the_same_password_typed_on_two_keyboards_logs_in(client, qian, chosen, typed):
    assert chosen != typed
    accounts.set_password(accounts.find_user("sup.qian"), chosen)
    response = client.post("/login", data={"username": "sup.qian", "password": typed})
    assert response.status_code == 302


@pytest.mark.parametrize("stored", ["an older ascii password", DECOMPOSED], ids=["ascii", "not-nfc"])
def test_a_password_stored_before_normalising_still_logs_in(app, client, qian, stored):
    # A hash written as the app wrote it before: of the password exactly as typed.
    qian.password_hash = security.generate_password_hash(stored, method=app.config["CAPA_PASSWORD_HASH"])
    db.session.commit()
    assert client.post("/login", data={"username": "sup.qian", "password": stored}).status_code == 302


# Refusing costs the same whatever the name -------------------------------------------------------------------


@pytest.fixture
def hashing(monkeypatch):
    """Every hash check and every hash made while logging in: the hash checked against, the hashes made."""
    seen: dict[str, list[str]] = {"checked": [], "made": []}
    check, make = accounts.check_password_hash, accounts.generate_password_hash

    def counted_check(pwhash: str, password: str) -> bool:
        seen["checked"].append(pwhash)
        return check(pwhash, password)

    def counted_make(password: str, *args, **kwargs) -> str:
        made = make(password, *args, **kwargs)
        seen["made"].append(made)
        return made

    monkeypatch.setattr(accounts, "check_password_hash", counted_check)
    monkeypatch.setattr(accounts, "generate_password_hash", counted_make)
    return seen


def method_of(pwhash: str) -> str:
    """``pbkdf2:sha256:1000`` of ``pbkdf2:sha256:1000$salt$digest``: the method and its cost."""
    return pwhash.split("$", 1)[0]


@pytest.mark.parametrize("typed", ["not the password", DECOMPOSED], ids=["nfc", "not-nfc"])
def test_known_unknown_and_deactivated_names_cost_the_same_hash_checks(client, make_user, hashing, typed):
    known = make_user("supervisor", "mei.lin")
    gone = make_user("supervisor", "old.qm")
    accounts.update_user(gone, parse(UserChanges, {"active": False}))
    client.post("/login", data={"username": "warm.up", "password": typed})
    hashing["checked"].clear()
    hashing["made"].clear()
    checks = {}
    for name in ("mei.lin", "nobody.here", "old.qm"):
        response = client.post("/login", data={"username": name, "password": typed})
        assert response.status_code == 400
        checks[name] = [method_of(pwhash) for pwhash in hashing["checked"]]
        assert hashing["made"] == [], f"{name}: a hash was made while logging in"
        hashing["checked"].clear()
    forms = 1 if typed == unicodedata.normalize("NFC", typed) else 2
    assert checks["mei.lin"] == checks["nobody.here"] == checks["old.qm"] == [method_of(known.password_hash)] * forms


def test_a_deactivated_user_with_the_right_password_is_refused_like_a_stranger(client, make_user, hashing):
    gone = make_user("supervisor", "old.qm")
    accounts.update_user(gone, parse(UserChanges, {"active": False}))
    response = client.post("/login", data={"username": "old.qm", "password": PASSWORD})
    assert response.status_code == 400
    # Checked against the dummy hash, not the user's own: a right password answers as fast as a wrong one.
    assert gone.password_hash not in hashing["checked"]
    assert len(hashing["checked"]) == 1
