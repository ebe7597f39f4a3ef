"""An SMTP sink on 127.0.0.1: aiosmtpd behind its threaded controller, on an ephemeral port.

Records every accepted message (``messages``) and can be told to answer errors:
``fail(451, stage="rcpt")`` for the next transaction, ``reject(address, 550)`` for one
recipient, ``drop_connections()`` to cut every open client connection (as an idle timeout or
a restart would). ``tls="starttls"`` offers STARTTLS (and then requires it), ``tls="ssl"``
speaks TLS from the first byte; both use a throwaway self-signed certificate. With
``username``/``password`` set, MAIL FROM is refused until the client authenticated.
``pipelining=True`` offers PIPELINING (aiosmtpd reads commands in order, so it copes; it just
does not say so) and records whether a client used it; ``eight_bit=False`` hides 8BITMIME, as
an old relay would; ``ehlo=False`` answers EHLO with 502 (a server that only knows HELO);
``auth_mechanisms`` narrows the AUTH methods offered; ``max_size`` lowers the SIZE it announces
(and enforces); ``max_connections`` greets connections beyond that many with 421 and closes
them, as Microsoft 365 (3) or Postfix (``smtpd_client_connection_count_limit``) do.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.servers.tls import server_context

__all__ = ["ReceivedMail", "SmtpSink"]

Stage = Literal["mail", "rcpt", "data"]


def _not_login_data_notice(record: logging.LogRecord) -> bool:
    # aiosmtpd 1.4 logs a deprecation notice of its own on every successful AUTH.
    return "login_data is deprecated" not in record.getMessage()


# aiosmtpd logs every connection and command at INFO, from its own thread: the lines would land
# between pytest's progress dots (and in a benchmark's output). Warnings and errors still show.
logging.getLogger("mail.log").setLevel(logging.WARNING)
logging.getLogger("mail.log").addFilter(_not_login_data_notice)


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None  # the authenticated user, if any
    tls: bool  # whether the transaction ran over TLS
    mail_options: list[str]  # MAIL FROM parameters, e.g. SMTPUTF8, BODY=8BITMIME
    pipelined: bool = False  # RCPT TO and DATA had arrived with MAIL FROM

    def message(self) -> EmailMessage:
        """The parsed message. The stdlib decodes 8-bit bodies right only when it parses
        bytes, and raw UTF-8 headers (SMTPUTF8) only when it parses text."""
        if "SMTPUTF8" in self.mail_options:
            text = self.data.decode("utf-8")
            parsed = email.message_from_string(text, policy=email.policy.default)
        else:
            parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Fault:
    code: int
    stage: Stage
    text: str
    remaining: int | None


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(  # noqa: N802 - aiosmtpd hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        if not self.sink.ehlo:
            return ["502 5.5.1 EHLO not implemented, say HELO"]
        session.host_name = hostname
        if not self.sink.eight_bit:
            responses = [r for r in responses if r[4:] != "8BITMIME"]
        if self.sink.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.sink.pipelining:  # what came along with MAIL FROM (not paid for otherwise)
            waiting = bytes(server._reader._buffer)  # type: ignore[attr-defined]
            envelope.pipelined = b"RCPT TO" in waiting and b"DATA" in waiting  # type: ignore[attr-defined]
        if self.sink.username and not session.authenticated:
            return "530 5.7.0 Authentication required"
        fault = self.sink._next_fault("mail")
        if fault:
            return fault
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        fault = self.sink._next_fault("rcpt")
        if fault:
            return fault
        code = self.sink.rejected.get(address.lower())
        if code:
            return f"{code} 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.sink.latency:
            await asyncio.sleep(self.sink.latency)
        fault = self.sink._next_fault("data")
        if fault:
            return fault
        data = envelope.original_content or b""
        if self.sink.record:
            auth = session.auth_data
            login = auth.login.decode() if isinstance(auth, LoginPassword) else None
            self.sink.messages.append(
                ReceivedMail(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=list(envelope.rcpt_tos),
                    data=data,
                    login=login,
                    tls=session.ssl is not None or self.sink.tls == "ssl",
                    mail_options=list(envelope.mail_options),
                    pipelined=getattr(envelope, "pipelined", False),
                )
            )
        self.sink.accepted += len(envelope.rcpt_tos)
        return "250 2.0.0 OK: queued"


class _Smtp(SMTP):
    """aiosmtpd's SMTP, counting the connections open at once and turning away those over
    the sink's ``max_connections`` with a 421 greeting."""

    def __init__(self, sink: SmtpSink, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sink = sink
        self.counted = False  # open, within the limit
        self.turn_away = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None  # not the second call, after STARTTLS
        super().connection_made(transport)
        if not first:
            return
        sink = self.sink
        if sink.max_connections is not None and sink.open >= sink.max_connections:
            self.turn_away = True
            sink.turned_away += 1
        else:
            self.counted = True
            sink.open += 1
            sink.peak_connections = max(sink.peak_connections, sink.open)

    def connection_lost(self, error: Exception | None) -> None:
        if self.counted:
            self.counted = False
            self.sink.open -= 1
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        if not self.turn_away:
            return await super()._handle_client()
        await self.push("421 4.7.0 Too many connections from your host, try again later")
        assert self.transport is not None
        self.transport.close()
        return None


class _Controller(Controller):
    """aiosmtpd's threaded controller, bound to an ephemeral port, tracking connections."""

    def __init__(self, sink: SmtpSink, **kwargs: Any) -> None:
        super().__init__(_Handler(sink), hostname=sink.host, port=sink.port, **kwargs)
        self.sink = sink
        self.protocols: list[SMTP] = []

    def factory(self) -> SMTP:
        smtp = _Smtp(self.sink, self.handler, **self.SMTP_kwargs)
        self.protocols = [p for p in self.protocols if p.transport is not None]
        self.protocols.append(smtp)
        self.sink.connections += 1
        return smtp

    async def _bind(self) -> asyncio.AbstractServer:
        server = await self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=self.port, ssl=self.ssl_context
        )
        self.port = self.sink.port = server.sockets[0].getsockname()[1]
        return server

    def _create_server(self) -> Any:
        return self._bind()


class SmtpSink:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: Literal["none", "starttls", "ssl"] = "none",
        username: str | None = None,
        password: str | None = None,
        latency: float = 0.0,
        record: bool = True,
        pipelining: bool = False,
        eight_bit: bool = True,
        ehlo: bool = True,
        auth_mechanisms: tuple[str, ...] = ("LOGIN", "PLAIN"),
        max_size: int | None = None,
        max_connections: int | None = None,
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.pipelining, self.eight_bit, self.ehlo = pipelining, eight_bit, ehlo
        self.auth_mechanisms = auth_mechanisms
        self.max_size = max_size
        self.max_connections = max_connections
        self.username, self.password = username, password
        self.latency, self.record = latency, record
        self.messages: list[ReceivedMail] = []
        self.accepted = 0
        self.connections = 0  # connections opened so far (the first is the controller's probe)
        self.open = 0  # connections open now (on the server's loop thread)
        self.peak_connections = 0  # the most connections served at once
        self.turned_away = 0  # connections answered 421 (over max_connections)
        self.rejected: dict[str, int] = {}
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._controller: _Controller | None = None

    @property
    def endpoint_url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    # -- controls -----------------------------------------------------------------------------

    def fail(
        self, code: int, *, stage: Stage = "rcpt", times: int | None = 1, text: str | None = None
    ) -> None:
        """Answer ``code`` at ``stage`` for the next ``times`` transactions (None: always)."""
        enhanced = "4.3.0" if code < 500 else "5.7.1"
        reply = f"{code} {enhanced} {text or ('Try again later' if code < 500 else 'Rejected')}"
        with self._lock:
            self._faults.append(_Fault(code, stage, reply, times))

    def reject(self, address: str, code: int = 550) -> None:
        self.rejected[address.lower()] = code

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
        self.rejected.clear()

    def _next_fault(self, stage: Stage) -> str | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.stage != stage:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.pop(i)
                return fault.text
        return None

    def drop_connections(self, timeout: float = 5.0) -> None:
        """Cut every open client connection now, without a goodbye."""
        controller = self._controller
        if controller is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._abort_all(), controller.loop)
        future.result(timeout)

    async def _abort_all(self) -> None:
        assert self._controller is not None
        protocols = list(self._controller.protocols)
        for p in protocols:
            if p.transport is not None:
                p.transport.abort()
        deadline = time.monotonic() + 5
        while any(p.transport is not None for p in protocols) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        kwargs: dict[str, Any] = {"auth_require_tls": False, "enable_SMTPUTF8": True}
        if self.max_size:
            kwargs["data_size_limit"] = self.max_size
        if self.username:
            kwargs["authenticator"] = self._authenticate
            excluded = {"LOGIN", "PLAIN"} - set(self.auth_mechanisms)
            kwargs["auth_exclude_mechanism"] = sorted(excluded)
        if self.tls == "starttls":
            kwargs.update(
                tls_context=server_context(), require_starttls=True, auth_require_tls=True
            )
        elif self.tls == "ssl":
            kwargs["ssl_context"] = server_context()
        self._controller = _Controller(self, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is None:
            return
        self.drop_connections()
        self._controller.stop()
        self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (
            data.login.decode(),
            data.password.decode(),
        ) == (self.username, self.password)
        # handled=False: let aiosmtpd answer 235 / 535 itself.
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)
