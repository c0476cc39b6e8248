"""The README's promise: on a clean clone, `make run` installs, builds the database and serves a working app.

(`make test` on a clean clone is what CI runs itself, so this test covers `make run`, which installs the app
without the test tools.)
"""

import http.cookiejar
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL
from tests.pages import one

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(POSTGRES_URL is not None, reason="engine-independent; runs in the SQLite pass"),
    pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("git") is None, reason="needs a git checkout"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 (a local URL the test built)
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"nothing answered at {url} within {seconds} s")


def test_make_run_on_a_clean_clone_serves_a_working_login(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    port = free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CAPA_", "DATABASE_URL", "SECRET_KEY", "VIRTUAL_ENV", "FLASK_"))
    }
    environment["CAPA_ADMIN_PASSWORD"] = "first-start-password"
    server = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=clone,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/login", seconds=420)
        cookies = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
        login_page = opener.open(f"{base}/login").read().decode()
        csrf = one(login_page, 'input[name="csrf_token"][type="hidden"]').attributes.get("value")
        assert csrf, "the login page carries no CSRF token"
        form = urllib.parse.urlencode(
            {"csrf_token": csrf, "username": "admin", "password": "first-start-password"}
        ).encode()
        home = opener.open(f"{base}/login", data=form).read().decode()
        assert "Good day, admin" in home
        assert (clone / "instance" / "capa.sqlite3").exists()
        assert (clone / ".venv" / "bin" / "flask").exists()
        assert not (clone / ".venv" / "bin" / "pytest").exists(), "make run installed the test tools too"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode(errors="replace")
    assert "Database is up to date." in output
