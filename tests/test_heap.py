"""A web worker freezes its heap once its first request is answered (capa.http.heap), and only then."""

import gc
from collections.abc import Iterator

import pytest

from capa import create_app


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # what this test froze goes back to the collector


def worker(app_config: dict, database_url: str, **settings):
    return create_app({**app_config, "DATABASE_URL": database_url, "TESTING": False, **settings}).test_client()


def test_a_worker_freezes_what_it_holds_after_its_first_request(app, app_config, unfrozen):
    client = worker(app_config, app.config["DATABASE_URL"])
    assert gc.get_freeze_count() == 0

    assert client.get("/login").status_code == 200
    frozen = gc.get_freeze_count()
    assert frozen > 0

    # Once only: what later requests leave behind stays with the collector.
    assert client.get("/login").status_code == 200
    assert gc.get_freeze_count() == frozen


def test_the_setting_turns_it_off(app, app_config, unfrozen):
    client = worker(app_config, app.config["DATABASE_URL"], CAPA_FREEZE_HEAP=False)
    assert client.get("/login").status_code == 200
    assert gc.get_freeze_count() == 0
