"""Readiness: can this process serve? The database answers, Redis answers, the database
schema is at the migration scripts' head, and this host's keys are the ones the other hosts use
(a fingerprint stored in the database by the first host). In production (neither debug nor
``MAILER_EMBEDDED``) a Redis that keeps nothing on disk is a warning, not a failure.

Each check runs on a connection of its own with short timeouts (``MAILER_HEALTH_TIMEOUT``), so
a dead or black-holed server makes /readyz answer 503 within seconds instead of hanging the
probe; the app's own pools are neither used nor disturbed. Error texts are the driver's
message with any credentials in URLs masked, never a connection URL.
"""

from __future__ import annotations

import functools
import os
import re
import time
from dataclasses import asdict, dataclass

import redis
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask, current_app

from mailer.lib import secrets
from mailer.models.base import utcnow
from mailer.models.installation import KEY_FINGERPRINT, InstallationValue
from mailer.queue import redis_url

MAX_ERROR = 300
_URL_CREDENTIALS = re.compile(r"(\w+://[^:/@\s]*:)[^@\s]*@")


@dataclass
class Check:
    ok: bool
    ms: float
    error: str | None = None
    detail: dict | None = None
    warning: str | None = None  # worth an operator's look, but the process can serve


@dataclass
class Readiness:
    checks: dict[str, Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks.values())

    @property
    def failed(self) -> list[str]:
        return [name for name, check in self.checks.items() if not check.ok]

    @property
    def warnings(self) -> list[str]:
        return [f"{name}: {c.warning}" for name, c in self.checks.items() if c.warning]

    def as_dict(self) -> dict:
        checks = {
            name: {k: v for k, v in asdict(check).items() if v is not None}
            for name, check in self.checks.items()
        }
        body: dict = {"status": "ok" if self.ok else "unavailable", "checks": checks}
        if not self.ok:
            body["failed"] = self.failed
        if self.warnings:
            body["warnings"] = self.warnings
        return body


def readiness(app: Flask | None = None) -> Readiness:
    app = app or current_app._get_current_object()
    database, versions = _check_database(app)
    checks = {"database": database, "redis": _check_redis(app)}
    if versions is None:
        checks["migrations"] = Check(False, 0.0, "not checked: the database is unreachable")
        checks["keys"] = Check(False, 0.0, "not checked: the database is unreachable")
    else:
        checks["migrations"] = _check_migrations(app, versions)
        checks["keys"] = _check_keys(app)
    return Readiness(checks)


def production(app: Flask) -> bool:
    """Neither the debug server nor embedded mode (`make run` sets MAILER_EMBEDDED=1)."""
    return not (app.debug or app.config["EMBEDDED"])


# ---------------------------------------------------------------- database


def _check_database(app: Flask) -> tuple[Check, set[str] | None]:
    """SELECT 1, then the applied revisions (one round trip more on the same connection)."""
    started = time.perf_counter()
    try:
        with _health_engine(app).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            ms = _ms(started)
            versions = _applied_revisions(conn)
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return Check(False, _ms(started), safe_error(exc)), None
    return Check(True, ms), versions


def _applied_revisions(conn: sa.Connection) -> set[str]:
    if not sa.inspect(conn).has_table("alembic_version"):
        return set()
    return set(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))


def _health_engine(app: Flask) -> sa.Engine:
    """A one-connection engine for probes, with connect/read timeouts the app's pool lacks."""
    engine = app.extensions.get("mailer_health_engine")
    if engine is None:
        url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            from mailer.extensions import db

            return db.engine  # an in-memory database exists only in the app's own pool
        timeout = app.config["MAILER_HEALTH_TIMEOUT"]
        if url.get_backend_name() == "mysql":
            seconds = max(1, round(timeout))
            args = {"connect_timeout": seconds, "read_timeout": seconds, "write_timeout": seconds}
        elif url.get_backend_name() == "sqlite":
            args = {"timeout": timeout}
        else:
            args = {}
        engine = sa.create_engine(
            url,
            connect_args=args,
            pool_size=1,
            max_overflow=1,
            pool_timeout=timeout,  # probes queued behind a hung one give up as fast
            pool_pre_ping=True,
        )
        app.extensions["mailer_health_engine"] = engine
    return engine


# ---------------------------------------------------------------- redis


def _check_redis(app: Flask) -> Check:
    started = time.perf_counter()
    conn = _health_redis(app)
    try:
        conn.ping()
    except Exception as exc:  # noqa: BLE001
        return Check(False, _ms(started), safe_error(exc))
    ms = _ms(started)
    warning = _persistence_warning(conn) if production(app) else None
    return Check(True, ms, warning=warning)


def _persistence_warning(conn: redis.Redis) -> str | None:
    """Redis holds the queues, the tick schedule and buffered tracking hits: without RDB
    snapshots or an append-only file a restart loses them."""
    try:
        save = conn.config_get("save").get("save", "")
        appendonly = conn.config_get("appendonly").get("appendonly", "no")
    except Exception as exc:  # noqa: BLE001 - managed services may refuse CONFIG
        return (
            "could not read Redis's persistence settings (" + safe_error(exc) + "); make sure "
            "it saves to disk (appendonly yes, or RDB snapshots)"
        )
    if not save.strip() and appendonly != "yes":
        return (
            "Redis keeps nothing on disk (save is empty, appendonly is no): a restart loses "
            "queued jobs and buffered tracking hits. Set appendonly yes (or RDB snapshots)."
        )
    return None


def _health_redis(app: Flask) -> redis.Redis:
    conn = app.extensions.get("mailer_health_redis")
    if conn is None:
        timeout = app.config["MAILER_HEALTH_TIMEOUT"]
        conn = redis.Redis.from_url(
            redis_url(app),
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry_on_timeout=False,
        )
        app.extensions["mailer_health_redis"] = conn
    return conn


# ---------------------------------------------------------------- keys


def _check_keys(app: Flask) -> Check:
    """This host's key fingerprint against the one stored by the first host that checked."""
    started = time.perf_counter()
    mine = secrets.fingerprint(app.config["SECRET_KEY"], app.config["ENCRYPTION_KEY"])
    try:
        with _health_engine(app).connect() as conn:
            try:
                stored = _stored_fingerprint(conn, mine)
            except sa.exc.DBAPIError:
                conn.rollback()
                if sa.inspect(conn).has_table(InstallationValue.__tablename__):
                    raise
                return Check(False, _ms(started), "not checked: run `flask db upgrade`")
    except Exception as exc:  # noqa: BLE001
        return Check(False, _ms(started), safe_error(exc))
    if stored == mine:
        return Check(True, _ms(started))
    names = " and ".join(secrets.differing_keys(mine, stored))
    return Check(
        False,
        _ms(started),
        f"this host's {names} differ from the other hosts' (a fingerprint stored in the "
        "database): give every host the same values. If you changed the keys on every host "
        "on purpose, run `flask keys record` once.",
    )


def _stored_fingerprint(conn: sa.Connection, mine: str) -> str:
    """The stored fingerprint; the first host to ask stores its own."""
    table = InstallationValue.__table__
    query = sa.select(table.c.value).where(table.c.name == KEY_FINGERPRINT)
    stored = conn.scalar(query)
    if stored is None:
        insert = table.insert().values(name=KEY_FINGERPRINT, value=mine, updated_at=utcnow())
        if conn.dialect.name == "mysql":
            insert = insert.prefix_with("IGNORE")
        else:
            insert = insert.prefix_with("OR IGNORE")
        conn.execute(insert)
        conn.commit()
        stored = conn.scalar(query)
    return stored


def record_fingerprint(app: Flask) -> None:
    """Store this host's key fingerprint as the one every host must match (after the keys
    were changed on every host on purpose)."""
    mine = secrets.fingerprint(app.config["SECRET_KEY"], app.config["ENCRYPTION_KEY"])
    table = InstallationValue.__table__
    with _health_engine(app).begin() as conn:
        done = conn.execute(
            table.update()
            .where(table.c.name == KEY_FINGERPRINT)
            .values(value=mine, updated_at=utcnow())
        )
        if not done.rowcount:
            conn.execute(
                table.insert().values(name=KEY_FINGERPRINT, value=mine, updated_at=utcnow())
            )


# ---------------------------------------------------------------- migrations


def _check_migrations(app: Flask, applied: set[str]) -> Check:
    started = time.perf_counter()
    heads = migration_heads(migrations_directory(app))
    detail = {"current": sorted(applied), "head": sorted(heads)}
    if applied == heads:
        return Check(True, _ms(started), detail=detail)
    if not applied:
        error = "the database has no migration applied: run `flask db upgrade`"
    else:
        error = "the database is not at the migrations' head: run `flask db upgrade`"
    return Check(False, _ms(started), error, detail)


def migrations_directory(app: Flask) -> str:
    migrate = app.extensions.get("migrate")
    if migrate is not None:
        return os.path.abspath(migrate.directory)
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "migrations"))


@functools.cache
def migration_heads(directory: str) -> frozenset[str]:
    """The head revision(s) of the scripts: read once per process (scripts change on deploy)."""
    return frozenset(ScriptDirectory(directory).get_heads())


# ---------------------------------------------------------------- helpers


def safe_error(exc: BaseException) -> str:
    """The driver's own message (not SQLAlchemy's wrapper with SQL and links), credentials
    in any URL masked, bounded."""
    inner = getattr(exc, "orig", None) or exc
    text = f"{type(inner).__name__}: {inner}".strip()
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    return " ".join(text.split())[:MAX_ERROR]


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
