"""``flask --app capa init-db``: bring the database to the current schema and load the reference data.
``flask --app capa backup PATH`` and ``flask --app capa restore PATH``: a backup of the database and every stored
file, taken while the app is in use, and its restoring into an empty instance (rules: :mod:`capa.common.backup`).
``flask --app capa user create``: an account, a supplier's bound to its supplier (the other ``user`` commands are in
:mod:`capa.accounts.cli`).
"""

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_migrate import upgrade

from capa.accounts import service as accounts
from capa.accounts.cli import fail, user_cli
from capa.accounts.commands import NewUser
from capa.accounts.models import Role
from capa.capas.defect_types import load_defect_types
from capa.capas.models import Attachment, Photo
from capa.common import backup
from capa.common.commands import parse
from capa.common.errors import DomainError
from capa.documents.models import DocumentRevision
from capa.inspections.defects import load_defect_codes
from capa.inspections.models import InspectionPhoto
from capa.safety.catalog import load_catalog
from capa.safety.models import LabReport
from capa.suppliers import accounts as supplier_accounts
from capa.suppliers.models import ScarFile

#: The columns naming stored files, with the folder of the file storage the files lie in: a backup holds every
#: file they name. Photos (of NCs and of inspections) lie at the storage's top, evidence files, lab reports' PDFs,
#: the document register's files and suppliers' evidence in ``files``.
STORED_FILES = (
    backup.NamedFiles(Photo.__table__.c.stored_name),
    backup.NamedFiles(InspectionPhoto.__table__.c.stored_name),
    backup.NamedFiles(Attachment.__table__.c.key, "files"),
    backup.NamedFiles(LabReport.__table__.c.pdf_key, "files"),
    backup.NamedFiles(DocumentRevision.__table__.c.key, "files"),
    backup.NamedFiles(ScarFile.__table__.c.key, "files"),
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


@user_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--email", help="Where reminders of overdue actions (and, for a supplier, of its requests) go.")
@click.option("--full-name", help="The person's full name, shown with their signatures.")
@click.option("--supplier", help="For --role supplier: the code of the supplier the account speaks for.")
def create_user(
    username: str, role: str, password: str, email: str | None, full_name: str | None, supplier: str | None
) -> None:
    """Create USERNAME with ROLE; asks for the password when --password is not given. A supplier's account
    (--role supplier) names its supplier with --supplier CODE: it sees only the requests sent to that supplier."""
    command = {"username": username, "role": role, "password": password, "email": email, "full_name": full_name}
    try:
        user = supplier_accounts.create_account(parse(NewUser, command), supplier)
    except DomainError as exc:
        raise fail(exc) from None
    bound = f", for supplier {supplier.upper() if supplier else ''}" if user.supplier_id else ""
    click.echo(f"Created user {user.username} ({user.role}{bound}).")
