"""One delivery path for every kind of send: campaign sends, transactional messages, test sends.

The provider of a channel, the retry policy, one reading of a provider's answer
(:class:`SendOutcome`) and one bulk write of a chunk's outcomes, a message composed from a
sender identity, rendered content and headers, and "send it now and say what happened".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import Table, bindparam, update

from mailer.extensions import db
from mailer.lib import dbutil
from mailer.lib.crypto import SecretsUnreadable, decrypt_json
from mailer.models import Channel
from mailer.providers import (
    OutboundMessage,
    Provider,
    ProviderError,
    SendResult,
    make_provider,
    registry,
)
from mailer.providers.base import HttpProvider
from mailer.providers.sandbox import SandboxProvider

log = logging.getLogger(__name__)

# Also registered by the module's own @register; kept explicit so that building a provider
# here is enough for make_provider("sandbox", ...) to work in views and workers.
registry.setdefault("sandbox", SandboxProvider)

SENT = "sent"  # a send's and a message's status alike (SendStatus.SENT, MessageStatus.SENT)
FAILED = "failed"
BACKOFF_BASE = 30  # seconds: 30, 60, 120, … capped at BACKOFF_MAX
BACKOFF_MAX = 3600
MAX_ERROR = 500  # characters of an error kept on a send


# ---------------------------------------------------------------- the provider of a channel


def provider_class(name: str) -> type[Provider] | None:
    return registry.get(name)


def channel_secrets(channel: Channel) -> dict[str, Any]:
    """Decrypted secrets; only for building a provider. Raises SecretsUnreadable."""
    return decrypt_json(channel.secrets_encrypted)


def build_provider(channel: Channel, **kwargs: Any) -> Provider:
    """The channel's provider, ready to send. Raises ProviderError with a text for the UI."""
    try:
        secrets = channel_secrets(channel)
    except SecretsUnreadable as exc:
        raise ProviderError(str(exc)) from None
    settings = dict(channel.settings or {})
    if channel.provider == SandboxProvider.name:
        settings["channel_id"] = channel.id
    return make_provider(
        channel.provider, settings, secrets, endpoint_url=channel.endpoint_url, **kwargs
    )


def channel_provider(channel: Channel) -> Provider:
    """The channel's adapter with the configured parallelism: HTTP APIs take many requests in
    flight (latency-bound), SMTP servers few connections per client."""
    cls = provider_class(channel.provider)
    key = (
        "MAILER_HTTP_CONCURRENCY"
        if cls and issubclass(cls, HttpProvider)
        else "MAILER_SMTP_CONCURRENCY"
    )
    return build_provider(channel, concurrency=int(current_app.config[key]))


def loop_provider(channel: Channel):
    """The channel's adapter for a campaign's channel loop: HTTP and SMTP ones send from a
    child process (``MAILER_SEND_PROCESS``), so the transport gets a core of its own while the
    loop claims, renders and records."""
    from mailer.providers.offload import ProcessSender, offloadable

    provider = channel_provider(channel)
    if current_app.config["MAILER_SEND_PROCESS"] and offloadable(provider):
        return ProcessSender(provider)
    return provider


# ---------------------------------------------------------------- retries


def max_attempts() -> int:
    return int(current_app.config["MAILER_MAX_ATTEMPTS"])


def backoff(attempts: int, retry_after: float | None) -> float:
    """Seconds before the next attempt: exponential, at least what the provider asked for."""
    delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return max(delay, retry_after or 0)


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What became of one send (a campaign send or a transactional message): its row's new
    status, with the provider's message id and time when sent, the reason when not, and when
    to try again when it goes back to the queue."""

    id: int
    status: str
    error: str | None = None
    provider_message_id: str | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None


def decided(row_id: int, status: str, error: str) -> SendOutcome:
    """A send settled before the provider saw it (suppressed, a template error, …)."""
    return SendOutcome(row_id, status, error[:MAX_ERROR])


def interpret(
    result: SendResult, row_id: int, attempts: int, now: datetime, *, queued: str
) -> SendOutcome:
    """The one reading of a provider's answer: sent; back to the ``queued`` status with a
    time to retry (a transient error, attempts left); or failed with the reason."""
    if result.ok:  # by position: a send loop makes one per email
        return SendOutcome(row_id, SENT, None, result.provider_message_id, now)
    error = result.error or "the provider refused the message"
    if result.transient:
        if attempts < max_attempts():
            retry_at = now + timedelta(seconds=backoff(attempts, result.retry_after))
            return SendOutcome(row_id, queued, error[:MAX_ERROR], None, None, retry_at)
        error = f"gave up after {attempts} attempts: {error}"
    return SendOutcome(row_id, FAILED, error[:MAX_ERROR])


def write_outcomes(table: Table, outcomes: Sequence[SendOutcome]) -> None:
    """A chunk's outcomes for a table of sends (``sends``, ``messages``): the sent rows in one
    UPDATE with a CASE for their provider message ids, the rest (failures, retries: few) with
    one executemany. Not committed."""
    done = [o for o in outcomes if o.status == SENT]
    if done:
        branches = " ".join([f"WHEN {int(o.id)} THEN ?" for o in done])
        dbutil.run_sql(
            f"UPDATE {table.name} SET status = ?, error = NULL, next_attempt_at = NULL, "
            f"sent_at = ?, provider_message_id = CASE id {branches} END "
            f"WHERE id IN ({dbutil.id_list([o.id for o in done])})",
            [SENT, done[0].sent_at, *[o.provider_message_id for o in done]],
        )
    if len(done) < len(outcomes):
        db.session.connection().execute(
            _others_update(table),
            [
                {
                    "b_id": o.id,
                    "b_status": o.status,
                    "b_error": o.error,
                    "b_next": o.next_attempt_at,
                }
                for o in outcomes
                if o.status != SENT
            ],
        )


_OTHERS: dict[str, Any] = {}


def _others_update(table: Table):
    """One statement per table for the outcomes that are not "sent" (they carry no provider
    message id nor sent time: those columns keep their values)."""
    found = _OTHERS.get(table.name)
    if found is None:
        found = _OTHERS[table.name] = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                error=bindparam("b_error"),
                next_attempt_at=bindparam("b_next"),
            )
        )
    return found


# ---------------------------------------------------------------- composing a message


class SenderIdentity(Protocol):
    """Who a message is from: an Identity row, a query row with its columns, a Sender."""

    from_email: str
    from_name: str | None
    reply_to: str | None


@dataclass(frozen=True, slots=True)
class Sender:
    """A sender identity's addresses as plain values (ORM rows expire on every commit)."""

    from_email: str
    from_name: str | None
    reply_to: str | None

    @classmethod
    def of(cls, identity: SenderIdentity) -> Sender:
        return cls(identity.from_email, identity.from_name or None, identity.reply_to or None)


def compose(
    sender: SenderIdentity,
    ref: str,
    to: str,
    subject: str,
    html: str | None,
    text: str | None,
    headers: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
) -> OutboundMessage:
    """The message a provider sends: from the sender identity, with the rendered content and
    the headers (List-Unsubscribe, Feedback-ID, …); ``ref`` maps the provider's answer back."""
    # By position (checked below): a send loop composes one per email, and keywords cost more.
    return OutboundMessage(
        ref,
        to,
        subject,
        sender.from_email,
        sender.from_name or None,
        None,  # to_name
        sender.reply_to or None,
        html,
        text,
        {} if headers is None else headers,
        None,  # message_id: made by the provider from from_email
        {} if tags is None else tags,
    )


_FIELDS = (
    "ref",
    "to",
    "subject",
    "from_email",
    "from_name",
    "to_name",
    "reply_to",
    "html",
    "text",
    "headers",
    "message_id",
    "tags",
)
# (the fields after these, for transactional messages only, keep their defaults here)
if tuple(f.name for f in fields(OutboundMessage))[: len(_FIELDS)] != _FIELDS:  # pragma: no cover
    raise ImportError("OutboundMessage's fields changed: update delivery.compose()")


# ---------------------------------------------------------------- sending now


@dataclass(frozen=True, slots=True)
class Answer:
    """A provider's answer to a message sent now, in plain words when it was not sent."""

    to: str
    ok: bool
    provider_message_id: str | None = None
    transient: bool = False
    explanation: str = ""  # why it was not sent (empty when it was)


def send_now(channel: Channel, messages: Sequence[OutboundMessage]) -> list[Answer]:
    """Send a few messages now through the channel (tests of a channel or a campaign), one
    provider call each (a provider refuses a whole batch for one bad address), and describe
    each answer. Ends the session's transaction first: no connection is held during a slow
    provider call, and what the sandbox commits on its own connection is seen afterwards."""
    channel_id = channel.id
    label = getattr(provider_class(channel.provider), "label", None) or channel.provider
    try:
        provider = build_provider(channel, concurrency=1, timeout=20)
    except ProviderError as exc:
        log.info("Test send through channel %s not attempted: settings problem", channel_id)
        return _all_failed(messages, f"The channel is not set up correctly: {exc}")
    db.session.commit()
    results: list[SendResult] = []
    try:
        for message in messages:
            results.extend(provider.send_batch([message]))
    except Exception as exc:  # noqa: BLE001 - providers should not raise; say so plainly
        log.warning(
            "Test send through channel %s: provider raised %s", channel_id, type(exc).__name__
        )
        return _all_failed(
            messages, f"The {label} provider failed unexpectedly ({type(exc).__name__})."
        )
    finally:
        provider.close()
    to = {m.ref: m.to for m in messages}
    return [_answer(channel_id, to[result.ref], result) for result in results]


def _answer(channel_id: int, to: str, result: SendResult) -> Answer:
    if result.ok:
        log.info("Test send through channel %s accepted", channel_id)
        return Answer(to, True, provider_message_id=result.provider_message_id)
    log.info(
        "Test send through channel %s refused (%s)",
        channel_id,
        "temporary" if result.transient else "permanent",
    )
    kind = (
        "A temporary problem: trying again later may work."
        if result.transient
        else "A permanent refusal: retrying will not help until the cause is fixed."
    )
    return Answer(
        to,
        False,
        transient=result.transient,
        explanation=f"{result.error or 'The provider refused the message.'} {kind}",
    )


def _all_failed(messages: Sequence[OutboundMessage], explanation: str) -> list[Answer]:
    return [Answer(m.to, False, explanation=explanation) for m in messages]
