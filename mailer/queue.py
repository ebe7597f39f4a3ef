"""RQ plumbing in one place: queue names, the Redis connection, enqueueing, the job wrapper.

Queues are separate so that a flood of one kind of work never starves another. One worker
process listens to all of them in PRIORITY order (`make run`); production runs dedicated worker
processes, e.g. one for `ticks feedback transactional` beside those for `send imports`, the way
mature mailers keep bounce processing beside sending.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, current_app, has_app_context
from rq import Queue

from mailer.extensions import db

TICKS = "ticks"
FEEDBACK = "feedback"
TRANSACTIONAL = "transactional"
SEND = "send"
IMPORTS = "imports"
PRIORITY = (TICKS, FEEDBACK, TRANSACTIONAL, SEND, IMPORTS)

_log = logging.getLogger(__name__)


def redis_url(app: Flask) -> str:
    """The configured Redis URL, or the embedded server's (started on first use)."""
    url = app.config["REDIS_URL"]
    if url:
        return url
    from mailer import redis_embedded

    url = redis_embedded.ensure_running(os.path.join(app.instance_path, "redis"))
    app.config["REDIS_URL"] = url
    return url


def get_redis(app: Flask | None = None) -> redis.Redis:
    """One connection pool per app, created lazily so importing never connects."""
    app = app or current_app
    conn = app.extensions.get("mailer_redis")
    if conn is None:
        conn = redis.Redis.from_url(redis_url(app))
        app.extensions["mailer_redis"] = conn
    return conn


_thread_local = threading.local()


def thread_redis() -> redis.Redis:
    """This thread's own connection for the few Redis commands of every API request: it
    skips the pool's checkout and checkin (locks, a socket poll) around each command. Tied to
    the app's pool and this process, so a new app (tests) or a forked child never shares it."""
    pool = get_redis().connection_pool
    client = getattr(_thread_local, "client", None)
    if client is None or _thread_local.pool is not pool or _thread_local.pid != os.getpid():
        if client is not None and _thread_local.pid == os.getpid():
            client.close()  # back to its (old) pool
        client = redis.Redis(connection_pool=pool, single_connection_client=True)
        _thread_local.client, _thread_local.pool, _thread_local.pid = client, pool, os.getpid()
    return client


def lua_script(source: str) -> redis.commands.core.Script:
    """A Lua script registered once per app (run by its SHA; redis-py reloads it after a
    Redis restart)."""
    scripts = current_app.extensions.setdefault("mailer_lua_scripts", {})
    script = scripts.get(source)
    if script is None:
        script = scripts[source] = get_redis().register_script(source)
    return script


def get_queue(name: str) -> Queue:
    if name not in PRIORITY:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=get_redis())


def enqueue(queue_name: str, func: Callable | str, *args: Any, **kwargs: Any):
    """Commit the session, then enqueue: a fast worker must find the rows the job reads."""
    db.session.commit()
    return get_queue(queue_name).enqueue(func, *args, **kwargs)


# ---------------------------------------------------------------- the worker's app

_worker_app: Flask | None = None


def set_worker_app(app: Flask) -> None:
    """Called by the worker command before it forks, so job children inherit a ready app."""
    global _worker_app
    _worker_app = app


def worker_app() -> Flask | None:
    """The app a job runs in: the current one, else the worker's (None: build one)."""
    if has_app_context():
        return current_app._get_current_object()
    return _worker_app


def job_logger(name: str) -> logging.Logger:
    """A logger for job modules. Every line logged while a job runs carries its id: the
    record factory of :mod:`mailer.logging` stamps it (``[job …]`` in text, ``job_id`` in
    JSON), on these lines and on those of the services the job calls."""
    return logging.getLogger(name)


# ---------------------------------------------------------------- riding out a Redis outage

# What a lost or refused connection raises (redis-py's own retries have given up by then).
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class RedisOutage:
    """A long-running process's view of Redis: one log line when it goes away and one when it
    is back (never one per attempt), and a capped exponential backoff between attempts."""

    FIRST_WAIT = 0.5

    def __init__(self, who: str, max_wait: float, log: logging.Logger | None = None) -> None:
        self.who, self.max_wait, self.log = who, max_wait, log or _log
        self.down_since: float | None = None
        self.wait = self.FIRST_WAIT

    def lost(self, exc: BaseException) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            self.log.error(
                "%s: Redis unreachable (%s); retrying every %g s at most",
                self.who,
                type(exc).__name__,
                self.max_wait,
            )

    def back(self) -> None:
        if self.down_since is not None:
            self.log.warning(
                "%s: Redis reachable again after %.0f s",
                self.who,
                time.monotonic() - self.down_since,
            )
            self.down_since = None
        self.wait = self.FIRST_WAIT

    def pause(self) -> None:
        """Sleep before the next attempt: 0.5 s, doubling up to ``max_wait``."""
        time.sleep(self.wait)
        self.wait = min(self.wait * 2, self.max_wait)

    def wait_until_up(self, conn: redis.Redis) -> None:
        """Ping until Redis answers, pausing between attempts."""
        while True:
            try:
                conn.ping()
            except REDIS_DOWN as exc:
                self.lost(exc)
                self.pause()
                continue
            self.back()
            return
