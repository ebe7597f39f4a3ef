"""/readyz for several hosts on one database and Redis: a host whose keys differ from the
others' is not ready; a Redis that keeps nothing on disk is a warning in production.

Each test takes `app` too: its teardown empties the database, fingerprint included."""

from __future__ import annotations

import sqlalchemy as sa
from cryptography.fernet import Fernet

from config import TestConfig
from mailer.extensions import db
from tests.fixtures.workers import RedisServer

OTHER_SECRET = "another-hosts-secret-key-" + "x" * 20


def test_a_host_with_other_keys_is_not_ready_and_says_which_key(app, make_app):
    first = make_app()
    response = first.test_client().get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["checks"]["keys"]["ok"] is True

    other = make_app(SECRET_KEY=OTHER_SECRET)
    response = other.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.json
    assert body["failed"] == ["keys"]
    error = body["checks"]["keys"]["error"]
    assert "SECRET_KEY differ from the other hosts'" in error
    assert "MAILER_ENCRYPTION_KEY" not in error
    assert OTHER_SECRET not in response.get_data(as_text=True)
    assert first.test_client().get("/readyz").status_code == 200, "the first host stays ready"

    both = make_app(SECRET_KEY=OTHER_SECRET, ENCRYPTION_KEY=Fernet.generate_key().decode())
    error = both.test_client().get("/readyz").json["checks"]["keys"]["error"]
    assert "SECRET_KEY and MAILER_ENCRYPTION_KEY differ" in error


def test_the_stored_fingerprint_reveals_neither_key(app, make_app):
    host = make_app()
    assert host.test_client().get("/readyz").status_code == 200
    with host.app_context():
        stored = db.session.execute(sa.text("SELECT name, value FROM installation")).all()
    assert [name for name, _ in stored] == ["key_fingerprint"]
    value = stored[0][1]
    for key in (TestConfig.SECRET_KEY, TestConfig.ENCRYPTION_KEY):
        assert key not in value
        assert key[:12] not in value


def test_keys_changed_on_every_host_are_recorded_with_a_command(app, make_app):
    old = make_app()
    assert old.test_client().get("/readyz").status_code == 200
    new = make_app(SECRET_KEY=OTHER_SECRET)
    assert new.test_client().get("/readyz").status_code == 503

    with new.app_context():  # the command runs in the app context it finds
        result = new.test_cli_runner().invoke(args=["keys", "record"])
    assert result.exit_code == 0, result.output
    assert new.test_client().get("/readyz").status_code == 200
    assert old.test_client().get("/readyz").json["failed"] == ["keys"]


def test_redis_without_persistence_is_a_warning_in_production(app, make_app, tmp_path):
    server = RedisServer(tmp_path)  # started with save "" and appendonly no
    server.start()
    try:
        app = make_app(REDIS_URL=server.url, EMBEDDED=False)
        response = app.test_client().get("/readyz")
        assert response.status_code == 200, "a warning, not a failure"
        body = response.json
        assert body["status"] == "ok"
        assert "keeps nothing on disk" in body["checks"]["redis"]["warning"]
        assert body["warnings"] == ["redis: " + body["checks"]["redis"]["warning"]]

        server_conn = app.extensions["mailer_health_redis"]
        server_conn.config_set("appendonly", "yes")
        body = app.test_client().get("/readyz").json
        assert "warning" not in body["checks"]["redis"]
        assert "warnings" not in body

        server_conn.config_set("appendonly", "no")
        server_conn.config_set("save", "900 1")  # RDB snapshots are persistence too
        assert "warnings" not in app.test_client().get("/readyz").json
    finally:
        server.stop()


def test_redis_without_persistence_is_no_warning_in_development(app, make_app, tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    try:
        embedded = make_app(REDIS_URL=server.url, EMBEDDED=True)  # `make run`
        assert "warnings" not in embedded.test_client().get("/readyz").json
        debug = make_app(REDIS_URL=server.url, EMBEDDED=False, DEBUG=True)
        assert "warnings" not in debug.test_client().get("/readyz").json
    finally:
        server.stop()
