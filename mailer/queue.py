"""RQ plumbing in one place: queue names, the Redis connection, enqueueing, the job wrapper.

Queues are separate so that a flood of one kind of work never starves another. One worker
process listens to all of them in PRIORITY order (`make run`); production runs dedicated worker
processes, e.g. one for `ticks feedback transactional` beside those for `send imports`, the way
mature mailers keep bounce processing beside sending.
"""

from __future__ import annotations

import functools
import logging
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, current_app, has_app_context
from rq import Queue
from rq.timeouts import BaseTimeoutException

from mailer.extensions import db

TICKS = "ticks"
FEEDBACK = "feedback"
TRANSACTIONAL = "transactional"
SEND = "send"
IMPORTS = "imports"
PRIORITY = (TICKS, FEEDBACK, TRANSACTIONAL, SEND, IMPORTS)

_log = logging.getLogger(__name__)
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def redis_url(app: Flask) -> str:
    """The configured Redis URL, or the embedded server's (started on first use)."""
    url = app.config.get("REDIS_URL")
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


# ---------------------------------------------------------------- running jobs

_worker_app: Flask | None = None


def set_worker_app(app: Flask) -> None:
    """Called by the worker command before it forks, so job children inherit a ready app."""
    global _worker_app
    _worker_app = app


def _app_for_job() -> Flask:
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from mailer import create_app

        _worker_app = create_app()
    return _worker_app


class JobError(Exception):
    """A job failure whose message names only ids and counts: RQ keeps it as it is."""


class JobFailed(JobError):
    """Stands in for any other exception out of a job, whose message may quote user data (an
    address, a line of an uploaded file): RQ stores exception texts and rq-dashboard prints
    them as HTML. This one names the exception's type and where it was raised; the original,
    message and all, is in the worker's log under the job's id."""


def app_job(func: Callable) -> Callable:
    """Run a job inside an app context; roll back and re-raise on error so RQ records it.

    Exceptions reach RQ without their message (see JobFailed), except JobError and RQ's own
    timeouts."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        app = _app_for_job()
        with app.app_context():
            _fresh_connections_after_fork(app)
            try:
                return func(*args, **kwargs)
            except (JobError, BaseTimeoutException):
                db.session.rollback()
                raise
            except Exception as exc:
                db.session.rollback()
                _log.exception("job %s failed", func.__qualname__)
                raise JobFailed(_failure(func, exc)) from None
            except BaseException:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    return wrapper


def _failure(func: Callable, exc: Exception) -> str:
    """E.g. 'jobs.x.f failed: ValueError at mailer/y.py:12 in g': no message, no user text."""
    kind = type(exc)
    where = ""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".py")]
    if frames:
        frame = frames[-1]
        path = os.path.relpath(frame.filename, _ROOT)
        where = f" at {path}:{frame.lineno} in {frame.name}"
    return (
        f"{func.__module__}.{func.__qualname__} failed: {kind.__module__}.{kind.__qualname__}"
        f"{where} (message withheld: see the worker's log for this job)"
    )


def _fresh_connections_after_fork(app: Flask) -> None:
    """A forked job child must not reuse the parent's pooled DB sockets."""
    owner = app.extensions.setdefault("mailer_pool_pid", os.getpid())
    if owner != os.getpid():
        db.engine.dispose(close=False)
        app.extensions["mailer_pool_pid"] = os.getpid()


def job_logger(name: str) -> logging.Logger:
    """A logger for job modules. Every line logged while a job runs carries its id: the
    record factory of :mod:`mailer.logging` stamps it (``[job …]`` in text, ``job_id`` in
    JSON), on these lines and on those of the services the job calls."""
    return logging.getLogger(name)


# ---------------------------------------------------------------- periodic ticks


@dataclass(frozen=True)
class Tick:
    """A periodic job run by rq-scheduler; `func` is a dotted path to an app_job."""

    name: str
    func: str
    interval: int  # seconds


TICKS_REGISTRY: list[Tick] = [
    Tick("heartbeat", "jobs.ticks.heartbeat", 60),
    Tick("campaigns", "jobs.ticks.campaigns_tick", 60),
    Tick("tracking-flush", "jobs.tracking.flush_events", 5),
    Tick("sqs-poll", "jobs.feedback.poll_sqs", 10),
    Tick("transactional", "jobs.ticks.transactional_tick", 5),
    Tick("webhooks-deliver", "jobs.webhooks_out.deliver_webhooks", 5),  # outbound webhooks
]
