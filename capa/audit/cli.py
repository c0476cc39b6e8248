"""``flask --app capa audit verify``: check that every history is as the app wrote it."""

import click
from flask.cli import AppGroup

from capa.audit import chain

audit_cli = AppGroup("audit", help="Check the tamper evidence of every history.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Recompute every history chain; name the first entry of each chain that does not match (exit code 1)."""
    breaks = chain.verify()
    for found in breaks:
        click.echo(f"BROKEN {found}", err=True)
    click.echo(f"Digest of every chain head: {chain.digest()}")
    if breaks:
        raise click.ClickException(f"{len(breaks)} history chain(s) do not verify.")
    click.echo("Every history chain verifies.")
