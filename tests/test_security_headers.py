"""Every answer keeps the app's pages to the app: nosniff, no framing, no Referer leaving the app, HSTS over
HTTPS, and nothing of a record in a shared cache (capa.http.headers)."""

import pytest

FRAMING = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}


def assert_kept_to_the_app(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    for name, value in FRAMING.items():
        assert response.headers[name] == value


@pytest.mark.parametrize("path", ["/", "/nc", "/suppliers"])
def test_a_logged_in_page_is_private_and_never_stored(client, auth, path):
    auth.as_role("quality_manager")
    response = client.get(path)
    assert response.status_code == 200
    assert_kept_to_the_app(response)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: HSTS would mean nothing


def test_the_login_page_and_an_error_carry_the_headers_too(client):
    for response in (client.get("/login"), client.get("/no-such-page")):
        assert_kept_to_the_app(response)
        assert response.headers["Cache-Control"] == "private, no-store"


def test_api_answers_are_private_and_never_stored(api):
    response = api("quality_manager").get("/api/v1/defect-types")
    assert response.status_code == 200
    assert_kept_to_the_app(response)
    assert response.headers["Cache-Control"] == "private, no-store"


def test_over_https_the_browser_is_told_to_stay_on_https(client, auth):
    auth.as_role("supervisor")
    response = client.get("/", base_url="https://capa.example")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_static_assets_may_be_cached_but_not_sniffed(client):
    with client.get("/static/app.css") as response:
        assert response.status_code == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" not in (response.headers.get("Cache-Control") or "")
