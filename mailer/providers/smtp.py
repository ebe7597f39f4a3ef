"""SMTP relay (any MTA or a provider's SMTP endpoint) through the asyncio client of
``smtp_client``: a pool of authenticated connections on the process's event loop, one message
at a time on each; the design is in docs/architecture.md, "Providers".
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import logging
import os
import socket
import ssl
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any, ClassVar, NamedTuple
from urllib.parse import urlsplit

from mailer.providers.base import (
    ConfigField,
    LoopThread,
    OutboundMessage,
    Provider,
    ProviderError,
    SendResult,
    pack_message,
    short,
    unpack_message,
)
from mailer.providers.mime import envelope_address, needs_smtputf8, render
from mailer.providers.smtp_client import (
    AuthFailed,
    Connection,
    Refused,
    Unsupported,
    wire_data,
)

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
MAX_CONNECTIONS = 100

log = logging.getLogger(__name__)


@functools.cache
def _local_name() -> str:
    """This machine's name for EHLO (as smtplib says it): asked once per process."""
    return socket.getfqdn()


class _NoConnection(Exception):
    """No connection could be opened for a message: its result, the same for the others."""

    def __init__(self, result: SendResult) -> None:
        super().__init__(result.error)
        self.result = result

    def result_for(self, wire: _Wire | SendResult) -> SendResult:
        assert isinstance(wire, _Wire)
        return dataclasses.replace(self.result, ref=wire.ref)


class _Wire(NamedTuple):
    """A message ready for the wire: its DATA bytes, Message-ID and envelope. The message
    rides along packed (``base.pack_message``), for a server without 8BITMIME: a prepared
    batch crosses to the sending process pickled (``offload``)."""

    ref: str
    packed: tuple
    data: bytes  # dot-stuffed and terminated (smtp_client.wire_data)
    message_id: str
    sender: str
    rcpt: str | tuple[str, ...]  # several for a message with Cc, Bcc or more To
    utf8: bool  # an address needs SMTPUTF8
    eight_bit: bool  # the bodies are 8-bit: needs 8BITMIME


class SmtpProvider(Provider):
    """Sends each message in its own transaction on a pooled connection.

    Connections stay open across batches: up to ``concurrency`` authenticated connections,
    each carrying one message at a time, so a campaign pays the TCP/TLS/AUTH handshake once per
    connection, not once per message. They live on the process's event loop thread (the one
    the HTTP providers use), so the caller's thread only writes the MIME. SMTP 4xx replies are
    transient, 5xx permanent.
    """

    name = "smtp"
    label = "SMTP server"
    # A chunk's fixed costs (claiming, recording, handing over) are paid per chunk: 500, as for
    # the HTTP providers, keeps them small per message while a crash leaves at most a quarter
    # second of sending in doubt (measured: 0.62 ms of CPU per email in all against 0.78 with
    # chunks of 250, and 2,158 emails/s against 1,801, `bench/send.py --sink smtp`).
    max_batch = 500
    # Prepared in the caller when sending from a child process: MIME work would stall the
    # child's event loop.
    prepare_in_caller = True
    FIELDS: ClassVar[list[ConfigField]] = [
        ConfigField("host", "Host", required=True, help="e.g. smtp.example.com"),
        ConfigField(
            "port",
            "Port",
            kind="int",
            limits=(1, 65535),
            help="Empty: 587 for STARTTLS, 465 for SSL/TLS, 25 for none.",
        ),
        ConfigField(
            "security",
            "Encryption",
            default="starttls",
            choices=(
                ("starttls", "STARTTLS (usually port 587)"),
                ("ssl", "SSL/TLS from the start (usually port 465)"),
                ("none", "None (only for a relay on a trusted network)"),
            ),
        ),
        ConfigField("username", "Username", help="Leave empty if the relay needs no login."),
        ConfigField("password", "Password", secret=True),
        ConfigField(
            "verify_tls",
            "Verify the server certificate",
            kind="bool",
            default=True,
            help="Turn off only for an internal relay with a self-signed certificate.",
        ),
        ConfigField("helo_name", "EHLO name", help="Empty: this machine's host name."),
        ConfigField(
            "connections",
            "Connections at once",
            kind="int",
            limits=(1, MAX_CONNECTIONS),
            help=(
                f"How many messages go out in parallel, one per connection (1 to "
                f"{MAX_CONNECTIONS}). Empty: the installation's MAILER_SMTP_CONCURRENCY. "
                "Some relays take fewer: Microsoft 365 allows 3."
            ),
        ),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        s = self.settings
        self.host: str = s["host"]
        self.port: int = s["port"] or DEFAULT_PORTS[s["security"]]
        if self.endpoint_url:  # smtp://host:port overrides host and port (tests, benchmarks)
            parts = urlsplit(self.endpoint_url)
            if not parts.hostname:
                raise ProviderError("SMTP endpoint URL must look like smtp://host:port.")
            self.host, self.port = parts.hostname, parts.port or self.port
        if bool(s.get("username")) != bool(self._secrets.get("password")):
            raise ProviderError("SMTP server channel settings: give both username and password.")
        if s.get("connections") is not None:  # the channel's own limit, for this relay
            self.concurrency = s["connections"]
        self._tls = ssl.create_default_context()
        if not s["verify_tls"]:
            self._tls.check_hostname = False
            self._tls.verify_mode = ssl.CERT_NONE
        self._idle: list[Connection] = []  # used on the loop's thread only
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid: int | None = None
        self._closed = False
        self._warned = False  # about a relay that took fewer connections than asked
        # Whether the server offers 8BITMIME, once a connection has asked it (until then,
        # and in a caller preparing for a child process, bodies are prepared 8-bit).
        self._eight_bit: bool | None = None

    def __repr__(self) -> str:
        return (
            f"<SmtpProvider host={self.host!r} port={self.port} "
            f"security={self.settings['security']!r} concurrency={self.concurrency}>"
        )

    # -- the event loop and connections ---------------------------------------------------------

    def _open(self) -> asyncio.AbstractEventLoop:
        """The process's event loop; a forked child starts without its parent's connections."""
        if self._closed:
            raise RuntimeError(f"the {self.label} provider is closed")
        pid = os.getpid()
        if self._loop is None or self._pid != pid:
            self._loop, self._pid = LoopThread.get(), pid
            self._idle, self._slots = [], None
        return self._loop

    async def _connect(self) -> Connection:
        s = self.settings
        conn = await Connection.open(
            self.host,
            self.port,
            security=s["security"],
            tls=self._tls,
            helo_name=s.get("helo_name") or _local_name(),
            username=s.get("username"),
            password=self._secrets.get("password"),
            timeout=self.timeout,
        )
        self._eight_bit = conn.supports("8bitmime")
        return conn

    def _take_idle(self) -> Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        return None

    def _release(self, conn: Connection) -> None:
        if conn.closed:
            return
        if self._closed or len(self._idle) >= self.concurrency:
            conn.quit()
        else:
            self._idle.append(conn)

    def close(self) -> None:
        self._closed = True
        loop = self._loop
        if loop is not None and self._pid == os.getpid() and self._idle:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._quit_idle(), loop).result(5)
        super().close()

    async def _quit_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.quit()

    # -- sending --------------------------------------------------------------------------------

    def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        return self.submit_batch(messages).result()

    def submit_batch(self, messages: Sequence[OutboundMessage]) -> Future[list[SendResult]]:
        """Send on the event loop, so the caller can prepare its next batch."""
        return self.send_prepared(self.prepare_batch(messages))

    def prepare_batch(self, messages: Sequence[OutboundMessage]) -> list[_Wire | SendResult]:
        """Each message's wire form and envelope, or its result when it can not be sent.

        Bodies are written as raw UTF-8 in long lines (8BITMIME, see ``mime.render``) unless a
        server of this provider has said it does not take them (``_deliver`` writes a message
        again, quoted-printable, for a connection whose server does not offer 8BITMIME)."""
        eight_bit = self._eight_bit is not False
        return [self._wire(m, eight_bit) for m in messages]

    def send_prepared(self, prepared: list[_Wire | SendResult]) -> Future[list[SendResult]]:
        loop = self._open()
        return asyncio.run_coroutine_threadsafe(self._send_all(prepared), loop)

    @staticmethod
    def _wire(m: OutboundMessage, eight_bit: bool) -> _Wire | SendResult:
        try:
            data, message_id = render(m, eight_bit)
            sender = envelope_address(m.from_email)
            rcpt: str | tuple[str, ...] = envelope_address(m.to)
            if m.also_to or m.cc or m.bcc:  # Bcc recipients are only in the envelope
                rcpt = tuple(dict.fromkeys(envelope_address(a) for a in m.recipients))
        except ValueError as exc:
            return SendResult(ref=m.ref, ok=False, error=f"The message is not valid: {exc}.")
        return _Wire(
            m.ref,
            pack_message(m),
            wire_data(data),
            message_id,
            sender,
            rcpt,
            needs_smtputf8(m),
            eight_bit,
        )

    async def _send_all(self, prepared: list[_Wire | SendResult]) -> list[SendResult]:
        # At most ``concurrency`` coroutines (over every batch of this provider) take the
        # messages in turn, each on one connection it keeps for its whole turn.
        #
        # One that can not open a connection hands its message back and leaves while others
        # are still at it: a relay allowing fewer connections than asked (421 at the greeting)
        # gets the batch sent on those it accepted. The last one left, unable to connect,
        # fails the rest of the batch with its error (transient ones are retried later), so a
        # relay that is down costs one connection attempt per coroutine, not one per message.
        results: list[SendResult | None] = [
            w if isinstance(w, SendResult) else None for w in prepared
        ]
        turns = collections.deque(i for i, r in enumerate(results) if r is None)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        slots = self._slots
        workers = running = min(len(turns), self.concurrency)

        async def take_turns() -> None:
            nonlocal running
            conn: Connection | None = None
            try:
                async with slots:
                    while turns:
                        i = turns.popleft()
                        wire = prepared[i]
                        assert isinstance(wire, _Wire)
                        try:
                            conn, results[i] = await self._deliver(conn, wire)
                        except _NoConnection as exc:
                            conn = None
                            if running > 1:
                                turns.appendleft(i)
                                self._warn_handed_back(exc.result.error)
                                return
                            for j in (i, *turns):
                                results[j] = exc.result_for(prepared[j])
                            turns.clear()
            finally:
                running -= 1
                if conn is not None:
                    self._release(conn)

        await asyncio.gather(*(take_turns() for _ in range(workers)))
        return [r for r in results if r is not None]

    def _warn_handed_back(self, error: str | None) -> None:
        if not self._warned:  # once per process: it would repeat every batch
            self._warned = True
            log.warning(
                "%s The messages went on the connections it took. If this repeats, the server "
                "allows fewer connections at once than the %d asked: lower the channel's "
                "'Connections at once'.",
                error,
                self.concurrency,
            )

    async def _deliver(
        self, conn: Connection | None, wire: _Wire
    ) -> tuple[Connection | None, SendResult]:
        """Send one message on ``conn`` (or a pooled or new connection): the connection to
        go on with (None when it is gone) and the result.

        A pooled connection the server has meanwhile dropped (idle timeout) fails before the
        server answered anything (``conn.replies == 0``); the message is then retried once on
        a fresh connection. A message prepared 8-bit for a connection whose server does not
        offer 8BITMIME is written again, quoted-printable, before it goes."""
        ref = wire.ref
        if conn is None or conn.closed:
            conn = self._take_idle()
        for attempt in range(2):
            reused = conn is not None
            if conn is None:
                try:
                    conn = await self._connect()
                except Exception as exc:
                    raise _NoConnection(self._connect_failure(ref, exc)) from exc
            if wire.utf8 and not conn.supports("smtputf8"):
                reply = "no SMTPUTF8: international addresses not accepted"
                return conn, self._reply_failure(ref, 553, reply, "sender")
            if wire.eight_bit and not conn.supports("8bitmime"):
                m = dataclasses.replace(unpack_message(wire.packed), message_id=wire.message_id)
                wire = self._wire(m, False)
                if isinstance(wire, SendResult):  # pragma: no cover - it rendered before
                    return conn, wire
            limit = conn.max_size
            if limit and len(wire.data) > limit:  # refused here rather than after the upload
                text = (
                    f"The message is {len(wire.data) / 1024:,.0f} KB; the {self.label} takes "
                    f"at most {limit / 1024:,.0f} KB."
                )
                return conn, SendResult(ref=ref, ok=False, error=text, status_code=552)
            options = " BODY=8BITMIME" if wire.eight_bit or wire.utf8 else ""
            if wire.utf8:
                options += " SMTPUTF8"
            try:
                code = await conn.send(wire.sender, wire.rcpt, wire.data, options)
            except Refused as exc:
                if conn.closed:
                    conn = None
                return conn, self._reply_failure(ref, exc.code, exc.text, exc.stage)
            except (OSError, EOFError) as exc:  # TimeoutError and ConnectionError are OSErrors
                stale = reused and conn.replies == 0 and not isinstance(exc, TimeoutError)
                conn.abort()
                conn = None
                if stale and attempt == 0:
                    continue  # the server had dropped an idle connection; nothing was sent
                if isinstance(exc, TimeoutError):
                    text = self._timeout_text()
                else:
                    text = f"The {self.label} connection failed mid-message ({type(exc).__name__})"
                    text += "; will retry."
                return None, SendResult(ref=ref, ok=False, error=text, transient=True)
            return conn, SendResult(
                ref=ref, ok=True, provider_message_id=wire.message_id, status_code=code
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _reply_failure(self, ref: str, code: int, reply: str, stage: str) -> SendResult:
        transient = 400 <= code < 500
        what = {
            "sender": "the sender",
            "recipient": "the recipient",
            "message": "the message",
            "connection": "the connection",
        }
        verb = "temporarily refused" if transient else "refused"
        text = f"The {self.label} {verb} {what.get(stage, 'the message')} ({code} {short(reply)})"
        text += "; will retry." if transient else "."
        return SendResult(ref=ref, ok=False, error=text, transient=transient, status_code=code)

    def _connect_failure(self, ref: str, exc: Exception) -> SendResult:
        where = f"{self.host}:{self.port}"
        if isinstance(exc, AuthFailed):
            transient = 400 <= exc.code < 500
            text = f"The {self.label} at {where} refused the username or password"
            text += f" ({exc.code})" + ("; will retry." if transient else ".")
            return SendResult(
                ref=ref, ok=False, error=text, transient=transient, status_code=exc.code
            )
        if isinstance(exc, Unsupported):
            text = f"The {self.label} at {where} does not support {exc}; check the encryption."
            return SendResult(ref=ref, ok=False, error=text)
        if isinstance(exc, ssl.SSLCertVerificationError):
            text = f"The {self.label} at {where} has a certificate that could not be verified."
            return SendResult(ref=ref, ok=False, error=text)
        if isinstance(exc, Refused):
            return self._reply_failure(ref, exc.code, exc.text, "connection")
        if isinstance(exc, TimeoutError):
            text = f"The {self.label} at {where} did not answer within {self.timeout:g} s"
        else:
            text = f"Could not connect to the {self.label} at {where} ({type(exc).__name__})"
        return SendResult(ref=ref, ok=False, error=text + "; will retry.", transient=True)
