"""Which language the pages speak: the browser's Accept-Language the first time (every way of writing
Simplified Chinese means it), then the user's own choice, remembered on their account."""

import pytest
from selectolax.lexbor import LexborHTMLParser

from capa.accounts import service as accounts


def html_lang(response) -> str:
    return LexborHTMLParser(response.text).css_first("html").attributes["lang"]


@pytest.mark.parametrize("header", ["zh", "zh-CN", "zh-Hans", "zh-Hans-CN", "zh-cn;q=0.9, en;q=0.8", "fr, zh;q=0.5"])
def test_a_simplified_chinese_browser_gets_chinese(client, header):
    response = client.get("/login", headers={"Accept-Language": header})
    assert html_lang(response) == "zh-Hans-CN"


@pytest.mark.parametrize("header", ["en-GB", "zh-TW, en;q=0.5", "zh-Hant", "fr", ""])
def test_other_browsers_get_english(client, header):
    response = client.get("/login", headers={"Accept-Language": header})
    assert html_lang(response) == "en"


def test_every_page_offers_the_switch_and_marks_the_language_shown(client, auth):
    auth.as_role("supervisor")
    page = LexborHTMLParser(client.get("/nc", headers={"Accept-Language": "en"}).text)
    form = page.css_first("form.language")
    assert form.attributes["action"] == "/language"
    options = {node.attributes["value"]: "selected" in node.attributes for node in form.css("option")}
    assert options == {"en": True, "zh_Hans_CN": False}


def test_a_users_choice_is_remembered_on_their_account_over_the_browsers(app, client, auth):
    user = auth.as_role("quality_manager")
    response = client.post("/language", data={"language": "zh_Hans_CN", "next": "/nc"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/nc"
    assert accounts.get_user(user.username).language == "zh_Hans_CN"
    # A new session, an English browser: the account's choice wins.
    auth.logout()
    other = app.test_client()
    other.post("/login", data={"username": user.username, "password": "correct horse battery"})
    assert html_lang(other.get("/nc", headers={"Accept-Language": "en"})) == "zh-Hans-CN"


def test_a_visitor_not_logged_in_can_switch_for_this_browser(client):
    client.post("/language", data={"language": "zh_Hans_CN", "next": "/login"})
    assert html_lang(client.get("/login", headers={"Accept-Language": "en"})) == "zh-Hans-CN"


@pytest.mark.parametrize("language", ["fr", "", "zh_Hans_CN\x00", "../etc"])
def test_an_unknown_language_is_refused_and_changes_nothing(client, auth, language):
    user = auth.as_role("supervisor")
    response = client.post("/language", data={"language": language})
    assert response.status_code == 400
    assert accounts.get_user(user.username).language is None


def test_the_switch_never_redirects_off_the_site(client):
    response = client.post("/language", data={"language": "en", "next": "//evil.example/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_the_switch_shows_the_same_page_again(client, auth):
    auth.as_role("supervisor")
    response = client.post("/language", data={"language": "en"}, headers={"Referer": "http://localhost/nc?line=L1"})
    assert response.headers["Location"] == "/nc?line=L1"
