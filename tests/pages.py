"""Reading the HTML pages in tests: fields, their errors, step forms, and a logged-in browser per person."""

import re

from flask.testing import FlaskClient
from markupsafe import escape

from tests.conftest import PASSWORD


def esc(text: str) -> str:
    """``text`` as the templates write it into HTML."""
    return str(escape(text))


def field_block(html: str, field_id: str) -> str:
    """The markup the ``field`` macro rendered for one field: label, input and the errors beside it."""
    match = re.search(rf'<div class="field[^"]*">\s*<label for="{re.escape(field_id)}">.*?</div>', html, flags=re.S)
    assert match is not None, f"no field {field_id!r} in the page"
    return match.group(0)


def errors_in(block: str) -> list[str]:
    return re.findall(r'<p class="error" role="alert">(.*?)</p>', block)


def form_at(html: str, action: str) -> str:
    """The markup of the form posting to ``action``."""
    match = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>.*?</form>', html, flags=re.S)
    assert match is not None, f"no form posting to {action!r}"
    return match.group(0)


def version_in(form: str) -> str:
    tag = re.search(r'<input[^>]*name="version"[^>]*>', form).group(0)
    return re.search(r'value="(\d+)"', tag).group(1)


def shown_state(html: str) -> str:
    return re.search(r'<h1>NC-\d{4}-\d{5} <span class="badge state state-\w+">([^<]+)</span></h1>', html).group(1)


def section(html: str, section_id: str) -> str:
    return re.search(rf'<section class="card" id="{section_id}">.*?</section>', html, flags=re.S).group(0)


def logged_in(app, user) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.text
    return client
