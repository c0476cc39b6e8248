"""``flask --app capa demo-data --ncs N [--seed S] [--force]``: fill a database with demo data at scale."""

import time

import click
from flask.cli import with_appcontext
from flask_migrate import upgrade

from capa.capas.defect_types import load_defect_types
from capa.common.errors import DomainError
from capa.demo import generate
from capa.inspections.defects import load_defect_codes
from capa.safety.catalog import load_catalog


@click.command("demo-data")
@click.option("--ncs", type=click.IntRange(min=1), required=True, help="How many non-conformances to generate.")
@click.option("--seed", type=int, default=1, show_default=True, help="The same seed gives the same data.")
@click.option("--force", is_flag=True, help="Add the data even though the database already holds records.")
@click.option("--password", default="", help="The demo users' password (default: demo-<seed>-pass).")
@with_appcontext
def demo_data_command(ncs: int, seed: int, force: bool, password: str) -> None:
    """Fill the database with N realistic non-conformances over two years and the factory around them (lines,
    suppliers, styles, batches, lots, users), written in bulk. Refuses a database that holds records unless
    --force is given."""
    upgrade()
    load_catalog()
    load_defect_types()
    load_defect_codes()
    started = time.perf_counter()
    try:
        with click.progressbar(length=ncs, label="Non-conformances", show_pos=True) as bar:
            written = 0

            def advance(done: int) -> None:
                nonlocal written
                bar.update(done - written)
                written = done

            report = generate.fill(ncs, seed=seed, force=force, password=password, progress=advance)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{report.ncs:,} non-conformances, {report.rows:,} rows in {time.perf_counter() - started:.1f} s.")
    click.echo(
        f"Users: {', '.join(report.users[:3])} … {report.users[-1]} ({len(report.users)}); password: {report.password}"
    )
