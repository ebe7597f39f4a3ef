"""/healthz and /readyz: what an orchestrator sees when things are fine and when they are not."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from mailer.services.health import migrations_directory
from tests.fixtures.servers import closed_port


def test_healthz_answers_ok_without_touching_the_database_or_redis(make_app, tmp_path):
    app = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/mailer.db",
        REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0",
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_ok_reports_each_check_and_the_migration_head(app, client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "migrations", "keys"}
    assert all(check["ok"] for check in body["checks"].values())
    head = ScriptDirectory(migrations_directory(app)).get_current_head()
    assert body["checks"]["migrations"]["detail"] == {"current": [head], "head": [head]}


def test_readyz_with_the_sqlite_file_unreachable_is_503_naming_the_database(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/mailer.db")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.json
    assert body["status"] == "unavailable"
    assert body["failed"] == ["database", "migrations", "keys"]
    assert "unable to open database file" in body["checks"]["database"]["error"]
    assert body["checks"]["migrations"]["error"] == "not checked: the database is unreachable"
    assert body["checks"]["redis"]["ok"] is True


def needs_mysql_driver():
    # The MySQL driver is installed for the MariaDB run (make test with a MariaDB URL, as CI
    # does); the SQLite-only run has no driver to build a MySQL engine with.
    pytest.importorskip("MySQLdb", reason="mysqlclient is installed for the MariaDB run")


def test_readyz_with_mysql_down_answers_fast_without_the_password(make_app):
    needs_mysql_driver()
    app = make_app(
        SQLALCHEMY_DATABASE_URI=(
            f"mysql+mysqldb://mailer:hunter2-secret@127.0.0.1:{closed_port()}/mailer"
            "?charset=utf8mb4"
        )
    )
    started = time.monotonic()
    response = app.test_client().get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert "database" in response.json["failed"]
    error = response.json["checks"]["database"]["error"]
    assert "Can't connect" in error
    assert "hunter2" not in response.get_data(as_text=True)


def test_readyz_with_redis_down_is_503_naming_redis(make_app):
    app = make_app(REDIS_URL=f"redis://:hunter2-secret@127.0.0.1:{closed_port()}/0")
    started = time.monotonic()
    response = app.test_client().get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = response.json
    assert body["failed"] == ["redis"]
    assert "Connection refused" in body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["ok"] is True
    assert "hunter2" not in response.get_data(as_text=True)


def test_readyz_with_migrations_behind_is_503_with_both_revisions(make_app, database_at_0003):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_at_0003)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.json
    assert body["failed"] == ["migrations", "keys"]
    migrations = body["checks"]["migrations"]
    assert migrations["detail"]["current"] == ["0003"]
    assert migrations["detail"]["head"] == [
        ScriptDirectory(migrations_directory(app)).get_current_head()
    ]
    assert "flask db upgrade" in migrations["error"]
    assert body["checks"]["keys"]["error"] == "not checked: run `flask db upgrade`"


def test_readyz_on_an_empty_database_says_no_migration_was_applied(make_app, tmp_path):
    url = f"sqlite:///{tmp_path}/empty.db"
    engine = sa.create_engine(url)
    with engine.connect():  # the file exists, with no tables
        pass
    engine.dispose()
    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["migrations", "keys"]
    assert "no migration applied" in response.json["checks"]["migrations"]["error"]


def test_readyz_gives_up_on_hung_servers_within_the_timeout(make_app, silent_port):
    needs_mysql_driver()
    app = make_app(
        SQLALCHEMY_DATABASE_URI=(
            f"mysql+mysqldb://mailer:pw@127.0.0.1:{silent_port}/mailer?charset=utf8mb4"
        ),
        REDIS_URL=f"redis://127.0.0.1:{silent_port}/0",
        MAILER_HEALTH_TIMEOUT=1.0,
    )
    started = time.monotonic()
    response = app.test_client().get("/readyz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json["failed"] == ["database", "redis", "migrations", "keys"]
    assert elapsed < 4, f"took {elapsed:.1f}s"
    assert "Timeout" in response.json["checks"]["redis"]["error"]
