"""`flask …` commands for operators: users, workers, the scheduler, the quick start."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from mailer.models import Role

users_cli = AppGroup("users", help="Manage users.")
keys_cli = AppGroup("keys", help="The keys every host shares.")


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(worker)
    app.cli.add_command(scheduler)
    app.cli.add_command(bootstrap)
    from mailer.cli.api_keys import api_keys_cli
    from mailer.cli.campaigns import campaigns_cli
    from mailer.cli.contacts import contacts_cli

    app.cli.add_command(contacts_cli)
    app.cli.add_command(campaigns_cli)
    app.cli.add_command(api_keys_cli)


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.VIEWER.value)
@click.option("--name", default="")
@click.option("--password", help="Omit to generate one (printed once).")
def create_user(email: str, role: str, name: str, password: str | None) -> None:
    """Create a user and print its password once."""
    from mailer.lib.errors import ValidationError
    from mailer.services.users import create_user as create

    try:
        user, password = create(email, role, name, password)
    except ValidationError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {user.role} {user.email}")
    click.echo(f"Password: {password}")


@keys_cli.command("record")
def record_keys() -> None:
    """Store this host's key fingerprint as the one every host must match (/readyz reports
    hosts that differ). Run it once after changing the keys on every host."""
    from mailer.services.health import record_fingerprint

    record_fingerprint(current_app._get_current_object())
    click.echo("Recorded this host's key fingerprint; hosts with other keys are not ready.")


@click.command()
@click.option("--queues", "-q", default=None, help="Comma-separated, in priority order.")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--name", default=None)
def worker(queues: str | None, burst: bool, name: str | None) -> None:
    """Run an RQ worker with this app's settings (the app is loaded once, before forking)."""
    from mailer.queue import PRIORITY, get_redis, set_worker_app
    from mailer.workers import run_worker

    app = current_app._get_current_object()
    set_worker_app(app)
    names = [q.strip() for q in queues.split(",")] if queues else list(PRIORITY)
    unknown = set(names) - set(PRIORITY)
    if unknown:
        raise click.ClickException(f"unknown queue(s): {', '.join(sorted(unknown))}")
    from sqlalchemy.orm import configure_mappers

    from mailer.extensions import db

    # Once here rather than in every forked job child, where the first query did it: measured
    # 125 ms at the start of each job (a channel job starts every 30 s slice).
    configure_mappers()
    db.engine.dispose()  # children open their own connections
    max_wait = current_app.config["MAILER_REDIS_RETRY_MAX_SECONDS"]
    run_worker(names, get_redis(), name, burst, max_wait)


@click.command()
@click.option("--interval", default=5, help="Seconds between scheduler polls.")
def scheduler(interval: int) -> None:
    """Register the periodic ticks and run rq-scheduler."""
    from mailer.queue import get_redis
    from mailer.scheduling import run_scheduler

    run_scheduler(get_redis(), interval, current_app.config["MAILER_REDIS_RETRY_MAX_SECONDS"])


@click.command()
def bootstrap() -> None:
    """Upgrade the database and create a first admin if there is none (quick start)."""
    from flask_migrate import upgrade

    from mailer.services.channels import ensure_sandbox_setup
    from mailer.services.users import ensure_first_admin

    upgrade()
    created = ensure_first_admin()
    if ensure_sandbox_setup():
        click.echo("Created the sandbox channel: mail sent through it stays in the Outbox.")
    if created:
        user, password = created
        click.echo("")
        click.echo("  First admin created. Log in with:")
        click.echo(f"    email:    {user.email}")
        click.echo(f"    password: {password}")
        click.echo("  (shown once; change it from the Users page or create your own user)")
        click.echo("")
