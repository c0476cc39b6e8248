"""``flask --app capa init-db``: bring the database to the current schema and load the reference data."""

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from capa.accounts import service as accounts
from capa.capas.defect_types import load_defect_types
from capa.safety.catalog import load_catalog


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database and load reference data; running it again adds only what is missing."""
    upgrade()
    report = load_catalog()
    if report.parameters_added or report.limits_added or report.limits_updated:
        click.echo(
            f"Safety-parameter catalog: {report.parameters_added} parameters added, "
            f"{report.limits_added} limits added, {report.limits_updated} limits updated."
        )
    if load_defect_types().added:
        click.echo("Defect types seeded.")
    password = accounts.ensure_initial_admin(current_app.config.get("CAPA_ADMIN_PASSWORD"))
    if password:
        click.echo("Created the administrator account 'admin'. Its password, shown only this once:")
        click.echo(f"    {password}")
    click.echo("Database is up to date.")
