"""``flask --app capa user …`` and ``flask --app capa token …``: accounts from the command line."""

import click
from flask.cli import AppGroup

from capa.accounts import service
from capa.common.errors import DomainError

#: ``user create`` is added by capa.cli, which can find the supplier a supplier's account is bound to.
user_cli = AppGroup("user", help="Manage user accounts.")
token_cli = AppGroup("token", help="Issue and revoke API tokens.")


def fail(error: DomainError) -> click.ClickException:
    details = "; ".join(f"{field}: {message}" for field, message in error.fields.items())
    return click.ClickException(f"{error.message} {details}".strip() if details else error.message)


@user_cli.command("password")
@click.argument("username")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True)
def set_password(username: str, password: str) -> None:
    """Give USERNAME a new password (asked for when --password is not given); every session of the user ends."""
    try:
        user = service.get_user(username)
        service.set_password(user, password)
    except DomainError as exc:
        raise fail(exc) from None
    click.echo(f"New password set for {user.username}; their sessions have ended.")


@user_cli.command("list")
def list_users() -> None:
    """List every account with its role and whether it is active."""
    for user in service.list_users():
        click.echo(f"{user.username}\t{user.role}\t{'active' if user.active else 'inactive'}")


@token_cli.command("create")
@click.argument("username")
def create_token(username: str) -> None:
    """Issue an API token for USERNAME. The token is the last line printed; it is not shown again."""
    try:
        user = service.get_user(username)
    except DomainError as exc:
        raise fail(exc) from None
    if not user.active:
        raise click.ClickException(f"User {user.username} is inactive.")
    token = service.create_token(user)
    click.echo(f"API token for {user.username} ({user.role}); store it now, it is not shown again:")
    click.echo(token)


@token_cli.command("revoke")
@click.argument("token", required=False)
@click.option("--user", "username", help="Revoke every token of this user instead.")
def revoke_token(token: str | None, username: str | None) -> None:
    """Revoke TOKEN, or with --user every token of that user."""
    if bool(token) == bool(username):
        raise click.UsageError("Give either a TOKEN or --user USERNAME.")
    try:
        if username:
            count = service.revoke_user_tokens(service.get_user(username))
            click.echo(f"Revoked {count} token(s) of {username}.")
        else:
            record = service.revoke_token(token)
            click.echo(f"Revoked token {record.prefix}… of {record.user.username}.")
    except DomainError as exc:
        raise fail(exc) from None
