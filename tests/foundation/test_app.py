"""App factory, settings and migrations."""

from __future__ import annotations

import json
import os
import stat

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from config import Config, TestConfig
from mailer import create_app
from mailer.extensions import db


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
