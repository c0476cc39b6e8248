"""CAPA tracker: non-conformances, corrective actions and CMIA safety parameters for children's wear."""

from datetime import timedelta
from typing import Any

from apiflask import APIFlask
from flask import Flask
from flask_babel import get_locale
from flask_login import current_user

from capa import api, cli, web
from capa import config as configuration
from capa.accounts import login_limits, passwords
from capa.accounts.cli import token_cli, user_cli
from capa.accounts.permissions import Permission, allowed
from capa.audit.cli import audit_cli
from capa.capas.cli import import_ncs_command
from capa.common import files, sqlite, transaction
from capa.common.display import local_date, local_moment, local_name
from capa.demo.cli import demo_data_command
from capa.extensions import babel, csrf, db, login_manager, migrate
from capa.http import errors, guard, headers, heap
from capa.http.locale import select_locale
from capa.inspections import line_checks, needles
from capa.safety import validity
from capa.safety.cli import import_cli
from capa.suppliers import settings as scorecard_settings
from capa.trends.cli import scheduler_command, summary_cli

__all__ = ["create_app"]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application; ``config`` overrides every other configuration layer (used by tests)."""
    instance = configuration.instance_path(config)
    instance.mkdir(parents=True, exist_ok=True)
    app = APIFlask(
        __name__,
        title="CAPA tracker API",
        version="1",
        spec_path=api.SPEC_PATH,
        docs_path=api.DOCS_PATH,
        docs_ui="swagger-ui",
        # Errors are answered by capa.http.errors: JSON under /api, pages elsewhere.
        json_errors=False,
        instance_path=str(instance),
        instance_relative_config=True,
        template_folder=str(configuration.PROJECT_ROOT / "templates"),
    )
    configuration.load(app, config)
    # A setting that cannot be read stops the start, not a request later.
    validity.months_by_kind(app.config["CAPA_REPORT_VALIDITY_MONTHS"])
    passwords.check_settings(app.config)
    files.check_settings(app.config)
    line_checks.check_settings(app.config)
    needles.check_settings(app.config)
    scorecard_settings.check_settings(app.config)
    configure_extensions(app)
    configure_blueprints(app)
    errors.init_app(app)
    headers.init_app(app)
    heap.init_app(app)
    configure_cli(app)
    configure_templates(app)
    return app


def configure_extensions(app: Flask) -> None:
    sqlite.configure_connections()
    db.init_app(app)
    transaction.init_app(app)
    migrate.init_app(app, db, directory=str(configuration.PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    babel.init_app(app, locale_selector=select_locale)
    login_limits.init_app(app)


def configure_blueprints(app: Flask) -> None:
    guard.init_app(app)
    web.init_app(app)
    api.init_app(app)
    # The API authenticates with bearer tokens only, never with the session cookie, so CSRF cannot reach it.
    csrf.exempt(api.bp)


def configure_cli(app: Flask) -> None:
    app.cli.add_command(cli.init_db_command)
    app.cli.add_command(cli.backup_command)
    app.cli.add_command(cli.restore_command)
    app.cli.add_command(user_cli)
    app.cli.add_command(token_cli)
    app.cli.add_command(summary_cli)
    app.cli.add_command(scheduler_command)
    import_cli.add_command(import_ncs_command)
    app.cli.add_command(import_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(demo_data_command)


def configure_templates(app: Flask) -> None:
    app.add_template_filter(local_moment, "datetime")
    app.add_template_filter(local_date, "date")
    app.add_template_filter(local_name)

    @app.context_processor
    def permissions() -> dict[str, Any]:
        return {
            "can": lambda permission: allowed(current_user, Permission(permission)),
            "html_lang": str(get_locale() or "en").replace("_", "-"),
            "timedelta": timedelta,
        }
