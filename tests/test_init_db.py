"""`flask --app capa init-db`: migrations bring an empty database to the newest schema, idempotently."""

import csv

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from capa import create_app
from capa.accounts.models import User
from capa.capas.models import is_search_table
from capa.extensions import db, migrate
from capa.safety.catalog import CATALOG_PATH


@pytest.fixture
def fresh_config(empty_database_url, tmp_path, monkeypatch) -> dict:
    monkeypatch.delenv("CAPA_ADMIN_PASSWORD", raising=False)
    return {
        "TESTING": True,
        "SECRET_KEY": "test",
        "WTF_CSRF_ENABLED": False,
        "DATABASE_URL": empty_database_url,
        "CAPA_INSTANCE_PATH": str(tmp_path / "instance"),
        "CAPA_PASSWORD_HASH": "pbkdf2:sha256:1000",
    }


@pytest.fixture
def fresh_app(fresh_config):
    app = create_app(fresh_config)
    yield app
    with app.app_context():
        db.engine.dispose()


def include_name(name, type_, _parent_names) -> bool:
    return not (type_ == "table" and is_search_table(name))


def head_revision(app) -> str:
    return ScriptDirectory.from_config(migrate.get_config()).get_current_head()


def current_revision(app) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_init_db_builds_an_empty_database_and_creates_the_admin_once(fresh_app):
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    announced = lines.index("Created the administrator account 'admin'. Its password, shown only this once:")
    password = lines[announced + 1].strip()
    assert len(password) >= 12
    with CATALOG_PATH.open(encoding="utf-8") as catalog:
        rows = list(csv.DictReader(catalog))
    codes = {row["code"] for row in rows}
    added = f"{len(codes)} parameters added, {len(rows)} limits added, 0 limits updated."
    assert f"Safety-parameter catalog: {added}" in lines

    with fresh_app.app_context():
        assert current_revision(fresh_app) == head_revision(fresh_app)
        assert {"users", "api_tokens", "production_lines", "suppliers", "styles", "batches"} <= set(
            inspect(db.engine).get_table_names()
        )
    client = fresh_app.test_client()
    response = client.post("/login", data={"username": "admin", "password": password})
    assert response.status_code == 302
    assert "admin" in client.get("/").text

    again = runner.invoke(args=["init-db"])
    assert again.exit_code == 0
    assert password not in again.output
    assert "Created" not in again.output
    assert "catalog" not in again.output
    with fresh_app.app_context():
        assert db.session.scalars(select(User.username)).all() == ["admin"]


def test_init_db_takes_the_admin_password_from_the_environment(fresh_config, monkeypatch):
    monkeypatch.setenv("CAPA_ADMIN_PASSWORD", "a-chosen-password")
    app = create_app(fresh_config)
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0
    assert "a-chosen-password" not in result.output
    assert "Created" not in result.output
    response = app.test_client().post("/login", data={"username": "admin", "password": "a-chosen-password"})
    assert response.status_code == 302
    with app.app_context():
        db.engine.dispose()


def test_init_db_refuses_a_weak_admin_password_in_one_line_naming_the_setting(fresh_config, monkeypatch):
    monkeypatch.setenv("CAPA_ADMIN_PASSWORD", "password12")
    app = create_app(fresh_config)
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 1
    assert "Error:" in result.output and "CAPA_ADMIN_PASSWORD" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalars(select(User.username)).all() == []
        db.session.remove()  # its connection back in the pool, which dispose then closes
        db.engine.dispose()


# SQLite cannot reflect the index on lower(number) that keeps report numbers unique: the models and the migrations
# are compared on it there without that index, and with it on PostgreSQL.
SQLITE_CANNOT_REFLECT_EXPRESSION_INDEXES = [
    pytest.mark.filterwarnings(
        "ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning"
    ),
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index:UserWarning"),
]


@pytest.mark.parametrize("_", [pytest.param(None, marks=SQLITE_CANNOT_REFLECT_EXPRESSION_INDEXES, id="")])
def test_the_models_match_the_migrations(fresh_app, _):
    with fresh_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            # As ``flask db check`` compares them (migrations/env.py): SQLite's search table has no model.
            context = MigrationContext.configure(connection, opts={"include_name": include_name})
            differences = compare_metadata(context, db.metadata)
    assert differences == []


@pytest.mark.parametrize("_", [pytest.param(None, marks=SQLITE_CANNOT_REFLECT_EXPRESSION_INDEXES, id="")])
def test_migrations_downgrade_to_nothing_and_upgrade_again(fresh_app, _):
    with fresh_app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert current_revision(fresh_app) == head_revision(fresh_app)
