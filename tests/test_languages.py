"""Which language the pages speak: the browser's Accept-Language the first time (every way of writing
Simplified Chinese means it), then the user's own choice, remembered on their account."""

import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import select, update

from capa.accounts import service as accounts
from capa.capas.models import DefectType
from capa.common.commands import parse
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle
from capa.safety import service as safety
from capa.safety.commands import NewResult
from capa.safety.models import SafetyParameter
from tests.conftest import PASSWORD
from tests.pages import one, parsed, text


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


def test_a_language_chosen_on_the_login_page_holds_for_the_session_it_opens(app, client, make_user):
    reader = make_user("supervisor")
    accounts.set_language(reader, "en")
    client.post("/language", data={"language": "zh_Hans_CN", "next": "/login"})
    assert client.post("/login", data={"username": reader.username, "password": PASSWORD}).status_code == 302
    assert html_lang(client.get("/nc", headers={"Accept-Language": "en"})) == "zh-Hans-CN"
    # The account keeps its own: another device opens in English.
    assert accounts.get_user(reader.username).language == "en"
    elsewhere = app.test_client()
    elsewhere.post("/login", data={"username": reader.username, "password": PASSWORD})
    assert html_lang(elsewhere.get("/nc")) == "en"

    # The reader switches to English and leaves; someone else next on this browser, with Chinese on the account:
    # the language left behind changes nothing.
    client.post("/language", data={"language": "en", "next": "/nc"})
    client.post("/logout")
    other = make_user("supervisor")
    accounts.set_language(other, "zh_Hans_CN")
    assert client.post("/login", data={"username": other.username, "password": PASSWORD}).status_code == 302
    assert html_lang(client.get("/nc")) == "zh-Hans-CN"


def test_the_login_form_carries_the_language_chosen_on_it_when_the_sessions_cookie_lost_it(app, client, make_user):
    """A request made before the choice and answered after it can set the session's cookie back (a browser under
    load): the login form still says the language its page was shown in."""
    reader = make_user("supervisor")
    accounts.set_language(reader, "en")
    client.post("/language", data={"language": "zh_Hans_CN", "next": "/login"})
    page = client.get("/login").text
    assert parsed(page).css_first("input[name=language]").attributes["value"] == "zh_Hans_CN"
    stale = app.test_client()  # the cookie as it was before the choice: no language in it
    sent = stale.post("/login", data={"username": reader.username, "password": PASSWORD, "language": "zh_Hans_CN"})
    assert sent.status_code == 302
    assert html_lang(stale.get("/nc", headers={"Accept-Language": "en"})) == "zh-Hans-CN"
    # Chosen again on the page, English: the form says it, whatever cookie a late answer left behind.
    client.post("/language", data={"language": "en", "next": "/login"})
    assert parsed(client.get("/login").text).css_first("input[name=language]").attributes["value"] == "en"
    accounts.set_language(reader, "zh_Hans_CN")
    late = app.test_client()
    late.post("/language", data={"language": "zh_Hans_CN", "next": "/login"})  # the cookie set back to Chinese
    late.post("/login", data={"username": reader.username, "password": PASSWORD, "language": "en"})
    assert html_lang(late.get("/nc")) == "en"
    accounts.set_language(reader, "en")
    # Nothing chosen on the page, or a language not offered: the account's decides.
    for language in ("", "fr"):
        fresh = app.test_client()
        fresh.post("/login", data={"username": reader.username, "password": PASSWORD, "language": language})
        assert html_lang(fresh.get("/nc")) == "en"
    # The login page of a browser where nobody chose carries none.
    assert parsed(app.test_client().get("/login").text).css_first("input[name=language]").attributes["value"] in (
        None,
        "",
    )


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


# Names, results and dates in the reader's language -----------------------------------------------------------

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


@pytest.fixture
def batch_with_results(app, make_user):
    """Batch B-1 of an infant romper (category A) with a failing formaldehyde and a passing pH result,
    recorded by a quality manager reading English, on 5 March 2026."""
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Sewing line 1"}))
    masterdata.create_style(parse(NewStyle, {"code": "RMP-2301", "name": "Infant romper", "category": "A"}))
    batch = masterdata.create_batch(parse(NewBatch, {"number": "B-1", "style": "RMP-2301", "line": "L1"}))
    qm = make_user("quality_manager", "qm.wang")
    for parameter, value in (("CN-FORM", "35"), ("CN-PH", "7.2")):
        command = {"parameter": parameter, "value": value, "lab": "SGS", "report_number": "R-1"}
        safety.record_result(batch, parse(NewResult, command | {"tested_at": "2026-03-05"}), qm)
    return batch.number


def test_the_catalog_shows_the_standards_chinese_names_on_chinese_pages(client, auth):
    auth.as_role("supervisor")
    catalog = text(parsed(client.get("/parameters", headers=ZH).text))
    for name in ("甲醛含量", "pH值", "耐唾液色牢度（变色、沾色）", "附件抗拉强力（最大尺寸 >6 mm）"):
        assert name in catalog
    assert "Formaldehyde content" not in catalog
    assert "甲醛含量" in text(one(parsed(client.get("/parameters/CN-FORM", headers=ZH).text), "h1"))
    assert "纽扣松脱" in client.get("/defect-types", headers=ZH).text

    english = client.get("/parameters", headers=EN).text
    assert "Formaldehyde content" in english and "甲醛含量" not in english


def test_a_result_recorded_in_english_reads_in_chinese_with_chinese_dates(client, auth, batch_with_results):
    auth.as_role("supervisor")
    page = client.get(f"/batches/{batch_with_results}", headers=ZH).text
    assert "35 mg/kg 超出 A类限值 20 mg/kg" in page
    assert "7.2 在 A类范围 pH 4.0–7.5 以内" in page
    assert "2026年3月5日" in page
    assert "不合格" in page and "合格" in page
    english = client.get(f"/batches/{batch_with_results}", headers=EN).text
    assert "35 mg/kg exceeds the category A limit of 20 mg/kg" in english
    assert "Mar 5, 2026" in english


def test_init_db_gives_chinese_names_to_a_catalog_that_has_none(app, runner):
    # A database from before the Chinese names: every name_zh empty.
    db.session.execute(update(SafetyParameter).values(name_zh=""))
    db.session.execute(update(DefectType).values(name_zh=""))
    db.session.execute(update(DefectType).where(DefectType.code == "stain").values(name_zh="油污"))
    db.session.commit()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    names = dict(db.session.execute(select(SafetyParameter.code, SafetyParameter.name_zh)).all())
    assert names["CN-FORM"] == "甲醛含量" and names["CN-PH"] == "pH值"
    assert all(names.values())
    kinds = dict(db.session.execute(select(DefectType.code, DefectType.name_zh)).all())
    assert kinds["loose_button"] == "纽扣松脱"
    assert kinds["stain"] == "油污"  # a name someone gave is kept


def test_a_quality_manager_names_a_defect_type_in_chinese(client, auth):
    auth.as_role("quality_manager")
    response = client.post(
        "/defect-types/new",
        data={"code": "skipped_stitch", "name": "Skipped stitch", "name_zh": "跳针", "active": "yes"},
    )
    assert response.status_code == 302, response.text
    assert "跳针" in client.get("/defect-types", headers=ZH).text
    assert "跳针" not in client.get("/defect-types", headers=EN).text


def test_an_ncs_history_reads_in_the_readers_language(app, client, auth, batch_with_results):
    auth.as_role("supervisor")
    response = client.post(
        "/nc/new",
        data={
            "title": "Snaps come off",
            "defect_type": "loose_button",
            "line": "L1",
            "source": "inline",
            "batch": "B-1",
        },
    )
    assert response.status_code == 302, response.text
    page = parsed(client.get(response.headers["Location"], headers=ZH).text)
    history = text(one(page, 'section.card[id="history"]'))
    assert "提报" in history and "filed" not in history
    english = text(one(parsed(client.get(response.headers["Location"], headers=EN).text), 'section.card[id="history"]'))
    assert "filed" in english
