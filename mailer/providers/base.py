"""The provider interface: the contract every sending channel implements (:class:`Provider`),
and the plumbing the HTTP API providers share (:class:`HttpProvider`, :class:`LoopThread`).

A provider takes a chunk of rendered messages and gives one result per message back, in order;
the design is in docs/architecture.md, "Providers".
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import math
import operator
import os
import ssl
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self, TypeVar
from urllib.parse import urlsplit

from mailer.providers.http import HttpClient, basic_auth, encode_json

__all__ = [
    "Attachment",
    "ConfigField",
    "HttpCall",
    "HttpProvider",
    "HttpResponse",
    "OutboundMessage",
    "Provider",
    "ProviderError",
    "SendResult",
    "pack_message",
    "parse_retry_after",
    "unpack_message",
]

T = TypeVar("T")
R = TypeVar("R")

USER_AGENT = "Mailer (self-hosted bulk email)"

#: Longest provider detail kept in an error text (provider bodies can be large).
MAX_DETAIL = 500


Address = tuple[str, str | None]  # (email, display name or None)


@dataclass(frozen=True)
class Attachment:
    """A file sent with a transactional message; ``content_id`` makes it an inline part that
    the HTML shows with ``<img src="cid:...">``."""

    filename: str
    content_type: str
    content: bytes
    content_id: str | None = None


@dataclass(frozen=True)
class OutboundMessage:
    ref: str  # caller's reference (our send token); results map back by it
    to: str
    subject: str
    from_email: str
    from_name: str | None = None
    to_name: str | None = None
    reply_to: str | None = None
    html: str | None = None
    text: str | None = None
    # extra headers, e.g. List-Unsubscribe, List-Unsubscribe-Post, Feedback-ID
    headers: dict[str, str] = field(default_factory=dict)
    # full "<...@domain>"; built by mime.make_message_id(from_email) if None
    message_id: str | None = None
    # e.g. {"campaign": "12", "token": "..."}: carried to the provider as tags / custom args /
    # X-headers so provider feedback maps back
    tags: dict[str, str] = field(default_factory=dict)
    # Transactional messages only (campaign mail leaves them empty): more To recipients,
    # Cc and Bcc recipients, the Reply-To's display name, files and inline images.
    also_to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    reply_to_name: str | None = None
    attachments: tuple[Attachment, ...] = ()

    @property
    def recipients(self) -> list[str]:
        """Every envelope recipient: To, Cc and Bcc."""
        return [self.to, *(a for a, _ in (*self.also_to, *self.cc, *self.bcc))]


_MESSAGE_FIELDS = operator.attrgetter(*(f.name for f in fields(OutboundMessage)))
# Without the transactional fields (campaign mail): 12 values, not 17 (0.75 µs less a message)
_CAMPAIGN_FIELDS = operator.attrgetter(*[f.name for f in fields(OutboundMessage)][:12])


def pack_message(m: OutboundMessage) -> tuple:
    """The message as a plain tuple, to cross to another process: a batch of them pickles
    and unpickles several times faster than the dataclass instances (measured: 500 messages
    unpickle in 0.36 ms against 1.6 ms)."""
    if m.also_to or m.cc or m.bcc or m.attachments or m.reply_to_name is not None:
        return _MESSAGE_FIELDS(m)
    return _CAMPAIGN_FIELDS(m)


_FIELD_NAMES = tuple(f.name for f in fields(OutboundMessage))
_NEW = object.__new__


def unpack_message(packed: tuple) -> OutboundMessage:
    """The message back from ``pack_message``'s tuple. Filled in directly, without the frozen
    dataclass's ``__init__`` (a setattr per field): a field left out of a campaign message's
    tuple reads its default from the class."""
    message = _NEW(OutboundMessage)
    message.__dict__.update(zip(_FIELD_NAMES, packed, strict=False))  # 12 or 17 values
    return message


@dataclass(frozen=True)
class SendResult:
    ref: str
    ok: bool
    provider_message_id: str | None = None
    error: str | None = None  # plain words a marketer understands + provider detail
    transient: bool = False  # True: retry later (timeouts, connection errors, 429, 5xx, SMTP 4xx)
    retry_after: float | None = None  # seconds, from Retry-After when given
    status_code: int | None = None  # HTTP status or SMTP reply code, when there was one


class ProviderError(Exception):
    """A configuration problem (missing credentials, bad value) with a text fit for the UI."""


FieldKind = Literal["str", "int", "bool"]


@dataclass(frozen=True)
class ConfigField:
    """One setting of a provider, enough for the UI to render and validate a form field."""

    name: str
    label: str
    secret: bool = False  # stored encrypted, never echoed back to the browser
    required: bool = False
    default: str | int | bool | None = None
    help: str = ""
    choices: tuple[tuple[str, str], ...] | None = None  # (value, label) pairs
    kind: FieldKind = "str"
    limits: tuple[int, int] | None = None  # an int field's smallest and largest value

    def out_of_limits(self, value: int) -> str | None:
        """What is wrong with an int value outside ``limits`` (None: it is inside)."""
        if self.limits and not self.limits[0] <= value <= self.limits[1]:
            return f"a number from {self.limits[0]} to {self.limits[1]}"
        return None


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _coerce(f: ConfigField, value: Any) -> Any:
    if f.kind == "int":
        if isinstance(value, bool):
            raise ValueError
        return int(value)
    if f.kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError
    return str(value).strip()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


def short(text: str | None, limit: int = MAX_DETAIL) -> str:
    """Collapse whitespace and cut a provider detail to a readable length."""
    if not text:
        return ""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Provider(ABC):
    """Base class: configuration, a bounded thread pool, and the result helpers.

    A caller hands ``send_batch`` a chunk of fully rendered messages and gets one result per
    message back, in the same order. A provider never raises for a per-message or
    provider-side failure; it classifies it instead: *transient* (retry later, maybe after
    ``retry_after`` seconds) or *permanent* (mark the send failed with ``error``). Only
    configuration problems raise, as :class:`ProviderError`, when the provider is built.

    ``FIELDS`` declares the configuration, so the UI can build the channel form. Secret fields
    (API keys, passwords) arrive in a separate ``secrets`` dict, which the app stores
    encrypted; nothing here logs them or puts them in an error text or a repr.

    ``max_batch`` is the chunk size a caller should hand to ``send_batch``: enough to keep
    ``concurrency`` requests (or the provider's batch calls) busy, small enough that a crash
    leaves few sends in doubt. ``send_batch`` accepts any number and splits as needed.
    """

    name: ClassVar[str]
    label: ClassVar[str]  # human name shown in the UI and in error texts
    max_batch: ClassVar[int]  # how many messages send_batch is best fed at once
    # Whether a ProcessSender should run prepare_batch in its caller's process and hand the
    # child the prepared batch: a child busy preparing starves its own event loop thread
    # (they share one GIL), while the caller mostly waits for the batch in flight.
    prepare_in_caller: ClassVar[bool] = False
    FIELDS: ClassVar[list[ConfigField]] = []

    def __init__(
        self,
        settings: Mapping[str, Any],
        secrets: Mapping[str, Any],
        endpoint_url: str | None = None,
        concurrency: int = 8,
        timeout: float = 30,
    ) -> None:
        if concurrency < 1:
            raise ProviderError("Concurrency must be at least 1.")
        if timeout <= 0:
            raise ProviderError("Timeout must be positive.")
        self.settings, self._secrets = self.clean_config(settings, secrets)
        self.endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        self.concurrency = concurrency
        self.timeout = float(timeout)
        self._executor: ThreadPoolExecutor | None = None

    @classmethod
    def clean_config(
        cls, settings: Mapping[str, Any], secrets: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Apply defaults, coerce types and check required fields and choices.

        Returns cleaned ``(settings, secrets)``; raises ProviderError naming every problem by
        its label (never by value, so no secret ends up in the message).
        """
        clean_settings: dict[str, Any] = {
            k: v for k, v in settings.items() if k not in {f.name for f in cls.FIELDS}
        }
        clean_secrets: dict[str, Any] = {}
        problems: list[str] = []
        for f in cls.FIELDS:
            source = secrets if f.secret else settings
            value = source.get(f.name)
            if value is None or (isinstance(value, str) and not value.strip()):
                value = f.default
            if value is None or value == "":
                if f.required:
                    problems.append(f"{f.label} is required.")
                value = None
            else:
                try:
                    value = _coerce(f, value)
                except (TypeError, ValueError):
                    kind = "a whole number" if f.kind == "int" else "yes or no"
                    problems.append(f"{f.label} must be {kind}.")
                    continue
                wanted = f.out_of_limits(value) if f.kind == "int" else None
                if wanted:
                    problems.append(f"{f.label} must be {wanted}.")
                    continue
                if f.choices and value not in {c for c, _ in f.choices}:
                    allowed = ", ".join(c for c, _ in f.choices)
                    problems.append(f"{f.label} must be one of: {allowed}.")
                    continue
            (clean_secrets if f.secret else clean_settings)[f.name] = value
        if problems:
            raise ProviderError(f"{cls.label} channel settings: " + " ".join(problems))
        return clean_settings, clean_secrets

    @abstractmethod
    def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Send the messages; one result per message, same order. Never raises for sending."""

    def submit_batch(self, messages: Sequence[OutboundMessage]) -> Future[list[SendResult]]:
        """Start ``send_batch`` and return its future, so the caller can prepare the next
        batch meanwhile. This default sends right here (a provider that needs the caller's
        context, like the database-backed sandbox, keeps working); the HTTP and SMTP
        providers send in the background."""
        future: Future[list[SendResult]] = Future()
        try:
            future.set_result(self.send_batch(messages))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def prepare_batch(self, messages: Sequence[OutboundMessage]) -> Any:
        """What can be done for a batch before it may be sent (encoding payloads, writing MIME):
        ``send_prepared`` sends the result. A sender that hands batches to another process
        (``offload.ProcessSender``) has that process prepare the next batch while the current
        one is recorded. This default prepares nothing ahead."""
        return list(messages)

    def send_prepared(self, prepared: Any) -> Future[list[SendResult]]:
        """Send what ``prepare_batch`` returned; the same future as ``submit_batch``."""
        return self.submit_batch(prepared)

    def close(self) -> None:
        """Release connections and threads. The provider can not send afterwards."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} endpoint={self.endpoint_url!r} concurrency={self.concurrency}>"
        )

    # -- helpers for subclasses ---------------------------------------------------------------

    def _map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run fn over items with at most ``concurrency`` in flight, keeping the order."""
        items = list(items)
        if len(items) <= 1 or self.concurrency == 1:
            return [fn(item) for item in items]
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.concurrency, thread_name_prefix=f"mailer-{self.name}"
            )
        return list(self._executor.map(fn, items))

    def _fail(
        self,
        messages: Iterable[OutboundMessage],
        error: str,
        *,
        transient: bool,
        retry_after: float | None = None,
        status_code: int | None = None,
    ) -> list[SendResult]:
        """The same failure for every message of a request."""
        return [
            SendResult(
                ref=m.ref,
                ok=False,
                error=error,
                transient=transient,
                retry_after=retry_after,
                status_code=status_code,
            )
            for m in messages
        ]

    def _http_error_text(self, status: int, detail: str) -> tuple[str, bool]:
        """Plain words for an HTTP error status, and whether to retry."""
        detail = short(detail)
        suffix = f" Provider said: {detail}" if detail else ""
        if status == 429:
            text = f"{self.label} is limiting our sending rate (HTTP 429); will retry.{suffix}"
            return text, True
        if status >= 500 or status == 408:
            text = f"{self.label} had a temporary problem (HTTP {status}); will retry.{suffix}"
            return text, True
        if status in (401, 403):
            return (
                f"{self.label} refused the channel's credentials (HTTP {status}): check the API "
                f"key and the sender's permissions.{suffix}",
                False,
            )
        return f"{self.label} rejected the message (HTTP {status}).{suffix}", False

    def _timeout_text(self) -> str:
        return f"{self.label} did not answer within {self.timeout:g} s; will retry."

    def _connection_text(self, exc: BaseException) -> str:
        return f"Could not reach {self.label} ({type(exc).__name__}); will retry."


class HttpResponse:
    """An HTTP answer, read in full: what the per-provider parsers look at."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers  # case-insensitive (http.Headers)
        self.content = content

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The parsed body; ValueError when it is not JSON."""
        return json.loads(self.content)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop when it is installed (the providers' transports spend about a
    third less CPU per message on it), asyncio's otherwise or with MAILER_EVENT_LOOP=asyncio."""
    if os.environ.get("MAILER_EVENT_LOOP", "uvloop").lower() != "asyncio":
        try:
            import uvloop
        except ImportError:  # e.g. on Windows, where uvloop does not exist
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class LoopThread:
    """One event loop per process, in a daemon thread, for every HTTP and SMTP provider.

    A forked child (an RQ job) gets its own: the parent's thread does not exist there.
    """

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None
    _pid: int | None = None

    @classmethod
    def get(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None or cls._pid != os.getpid():
                loop = new_event_loop()
                threading.Thread(target=loop.run_forever, name="mailer-http", daemon=True).start()
                cls._loop, cls._pid = loop, os.getpid()
            return cls._loop


@dataclass
class HttpCall:
    """One request of a batch: which messages it carries and the encoded POST."""

    batch: list[OutboundMessage]
    url: str
    body: bytes
    content_type: str
    positions: list[int]  # of the batch's messages in what submit_batch was given


class HttpProvider(Provider):
    """Shared plumbing of the HTTP API providers: asyncio transport, error mapping.

    Every request goes through one :class:`~mailer.providers.http.HttpClient` (keep-alive, at
    most ``concurrency`` connections and requests in flight) on the process's event loop
    thread, so hundreds of requests can wait on the provider at once without a thread each.
    A subclass says how messages group into calls (``_group``), what each call posts
    (``_call``) and how to read an answer (``_results``); ``submit_batch``/``send_batch`` do
    the rest.
    """

    default_endpoint: ClassVar[str]

    def __init__(
        self,
        settings: Mapping[str, Any],
        secrets: Mapping[str, Any],
        endpoint_url: str | None = None,
        concurrency: int = 8,
        timeout: float = 30,
    ) -> None:
        super().__init__(settings, secrets, endpoint_url, concurrency, timeout)
        self.base_url = self.endpoint_url or self._default_endpoint()
        if not self.base_url.startswith(("https://", "http://")):
            raise ProviderError(f"{self.label} endpoint URL must start with https://.")
        try:
            parts = urlsplit(self.base_url)
            valid = bool(parts.hostname) and parts.port != 0
        except ValueError:  # a port that is not a number, or out of range
            valid = False
        if not valid:
            raise ProviderError(f"{self.label} endpoint URL needs a host name (and a valid port).")
        self.headers: dict[str, str] = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        self.auth: tuple[str, str] | None = None  # basic auth (user, password)
        # None: the system's trusted certificates (tests pass one trusting their own)
        self.ssl_context: ssl.SSLContext | None = None
        self._client: HttpClient | None = None
        self._client_pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def _default_endpoint(self) -> str:
        return self.default_endpoint

    def __repr__(self) -> str:
        return f"<{type(self).__name__} endpoint={self.base_url!r} concurrency={self.concurrency}>"

    # -- what a subclass provides -------------------------------------------------------------

    def _group(self, messages: Sequence[OutboundMessage]) -> list[list[int]]:
        """Which messages (positions) go in one request: one each unless the provider has a
        batch call."""
        return [[i] for i in range(len(messages))]

    @abstractmethod
    def _call(self, batch: Sequence[OutboundMessage]) -> dict[str, Any]:
        """What to POST for a batch: ``{"url": ..., "json": value}`` or
        ``{"url": ..., "data": bytes, "content_type": ...}``."""

    @abstractmethod
    def _results(self, batch: Sequence[OutboundMessage], resp: HttpResponse) -> list[SendResult]:
        """One result per message of the batch from the provider's answer."""

    # -- sending ------------------------------------------------------------------------------

    def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        return self.submit_batch(messages).result()

    def submit_batch(self, messages: Sequence[OutboundMessage]) -> Future[list[SendResult]]:
        """Start sending; the future's result is ``send_batch``'s. The caller's thread builds
        and encodes the payloads, the event loop thread sends and reads the answers."""
        return self.send_prepared(self.prepare_batch(messages))

    def prepare_batch(
        self, messages: Sequence[OutboundMessage]
    ) -> tuple[list[HttpCall], list[SendResult | None]]:
        """The encoded requests, and the results known without sending (no body)."""
        self._open()
        results: list[SendResult | None] = [no_body_result(m) for m in messages]
        ready = [i for i, r in enumerate(results) if r is None]
        calls = []
        for group in self._group([messages[i] for i in ready]):
            batch = [messages[ready[j]] for j in group]
            calls.append(self._encode(batch, [ready[j] for j in group]))
        return calls, results

    def send_prepared(
        self, prepared: tuple[list[HttpCall], list[SendResult | None]]
    ) -> Future[list[SendResult]]:
        client = self._open()
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self._send_calls(client, *prepared), self._loop)

    def _encode(self, batch: list[OutboundMessage], positions: list[int]) -> HttpCall:
        call = self._call(batch)
        if "json" in call:
            body, content_type = encode_json(call["json"])
        else:
            body, content_type = call["data"], call["content_type"]
        return HttpCall(batch, call["url"], body, content_type, positions)

    async def _send_calls(
        self, client: HttpClient, calls: list[HttpCall], results: list[SendResult | None]
    ) -> list[SendResult]:
        # At most ``concurrency`` coroutines take the calls in turn: no task per call, and no
        # call queues on the connection pool's limit (each waiter costs a future).
        answers: list[list[SendResult]] = [[] for _ in calls]
        turns = iter(range(len(calls)))

        async def take_turns() -> None:
            for i in turns:
                answers[i] = await self._post(client, calls[i])

        workers = min(len(calls), self.concurrency)
        if workers == 1:
            await take_turns()
        elif workers > 1:
            await asyncio.gather(*(take_turns() for _ in range(workers)))
        for call, answer in zip(calls, answers, strict=True):
            for i, result in zip(call.positions, answer, strict=True):
                results[i] = result
        return [r for r in results if r is not None]

    async def _post(self, client: HttpClient, call: HttpCall) -> list[SendResult]:
        """POST one call; the transient failure results when no HTTP answer came back."""
        try:
            resp = await client.request("POST", call.url, call.body, call.content_type)
        except TimeoutError:
            return self._fail(call.batch, self._timeout_text(), transient=True)
        except OSError as exc:  # refused, reset, EOF, TLS failure, a malformed answer
            return self._fail(call.batch, self._connection_text(exc), transient=True)
        return self._results(call.batch, HttpResponse(resp.status, resp.headers, resp.body))

    def _open(self) -> HttpClient:
        """The client of this process (a forked child makes its own) and its loop."""
        if self._closed:
            raise RuntimeError(f"the {self.label} provider is closed")
        pid = os.getpid()
        if self._client is None or self._client_pid != pid:
            headers = dict(self.headers)
            if self.auth:
                headers["Authorization"] = basic_auth(*self.auth)
            try:
                client = HttpClient(
                    headers,
                    concurrency=self.concurrency,
                    timeout=self.timeout,
                    ssl_context=self.ssl_context,
                )
            except ValueError:
                raise ProviderError(
                    f"{self.label} channel settings: a credential contains a line break or "
                    "another character HTTP headers can not carry."
                ) from None
            self._client, self._client_pid, self._loop = client, pid, LoopThread.get()
        return self._client

    def close(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        loop = self._loop
        if client is not None and self._client_pid == os.getpid() and loop is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(_close(client), loop).result(5)
        super().close()

    # -- reading answers ----------------------------------------------------------------------

    def _error_detail(self, resp: HttpResponse) -> str:
        """The provider's own words from an error body (overridden per provider)."""
        try:
            body = resp.json()
        except ValueError:
            return resp.text
        if isinstance(body, dict):
            for key in ("message", "error", "ErrorMessage"):
                if body.get(key):
                    return str(body[key])
        return resp.text

    def _retry_after(self, resp: HttpResponse) -> float | None:
        return parse_retry_after(resp.headers.get("Retry-After"))

    def _error_results(
        self, messages: Sequence[OutboundMessage], resp: HttpResponse
    ) -> list[SendResult]:
        text, transient = self._http_error_text(resp.status_code, self._error_detail(resp))
        return self._fail(
            messages,
            text,
            transient=transient,
            retry_after=self._retry_after(resp) if transient else None,
            status_code=resp.status_code,
        )


async def _close(client: HttpClient) -> None:
    client.close()  # on the loop's thread, where its connections live


def no_body_result(msg: OutboundMessage) -> SendResult | None:
    """Refuse locally what every provider refuses: a message without any body."""
    if msg.text is None and msg.html is None:
        return SendResult(
            ref=msg.ref, ok=False, error="The message has neither a text nor an HTML body."
        )
    return None
