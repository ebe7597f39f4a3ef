"""SMTP relay (any MTA or a provider's SMTP endpoint) through smtplib.

Connections stay open across batches: a pool holds up to ``concurrency`` authenticated
connections, each used by one thread at a time, so a campaign pays the TCP/TLS/AUTH handshake
once per connection, not once per message. A pooled connection the server has meanwhile
dropped (idle timeout) is noticed at MAIL FROM, before anything was sent, and the message is
retried once on a fresh connection. SMTP 4xx replies are transient, 5xx permanent.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar, NamedTuple
from urllib.parse import urlsplit

from mailer.providers.base import (
    ConfigField,
    OutboundMessage,
    Provider,
    ProviderError,
    SendResult,
    short,
)
from mailer.providers.mime import envelope_address, needs_smtputf8, render

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class _Stale(Exception):
    """The pooled connection was dead before the transaction started: safe to retry."""


class _Refused(Exception):
    """The server answered the transaction with an error reply."""

    def __init__(self, code: int, reply: bytes | str, stage: str) -> None:
        super().__init__(code, reply, stage)
        self.code = code
        self.reply = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
        self.stage = stage


class _Wire(NamedTuple):
    """A message ready for the wire: its bytes, Message-ID and envelope."""

    message: OutboundMessage
    data: bytes
    message_id: str
    sender: str
    rcpt: str
    utf8: bool


class SmtpProvider(Provider):
    name = "smtp"
    label = "SMTP server"
    # A chunk's fixed costs (claiming, recording) are paid per chunk: 250 keeps them small
    # per message while a crash leaves at most a quarter second of sending in doubt.
    max_batch = 250
    FIELDS: ClassVar[list[ConfigField]] = [
        ConfigField("host", "Host", required=True, help="e.g. smtp.example.com"),
        ConfigField(
            "port",
            "Port",
            kind="int",
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
        self._tls = ssl.create_default_context()
        if not s["verify_tls"]:
            self._tls.check_hostname = False
            self._tls.verify_mode = ssl.CERT_NONE
        self._idle: list[smtplib.SMTP] = []
        self._lock = threading.Lock()
        self._submitter: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return (
            f"<SmtpProvider host={self.host!r} port={self.port} "
            f"security={self.settings['security']!r} concurrency={self.concurrency}>"
        )

    # -- connections ----------------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        local = s.get("helo_name") or None
        conn: smtplib.SMTP
        if s["security"] == "ssl":
            conn = smtplib.SMTP_SSL(
                self.host, self.port, local_hostname=local, timeout=self.timeout, context=self._tls
            )
        else:
            conn = smtplib.SMTP(self.host, self.port, local_hostname=local, timeout=self.timeout)
        try:
            conn.ehlo()
            if s["security"] == "starttls":
                conn.starttls(context=self._tls)
                conn.ehlo()
            if s.get("username"):
                conn.login(s["username"], self._secrets["password"])
        except BaseException:
            _close_quietly(conn)
            raise
        return conn

    def _acquire(self, fresh: bool = False) -> tuple[smtplib.SMTP, bool]:
        """A pooled connection (reused=True) or a new one; ``fresh`` skips the pool."""
        if not fresh:
            with self._lock:
                if self._idle:
                    return self._idle.pop(), True
        return self._connect(), False

    def _release(self, conn: smtplib.SMTP) -> None:
        with self._lock:
            if len(self._idle) < self.concurrency:
                self._idle.append(conn)
                return
        _quit_quietly(conn)

    def close(self) -> None:
        if self._submitter is not None:
            self._submitter.shutdown(wait=True)
            self._submitter = None
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            _quit_quietly(conn)
        super().close()

    # -- sending --------------------------------------------------------------------------------

    def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        return self._map(self._deliver, self.prepare_batch(messages))

    def submit_batch(self, messages: Sequence[OutboundMessage]) -> Future[list[SendResult]]:
        """Send from a background thread, so the caller can prepare its next batch."""
        return self.send_prepared(self.prepare_batch(messages))

    def prepare_batch(self, messages: Sequence[OutboundMessage]) -> list[_Wire | SendResult]:
        """Each message's wire form and envelope, or its result when it can not be sent."""
        return [self._wire(m) for m in messages]

    def send_prepared(self, prepared: list[_Wire | SendResult]) -> Future[list[SendResult]]:
        if self._submitter is None:
            self._submitter = ThreadPoolExecutor(1, thread_name_prefix="mailer-smtp-batch")
        return self._submitter.submit(self._map, self._deliver, prepared)

    @staticmethod
    def _wire(m: OutboundMessage) -> _Wire | SendResult:
        try:
            data, message_id = render(m)
            sender, rcpt = envelope_address(m.from_email), envelope_address(m.to)
        except ValueError as exc:
            return SendResult(ref=m.ref, ok=False, error=f"The message is not valid: {exc}.")
        return _Wire(m, data, message_id, sender, rcpt, needs_smtputf8(m))

    def _deliver(self, wire: _Wire | SendResult) -> SendResult:
        if isinstance(wire, SendResult):
            return wire
        m, data, message_id, sender, rcpt, utf8 = wire
        for attempt in range(2):
            try:
                conn, reused = self._acquire(fresh=attempt > 0)
            except Exception as exc:
                return self._connect_failure(m, exc)
            try:
                self._transmit(conn, sender, rcpt, data, utf8)
            except _Stale:
                _close_quietly(conn)
                if reused and attempt == 0:
                    continue  # the server had dropped an idle connection; nothing was sent
                return SendResult(
                    ref=m.ref,
                    ok=False,
                    error=f"The {self.label} closed the connection; will retry.",
                    transient=True,
                )
            except _Refused as exc:
                if exc.code == 421:  # service closing: this connection is done
                    _close_quietly(conn)
                else:
                    self._release(conn)
                return self._reply_failure(m, exc.code, exc.reply, exc.stage)
            except (smtplib.SMTPException, OSError) as exc:
                _close_quietly(conn)
                if _timed_out(exc):
                    text = self._timeout_text()
                else:
                    text = f"The {self.label} connection failed mid-message ({type(exc).__name__})"
                    text += "; will retry."
                return SendResult(ref=m.ref, ok=False, error=text, transient=True)
            self._release(conn)
            return SendResult(ref=m.ref, ok=True, provider_message_id=message_id, status_code=250)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _transmit(conn: smtplib.SMTP, sender: str, rcpt: str, data: bytes, utf8: bool) -> None:
        options: list[str] = []
        if utf8:
            if not conn.has_extn("smtputf8"):
                raise _Refused(553, "no SMTPUTF8: international addresses not accepted", "sender")
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        try:
            code, reply = conn.mail(sender, options)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _Stale from exc
        if code != 250:
            _rset_quietly(conn)
            raise _Refused(code, reply, "sender")
        code, reply = conn.rcpt(rcpt)
        if code not in (250, 251):
            _rset_quietly(conn)
            raise _Refused(code, reply, "recipient")
        try:
            code, reply = conn.data(data)
        except smtplib.SMTPDataError as exc:  # refused DATA itself (no 354)
            _rset_quietly(conn)
            raise _Refused(exc.smtp_code, exc.smtp_error, "message") from exc
        if code != 250:
            _rset_quietly(conn)
            raise _Refused(code, reply, "message")

    def _reply_failure(self, m: OutboundMessage, code: int, reply: str, stage: str) -> SendResult:
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
        return SendResult(ref=m.ref, ok=False, error=text, transient=transient, status_code=code)

    def _connect_failure(self, m: OutboundMessage, exc: Exception) -> SendResult:
        where = f"{self.host}:{self.port}"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            transient = 400 <= exc.smtp_code < 500
            text = f"The {self.label} at {where} refused the username or password"
            text += f" ({exc.smtp_code})" + ("; will retry." if transient else ".")
            return SendResult(
                ref=m.ref, ok=False, error=text, transient=transient, status_code=exc.smtp_code
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            text = f"The {self.label} at {where} does not support {exc}; check the encryption."
            return SendResult(ref=m.ref, ok=False, error=text)
        if isinstance(exc, ssl.SSLCertVerificationError):
            text = f"The {self.label} at {where} has a certificate that could not be verified."
            return SendResult(ref=m.ref, ok=False, error=text)
        if isinstance(exc, smtplib.SMTPResponseException):
            return self._reply_failure(m, exc.smtp_code, _text(exc.smtp_error), "connection")
        if _timed_out(exc):
            text = f"The {self.label} at {where} did not answer within {self.timeout:g} s"
        else:
            text = f"Could not connect to the {self.label} at {where} ({type(exc).__name__})"
        return SendResult(ref=m.ref, ok=False, error=text + "; will retry.", transient=True)


def _timed_out(exc: BaseException) -> bool:
    # smtplib turns a socket timeout into SMTPServerDisconnected("... timed out").
    return isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _rset_quietly(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        conn.rset()


def _quit_quietly(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        _close_quietly(conn)


def _close_quietly(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        conn.close()
