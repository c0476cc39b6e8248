"""Configuration layers: defaults, then instance/config.py, then the environment, then the mapping given."""

import stat

import pytest
from sqlalchemy import text

from capa import create_app
from capa.extensions import db
from capa.safety.validity import InvalidValiditySetting


@pytest.fixture
def instance(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "SECRET_KEY", "CAPA_TIMEZONE", "CAPA_INSTANCE_PATH", "CAPA_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "instance"
    monkeypatch.setenv("CAPA_INSTANCE_PATH", str(folder))
    return folder


def test_defaults_put_sqlite_and_the_secret_in_the_instance_folder(instance):
    app = create_app()
    assert app.instance_path == str(instance)
    assert app.config["DATABASE_URL"] == f"sqlite:///{instance / 'capa.sqlite3'}"
    assert app.config["CAPA_TIMEZONE"] == "Asia/Shanghai"
    secret = instance / "secret_key"
    assert app.config["SECRET_KEY"] == secret.read_text().strip()
    assert len(app.config["SECRET_KEY"]) == 64
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_the_generated_secret_is_kept_across_starts(instance):
    assert create_app().config["SECRET_KEY"] == create_app().config["SECRET_KEY"]


def test_each_layer_overrides_the_one_before(instance, monkeypatch):
    instance.mkdir(parents=True)
    (instance / "config.py").write_text('CAPA_TIMEZONE = "Asia/Dhaka"\nCAPA_LANGUAGES = "zh_Hans_CN,en"\n')
    app = create_app()
    assert app.config["CAPA_TIMEZONE"] == "Asia/Dhaka"
    assert app.config["CAPA_LANGUAGES"] == "zh_Hans_CN,en"

    monkeypatch.setenv("CAPA_TIMEZONE", "Asia/Ho_Chi_Minh")
    app = create_app()
    assert app.config["CAPA_TIMEZONE"] == "Asia/Ho_Chi_Minh"
    assert app.config["CAPA_LANGUAGES"] == "zh_Hans_CN,en"

    app = create_app({"CAPA_TIMEZONE": "Europe/Istanbul"})
    assert app.config["CAPA_TIMEZONE"] == "Europe/Istanbul"


def test_environment_selects_database_and_secret(instance, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert not (instance / "secret_key").exists()


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(instance):
    app = create_app()
    with app.app_context():
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        db.engine.dispose()


def test_instance_path_can_come_from_the_mapping(tmp_path, monkeypatch):
    monkeypatch.delenv("CAPA_INSTANCE_PATH", raising=False)
    app = create_app({"CAPA_INSTANCE_PATH": str(tmp_path / "plant-7")})
    assert app.instance_path == str(tmp_path / "plant-7")
    assert app.config["UPLOAD_FOLDER"] == str(tmp_path / "plant-7" / "uploads")


def test_a_report_validity_setting_that_cannot_be_read_stops_the_start(instance, monkeypatch):
    monkeypatch.setenv("CAPA_REPORT_VALIDITY_MONTHS", "chemical=24, physical=12")
    assert create_app().config["CAPA_REPORT_VALIDITY_MONTHS"] == "chemical=24, physical=12"
    for unreadable in ("chemical=twelve", "dyes=12", "chemical=0"):
        monkeypatch.setenv("CAPA_REPORT_VALIDITY_MONTHS", unreadable)
        with pytest.raises(InvalidValiditySetting, match="CAPA_REPORT_VALIDITY_MONTHS"):
            create_app()
