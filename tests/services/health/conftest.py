"""Apps pointed at other databases or servers than the suite's, built the way production
builds them (create_app with settings), and closed after the test."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from config import TestConfig
from mailer import create_app
from mailer.extensions import db as _db


@pytest.fixture
def make_app(tmp_path, migrated, redis_url) -> Iterator[Callable[..., Flask]]:
    """create_app(TestConfig) on the suite's database and Redis unless told otherwise."""
    made: list[Flask] = []

    def _make(**overrides) -> Flask:
        settings = {
            "SQLALCHEMY_DATABASE_URI": migrated,
            "REDIS_URL": redis_url,
            "INSTANCE_PATH": str(tmp_path / f"instance-{len(made)}"),
        }
        settings.update(overrides)
        app = create_app(TestConfig, **settings)
        made.append(app)
        return app

    yield _make
    for app in made:
        with app.app_context():
            _db.engine.dispose()
        engine = app.extensions.get("mailer_health_engine")
        if engine is not None:
            engine.dispose()


@pytest.fixture(scope="session")
def database_at_0003(tmp_path_factory, redis_url) -> str:
    """A SQLite database migrated to 0003 only: behind the head, and without the outbound
    webhook tables (0004)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('behind') / 'behind.db'}"
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=url,
        REDIS_URL=redis_url,
        INSTANCE_PATH=str(tmp_path_factory.mktemp("behind-instance")),
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(revision="0003")
        _db.engine.dispose()
    return url


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A local port that accepts connections and never says a word: a hung server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]
