"""App factory, settings and migrations."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet

from config import Config, TestConfig
from mailer import create_app
from mailer.extensions import db
from mailer.lib.secrets import MissingKeys


def test_defaults_use_sqlite_and_generated_secrets_under_instance(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "SECRET_KEY", "MAILER_ENCRYPTION_KEY"):
        monkeypatch.delenv(name, raising=False)

    class Fresh(Config):
        SQLALCHEMY_DATABASE_URI = None
        SECRET_KEY = None
        ENCRYPTION_KEY = None

    app = create_app(Fresh, INSTANCE_PATH=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'mailer.db'}"
    secrets_file = tmp_path / "secrets.json"
    stored = json.loads(secrets_file.read_text())
    assert app.config["SECRET_KEY"] == stored["SECRET_KEY"]
    assert app.config["ENCRYPTION_KEY"] == stored["ENCRYPTION_KEY"]
    assert stat.S_IMODE(os.stat(secrets_file).st_mode) == 0o600

    again = create_app(Fresh, INSTANCE_PATH=str(tmp_path))
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"], "generated once, then reused"


ROOT = Path(__file__).resolve().parents[2]


def shared_database_url() -> str:
    """The suite's MariaDB when it runs on one, else a MySQL URL (nothing connects at start)."""
    pytest.importorskip("MySQLdb", reason="mysqlclient is installed for the MariaDB run")
    url = os.environ.get("MAILER_TEST_DATABASE_URL", "")
    return url if url.startswith("mysql") else "mysql+mysqldb://mailer:pw@127.0.0.1:1/mailer"


def start(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Import wsgi.py in a fresh process, as gunicorn, `flask` and the workers do."""
    return subprocess.run(
        [sys.executable, "-c", "import wsgi; print('started')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_shared_database_without_keys_refuses_to_start_saying_what_to_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "MAILER_ENCRYPTION_KEY")}
    env.update(DATABASE_URL=shared_database_url(), MAILER_INSTANCE_PATH=str(tmp_path))
    refused = start(env)
    assert refused.returncode != 0
    assert "started" not in refused.stdout
    message = refused.stderr
    assert "Missing: SECRET_KEY, MAILER_ENCRYPTION_KEY." in message
    assert not (tmp_path / "secrets.json").exists(), "no per-host key was generated"

    # The message's one-line commands give values the app starts with.
    commands = dict(re.findall(r"^  (SECRET_KEY|MAILER_ENCRYPTION_KEY): (.+)$", message, re.M))
    assert set(commands) == {"SECRET_KEY", "MAILER_ENCRYPTION_KEY"}
    path = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"  # the virtualenv's python3
    for name, command in commands.items():
        made = subprocess.run(  # noqa: S602 - the command a person would paste
            command,
            shell=True,
            env={**env, "PATH": path},
            capture_output=True,
            text=True,
        )
        assert made.returncode == 0, made.stderr
        env[name] = made.stdout.strip()
    Fernet(env["MAILER_ENCRYPTION_KEY"])  # a valid key
    assert len(env["SECRET_KEY"]) >= 32
    started = start(env)
    assert started.returncode == 0, started.stderr
    assert "started" in started.stdout


def test_a_shared_database_with_one_key_missing_names_only_that_one(tmp_path):
    class OneKey(TestConfig):
        ENCRYPTION_KEY = None

    with pytest.raises(MissingKeys) as refused:
        create_app(
            OneKey, INSTANCE_PATH=str(tmp_path), SQLALCHEMY_DATABASE_URI=shared_database_url()
        )
    assert "Missing: MAILER_ENCRYPTION_KEY." in str(refused.value)
    assert "SECRET_KEY:" not in str(refused.value)


def test_keys_generated_earlier_on_this_host_are_pointed_at(tmp_path):
    """An install that ran on MariaDB with generated keys: reuse them, never new ones."""
    (tmp_path / "secrets.json").write_text(json.dumps({"SECRET_KEY": "a", "ENCRYPTION_KEY": "b"}))

    class NoKeys(TestConfig):
        SECRET_KEY = None
        ENCRYPTION_KEY = None

    with pytest.raises(MissingKeys) as refused:
        create_app(
            NoKeys, INSTANCE_PATH=str(tmp_path), SQLALCHEMY_DATABASE_URI=shared_database_url()
        )
    assert f"into {tmp_path / 'secrets.json'}: set those values on every host" in str(refused.value)


def test_given_settings_win_and_nothing_is_generated(tmp_path):
    app = create_app(TestConfig, INSTANCE_PATH=str(tmp_path), SQLALCHEMY_DATABASE_URI="sqlite://")
    assert app.config["SECRET_KEY"] == TestConfig.SECRET_KEY
    assert not (tmp_path / "secrets.json").exists()
    assert app.config["TESTING"] is True


def test_two_apps_can_be_created_in_one_process(tmp_path):
    first = create_app(TestConfig, INSTANCE_PATH=str(tmp_path), SQLALCHEMY_DATABASE_URI="sqlite://")
    second = create_app(
        TestConfig, INSTANCE_PATH=str(tmp_path), SQLALCHEMY_DATABASE_URI="sqlite://"
    )
    assert first is not second
    assert "rq_dashboard" in second.blueprints


def test_migrations_build_exactly_the_models_schema(app):
    """`flask db upgrade` from empty (session setup) leaves no difference with the models."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, db.metadata)
    assert diff == []
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"users", "subscribers", "sends", "events", "campaigns", "alembic_version"} <= tables


def test_migration_history_has_one_head(app):
    from alembic.script import ScriptDirectory
    from flask_migrate import Migrate

    config = app.extensions["migrate"].migrate.get_config()
    assert isinstance(app.extensions["migrate"].migrate, Migrate)
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1


def test_sqlite_enforces_foreign_keys_on_every_connection(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql(
            "CREATE TABLE child (id INTEGER PRIMARY KEY,"
            " parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE)"
        )
        conn.exec_driver_sql("INSERT INTO parent VALUES (1)")
        conn.exec_driver_sql("INSERT INTO child VALUES (1, 1)")
        conn.exec_driver_sql("DELETE FROM parent")
        assert conn.exec_driver_sql("SELECT count(*) FROM child").scalar() == 0
    engine.dispose()


INSERT_CAMPAIGN = (
    "INSERT INTO campaigns (id, name, subject, status, audience_size, excluded_count,"
    " track_opens, track_clicks, created_at, updated_at)"
    " VALUES (?, ?, 'S', 'draft', 0, 0, 1, 1, '2026-01-01', '2026-01-01')"
)


def test_migration_0008_keeps_every_row_and_gives_sqlite_tables_autoincrement(tmp_path):
    """Upgrading an existing SQLite database rebuilds its tables without losing a row: no
    cascade fires while the parents are rebuilt, and afterwards ids are never reused."""
    from flask_migrate import downgrade, upgrade

    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.db'}",
        INSTANCE_PATH=str(tmp_path),
    )
    with app.app_context():
        upgrade(revision="0007")
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO lists (id, name, description, for_campaign, created_at)"
                " VALUES (1, 'L', '', 0, '2026-01-01')"
            )
            conn.exec_driver_sql(INSERT_CAMPAIGN, (7, "C"))
            conn.exec_driver_sql(
                "INSERT INTO campaign_audiences (campaign_id, list_id) VALUES (7, 1)"
            )
        upgrade()
        with db.engine.begin() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM campaign_audiences").scalar() == 1
            tables = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
                " AND name NOT IN ('alembic_version', 'sqlite_sequence')"
            ).all()
            assert tables and all("AUTOINCREMENT" in sql for _, sql in tables), [
                name for name, sql in tables if "AUTOINCREMENT" not in sql
            ]
            conn.exec_driver_sql("DELETE FROM campaigns WHERE id = 7")
            assert conn.exec_driver_sql("SELECT count(*) FROM campaign_audiences").scalar() == 0
            conn.exec_driver_sql(INSERT_CAMPAIGN, (None, "D"))
            assert conn.exec_driver_sql("SELECT max(id) FROM campaigns").scalar() == 8
        downgrade(revision="0007")
        db.engine.dispose()
