"""Provider-like HTTP servers on 127.0.0.1, for tests and benchmarks.

Each server runs an aiohttp application on its own event loop in a background thread, bound to
an ephemeral port. Subclasses implement one provider's documented send endpoint: they check
the authentication header and the request shape, and answer with the documented success body
or error body. Everything a server received is recorded (unless ``record=False``, for long
benchmarks) and it can be told to misbehave:

* ``fail(status, times=1, retry_after=None)`` answers the provider's documented error body for
  that status (400 validation error, 401, 429 with Retry-After, 500, 503, ...);
* ``hang(seconds, times=1)`` holds the request (until ``seconds`` pass or the server stops);
* ``reject(address)`` fails whatever is addressed to that recipient, the way the provider
  reports a bad address (per message where the provider answers per message);
* ``latency`` (seconds) delays every answer, like a provider on the far side of the internet.

Use as a context manager: ``with BrevoServer(latency=0.05) as server: server.endpoint_url``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from aiohttp import web
from multidict import CIMultiDict

LISTEN_BACKLOG = 1024  # connections waiting to be accepted (the kernel caps it at somaxconn)

__all__ = ["ProviderServer", "Received", "Reply", "basic_auth"]


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: CIMultiDict[str]
    body: bytes = b""
    json: Any = None
    form: dict[str, list[str]] | None = None
    received_at: float = field(default_factory=time.monotonic)  # for rate checks
    # file parts of a multipart form, by field name: (file name, content type, bytes)
    files: dict[str, list[tuple[str, str, bytes]]] = field(default_factory=dict)

    def field(self, name: str) -> str | None:
        """First value of a form field (multipart or urlencoded requests)."""
        values = (self.form or {}).get(name)
        return values[0] if values else None


@dataclass
class Reply:
    status: int
    body: Any = None  # dict/list -> JSON, str/bytes -> as is, None -> empty
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> web.Response:
        if isinstance(self.body, dict | list):
            return web.json_response(self.body, status=self.status, headers=self.headers)
        if isinstance(self.body, str):
            return web.Response(text=self.body, status=self.status, headers=self.headers)
        return web.Response(body=self.body or b"", status=self.status, headers=self.headers)


@dataclass
class _Fault:
    status: int | None  # None: hang
    seconds: float = 0.0
    retry_after: str | None = None
    remaining: int | None = 1  # None: until clear_faults()


class ProviderServer:
    """Base class: lifecycle, recording, faults. Subclasses implement ``handle``."""

    name: ClassVar[str] = "provider"

    def __init__(
        self,
        *,
        latency: float = 0.0,
        record: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.latency = latency
        self.record = record
        self.host = host
        self.port = port
        self.requests: list[Received] = []
        self.request_count = 0
        self.accepted = 0  # messages accepted, however many requests carried them
        self.in_flight = 0  # requests being answered now, and the most seen at once
        self.max_in_flight = 0
        self.rejected: dict[str, int] = {}  # address -> HTTP status to fail it with
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._startup_error: BaseException | None = None

    # -- what a subclass provides -------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        """The base URL to give the provider adapter as ``endpoint_url``."""
        return self.url

    def handle(self, req: Received) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def error_reply(self, status: int, retry_after: str | None = None) -> Reply:
        """The provider's documented error answer for ``status``."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return Reply(status, {"message": f"error {status}"}, headers)

    # -- controls -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def fail(
        self, status: int, *, times: int | None = 1, retry_after: float | str | None = None
    ) -> None:
        """Answer the next ``times`` requests (None: all) with the documented error."""
        after = None if retry_after is None else str(retry_after)
        with self._lock:
            self._faults.append(_Fault(status, retry_after=after, remaining=times))

    def hang(self, seconds: float = 30.0, *, times: int | None = 1) -> None:
        """Hold the next ``times`` requests for ``seconds`` (or until the server stops)."""
        with self._lock:
            self._faults.append(_Fault(None, seconds=seconds, remaining=times))

    def reject(self, address: str, status: int = 400) -> None:
        """Fail messages to ``address`` the way the provider reports a bad recipient."""
        self.rejected[address.lower()] = status

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
        self.rejected.clear()

    def reset(self) -> None:
        self.clear_faults()
        self.requests.clear()
        self.request_count = 0
        self.accepted = 0

    def _next_fault(self) -> _Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.pop(0)
            return fault

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} already running")
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=f"{self.name}-server", daemon=True
        )
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise self._startup_error
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        loop = self._loop
        loop.call_soon_threadsafe(self._begin_stop)
        self._thread.join(30)
        self._thread = None
        self._loop = None

    def _begin_stop(self) -> None:
        assert self._stopping is not None and self._loop is not None
        self._stopping.set()  # wakes hanging handlers
        self._loop.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        try:
            loop.run_until_complete(runner.setup())
            # A provider's front end takes a sender's connections all at once; aiohttp's
            # default listen queue (128) overflows when a channel opens its 500, and every SYN
            # the kernel drops costs that connection a 1 s retransmit.
            site = web.TCPSite(runner, self.host, self.port, backlog=LISTEN_BACKLOG)
            loop.run_until_complete(site.start())
            self.port = runner.addresses[0][1]
        except BaseException as exc:  # e.g. port in use: report it to start()
            self._startup_error = exc
            loop.run_until_complete(runner.cleanup())
            loop.close()
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = b""
        form: dict[str, list[str]] | None = None
        files: dict[str, list[tuple[str, str, bytes]]] = {}
        parsed: Any = None
        if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            post = await request.post()
            form = {}
            for key, value in post.items():
                if isinstance(value, web.FileField):
                    upload = (value.filename, value.content_type, value.file.read())
                    files.setdefault(key, []).append(upload)
                else:
                    form.setdefault(key, []).append(str(value))
        else:
            body = await request.read()
            if request.content_type == "application/json" and body:
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
        received = Received(
            method=request.method,
            path=request.path,
            headers=CIMultiDict(request.headers),
            body=body,
            json=parsed,
            form=form,
            files=files,
        )
        self.request_count += 1
        if self.record:
            self.requests.append(received)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        fault = self._next_fault()
        if fault is not None and fault.status is None:
            assert self._stopping is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), fault.seconds)
        elif fault is not None:
            return self.error_reply(fault.status, fault.retry_after).response()
        return self.handle(received).response()


def basic_auth(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """(user, password) from an ``Authorization: Basic`` header."""
    value = headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(token).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password
