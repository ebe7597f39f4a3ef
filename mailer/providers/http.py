"""A lean HTTP/1.1 client on asyncio for the HTTP API providers.

:class:`HttpClient` keeps a keep-alive pool per host and reads each answer in full, with one
deadline per request; it does only what the providers need (why not aiohttp:
docs/architecture.md, "Providers"). Also the request body encoders the providers use.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import ssl
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit

__all__ = [
    "BadAnswer",
    "FilePart",
    "Headers",
    "HttpClient",
    "Response",
    "basic_auth",
    "compact_json",
    "encode_json",
    "encode_multipart",
]

MAX_HEAD = 64 * 1024  # status line + headers; more is not an API answer
MAX_LINE = 8 * 1024  # one chunk-size or trailer line
_CRLF = b"\r\n"
_HEAD_END = b"\r\n\r\n"
_HEX = b"0123456789abcdefABCDEF"


class BadAnswer(ConnectionError):
    """The server's answer was not valid HTTP/1.x (or the connection carried stray bytes)."""


class Headers(dict[str, str]):
    """Response headers, looked up case-insensitively (names are stored in lower case).

    A repeated header's values are joined with ", " (RFC 9110 section 5.3).
    """

    __slots__ = ()

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, name.lower())

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, name.lower(), default)


class Response:
    """An answer read in full."""

    __slots__ = ("body", "headers", "status", "version")

    def __init__(self, status: int, version: str, headers: Headers, body: bytes) -> None:
        self.status = status
        self.version = version  # "1.1" or "1.0"
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"<Response {self.status} HTTP/{self.version} {len(self.body)} bytes>"


def basic_auth(user: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic authentication (RFC 7617, UTF-8)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


# json.dumps with any option builds a new encoder per call; this one is built once (encoding
# keeps no state in it, so threads can share it).
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def compact_json(value: Any) -> str:
    """``json.dumps(value, separators=(",", ":"))``, without building an encoder per call."""
    return _COMPACT.encode(value)


def encode_json(value: Any) -> tuple[bytes, str]:
    """(body, content type) of a JSON request: compact, non-ASCII as \\u escapes (valid JSON
    every provider accepts, and ASCII text is the cheapest to encode)."""
    return _COMPACT.encode(value).encode("ascii"), "application/json"


def _quote_name(name: str) -> str:
    # RFC 7578 section 4.2 / the HTML form encoding: escape what would end the quoted string.
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class FilePart(NamedTuple):
    """A file field of a multipart form: its file name, content type and bytes."""

    filename: str
    content_type: str
    content: bytes


def encode_multipart(fields: Iterable[tuple[str, str | FilePart]]) -> tuple[bytes, str]:
    """(body, content type) of a ``multipart/form-data`` request (RFC 7578).

    Text parts say ``text/plain; charset=utf-8`` so non-ASCII values arrive as written; a
    :class:`FilePart` goes with its file name and content type. The boundary is random per
    request and checked against the values.
    """
    heads, values = [], []
    for name, value in fields:
        head = b'\r\nContent-Disposition: form-data; name="' + _quote_name(name).encode() + b'"'
        if isinstance(value, FilePart):
            head += b'; filename="' + _quote_name(value.filename).encode() + b'"'
            head += b"\r\nContent-Type: " + _quote_name(value.content_type).encode()
            values.append(value.content)
        else:
            head += b"\r\nContent-Type: text/plain; charset=utf-8"
            values.append(value.encode())
        heads.append(head + b"\r\n\r\n")
    while True:
        boundary = secrets.token_hex(16)
        marker = boundary.encode("ascii")
        if not any(marker in value for value in values):
            break
    dash = b"--" + marker
    parts = [dash + head + value + _CRLF for head, value in zip(heads, values, strict=True)]
    parts.append(dash + b"--\r\n")
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _header_block(headers: Mapping[str, str]) -> bytes:
    lines = []
    for name, value in headers.items():
        if not name or any(c in name for c in ":\r\n ") or "\r" in value or "\n" in value:
            raise ValueError(f"invalid HTTP header {name!r}")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1")


class _Connection(asyncio.Protocol):
    """One keep-alive connection and the parser of the answer to its current request.

    The parser reads the status line, the headers (case-insensitive) and a body delimited by
    Content-Length, chunked transfer coding or the end of the connection; HTTP/1.0 answers,
    ``Connection: close`` and 1xx interim answers are handled.
    """

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.closed = False  # EOF, reset, close(): never to be used again
        self.reusable = True  # False once an answer said close or was read until EOF
        self.answer_started = False  # any byte of the current request's answer arrived
        self.waiter: asyncio.Future[Response] | None = None
        self._buffer = bytearray()
        self._head: tuple[int, str, Headers] | None = None  # parsed, awaiting the body
        self._length = -1  # body by Content-Length; -1 chunked, -2 until EOF
        self._chunks: list[bytes] = []
        self._chunk_left = 0  # bytes of the current chunk still to read (+2 for its CRLF)
        self._trailers = False  # the last chunk was seen; reading trailers

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():
            # Bytes nobody asked for: the connection's framing can not be trusted any more.
            self.abort()
            return
        self.answer_started = True
        self._buffer += data
        try:
            response = self._parse()
        except BadAnswer as exc:
            self._fail(exc)
            self.abort()
            return
        if response is not None:
            if self._buffer:  # more than one answer: stray bytes
                self.reusable = False
            self.waiter.set_result(response)

    def eof_received(self) -> bool:
        self._lost(None)
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost(exc)

    # -- control ------------------------------------------------------------------------------

    def send(self, data: bytes, waiter: asyncio.Future[Response]) -> None:
        assert self.transport is not None
        self.waiter = waiter
        self.answer_started = False
        self._buffer.clear()
        self._head = None
        self.transport.write(data)

    def expire(self) -> None:
        """The request's deadline passed: fail it and drop the connection."""
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(TimeoutError())
        self.abort()

    def abort(self) -> None:
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()

    def _lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        self.pool.forget(self)
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self._head is not None and self._length == -2:
            # A body delimited by the end of the connection is complete now.
            status, version, headers = self._head
            waiter.set_result(Response(status, version, headers, bytes(self._buffer)))
        elif exc is not None:
            waiter.set_exception(exc)
        elif self.answer_started:
            waiter.set_exception(BadAnswer("the server closed the connection mid-answer"))
        else:
            waiter.set_exception(ConnectionResetError("the server closed the connection"))

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    # -- parsing ------------------------------------------------------------------------------

    def _parse(self) -> Response | None:
        """The complete answer when the buffer holds it, else None (wait for more bytes)."""
        buf = self._buffer
        while self._head is None:
            end = buf.find(_HEAD_END)
            if end < 0:
                if len(buf) > MAX_HEAD:
                    raise BadAnswer("answer headers too long")
                return None
            head = bytes(buf[:end])
            del buf[: end + 4]
            status, version, headers = _parse_head(head)
            if 100 <= status < 200:
                continue  # interim answer (100 Continue, 103 Early Hints): the real one follows
            self._head = (status, version, headers)
            connection = headers.get("connection", "").lower()
            if (version == "1.0" and "keep-alive" not in connection) or "close" in connection:
                self.reusable = False
            if status in (204, 304):
                self._length = 0
            elif "chunked" in headers.get("transfer-encoding", "").lower():
                self._length = -1
                self._chunks = []
                self._chunk_left = 0
                self._trailers = False
            elif "content-length" in headers:
                self._length = _content_length(headers["content-length"])
            else:
                self._length = -2
                self.reusable = False
        length = self._length
        if length >= 0:
            if len(buf) < length:
                return None
            body = bytes(buf[:length])
            del buf[:length]
        elif length == -1:
            chunked = self._parse_chunks()
            if chunked is None:
                return None
            body = chunked
        else:
            return None  # until EOF: _lost completes it
        status, version, headers = self._head
        self._head = None
        return Response(status, version, headers, body)

    def _parse_chunks(self) -> bytes | None:
        buf = self._buffer
        while True:
            if self._trailers:
                end = buf.find(_CRLF)
                if end < 0:
                    if len(buf) > MAX_LINE:
                        raise BadAnswer("trailer line too long")
                    return None
                del buf[: end + 2]
                if end == 0:  # the empty line after the trailers: done
                    return b"".join(self._chunks)
                continue
            if self._chunk_left:
                take = min(self._chunk_left - 2, len(buf))
                if take > 0:
                    self._chunks.append(bytes(buf[:take]))
                    del buf[:take]
                    self._chunk_left -= take
                if self._chunk_left > 2 or len(buf) < 2:
                    return None
                if buf[:2] != _CRLF:
                    raise BadAnswer("chunk not followed by CRLF")
                del buf[:2]
                self._chunk_left = 0
                continue
            end = buf.find(_CRLF)
            if end < 0:
                if len(buf) > MAX_LINE:
                    raise BadAnswer("chunk size line too long")
                return None
            line = bytes(buf[:end]).split(b";", 1)[0].strip()
            del buf[: end + 2]
            if not line or line.strip(_HEX):  # int() would also take "0x", "+", "_"
                raise BadAnswer("bad chunk size")
            size = int(line, 16)
            if size == 0:
                self._trailers = True
            else:
                self._chunk_left = size + 2


def _parse_head(head: bytes) -> tuple[int, str, Headers]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise BadAnswer("undecodable headers") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or parts[0] not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadAnswer("not an HTTP/1.x status line")
    code = parts[1]
    if len(code) != 3 or not code.isdigit():
        raise BadAnswer("bad status code")
    headers = Headers()
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadAnswer("bad header line")
        name = name.lower()
        value = value.strip()
        old = dict.get(headers, name)
        dict.__setitem__(headers, name, value if old is None else f"{old}, {value}")
    return int(code), parts[0][5:], headers


def _content_length(value: str) -> int:
    # Repeated identical values ("12, 12") are allowed (RFC 9110 section 8.6).
    values = {v.strip() for v in value.split(",")}
    if len(values) != 1:
        raise BadAnswer("conflicting Content-Length")
    [text] = values
    if not text.isdigit():
        raise BadAnswer("bad Content-Length")
    return int(text)


class _Pool:
    """The connections to one scheme/host/port: at most ``concurrency`` open, reused with
    keep-alive, idle ones LIFO (the most recently used first, so an idle server-side timeout
    closes the spare ones rather than the busy ones)."""

    def __init__(self, client: HttpClient, scheme: str, host: str, port: int) -> None:
        self.client = client
        self.host = host
        self.port = port
        self.tls = scheme == "https"
        default_port = 443 if self.tls else 80
        name = f"[{host}]" if ":" in host else host
        self.host_header = name if port == default_port else f"{name}:{port}"
        self.slots = asyncio.Semaphore(client.concurrency)
        self.idle: list[_Connection] = []
        self.open: set[_Connection] = set()
        self.heads: dict[tuple[str, str, str], bytes] = {}

    def head(self, method: str, target: str, content_type: str) -> bytes:
        """The request head up to (not including) Content-Length, built once per method, path
        and content type: Host, User-Agent, Accept, auth and the provider's static headers."""
        key = (method, target, content_type)
        head = self.heads.get(key)
        if head is None:
            if any(c in target for c in " \r\n") or any(c in content_type for c in "\r\n"):
                raise ValueError("invalid request target or content type")
            head = (
                f"{method} {target} HTTP/1.1\r\nHost: {self.host_header}\r\n".encode("latin-1")
                + self.client.header_block
                + f"Content-Type: {content_type}\r\n".encode("latin-1")
            )
            self.heads[key] = head
        return head

    async def connect(self, loop: asyncio.AbstractEventLoop, timeout: float) -> _Connection:
        """A new connection, within ``timeout`` seconds."""
        ssl_context = self.client.ssl_context() if self.tls else None
        conn = _Connection(self)
        self.open.add(conn)
        try:
            async with asyncio.timeout(timeout):
                await loop.create_connection(
                    lambda: conn,
                    self.host,
                    self.port,
                    ssl=ssl_context,
                    server_hostname=self.host if ssl_context else None,
                )
        except BaseException:
            conn.abort()
            self.open.discard(conn)
            raise
        return conn

    def take_idle(self) -> _Connection | None:
        """The most recently used idle connection still open (closed ones are dropped)."""
        idle = self.idle
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return None

    def release(self, conn: _Connection) -> None:
        if conn.reusable and not conn.closed and not self.client.closed:
            conn.waiter = None
            self.idle.append(conn)
        else:
            conn.abort()
            self.open.discard(conn)

    def forget(self, conn: _Connection) -> None:
        self.open.discard(conn)
        with contextlib.suppress(ValueError):
            self.idle.remove(conn)

    def close(self) -> None:
        for conn in list(self.open):
            conn.abort()
        self.open.clear()
        self.idle.clear()


class HttpClient:
    """A small HTTP/1.1 client: keep-alive pools, one deadline per request.

    ``headers`` are sent with every request (User-Agent, Accept, authentication, ...).
    ``timeout`` covers connect, send and the whole answer, from when the request has a
    connection slot (waiting for a free connection is not the provider's slowness).
    ``ssl_context`` replaces the default verifying context (tests pass one that trusts their
    self-signed certificate). Everything runs on one event loop; a client must be used from
    that loop's thread only.
    """

    def __init__(
        self,
        headers: Mapping[str, str],
        *,
        concurrency: int = 8,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if concurrency < 1 or timeout <= 0:
            raise ValueError("concurrency must be at least 1 and timeout positive")
        self.header_block = _header_block(headers)
        self.concurrency = concurrency
        self.timeout = timeout
        self.closed = False
        self._ssl_context = ssl_context
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        self._targets: dict[str, tuple[_Pool, str]] = {}

    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _target(self, url: str) -> tuple[_Pool, str]:
        found = self._targets.get(url)
        if found is None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {url!r}")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            key = (parts.scheme, parts.hostname, port)
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = _Pool(self, parts.scheme, parts.hostname, port)
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
            found = self._targets[url] = (pool, target)
        return found

    async def request(
        self, method: str, url: str, body: bytes = b"", content_type: str = "application/json"
    ) -> Response:
        """Send one request and read its answer in full.

        Errors, which the provider maps to transient results: :class:`TimeoutError` when the
        deadline passes (the connection is dropped, never reused), :class:`OSError`
        (:class:`ConnectionError` and its subclasses, :class:`ssl.SSLError`) when the
        connection fails, and :class:`BadAnswer` (a ``ConnectionError``) for something that
        is not HTTP/1.x.
        """
        if self.closed:
            raise ConnectionAbortedError("the HTTP client is closed")
        pool, target = self._target(url)
        data = b"".join(
            (
                pool.head(method, target, content_type),
                b"Content-Length: %d\r\n\r\n" % len(body),
                body,
            )
        )
        loop = asyncio.get_running_loop()
        async with pool.slots:
            deadline = loop.time() + self.timeout
            conn = pool.take_idle()
            if conn is not None:
                try:
                    return await self._exchange(loop, pool, conn, data, deadline)
                except (ConnectionResetError, BrokenPipeError):
                    # A reused keep-alive connection failed before any byte of the answer
                    # came back: the server closed it (its idle timeout) while the request was
                    # on its way, so it most likely never read it. Retry once on a fresh
                    # connection, as urllib3 and aiohttp do for stale keep-alive sockets. Even
                    # when the server did process it, the result without a retry would be a
                    # transient error the campaign engine retries anyway; this only spares the
                    # recipient the backoff delay.
                    if conn.answer_started:
                        raise
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError()
            conn = await pool.connect(loop, remaining)
            return await self._exchange(loop, pool, conn, data, deadline)

    async def _exchange(
        self,
        loop: asyncio.AbstractEventLoop,
        pool: _Pool,
        conn: _Connection,
        data: bytes,
        deadline: float,
    ) -> Response:
        waiter: asyncio.Future[Response] = loop.create_future()
        timer = loop.call_at(deadline, conn.expire)
        done = False
        try:
            conn.send(data, waiter)
            response = await waiter
            done = True
            return response
        finally:
            timer.cancel()
            if done:
                pool.release(conn)
            else:  # failed, timed out or cancelled: the connection's state is unknown
                conn.abort()
                pool.forget(conn)

    def close(self) -> None:
        """Close every connection; requests afterwards fail. Call on the loop's thread."""
        self.closed = True
        for pool in self._pools.values():
            pool.close()
