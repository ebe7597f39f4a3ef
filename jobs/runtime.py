"""What every job runs inside: an app context, a rollback on error, and failures whose texts
carry no user data (RQ keeps exception texts and rq-dashboard prints them)."""

from __future__ import annotations

import functools
import logging
import os
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from flask import Flask
from rq.timeouts import BaseTimeoutException

from mailer import create_app
from mailer.extensions import db
from mailer.queue import get_redis, set_worker_app, worker_app

_log = logging.getLogger(__name__)
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _app() -> Flask:
    app = worker_app()
    if app is None:  # a plain `rq worker`: build the app once per process
        app = create_app()
        set_worker_app(app)
    return app


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
        app = _app()
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


@contextmanager
def tick_lock(name: str, ttl: int = 55):
    """True inside when this run of a tick holds its lock: a tick run twice at once works once."""
    redis = get_redis()
    key = f"mailer:tick:{name}"
    if not redis.set(key, "1", nx=True, ex=ttl):
        yield False
        return
    try:
        yield True
    finally:
        redis.delete(key)
