"""A small SMTP client on asyncio for the SMTP provider.

A :class:`Connection` opens with TLS or STARTTLS and AUTH as configured and carries one
transaction per message, pipelined when the server allows; it does what a bulk sender needs
and no more (why not smtplib: docs/architecture.md, "Providers").
"""

from __future__ import annotations

import asyncio
import base64
import collections
import ssl
from typing import cast

__all__ = ["AuthFailed", "BadReply", "Connection", "Refused", "Unsupported", "wire_data"]

MAX_REPLY_LINE = 4096  # RFC 5321 allows 512; more is not an SMTP server
_CRLF = b"\r\n"


class BadReply(ConnectionError):
    """The server sent something that is not an SMTP reply."""


class Refused(Exception):
    """The server answered with an error reply at ``stage`` (sender, recipient, message,
    connection). The connection stays usable after the RSET this module sends, unless the
    code was 421 or it is closed."""

    def __init__(self, code: int, text: str, stage: str) -> None:
        super().__init__(code, text, stage)
        self.code, self.text, self.stage = code, text, stage


class AuthFailed(Refused):
    """The server refused the username or password."""


class Unsupported(Exception):
    """The server does not offer an extension the configuration needs (STARTTLS, AUTH)."""


def wire_data(message: bytes) -> bytes:
    """The DATA section of a CRLF message: lines starting with a dot doubled (RFC 5321
    4.5.2), a final line break, and the terminating ``.`` line."""
    data = message.replace(b"\r\n.", b"\r\n..")
    if data.startswith(b"."):
        data = b"." + data
    if not data.endswith(_CRLF):
        data += _CRLF
    return data + b".\r\n"


class _Protocol(asyncio.Protocol):
    """Reads replies and hands each to the oldest waiter; fails them all when the connection
    ends."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.waiters: collections.deque[asyncio.Future[tuple[int, str]]] = collections.deque()
        self._buffer = bytearray()
        self._lines: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        while True:
            end = buf.find(b"\n")
            if end < 0:
                if len(buf) > MAX_REPLY_LINE:
                    self.fail(BadReply("the server sent an over-long reply line"))
                return
            line = bytes(buf[:end]).rstrip(b"\r")
            del buf[: end + 1]
            if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in (b"", b" ", b"-"):
                self.fail(BadReply(f"the server sent something that is not SMTP: {line[:40]!r}"))
                return
            self._lines.append(line[4:])
            if line[3:4] == b"-":
                continue
            reply = (int(line[:3]), b"\n".join(self._lines).decode("utf-8", "replace"))
            self._lines.clear()
            if not self.waiters:
                # Unasked (a 421 before an idle-timeout close): this connection is done.
                self.fail(BadReply(f"the server said {reply[0]} {reply[1]!r} unasked"))
                return
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(reply)

    def eof_received(self) -> bool:
        self.fail(ConnectionResetError("the server closed the connection"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(exc or ConnectionResetError("the server closed the connection"))

    def fail(self, exc: BaseException) -> None:
        """End the connection: every reply still awaited fails with ``exc``."""
        self.closed = True
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()


class Connection:
    """One SMTP connection, one transaction at a time; made by :meth:`open`.

    Errors: :class:`Refused` for an error reply, :class:`Unsupported` for a missing extension
    the configuration needs, :class:`AuthFailed` for refused credentials, ``TimeoutError``
    when the deadline passed (the connection is dropped) and ``OSError`` (``ConnectionError``,
    ``ssl.SSLError``) when the connection failed. :attr:`replies` counts the replies of the
    current transaction, so a caller can tell a connection that was dead before anything was
    accepted (safe to retry) from one that failed mid-message.
    """

    def __init__(self, protocol: _Protocol, host: str, timeout: float) -> None:
        self._protocol = protocol
        self._loop = asyncio.get_running_loop()
        self.host = host
        self.timeout = timeout
        self.extensions: dict[str, str] = {}  # EHLO keywords in lower case -> parameters
        self.replies = 0  # replies received in the current transaction

    @property
    def closed(self) -> bool:
        return self._protocol.closed

    def supports(self, extension: str) -> bool:
        return extension.lower() in self.extensions

    @property
    def max_size(self) -> int | None:
        """The largest message the server takes (its SIZE extension, RFC 1870), if it said."""
        value = self.extensions.get("size", "").strip()
        return int(value) if value.isdigit() and int(value) > 0 else None

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        security: str,
        tls: ssl.SSLContext,
        helo_name: str,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
    ) -> Connection:
        """Connect, read the greeting, EHLO, STARTTLS and AUTH as configured, within
        ``timeout`` seconds in all.

        ``security``: "none" (plain TCP), "ssl" (TLS from the first byte) or "starttls"; the
        certificate is verified unless ``tls`` says otherwise. EHLO falls back to HELO for an
        old server; AUTH is PLAIN, or LOGIN when PLAIN is not offered."""
        loop = asyncio.get_running_loop()
        protocol = _Protocol()
        # The greeting is awaited before connecting: it can arrive before this coroutine
        # resumes after the connect (uvloop delivers it in the same turn of the loop).
        greeting: asyncio.Future[tuple[int, str]] = loop.create_future()
        protocol.waiters.append(greeting)
        async with asyncio.timeout(timeout):
            await loop.create_connection(
                lambda: protocol,
                host,
                port,
                ssl=tls if security == "ssl" else None,
                server_hostname=host if security == "ssl" else None,
            )
            conn = cls(protocol, host, timeout)
            try:
                await conn._handshake(greeting, security, tls, helo_name, username, password)
            except BaseException:
                conn.abort()
                raise
        return conn

    async def _handshake(
        self,
        greeting: asyncio.Future[tuple[int, str]],
        security: str,
        tls: ssl.SSLContext,
        helo_name: str,
        username: str | None,
        password: str | None,
    ) -> None:
        code, text = await self._read(greeting)
        if code != 220:
            raise Refused(code, text, "connection")
        await self._ehlo(helo_name)
        if security == "starttls":
            if not self.supports("starttls"):
                raise Unsupported("STARTTLS")
            code, text = await self.command(b"STARTTLS")
            if code != 220:
                raise Refused(code, text, "connection")
            protocol = self._protocol
            assert protocol.transport is not None
            protocol.transport = await self._loop.start_tls(  # type: ignore[assignment]
                protocol.transport, protocol, tls, server_hostname=self.host
            )
            await self._ehlo(helo_name)  # the extensions offered over TLS may differ
        if username:
            await self._login(username, password or "")

    async def _ehlo(self, helo_name: str) -> None:
        code, text = await self.command(b"EHLO " + helo_name.encode("idna"))
        if code == 250:
            lines = text.split("\n")[1:]  # the first line is the server's name
            keywords = (line.strip().partition(" ") for line in lines if line.strip())
            self.extensions = {k.lower(): v for k, _, v in keywords}
            return
        code, text = await self.command(b"HELO " + helo_name.encode("idna"))
        if code != 250:
            raise Refused(code, text, "connection")
        self.extensions = {}

    async def _login(self, username: str, password: str) -> None:
        methods = self.extensions.get("auth", "").upper().split()
        if not self.supports("auth"):
            raise Unsupported("SMTP AUTH")
        if "PLAIN" in methods or "LOGIN" not in methods:
            token = f"\0{username}\0{password}".encode()
            code, text = await self.command(b"AUTH PLAIN " + base64.b64encode(token))
        else:
            code, text = await self.command(b"AUTH LOGIN")
            for value in (username, password):
                if code != 334:
                    break
                code, text = await self.command(base64.b64encode(value.encode()))
        if code not in (235, 503):  # 503: already authenticated
            raise AuthFailed(code, text, "connection")

    # -- commands -----------------------------------------------------------------------------

    def _expect(self) -> asyncio.Future[tuple[int, str]]:
        waiter: asyncio.Future[tuple[int, str]] = self._loop.create_future()
        if self._protocol.closed:
            waiter.set_exception(ConnectionResetError("the connection is closed"))
        else:
            self._protocol.waiters.append(waiter)
        return waiter

    async def _read(self, waiter: asyncio.Future[tuple[int, str]]) -> tuple[int, str]:
        """The awaited reply, counted in ``replies``."""
        reply = await waiter
        self.replies += 1
        return reply

    def _write(self, data: bytes) -> None:
        transport = self._protocol.transport
        if self._protocol.closed or transport is None:
            raise ConnectionResetError("the connection is closed")
        transport.write(data)

    async def command(self, line: bytes) -> tuple[int, str]:
        """Send one command line and read its reply."""
        return await self._exchange(line + _CRLF)

    async def _exchange(self, data: bytes) -> tuple[int, str]:
        """Write ``data`` (a command line, or a message's DATA section) and read the reply."""
        waiter = self._expect()
        self._write(data)
        return await self._read(waiter)

    async def send(
        self, sender: str, recipient: str | tuple[str, ...], data: bytes, options: str = ""
    ) -> int:
        """One transaction (one sender, one or several recipients): the reply code of the accepted
        message. ``data`` is sent as given: the caller passes it dot-stuffed and terminated
        (:func:`wire_data`); ``options`` are MAIL FROM parameters (``" BODY=8BITMIME"``). The
        whole transaction has one deadline, ``timeout`` seconds.

        When the server offers PIPELINING (RFC 2920), MAIL FROM, RCPT TO and DATA go in one
        write, so a relay far away costs two round trips per message instead of four."""
        self.replies = 0
        timer = self._loop.call_later(self.timeout, self._expire)
        try:
            if isinstance(recipient, str):
                return await self._transaction(sender, recipient, data, options)
            return await self._several(sender, recipient, data, options)
        finally:
            timer.cancel()

    async def _transaction(self, sender: str, recipient: str, data: bytes, options: str) -> int:
        mail = f"MAIL FROM:<{sender}>{options}".encode()
        rcpt = f"RCPT TO:<{recipient}>".encode()
        if self.supports("pipelining"):
            waiters = [self._expect() for _ in range(3)]
            self._write(_CRLF.join((mail, rcpt, b"DATA", b"")))
            replies = [await self._read(waiter) for waiter in waiters]
            (mail_code, mail_text), (rcpt_code, rcpt_text), (data_code, data_text) = replies
            if data_code == 354 and (mail_code != 250 or rcpt_code not in (250, 251)):
                await self.command(b".")  # DATA went through anyway: end the empty message
        else:
            mail_code, mail_text = await self.command(mail)
            rcpt_code, rcpt_text, data_code, data_text = 0, "", 0, ""
            if mail_code == 250:
                rcpt_code, rcpt_text = await self.command(rcpt)
                if rcpt_code in (250, 251):
                    data_code, data_text = await self.command(b"DATA")
        if mail_code != 250:
            await self._reset(Refused(mail_code, mail_text, "sender"))
        if rcpt_code not in (250, 251):
            await self._reset(Refused(rcpt_code, rcpt_text, "recipient"))
        if data_code != 354:
            await self._reset(Refused(data_code, data_text, "message"))
        code, text = await self._exchange(data)
        if code != 250:
            if code == 421:  # the server is closing this connection
                self.abort()
            raise Refused(code, text, "message")  # the transaction is over: no RSET needed
        return code

    async def _several(
        self, sender: str, recipients: tuple[str, ...], data: bytes, options: str
    ) -> int:
        """A transaction for several recipients: every one must be accepted before DATA (a
        message that reached only some of them would be sent again in full on a retry), so
        DATA waits for the RCPT replies even with PIPELINING."""
        mail = f"MAIL FROM:<{sender}>{options}".encode()
        rcpts = [f"RCPT TO:<{r}>".encode() for r in recipients]
        if self.supports("pipelining"):
            waiters = [self._expect() for _ in range(1 + len(rcpts))]
            self._write(_CRLF.join((mail, *rcpts, b"")))
            replies = [await self._read(waiter) for waiter in waiters]
        else:
            replies = [await self.command(mail)]
            for rcpt in rcpts:
                if replies[0][0] != 250:
                    break
                replies.append(await self.command(rcpt))
        mail_code, mail_text = replies[0]
        if mail_code != 250:
            await self._reset(Refused(mail_code, mail_text, "sender"))
        for code, text in replies[1:]:
            if code not in (250, 251):
                await self._reset(Refused(code, text, "recipient"))
        data_code, data_text = await self.command(b"DATA")
        if data_code != 354:
            await self._reset(Refused(data_code, data_text, "message"))
        code, text = await self._exchange(data)
        if code != 250:
            if code == 421:
                self.abort()
            raise Refused(code, text, "message")
        return code

    async def _reset(self, refusal: Refused) -> None:
        """Abandon the transaction (RSET) and raise ``refusal``; a 421 closes the connection."""
        if refusal.code == 421:
            self.abort()
        else:
            await self.command(b"RSET")
        raise refusal

    def _expire(self) -> None:
        self._protocol.fail(TimeoutError())

    # -- closing ------------------------------------------------------------------------------

    def quit(self) -> None:
        """Say QUIT and close without waiting for the answer."""
        transport = self._protocol.transport
        if not self._protocol.closed and transport is not None:
            self._protocol.closed = True
            transport.write(b"QUIT\r\n")
            transport.close()

    def abort(self) -> None:
        self._protocol.fail(ConnectionAbortedError("the connection was closed"))
