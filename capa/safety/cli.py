"""``flask --app capa import lab-report FILE --user USERNAME``: lab reports from a laboratory's CSV or XLSX export."""

from pathlib import Path

import click
from flask.cli import AppGroup

from capa.accounts import service as accounts
from capa.accounts.permissions import Permission, allowed
from capa.safety.importing import describe, import_lab_reports

import_cli = AppGroup("import", help="Import records from files.")


@import_cli.command("lab-report")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True, help="Who records the reports (a quality manager).")
@click.option("--dry-run", is_flag=True, help="Check every row and store nothing.")
def import_lab_report(file: Path, username: str, dry_run: bool) -> None:
    """Import the lab reports in FILE (CSV or XLSX, one row per result; see docs/lab-report-example.csv).

    Every row is checked first; each problem is printed as its row, column and reason, and then nothing is
    stored and the command exits with status 1.
    """
    user = accounts.find_user(username)
    if user is None:
        raise click.ClickException(f"No user {username}.")
    if not allowed(user, Permission.RECORD_RESULTS):
        raise click.ClickException(f"User {user.username} may not record lab results.")
    outcome = import_lab_reports(file.read_bytes(), file.name, user, dry_run=dry_run)
    if outcome.errors:
        for line in describe(outcome.errors):
            click.echo(line, err=True)
        click.echo(f"{len(outcome.errors)} problems in {file.name}: nothing was stored.", err=True)
        raise SystemExit(1)
    reports, results = len(outcome.checked), outcome.result_count
    if dry_run:
        click.echo(f"{file.name} is correct: {reports} reports with {results} results; nothing stored (--dry-run).")
    else:
        click.echo(f"Stored {reports} reports with {results} results from {file.name}.")
