"""``flask --app capa import ncs FILE --as USERNAME [--skip-invalid]``: non-conformances from a factory's earlier
spreadsheets (rules: :mod:`capa.capas.importing`)."""

from pathlib import Path

import click
from flask.cli import with_appcontext

from capa.accounts import service as accounts
from capa.accounts.permissions import Permission, allowed
from capa.capas import importing
from capa.common.errors import DomainError

STAGE_LABELS = {importing.CHECKING: "Checking rows", importing.STORING: "Storing NCs"}


@click.command("ncs")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--as",
    "username",
    required=True,
    metavar="USERNAME",
    help="Who imports them (a quality manager or an administrator): the NCs' reporter and their history's actor.",
)
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows; write the bad ones to FILE.rejected.csv.")
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="HEADER=FIELD",
    help="What a column holds, when its header does not say (序号=number), or HEADER= to leave it out.",
)
@with_appcontext
def import_ncs_command(file: Path, username: str, skip_invalid: bool, columns: tuple[str, ...]) -> None:
    """Import the non-conformances in FILE (CSV or XLSX, one row per NC; see the README's "Importing earlier
    records").

    Every row is checked first; each problem is printed as its row, column and reason. Without --skip-invalid
    nothing is imported when any row is bad, and the command exits with status 1. NCs imported before (the same
    number in the sheet, or the same row) are skipped: running it again adds nothing.
    """
    user = accounts.find_user(username)
    if user is None:
        raise click.ClickException(f"No user {username}.")
    if not allowed(user, Permission.IMPORT_NCS):
        raise click.ClickException(f"User {user.username} may not import non-conformances.")
    data = file.read_bytes()
    try:
        chosen = dict(_choice(text) for text in columns)
        by_position = importing.columns_by_header(importing.read_sheet(data).headers, chosen) if chosen else None
        with _ProgressBars() as progress:
            outcome = importing.import_ncs(
                data, file.name, user, skip_invalid=skip_invalid, columns=by_position, progress=progress
            )
    except DomainError as refusal:
        raise click.ClickException(refusal.message) from None
    if outcome.ignored_columns:
        click.echo(f"Columns not imported: {', '.join(outcome.ignored_columns)}.")
    for line in importing.describe(outcome.errors):
        click.echo(line, err=True)
    if outcome.refused:
        click.echo(f"{len(outcome.errors)} problems in {file.name}: nothing was imported.", err=True)
        raise SystemExit(1)
    if outcome.numbers:
        click.echo(
            f"Imported {outcome.imported} NCs from {file.name}: {outcome.numbers[0]} to {outcome.numbers[-1]} "
            "(numbered by year of report)."
        )
    else:
        click.echo(f"Imported no NCs from {file.name}.")
    if outcome.already:
        click.echo(f"{len(outcome.already)} NCs were imported before and were skipped.")
    if outcome.rejected_rows:
        rejects = _free_name(file)
        rejects.write_bytes(importing.rejected_csv(data, outcome))
        click.echo(f"{len(outcome.rejected_rows)} rows with problems were left out: written to {rejects}.")


def _choice(text: str) -> tuple[str, str]:
    header, separator, name = text.partition("=")
    if not separator or not header.strip():
        raise click.BadParameter(f"{text!r}: write HEADER=FIELD.", param_hint="--column")
    return header.strip(), name.strip()


def _free_name(file: Path) -> Path:
    """``history.rejected.csv`` beside ``history.xlsx``, or ``history.rejected-2.csv`` when that exists."""
    candidate = file.with_name(f"{file.stem}.rejected.csv")
    number = 2
    while candidate.exists():
        candidate = file.with_name(f"{file.stem}.rejected-{number}.csv")
        number += 1
    return candidate


class _ProgressBars:
    """A progress bar per stage of the import (checking, then storing), drawn as the import reports."""

    def __init__(self):
        self.stage: str | None = None
        self.bar = None
        self.shown = 0

    def __enter__(self) -> "_ProgressBars":
        return self

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self._close()
            self.stage, self.shown = stage, 0
            self.bar = click.progressbar(length=max(total, 1), label=STAGE_LABELS.get(stage, stage))
            self.bar.__enter__()
        if done > self.shown:
            self.bar.update(done - self.shown)
            self.shown = done

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __exit__(self, *exc_info) -> None:
        self._close()
