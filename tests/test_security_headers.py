"""Every answer keeps the app's pages to the app: nosniff, no framing, no Referer leaving the app, a
Content-Security-Policy with nothing inline, HSTS over HTTPS, nothing of a record in a shared cache, guarded
session cookies, and X-Forwarded-* believed only from the proxies CAPA_PROXY_FIX says are there
(capa.http.headers)."""

import base64
import hashlib
import re
from http.cookies import SimpleCookie

import pytest

from capa import create_app
from capa.extensions import db
from tests.pages import parsed

#: The policy of every HTML page, directive by directive.
PAGE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "blob:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "object-src": ["'none'"],
    "frame-ancestors": ["'none'"],
}
#: The policy of every answer that is not a page (JSON, files).
FILE_POLICY = {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    found = {}
    for directive in policy.split(";"):
        name, *values = directive.split()
        assert name not in found, policy
        found[name] = values
    return found


def assert_kept_to_the_app(response, policy: dict[str, list[str]] = PAGE_POLICY) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert directives(response) == policy


def session_cookie(response) -> dict[str, str | bool]:
    """The attributes of the session cookie the answer sets, by lower-cased name (flags as True)."""
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    morsel = SimpleCookie(header)["session"]
    return {name: value for name, value in morsel.items() if value}


@pytest.mark.parametrize("path", ["/", "/nc", "/suppliers", "/nc/new"])
def test_a_logged_in_page_is_private_and_never_stored(client, auth, path):
    auth.as_role("quality_manager")
    response = client.get(path)
    assert response.status_code == 200
    assert_kept_to_the_app(response)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: HSTS would mean nothing


def test_the_login_page_an_error_and_a_redirect_carry_the_headers_too(client):
    for response in (client.get("/login"), client.get("/no-such-page"), client.get("/nc")):
        assert response.mimetype == "text/html"
        assert_kept_to_the_app(response)
        assert response.headers["Cache-Control"] == "private, no-store"


def test_no_page_policy_allows_anything_inline_or_evaluated(client, auth):
    auth.as_role("quality_manager")
    policy = client.get("/").headers["Content-Security-Policy"]
    for loophole in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "nonce-", "sha256-", "data:", "*"):
        assert loophole not in policy


def test_api_answers_are_private_never_stored_and_load_nothing(api):
    response = api("quality_manager").get("/api/v1/defect-types")
    assert response.status_code == 200
    assert_kept_to_the_app(response, FILE_POLICY)
    assert response.headers["Cache-Control"] == "private, no-store"
    refused = api(None).get("/api/v1/me")
    assert refused.status_code == 401
    assert_kept_to_the_app(refused, FILE_POLICY)


def test_a_chart_is_a_file_that_draws_without_inline_style(client, auth):
    auth.as_role("quality_manager")
    response = client.get("/summaries/live/charts/trend.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert_kept_to_the_app(response, FILE_POLICY)
    svg = parsed(response.text)
    assert not svg.css("style") and not svg.css("[style]")  # a policy without 'unsafe-inline' would drop them
    assert svg.css("path[fill]") and svg.css("[stroke]")  # their colours, as presentation attributes
    assert svg.css_first("svg").attributes["stroke-linejoin"] == "round"  # matplotlib's stylesheet's rule


def test_the_api_documentation_page_allows_only_its_own_inline_script_and_style(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    found = directives(response)
    page = parsed(response.text)
    inline = {
        kind: [
            "'sha256-" + base64.b64encode(hashlib.sha256(node.text().encode()).digest()).decode() + "'"
            for node in page.css(kind)
            if "src" not in node.attributes
        ]
        for kind in ("script", "style")
    }
    assert inline["script"] and inline["style"]
    assert found == {
        **PAGE_POLICY,
        "script-src": ["'self'", *inline["script"]],
        "style-src": ["'self'", *inline["style"]],
        "img-src": ["'self'", "blob:", "data:"],  # Swagger UI's icons
    }
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert (
        client.get("/api/v1/openapi.json").headers["Content-Security-Policy"]
        == "default-src 'none'; frame-ancestors 'none'"
    )


def test_over_https_the_browser_is_told_to_stay_on_https(client, auth):
    auth.as_role("supervisor")
    response = client.get("/", base_url="https://capa.example")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_static_assets_may_be_cached_but_not_sniffed(client):
    with client.get("/static/app.css") as response:
        assert response.status_code == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" not in (response.headers.get("Cache-Control") or "")


# Cookies and proxies -----------------------------------------------------------------------------------------


def test_the_session_cookie_is_http_only_and_same_site_lax_and_secure_over_https(client):
    plain = session_cookie(client.get("/login"))
    assert plain["httponly"] is True and plain["samesite"] == "Lax"
    assert "secure" not in plain  # plain HTTP (a first start on a laptop): a Secure cookie would never come back
    over_https = session_cookie(client.get("/login", base_url="https://capa.example"))
    assert over_https["secure"] is True and over_https["httponly"] is True and over_https["samesite"] == "Lax"


@pytest.fixture
def app_with(app, app_config):
    """``app_with(CAPA_PROXY_FIX=1)``: a test client of a new app on this test's database, with those settings
    (a proxy is put in front of the app when it is made)."""
    made = []

    def make(**settings):
        application = create_app({**app_config, "DATABASE_URL": app.config["DATABASE_URL"], **settings})
        made.append(application)
        return application.test_client()

    yield make
    for application in made:
        with application.app_context():
            db.engine.dispose()


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "capa.example", "X-Forwarded-For": "10.1.2.3"}


def test_behind_a_proxy_its_https_is_believed(app_with):
    client = app_with(CAPA_PROXY_FIX=1, SESSION_COOKIE_SECURE=True)
    response = client.get("/login", headers=FORWARDED)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert session_cookie(response)["secure"] is True
    # The prefix the proxy serves the app under is where the app sends its visitors.
    redirect = client.get("/nc", headers={**FORWARDED, "X-Forwarded-Prefix": "/capa"})
    assert redirect.status_code == 302 and redirect.headers["Location"].startswith("/capa/login?next=")


def test_a_proxy_secure_cookie_needs_no_setting_once_the_proxy_is_believed(app_with):
    response = app_with(CAPA_PROXY_FIX=1).get("/login", headers=FORWARDED)
    assert session_cookie(response)["secure"] is True


def test_without_the_setting_forwarded_headers_are_ignored(app_with, monkeypatch):
    monkeypatch.delenv("CAPA_PROXY_FIX", raising=False)
    client = app_with()
    response = client.get("/login", headers=FORWARDED)
    assert "Strict-Transport-Security" not in response.headers
    assert "secure" not in session_cookie(response)
    redirect = client.get("/nc", headers={**FORWARDED, "X-Forwarded-Prefix": "/capa"})
    assert redirect.headers["Location"].startswith("/login?next=")


def test_the_setting_is_read_from_the_environment(app_with, monkeypatch):
    monkeypatch.setenv("CAPA_PROXY_FIX", "1")
    response = app_with().get("/login", headers=FORWARDED)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize("value", [-1, "two"])
def test_a_setting_that_is_no_number_of_proxies_stops_the_start(app, app_config, value):
    with pytest.raises(ValueError, match=re.escape("CAPA_PROXY_FIX must be a whole number of proxies")):
        create_app({**app_config, "DATABASE_URL": app.config["DATABASE_URL"], "CAPA_PROXY_FIX": value})
