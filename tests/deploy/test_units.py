"""The systemd units run commands that exist with options they accept, and together serve every
queue. (scripts/check-deploy.sh checks the unit files themselves with systemd-analyze.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from flask.cli import FlaskGroup, ScriptInfo
from gunicorn.config import Config as GunicornConfig

from config import Config, TestConfig
from mailer import create_app
from mailer.queue import PRIORITY

ROOT = Path(__file__).resolve().parent.parent.parent
UNITS = ROOT / "deploy" / "systemd"
VENV_BIN = "/opt/mailer/.venv/bin/"


def exec_start(unit: str) -> list[str]:
    """The unit's ExecStart command line, continuation lines joined."""
    text = (UNITS / unit).read_text().replace("\\\n", " ")
    (line,) = re.findall(r"^ExecStart=(.+)$", text, re.M)
    return shlex.split(line)


def flask_units() -> list[str]:
    units = sorted(p.name for p in UNITS.glob("*.service"))
    return [u for u in units if exec_start(u)[0] == VENV_BIN + "flask"]


@pytest.fixture
def flask_cli(tmp_path):
    """`flask` as the units run it: Mailer's commands and the extensions' (flask db)."""
    group = FlaskGroup(create_app=lambda: create_app(TestConfig, INSTANCE_PATH=str(tmp_path)))

    def parse(args: list[str]) -> click.Context:
        assert args[:2] == ["--app", "wsgi"], "the units load wsgi.py's app"
        ctx = group.make_context(
            "flask", [], obj=ScriptInfo(create_app=group.create_app), resilient_parsing=True
        )
        command: click.Command = group
        args = args[2:]
        while isinstance(command, click.Group):  # flask db upgrade: a group, then a command
            name, args = args[0], args[1:]
            command = command.get_command(ctx, name)
            assert command is not None, f"no such command: flask … {name}"
            if isinstance(command, click.Group):  # its own options are not used here
                ctx = command.make_context(name, [], parent=ctx, resilient_parsing=True)
            else:
                ctx = command.make_context(name, args, parent=ctx)  # refuses bad options
        return ctx

    return parse


@pytest.mark.parametrize("unit", flask_units())
def test_flask_units_run_commands_that_exist(flask_cli, unit):
    ctx = flask_cli(exec_start(unit)[1:])
    queues = ctx.params.get("queues")
    if queues is not None:
        unknown = set(queues.split(",")) - set(PRIORITY)
        assert not unknown, f"{unit} names unknown queues {unknown}"


def test_every_queue_has_a_worker(flask_cli):
    served = set()
    for unit in flask_units():
        ctx = flask_cli(exec_start(unit)[1:])
        if ctx.command.name == "worker":
            served |= set(ctx.params["queues"].split(","))
    assert served == set(PRIORITY), f"queues no unit works: {set(PRIORITY) - served}"


def test_web_unit_runs_gunicorn_with_valid_options():
    command = exec_start("mailer-web.service")
    assert command[0] == VENV_BIN + "gunicorn"
    parsed = GunicornConfig().parser().parse_args(command[1:])  # exits on an unknown option
    assert parsed.args == ["wsgi:app"]
    assert "\napp = create_app()" in (ROOT / "wsgi.py").read_text()
    # Each of gunicorn's threads needs a pooled database connection (README, Processes).
    assert parsed.threads <= Config.SQLALCHEMY_ENGINE_OPTIONS["pool_size"]
