"""The deployment example (``deploy/``: compose.yaml, nginx.conf, the Dockerfile, env.example) speaks of the app as
it is: no Docker engine runs here, so the files are read, not run. Every setting the app's containers are given is
one the app reads; the essential ones for several web hosts are there (the database, the shared key, the object
store, the proxy, Redis); the commands they run are the app's; nginx spreads the requests over exactly the web
services, on the port gunicorn binds; every variable compose.yaml takes from ``deploy/.env`` is in env.example;
the Dockerfile copies only what exists.
"""

import re
import shlex
from pathlib import Path

import pytest
import yaml

from capa import config, create_app
from capa.common import files, object_store
from tests.conftest import TEST_CONFIG

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
ROOT = DEPLOY.parent
#: What the app reads from the environment: its settings, and where its instance folder is.
READ_BY_THE_APP = set(config.ENVIRONMENT) | {"CAPA_INSTANCE_PATH"}
#: What several web hosts cannot do without.
ESSENTIAL = {
    "DATABASE_URL",
    "SECRET_KEY",
    "CAPA_STORAGE_URL",
    "CAPA_S3_ENDPOINT_URL",
    "CAPA_S3_ACCESS_KEY_ID",
    "CAPA_S3_SECRET_ACCESS_KEY",
    "CAPA_PROXY_FIX",
    "SESSION_COOKIE_SECURE",
    "CAPA_RATELIMIT_STORAGE_URI",
    "CAPA_BASE_URL",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def app_services(compose: dict) -> dict[str, dict]:
    """The services that run the app's image."""
    return {name: service for name, service in compose["services"].items() if "build" in service}


def dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text(encoding="utf-8")


def image_command() -> list[str]:
    found = re.search(r"^CMD (\[.*\])$", dockerfile(), re.MULTILINE)
    assert found, "the Dockerfile names the command of its image"
    return yaml.safe_load(found.group(1))


def test_the_deployment_has_two_web_hosts_one_scheduler_a_database_an_object_store_and_a_proxy(compose):
    services = compose["services"]
    runs = {name: service.get("command", image_command()) for name, service in app_services(compose).items()}
    web = sorted(name for name, command in runs.items() if command[0] == "gunicorn")
    assert web == ["web1", "web2"]
    assert [name for name, command in runs.items() if command[-1] == "scheduler"] == ["scheduler"]
    assert services["db"]["image"].startswith("postgres:")
    assert "minio" in services["minio"]["image"]
    assert "nginx" in services["proxy"]["image"]


def test_every_setting_given_to_the_app_is_one_it_reads_and_the_essential_ones_are_there(compose):
    for name, service in app_services(compose).items():
        given = set(service["environment"])
        assert given <= READ_BY_THE_APP, f"{name} is given settings the app never reads: {given - READ_BY_THE_APP}"
        assert given >= ESSENTIAL, f"{name} lacks {ESSENTIAL - given}"
        environment = service["environment"]
        assert environment["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert environment["CAPA_PROXY_FIX"] == "1" and environment["SESSION_COOKIE_SECURE"] == "true"
        files.check_settings({"CAPA_STORAGE_URL": environment["CAPA_STORAGE_URL"]})


def test_the_bucket_made_is_the_one_the_app_uses(compose):
    environment = next(iter(app_services(compose).values()))["environment"]
    bucket, _prefix = object_store.parse_url(environment["CAPA_STORAGE_URL"])
    made = " ".join(compose["services"]["bucket"]["command"])
    assert f"mc mb --ignore-existing store/{bucket}" in made
    assert "http://minio:9000" in made and environment["CAPA_S3_ENDPOINT_URL"] == "http://minio:9000"


def test_the_commands_run_are_the_apps(compose, tmp_path):
    app = create_app(
        {**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}", "CAPA_INSTANCE_PATH": str(tmp_path)}
    )
    gunicorn = image_command()
    assert gunicorn[-1] == "capa:create_app()"
    for name, service in app_services(compose).items():
        command = service.get("command", gunicorn)
        if command[0] == "flask":
            assert command[1:3] == ["--app", "capa"], name
            assert command[3] in app.cli.commands, f"{name} runs flask {command[3]}, which the app does not have"
    migrate = compose["services"]["migrate"]
    assert migrate["command"][-1] == "init-db"
    for name in ("web1", "web2", "scheduler"):
        assert compose["services"][name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_nginx_spreads_the_requests_over_exactly_the_web_hosts_on_gunicorns_port(compose):
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    upstream = re.search(r"upstream capa_web \{(.*?)\}", nginx, re.DOTALL).group(1)
    servers = sorted(re.findall(r"^\s*server ([\w.-]+):(\d+)", upstream, re.MULTILINE))
    gunicorn = image_command()
    port = gunicorn[gunicorn.index("--bind") + 1].rsplit(":", 1)[1]
    assert servers == [("web1", port), ("web2", port)]
    assert "proxy_pass http://capa_web;" in nginx
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"):
        assert f"proxy_set_header {header} " in nginx
    limit = int(re.search(r"client_max_body_size (\d+)m;", nginx).group(1)) * 2**20
    assert limit >= config.DEFAULTS["MAX_CONTENT_LENGTH"]
    mounted = [volume.split(":")[0] for volume in compose["services"]["proxy"]["volumes"]]
    assert "./nginx.conf" in mounted


def test_every_variable_compose_takes_from_its_env_file_is_in_the_example(compose):
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    wanted = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    example = (DEPLOY / "env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.MULTILINE))
    assert wanted and wanted == listed, (wanted - listed, listed - wanted)


def test_the_dockerfile_copies_only_what_exists():
    for line in dockerfile().splitlines():
        if line.startswith("COPY "):
            for source in shlex.split(line)[1:-1]:
                assert (ROOT / source).exists(), line
