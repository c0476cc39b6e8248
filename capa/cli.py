"""``flask --app capa init-db``: bring the database to the current schema and load the reference data.
``flask --app capa backup PATH`` and ``flask --app capa restore PATH``: a backup of the database and every stored
file, taken while the app is in use, and its restoring into an empty instance (rules: :mod:`capa.common.backup`).
"""

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_migrate import upgrade

from capa.accounts import service as accounts
from capa.capas.defect_types import load_defect_types
from capa.capas.models import Attachment, Photo
from capa.common import backup
from capa.common.errors import DomainError
from capa.documents.models import DocumentRevision
from capa.inspections.defects import load_defect_codes
from capa.inspections.models import InspectionPhoto
from capa.safety.catalog import load_catalog
from capa.safety.models import LabReport

#: The columns naming stored files, with the folder of the file storage the files lie in: a backup holds every
#: file they name. Photos (of NCs and of inspections) lie at the storage's top, evidence files, lab reports' PDFs
#: and the document register's files in ``files``.
STORED_FILES = (
    backup.NamedFiles(Photo.__table__.c.stored_name),
    backup.NamedFiles(InspectionPhoto.__table__.c.stored_name),
    backup.NamedFiles(Attachment.__table__.c.key, "files"),
    backup.NamedFiles(LabReport.__table__.c.pdf_key, "files"),
    backup.NamedFiles(DocumentRevision.__table__.c.key, "files"),
)


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
    if load_defect_codes().added:
        click.echo("Defect library seeded.")
    try:
        password = accounts.ensure_initial_admin(current_app.config.get("CAPA_ADMIN_PASSWORD"))
    except DomainError as exc:
        details = "; ".join(f"{field}: {message}" for field, message in exc.fields.items())
        raise click.ClickException(f"{exc.message} {details}".strip()) from None
    if password:
        click.echo("Created the administrator account 'admin'. Its password, shown only this once:")
        click.echo(f"    {password}")
    click.echo("Database is up to date.")


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Back up the database and every stored file into PATH, a new folder, while the app is in use.

    PATH must not exist or be an empty folder. PostgreSQL needs pg_dump of the server's version or newer.
    """
    try:
        taken = backup.take_backup(path, STORED_FILES)
    except backup.BackupRefused as refusal:
        raise click.ClickException(refusal.message) from None
    click.echo(
        _(
            "Backed up the %(kind)s database (%(records)d records in %(tables)d tables) and %(files)d files "
            "into %(path)s.",
            kind=backup.KIND_NAMES.get(taken.kind, taken.kind),
            records=taken.records,
            tables=len(taken.tables),
            files=taken.file_count,
            path=str(taken.path),
        )
    )


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def restore_command(path: Path) -> None:
    """Restore the backup in PATH into this instance, whose database and upload folder must be empty.

    Every file is checked against the backup's manifest first; a backup that does not match it is refused.
    """
    try:
        restored = backup.restore_backup(path)
    except backup.BackupRefused as refusal:
        raise click.ClickException(refusal.message) from None
    click.echo(
        _(
            "Restored %(records)d records in %(tables)d tables and %(files)d files from %(path)s.",
            records=restored.records,
            tables=len(restored.tables),
            files=restored.file_count,
            path=str(restored.path),
        )
    )
    if restored.upgrade_to:
        click.echo(
            _(
                "The backup's database is of revision %(revision)s: run `flask --app capa init-db` to bring it to "
                "%(head)s.",
                revision=restored.revision,
                head=restored.upgrade_to,
            )
        )
