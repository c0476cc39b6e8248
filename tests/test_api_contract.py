"""The API against its own document, as outside clients meet it: a real server on this run's engine, each
role's token, cases generated from the OpenAPI document by Schemathesis (valid and invalid ones). No answer
may be a 5xx, and every answer must conform to the document: its status code, content type and body."""

import os
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import schemathesis
from flask_migrate import upgrade
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import WSGIRequestHandler, make_server

from capa import create_app
from capa.accounts import service as accounts
from capa.accounts.commands import NewUser
from capa.accounts.models import Role
from capa.capas import filing
from capa.capas.commands import FileNC
from capa.common.commands import parse
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch, NewLine, NewStyle, NewSupplier
from tests.conftest import PASSWORD, POSTGRES_URL, _plain_dsn, _with_database, load_reference_data

#: Cases per operation, per role and mode: enough to find a crash, few enough for CI.
EXAMPLES = int(os.environ.get("CAPA_CONTRACT_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class QuietHandler(WSGIRequestHandler):
    """Thousands of generated requests: their access log would drown a failure's report."""

    def log_request(self, *args, **kwargs) -> None:
        pass


def _seed() -> dict[str, str]:
    """Master data and one NC, so that generated cases also meet records that exist; a token per role."""
    tokens = {}
    users = {}
    supplier = masterdata.create_supplier(parse(NewSupplier, {"code": "S1", "name": "Snaps Co"}))
    for role in Role:
        users[role] = accounts.create_user(
            parse(NewUser, {"username": f"contract.{role.value}", "role": role.value, "password": PASSWORD}),
            # A supplier's account speaks for S1.
            supplier=supplier if role is Role.SUPPLIER else None,
        )
        tokens[role.value] = accounts.create_token(users[role])
    masterdata.create_line(parse(NewLine, {"code": "L1", "name": "Line 1"}))
    masterdata.create_style(parse(NewStyle, {"code": "ST-1", "name": "Romper", "category": "A", "cmia_required": True}))
    masterdata.create_batch(
        parse(
            NewBatch,
            {
                "number": "B-1",
                "style": "ST-1",
                "line": "L1",
                "lots": [{"number": "T-1", "kind": "trim", "supplier": "S1"}],
            },
        )
    )
    filing.file_nc(
        parse(
            FileNC,
            {"title": "Loose snap", "defect_type": "loose_button", "source": "inline", "line": "L1", "batch": "B-1"},
        ),
        users[Role.SUPERVISOR],
    )
    return tokens


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    """The app behind a real HTTP server on a database of its own; its base URL and a token per role."""
    folder = tmp_path_factory.mktemp("contract")
    name = f"capa_contract_{uuid.uuid4().hex[:12]}"
    if POSTGRES_URL:
        with psycopg.connect(_plain_dsn(POSTGRES_URL), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = _with_database(POSTGRES_URL, name)
    else:
        url = f"sqlite:///{folder / 'capa.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "contract",
            "DATABASE_URL": url,
            "CAPA_INSTANCE_PATH": str(folder / "instance"),
            "CAPA_PASSWORD_HASH": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        upgrade()
        load_reference_data()
        tokens = _seed()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", tokens
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()
        if POSTGRES_URL:
            with psycopg.connect(_plain_dsn(POSTGRES_URL), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _operations(schema):
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("role", [role.value for role in Role])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_every_operation_answers_as_documented(served, role, mode):
    base_url, tokens = served
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
    failures = []
    for operation in _operations(schema):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        def check(case):
            case.call_and_validate(base_url=base_url, headers=headers, checks=checks)

        try:
            check()
        except Exception as error:
            failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)
