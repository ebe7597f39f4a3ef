"""`flask api-keys create`: API keys for scripts and provisioning, made by the service the
admin page uses; the key is printed once and only its hash is stored."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

api_keys_cli = AppGroup("api-keys", help="API keys for client apps.")


@api_keys_cli.command("create")
@click.argument("name")
@click.option(
    "--scopes",
    required=True,
    help="Comma-separated, from: send, campaigns, read, admin (admin allows everything).",
)
@click.option("--rate", type=int, default=None, help="Requests per minute (default: the server's).")
@click.option("--quiet", "-q", is_flag=True, help="Print only the key, e.g. for KEY=$(…).")
def create(name: str, scopes: str, rate: int | None, quiet: bool) -> None:
    """Create an API key called NAME and print it, once."""
    from mailer.lib.errors import ValidationError
    from mailer.services import api_keys

    chosen = [s.strip() for s in scopes.split(",") if s.strip()]
    try:
        created = api_keys.create(name, chosen, None, rate)
    except ValidationError as exc:
        problems = exc.errors
        if "scopes" in problems:
            problems = {
                **problems,
                "scopes": f"{problems['scopes']} Use: {', '.join(api_keys.SCOPES)}.",
            }
        raise click.ClickException(" ".join(problems.values())) from exc
    if quiet:
        click.echo(created.plaintext)
        return
    key = created.key
    limit = key.rate_limit_per_minute
    default = current_app.config["MAILER_API_RATE_LIMIT"]
    click.echo(f'Created the API key "{key.name}" (prefix {key.prefix}).')
    click.echo(f"Scopes: {', '.join(key.scopes)}.")
    if limit:
        click.echo(f"Rate limit: {limit:,} requests a minute.")
    else:
        click.echo(f"Rate limit: the server's default, {default:,} requests a minute.")
    click.echo("Copy the key now: it is shown only this once.")
    click.echo(created.plaintext)
