"""The providers' HTTP/1.1 client against raw local servers that answer byte by byte as told:
framing (Content-Length, chunked, until close), keep-alive and its failure modes, timeouts,
malformed answers and HTTPS."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mailer.providers import ProviderError, make_provider
from mailer.providers.http import BadAnswer, HttpClient, encode_multipart
from tests.fixtures.providers import message
from tests.servers.tls import self_signed, server_context

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Peer:
    """One accepted connection, seen from the server side."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = b""

    def read_request(self) -> bytes | None:
        """One request (head and body), or None when the client closed the connection."""
        while b"\r\n\r\n" not in self._buf:
            data = self._recv()
            if not data:
                return None
            self._buf += data
        head, _, rest = self._buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            data = self._recv()
            if not data:
                return None
            rest += data
        self._buf = rest[length:]
        return head + b"\r\n\r\n" + rest[:length]

    def _recv(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except OSError:
            return b""

    def send(self, *parts: bytes, pause: float = 0.0) -> None:
        for part in parts:
            self.sock.sendall(part)
            if pause:
                time.sleep(pause)


class RawServer:
    """A TCP (or TLS) server on 127.0.0.1 running ``handler(peer)`` per connection in a thread.

    Records every request and how many connections were made.
    """

    def __init__(
        self, handler: Callable[[Peer, RawServer], None], tls: ssl.SSLContext | None = None
    ) -> None:
        self.handler = handler
        self.tls = tls
        self.requests: list[bytes] = []
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.peers: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def request(self, peer: Peer) -> bytes | None:
        req = peer.read_request()
        if req is not None:
            with self.lock:
                self.requests.append(req)
        return req

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.open_now += 1
                self.most_open = max(self.most_open, self.open_now)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            if self.tls is not None:
                sock.settimeout(5)
                sock = self.tls.wrap_socket(sock, server_side=True)
                sock.settimeout(None)
            self.peers.append(sock)
            self.handler(Peer(sock), self)
        except OSError:
            pass
        finally:
            with self.lock:
                self.open_now -= 1
            sock.close()

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        for sock in self.peers:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(5)


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def _serve(handler: Callable[[Peer, RawServer], None], **kw: Any) -> RawServer:
        servers.append(RawServer(handler, **kw))
        return servers[-1]

    yield _serve
    for srv in servers:
        srv.stop()


def keep_alive(answer: bytes = OK) -> Callable[[Peer, RawServer], None]:
    """A handler answering every request on the connection with ``answer``."""

    def handler(peer: Peer, srv: RawServer) -> None:
        while srv.request(peer) is not None:
            peer.send(answer)

    return handler


def run(coro_fn: Callable[[], Any]) -> Any:
    return asyncio.run(coro_fn())


def post_all(client: HttpClient, url: str, n: int, *, sequential: bool = True) -> list[Any]:
    """Send n POSTs; each outcome is a Response or the exception raised."""

    async def go() -> list[Any]:
        async def one(i: int) -> Any:
            try:
                return await client.request("POST", url + "/send", b'{"i":%d}' % i)
            except Exception as exc:
                return exc

        try:
            if sequential:
                return [await one(i) for i in range(n)]
            return await asyncio.gather(*(one(i) for i in range(n)))
        finally:
            client.close()

    return run(go)


def test_keep_alive_reuses_one_connection_and_sends_the_headers(serve):
    srv = serve(
        keep_alive(
            b"HTTP/1.1 201 Created\r\nX-Message-Id: <a@b>\r\nSet-Cookie: a=1\r\n"
            b"set-cookie: b=2\r\nContent-Length: 5\r\n\r\nhello"
        )
    )
    client = HttpClient({"User-Agent": "t", "api-key": "k1"}, concurrency=4, timeout=5)
    answers = post_all(client, srv.url, 3)
    assert [a.status for a in answers] == [201, 201, 201]
    assert answers[0].body == b"hello"
    assert answers[0].headers.get("x-message-id") == "<a@b>"
    assert answers[0].headers["X-MESSAGE-ID"] == "<a@b>"
    assert answers[0].headers.get("Set-Cookie") == "a=1, b=2"
    assert srv.connections == 1
    head, _, body = srv.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /send HTTP/1.1"
    assert f"Host: 127.0.0.1:{srv.port}".encode() in lines
    assert b"api-key: k1" in lines and b"Content-Length: 7" in lines
    assert b"Content-Type: application/json" in lines
    assert body == b'{"i":0}'


def test_chunked_answer_split_across_packets(serve):
    def handler(peer: Peer, srv: RawServer) -> None:
        while srv.request(peer) is not None:
            peer.send(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"5;ext=1\r\nhel",
                b"lo\r\n",
                b"7\r\n, world\r\n0\r\n",
                b"X-Trailer: yes\r\n\r\n",
                pause=0.02,
            )

    srv = serve(handler)
    answers = post_all(HttpClient({}, timeout=5), srv.url, 2)
    assert [a.body for a in answers] == [b"hello, world", b"hello, world"]
    assert srv.connections == 1  # the chunked answer ended cleanly: kept alive


def test_connection_close_is_honoured_and_http_1_0_read_until_close(serve):
    def handler(peer: Peer, srv: RawServer) -> None:
        if srv.request(peer) is None:
            return
        if srv.connections == 1:
            peer.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\none")
        else:  # HTTP/1.0, no length: the body ends with the connection
            peer.send(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\ntw", b"o", pause=0.02)
        peer.sock.shutdown(socket.SHUT_WR)

    srv = serve(handler)
    answers = post_all(HttpClient({}, timeout=5), srv.url, 2)
    assert [a.body for a in answers] == [b"one", b"two"]
    assert [a.version for a in answers] == ["1.1", "1.0"]
    assert srv.connections == 2


def test_interim_100_continue_is_skipped(serve):
    srv = serve(keep_alive(b"HTTP/1.1 100 Continue\r\n\r\n" + OK))
    [answer] = post_all(HttpClient({}, timeout=5), srv.url, 1)
    assert answer.status == 200 and answer.body == b"{}"


def test_idle_connection_closed_by_the_server_is_not_reused(serve):
    def handler(peer: Peer, srv: RawServer) -> None:
        srv.request(peer)
        peer.send(OK)  # then close: a server's keep-alive timeout

    srv = serve(handler)
    client = HttpClient({}, timeout=5)

    async def go() -> list[int]:
        statuses = []
        for _ in range(3):
            statuses.append((await client.request("POST", srv.url, b"x")).status)
            await asyncio.sleep(0.1)  # the EOF arrives while the connection is idle
        client.close()
        return statuses

    assert run(go) == [200, 200, 200]
    assert srv.connections == 3 and len(srv.requests) == 3


def test_stale_keep_alive_connection_is_retried_once_on_a_fresh_one(serve):
    """The server reads the second request on the reused connection and closes without a
    word (its idle timeout racing our write): the client retries once, on a new connection."""

    def handler(peer: Peer, srv: RawServer) -> None:
        first = srv.connections == 1
        while srv.request(peer) is not None:
            if first and len(srv.requests) == 2:
                return  # close without answering
            peer.send(OK)

    srv = serve(handler)
    answers = post_all(HttpClient({}, timeout=5), srv.url, 3)
    assert [a.status for a in answers] == [200, 200, 200]
    assert srv.connections == 2 and len(srv.requests) == 4


def test_a_fresh_connection_closed_without_an_answer_is_not_retried(serve):
    def handler(peer: Peer, srv: RawServer) -> None:
        srv.request(peer)  # and close

    srv = serve(handler)
    [error] = post_all(HttpClient({}, timeout=5), srv.url, 1)
    assert isinstance(error, ConnectionResetError)
    assert len(srv.requests) == 1


def test_a_reused_connection_that_dies_mid_answer_is_not_retried(serve):
    def handler(peer: Peer, srv: RawServer) -> None:
        srv.request(peer)
        peer.send(OK)
        srv.request(peer)
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")  # and close

    srv = serve(handler)
    first, second = post_all(HttpClient({}, timeout=5), srv.url, 2)
    assert first.status == 200
    assert isinstance(second, BadAnswer)
    assert len(srv.requests) == 2


@pytest.mark.parametrize(
    "answer",
    [
        b"SMTP/1.0 250 OK\r\n\r\n",
        b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nx",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nab\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000,
    ],
    ids=[
        "not-http",
        "status",
        "header",
        "length",
        "two-lengths",
        "chunk-size",
        "chunk-0x",
        "huge-head",
    ],
)
def test_a_malformed_answer_is_a_connection_error(serve, answer):
    srv = serve(keep_alive(answer))
    [error] = post_all(HttpClient({}, timeout=5), srv.url, 1)
    assert isinstance(error, BadAnswer)


def test_a_malformed_answer_is_a_transient_provider_result(serve):
    srv = serve(keep_alive(b"garbage\r\n\r\n"))
    with make_provider("brevo", {}, {"api_key": "k"}, endpoint_url=srv.url) as provider:
        [result] = provider.send_batch([message(0)])
    assert not result.ok and result.transient and result.status_code is None
    assert "Could not reach Brevo (BadAnswer)" in result.error


def test_a_hung_server_times_out_and_its_connection_is_dropped(serve):
    def handler(peer: Peer, srv: RawServer) -> None:
        while srv.request(peer) is not None:
            if len(srv.requests) == 2:
                srv.stopping.wait(5)  # hang the second request
                return
            peer.send(OK)

    srv = serve(handler)
    client = HttpClient({}, timeout=0.3)
    started = time.monotonic()
    first, second, third = post_all(client, srv.url, 3)
    assert first.status == 200 and isinstance(second, TimeoutError) and third.status == 200
    assert time.monotonic() - started < 2
    assert srv.connections == 2  # the timed-out connection was not reused


def answer_after(seconds: float):
    """A handler answering 200 to every request of a connection, each after ``seconds``."""

    def handler(peer: Peer, srv: RawServer) -> None:
        while srv.request(peer) is not None:
            time.sleep(seconds)
            peer.send(OK)

    return handler


def test_waiting_for_a_free_connection_does_not_count_against_the_timeout(serve):
    srv = serve(answer_after(0.2))
    # 5 requests, 1 connection, 0.2 s each: the last one waits 0.8 s, answers within 0.6 s.
    client = HttpClient({}, concurrency=1, timeout=0.6)
    answers = post_all(client, srv.url, 5, sequential=False)
    assert [getattr(a, "status", a) for a in answers] == [200] * 5
    assert srv.connections == 1


def test_never_more_connections_than_the_concurrency(serve):
    srv = serve(answer_after(0.02))
    answers = post_all(HttpClient({}, concurrency=3, timeout=5), srv.url, 30, sequential=False)
    assert all(a.status == 200 for a in answers)
    assert srv.connections == 3 and srv.most_open == 3


def test_https_verifies_the_certificate(serve):
    srv = serve(keep_alive(), tls=server_context())
    cert_pem, _ = self_signed("localhost")  # the one server_context() uses
    trusting = ssl.create_default_context(cadata=cert_pem.decode())
    answers = post_all(HttpClient({}, timeout=5, ssl_context=trusting), srv.url, 2)
    assert [a.status for a in answers] == [200, 200]
    assert srv.connections == 1
    # With the system's trusted certificates the self-signed one is refused.
    [error] = post_all(HttpClient({}, timeout=5), srv.url, 1)
    assert isinstance(error, ssl.SSLCertVerificationError)


def test_a_provider_over_https_and_after_close(serve):
    srv = serve(keep_alive(), tls=server_context())
    cert_pem, _ = self_signed("localhost")  # the one server_context() uses
    provider = make_provider("brevo", {}, {"api_key": "k"}, endpoint_url=srv.url)
    provider.ssl_context = ssl.create_default_context(cadata=cert_pem.decode())
    results = provider.send_batch([message(0), message(1, subject="other")])
    assert all(r.ok for r in results), results
    provider.close()
    with pytest.raises(RuntimeError, match="closed"):
        provider.send_batch([message(2)])


def test_a_provider_refuses_an_untrusted_certificate_as_transient(serve):
    srv = serve(keep_alive(), tls=server_context())
    with make_provider("brevo", {}, {"api_key": "k"}, endpoint_url=srv.url) as provider:
        [result] = provider.send_batch([message(0)])
    assert not result.ok and result.transient
    assert "SSLCertVerificationError" in result.error


def test_close_drops_open_connections(serve):
    srv = serve(keep_alive())
    client = HttpClient({}, timeout=5)

    async def go() -> Any:
        await client.request("POST", srv.url, b"x")
        client.close()
        await asyncio.sleep(0.1)
        with pytest.raises(ConnectionError):
            await client.request("POST", srv.url, b"x")

    run(go)
    deadline = time.monotonic() + 2
    while srv.open_now and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.open_now == 0


def test_header_values_with_line_breaks_are_refused():
    with pytest.raises(ValueError):
        HttpClient({"api-key": "abc\r\nX-Evil: 1"})
    provider = make_provider("brevo", {}, {"api_key": "abc\r\nX-Evil: 1"})
    with provider, pytest.raises(ProviderError, match="credential"):
        provider.send_batch([message(0)])


@pytest.mark.parametrize("url", ["https://:443", "http://:80/v3", "https://example.com:abc"])
def test_an_endpoint_without_a_host_or_with_a_bad_port_is_refused(url):
    with pytest.raises(ProviderError, match="host name"):
        make_provider("brevo", {}, {"api_key": "k"}, endpoint_url=url)


def test_multipart_encoding():
    body, content_type = encode_multipart([("to", "Jörg <j@example.com>"), ('a"b', "x\r\ny")])
    boundary = content_type.removeprefix("multipart/form-data; boundary=").encode()
    parts = body.split(b"--" + boundary)
    assert parts[0] == b"" and parts[-1] == b"--\r\n"
    assert parts[1] == (
        b'\r\nContent-Disposition: form-data; name="to"\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        + "Jörg <j@example.com>".encode()
        + b"\r\n"
    )
    assert b'name="a%22b"' in parts[2] and parts[2].endswith(b"\r\n\r\nx\r\ny\r\n")
