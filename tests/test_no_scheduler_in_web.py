"""A web process (flask run, gunicorn, tests) never starts a scheduler: only `flask --app capa scheduler` does."""

import threading

from capa import create_app


def test_creating_and_serving_the_app_starts_no_scheduler_thread(app, client, auth, tmp_path):
    before = {thread.ident for thread in threading.enumerate()}
    another = create_app({"TESTING": True, "CAPA_INSTANCE_PATH": str(tmp_path / "other"), "SECRET_KEY": "x"})
    auth.as_role("quality_manager")
    assert client.get("/").status_code == 200
    assert client.get("/summaries").status_code == 200
    started = [thread for thread in threading.enumerate() if thread.ident not in before]
    assert started == []
    assert "scheduler" in another.cli.commands
