"""Log lines that can be followed: a request id on every line of a request, the job id on every
line of an RQ job, and JSON lines for production (``MAILER_LOG_FORMAT=json``).

The request id is the caller's ``X-Request-ID`` when it looks like an id, else a fresh one, and
is echoed in the response. Nothing logged carries headers, query strings or bodies, and token
segments of paths (tracking links, webhook URLs) are masked, in access lines and in the
development server's request lines alike.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_request_context, request
from rq import get_current_job

FORMATS = ("text", "json")
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}", re.ASCII)
# Route arguments whose values are credentials of a kind: never written to a log.
SECRET_ARGS = frozenset({"token", "key", "secret", "signature"})
MASK = "***"
LONG_SEGMENT = 16  # tokens are longer; words in our own URLs are shorter
ACCESS_LOGGER = "mailer.access"

# Everything a LogRecord has by itself; anything else on a record came from `extra`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# Record attributes set for every line, under names no `extra` uses (RQ passes job_id);
# the JSON keys are the short names.
_CONTEXT = {"mailer_request_id": "request_id", "mailer_job_id": "job_id"}


def init_app(app: Flask) -> None:
    """Configure the root logger for this process and stamp ids on requests.

    Call first in the factory: the request id is set by the app's first before_request hook,
    so it exists even when a later hook answers early (login redirect, 403, 429).
    """
    fmt = (app.config["MAILER_LOG_FORMAT"] or "text").lower()
    if fmt not in FORMATS:
        raise ValueError(f"MAILER_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    configure(fmt, app.config["LOG_LEVEL"])
    # Flask's own handler on the app logger would print every line twice.
    from flask.logging import default_handler

    logging.getLogger(app.name).removeHandler(default_handler)
    app.config["MAILER_LOG_FORMAT"] = fmt

    app.before_request(_start_request)
    app.after_request(_finish_request)
    _mask_dev_server_lines(app)


def configure(fmt: str, level: str | int = "INFO") -> None:
    """One handler on the root logger, replaced (not duplicated) when called again."""
    _install_record_factory()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StderrHandler):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # Access lines are written whatever LOG_LEVEL says (JSON mode only writes them).
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


# ---------------------------------------------------------------- context on every record

_base_factory = logging.getLogRecordFactory()


def _record_with_context(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.mailer_request_id = current_request_id()
    job = get_current_job()
    record.mailer_job_id = job.id if job is not None else None
    return record


def _install_record_factory() -> None:
    if logging.getLogRecordFactory() is not _record_with_context:
        global _base_factory
        _base_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_record_with_context)


def current_request_id() -> str | None:
    """This request's id (made on first use), or None outside a request."""
    if not has_request_context():
        return None
    rid = g.get("request_id")
    if rid is None:
        rid = g.request_id = _request_id_from(request.headers.get(REQUEST_ID_HEADER))
    return rid


def _request_id_from(incoming: str | None) -> str:
    if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


# ---------------------------------------------------------------- request hooks


def _start_request() -> None:
    g.request_started = time.perf_counter()
    current_request_id()


def _finish_request(response: Response) -> Response:
    rid = current_request_id()
    if rid:
        response.headers[REQUEST_ID_HEADER] = rid
    if current_app.config["MAILER_LOG_FORMAT"] == "json":
        _access_line(response)
    return response


def _access_line(response: Response) -> None:
    started = g.get("request_started")
    fields: dict[str, Any] = {
        "method": request.method,
        "path": loggable_path(),
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
    }
    # Only what this request already loaded: never a query just to write a log line (a view
    # that committed has expired its objects; reading an attribute would reload the row).
    user = g.get("_login_user")  # the anonymous user is not a mapped object: no id
    user_id = _loaded(user, "id") if sa.inspect(user, raiseerr=False) is not None else None
    if user_id is not None:
        fields["user_id"] = user_id
    api_key = g.get("api_key")
    if api_key is not None:
        prefix = _loaded(api_key, "prefix")
        if prefix:
            fields["api_key"] = prefix
        else:
            fields["api_key_id"] = _loaded(api_key, "id")
    logging.getLogger(ACCESS_LOGGER).info(
        "%s %s %s", fields["method"], fields["path"], fields["status"], extra={"http": fields}
    )


def _loaded(obj: Any, attribute: str) -> Any:
    """A mapped object's attribute if loaded (its primary key always is), without I/O."""
    state = sa.inspect(obj, raiseerr=False)
    if state is None:
        return getattr(obj, attribute, None)
    value = state.dict.get(attribute)
    if value is None and attribute == "id" and state.identity:
        value = state.identity[0]
    return value


def loggable_path() -> str:
    """This request's path as logs show it (see mask_path)."""
    return mask_path(request.path, request.view_args)


def mask_path(path: str, view_args: dict[str, Any] | None) -> str:
    """The path (without query string) with token-like route arguments masked. A path that
    matched no route (404, 405) has no named arguments: its long segments are masked."""
    if view_args is None:
        return "/".join(MASK if len(part) >= LONG_SEGMENT else part for part in path.split("/"))
    for name, value in view_args.items():
        if name in SECRET_ARGS and isinstance(value, str) and value:
            path = path.replace(value, MASK)
    return path


# ---------------------------------------------------------------- the development server

# What werkzeug's request line shows: method, path (with any query string), protocol.
_REQUEST_LINE = re.compile(r"(?P<method>[A-Z]+) (?P<target>\S+) (?P<protocol>HTTP/[0-9.]+)")


class _DevServerMask(logging.Filter):
    """Rewrites the development server's request lines (logger ``werkzeug``): the path is
    matched against the app's routes and masked by mask_path; the query string is dropped."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.adapter = app.url_map.bind("localhost")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _REQUEST_LINE.sub(self._masked, a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _REQUEST_LINE.sub(self._masked, record.msg)
        return True

    def _masked(self, line: re.Match) -> str:
        path = line["target"].split("?", 1)[0]
        try:
            view_args: dict[str, Any] | None = self.adapter.match(path, line["method"])[1]
        except Exception:  # 404, 405, a redirect: no route arguments
            view_args = None
        return f"{line['method']} {mask_path(path, view_args)} {line['protocol']}"


def _mask_dev_server_lines(app: Flask) -> None:
    werkzeug = logging.getLogger("werkzeug")
    for old in [f for f in werkzeug.filters if isinstance(f, _DevServerMask)]:
        werkzeug.removeFilter(old)  # the latest app's routes (tests build many apps)
    werkzeug.addFilter(_DevServerMask(app))


# ---------------------------------------------------------------- formatters


class TextFormatter(logging.Formatter):
    """Human lines for development: time, level, logger, [req …]/[job …], message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(mailer_context)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        context = ""
        request_id = getattr(record, "mailer_request_id", None)
        job_id = getattr(record, "mailer_job_id", None)
        if request_id:
            context += f" [req {request_id}]"
        if job_id:
            context += f" [job {job_id}]"
        record.mailer_context = context
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id/job_id when set,
    fields given through ``extra``, and the traceback as ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for attribute, key in _CONTEXT.items():
            value = getattr(record, attribute, None)
            if value:
                line[key] = value
        for name, value in record.__dict__.items():
            if name not in _STANDARD and name not in _CONTEXT and name != "mailer_context":
                line[name] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)
