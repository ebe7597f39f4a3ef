"""`flask contacts …`: imports from the command line, through the same service as the UI."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from mailer.engine.imports.files import FORMATS

contacts_cli = AppGroup("contacts", help="Contact lists and imports.")


@contacts_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--list", "list_name", help="List name (created if needed).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Default: detected from the file.",
)
@click.option(
    "--mode", type=click.Choice(["upsert", "skip", "blocklist", "confirm"]), default="upsert"
)
def import_file(path: str, list_name: str | None, fmt: str | None, mode: str) -> None:
    """Import PATH into a list; prints one summary line; exits non-zero if the import failed."""
    from mailer.engine.imports import importer
    from mailer.lib.errors import ValidationError
    from mailer.lib.storage import storage

    if mode != "blocklist" and not list_name:
        raise click.UsageError("--list is required unless --mode blocklist")
    list_id = importer.get_or_create_list(list_name).id if list_name else None
    started = time.monotonic()
    try:
        record = importer.create_import(path, list_id=list_id, mode=mode, fmt=fmt)
    except ValidationError as exc:
        raise click.ClickException(str(exc)) from exc
    record = importer.run_import(record.id)
    seconds = time.monotonic() - started
    click.echo(
        f"import {record.id} {record.status}: read {record.rows_read}, inserted {record.inserted}, "
        f"updated {record.updated}, skipped {record.skipped}, duplicates {record.duplicates}, "
        f"rejected {record.rejected}, {seconds:.1f} s"
    )
    if record.rejected:
        click.echo(f"rejected rows: {storage().location(importer.rejected_key(record))}")
    if record.status != "completed":
        raise click.ClickException(record.error or "import failed")
