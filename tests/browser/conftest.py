"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, against the app behind a real HTTP
server on a database of the run's engine (SQLite, or PostgreSQL in the second pass of ``make test``).

One browser per pytest(-xdist) worker, a new context (cookies, screen size) per person and test. The server
is werkzeug's, in a thread of the test process, serving the app of the ``app`` fixture (a fresh database per
test, CSRF checked as in production) or, for the tests that only read, a database seeded once per module.
Without Chromium they are left out (tests/conftest.py) with one line saying how to install it; in CI (``CI``
set) they fail.
"""

import asyncio
import os
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from capa.common.commands import parse
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from tests.browser.chromium import CHROMIUM, MISSING
from tests.browser.people import ADMIN, QUALITY_MANAGER, SUPERVISOR, Person, new_page
from tests.conftest import new_user

# What the page should show may take a while on a busy 2-core CI machine (a CI run once saw a first login's home page
# arrive just after 10 s, with the other worker's browser and server busy): 20 s, not Playwright's 5 s. A page that
# passes waits no longer for it.
expect.set_options(timeout=20_000)


class QuietHandler(WSGIRequestHandler):
    """Every page, stylesheet and chart a browser fetches would print an access-log line."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture(scope="session")
def _playwright() -> Iterator:
    if MISSING:  # without CI these tests are not even collected (tests/conftest.py); CI requires them
        if os.environ.get("CI"):
            pytest.fail(MISSING, pytrace=False)
        pytest.skip(MISSING)
    with sync_playwright() as playwright:
        loop = asyncio.get_running_loop()  # Playwright's own, marked running between its calls
        yield playwright, loop
        # The loop is marked running again for Playwright's last calls (see _playwright_loop_between_tests).
        asyncio._set_running_loop(loop)


@pytest.fixture(scope="session")
def browser(_playwright) -> Iterator[Browser]:
    playwright, loop = _playwright
    asyncio._set_running_loop(loop)
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    asyncio._set_running_loop(None)
    yield chromium
    asyncio._set_running_loop(loop)
    chromium.close()


@pytest.fixture(autouse=True)
def _playwright_loop_between_tests(_playwright) -> Iterator[None]:
    """Playwright's sync API leaves its event loop marked as the thread's running loop between its calls.
    The other tests of this worker run in the same thread after this one: unmarked after each browser test
    (so that code calling asyncio there is not told a loop is already running), marked again before."""
    _playwright_instance, loop = _playwright
    asyncio._set_running_loop(loop)
    yield
    asyncio._set_running_loop(None)


def serve(application: Flask) -> tuple[str, callable]:
    """``application`` behind werkzeug's server on a free port of 127.0.0.1: its base URL and its stop."""
    server = make_server("127.0.0.1", 0, application, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return f"http://127.0.0.1:{server.server_port}", stop


@pytest.fixture
def app_config(app_config) -> dict:
    # A browser posts the CSRF token its forms carry, as in production.
    return {**app_config, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def live(app) -> Iterator[str]:
    """The base URL of this test's app (a fresh database) behind a real server, for this test only."""
    base_url, stop = serve(app)
    yield base_url
    stop()


@pytest.fixture
def plant(app) -> None:
    """The people and the master data of the five stories: lines L1–L3; suppliers SNAP-CO (snaps), DYE-01
    (dye house), TRIM-09 (conditional), FAB-02; the romper RMP-2301 (A) in batches B-2301-01…03 with snap lot
    SN-55; the bib BIB-410 (A) in batch B-410-01 of dye lot DL-7781. Story 5's style is made in the browser."""
    seed_plant()


def seed_plant() -> None:
    """The records of :func:`plant`, in the app context that is current."""
    new_user("supervisor", SUPERVISOR)
    new_user("quality_manager", QUALITY_MANAGER)
    new_user("admin", ADMIN)
    for code, name in (("L1", "Line 1 (infant wear)"), ("L2", "Line 2 (bibs)"), ("L3", "Line 3 (infant sets)")):
        masterdata.create_line(parse(NewLine, {"code": code, "name": name}))
    for code, name, approval in (
        ("SNAP-CO", "Snap Co trims", "approved"),
        ("DYE-01", "Sunrise Dye House", "approved"),
        ("TRIM-09", "New trims", "conditional"),
        ("FAB-02", "Cotton Mill", "approved"),
    ):
        masterdata.create_supplier(parse(NewSupplier, {"code": code, "name": name, "approval": approval}))
    masterdata.create_style(parse(NewStyle, {"code": "RMP-2301", "name": "Infant romper", "category": "A"}))
    masterdata.create_style(parse(NewStyle, {"code": "BIB-410", "name": "Baby bib", "category": "A"}))
    for number in ("B-2301-01", "B-2301-02", "B-2301-03"):
        lots = [{"number": "SN-55", "kind": "trim", "supplier": "SNAP-CO"}]
        masterdata.create_batch(parse(NewBatch, {"number": number, "style": "RMP-2301", "line": "L1", "lots": lots}))
    lots = [{"number": "DL-7781", "kind": "dye_lot", "supplier": "DYE-01"}]
    masterdata.create_batch(parse(NewBatch, {"number": "B-410-01", "style": "BIB-410", "line": "L2", "lots": lots}))


@pytest.fixture
def person(browser, live, plant) -> Iterator[callable]:
    """``person(SUPERVISOR, "phone", "zh_Hans_CN")``: that user logged in on a page of their own, at that
    size, in that language (chosen with the switch on the login page)."""
    pages = []

    def at(username: str, size: str, language: str) -> Person:
        page = new_page(browser, live, size)
        pages.append(page)
        someone = Person(page, username, size, language)
        someone.log_in()
        return someone

    yield at
    for page in pages:
        page.context.close()
