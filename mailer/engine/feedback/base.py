"""What every provider module of the feedback package shares: the normalised event, the two
ways a webhook request is refused, and small parsing helpers.

A provider module has two halves. ``verify(incoming, config)`` runs in the web request, before
anything is stored, and raises :class:`Rejected` for a request that is not genuinely from the
provider (the view answers 403). ``parse(doc)`` runs in the feedback job and turns one stored
payload into :class:`FeedbackEvent` records, which :mod:`mailer.engine.feedback.apply` applies.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app

from mailer.models.base import utcnow
from mailer.queue import get_redis

MAX_TEXT = 500  # longest provider text (diagnostic, reason, URL) kept in an event's data
REPLAY_PREFIX = "mailer:feedback:seen:"


class Rejected(Exception):
    """The request is not genuinely from the provider: 403, nothing stored but a counter."""


class Malformed(Exception):
    """The body is not what the provider sends (not JSON, wrong shape): 400."""


@dataclass(frozen=True)
class Incoming:
    """A webhook request as the verifiers see it."""

    raw: bytes
    headers: Mapping[str, str]
    doc: Any  # the parsed JSON body


@dataclass(frozen=True)
class ChannelConfig:
    """A channel's settings and decrypted secrets, for verifying its webhooks."""

    channel_id: int
    settings: Mapping[str, Any]
    secrets: Mapping[str, Any]

    def get(self, name: str) -> str:
        value = self.secrets.get(name)
        if value in (None, ""):
            value = self.settings.get(name)
        return "" if value is None else str(value).strip()


@dataclass
class FeedbackEvent:
    """One thing a provider reported about one recipient of one message.

    ``kind`` is an EventType value, or None for an event that changes nothing here (e.g. a
    provider's "processed"/"send"). ``event_id`` is unique for the provider and the same every
    time the provider reports the same event (it becomes ``Event.provider_event_id``, the
    idempotency key). The send is found by ``token`` (our signed tag) first, else by one of
    ``message_ids`` (spellings of the provider's message id), and only among the sends and
    messages of ``channel_id``, the channel whose endpoint or queue reported the event (set
    by the job, not by the provider module).
    """

    provider: str
    kind: str | None
    event_id: str
    occurred_at: datetime
    email: str | None = None
    message_ids: tuple[str, ...] = ()
    token: str | None = None
    bounce: str | None = None  # "hard" | "soft" when kind is bounce
    suppress: str | None = None  # a SuppressionReason for a reject of a known-bad address
    machine: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    channel_id: int | None = None

    @property
    def key(self) -> str:
        """Event.provider_event_id: "<provider>:<channel>:<id>", hashed when it would not fit.
        The channel is part of it: an event id posted through one channel never makes the
        same id of another channel a duplicate."""
        prefix = f"{self.provider}:{'' if self.channel_id is None else self.channel_id}:"
        key = prefix + self.event_id
        if len(key) <= 255:
            return key
        return f"{prefix}sha256:{hashlib.sha256(self.event_id.encode()).hexdigest()}"


# ------------------------------------------------------------------------------ freshness


def max_age() -> int:
    """Seconds a signed timestamp may be away from now, either way
    (``MAILER_FEEDBACK_SIGNATURE_MAX_AGE``)."""
    return int(current_app.config["MAILER_FEEDBACK_SIGNATURE_MAX_AGE"])


def check_age(stamp: Any, now: float | None = None) -> None:
    """Refuse a request signed too long ago or dated in the future (a replay, or a clock far
    off): ``stamp`` is Unix seconds, or an ISO 8601 time (SNS)."""
    if isinstance(stamp, str) and "T" in stamp:
        try:
            when = datetime.fromisoformat(stamp.strip())
        except ValueError:
            raise Rejected("timestamp is not a time") from None
        if when.tzinfo is None:
            raise Rejected("timestamp has no time zone")
        seconds = when.timestamp()
    else:
        try:
            seconds = float(stamp)
        except (TypeError, ValueError):
            raise Rejected("timestamp is not a number") from None
    if not abs((time.time() if now is None else now) - seconds) <= max_age():
        raise Rejected("stale timestamp")


def first_use(channel_id: int, provider: str, nonce: str | bytes) -> str:
    """Remember a signed request's nonce for as long as its timestamp is accepted (twice
    the window: the stamp may be ahead as much as behind); refuse it the second time.
    Returns the Redis key, for :func:`forget`."""
    raw = nonce.encode() if isinstance(nonce, str) else nonce
    digest_ = hashlib.sha256(raw).hexdigest()
    key = f"{REPLAY_PREFIX}{provider}:{channel_id}:{digest_}"
    if not get_redis().set(key, "1", nx=True, ex=2 * max_age()):
        raise Rejected("request already received (replay)")
    return key


def forget(meta: dict) -> None:
    """The request could not be stored after all: let the provider's retry through."""
    key = meta.pop("replay_key", None)
    if key:
        get_redis().delete(key)


# ------------------------------------------------------------------------------ helpers


def text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """A provider value as a bounded, single-spaced string (None for nothing)."""
    if value is None or value == "":
        return None
    out = " ".join(str(value).split())
    return out if len(out) <= limit else out[: limit - 1] + "…"


def compact(data: Mapping[str, Any]) -> dict[str, Any]:
    """Drop empty values so event rows stay small."""
    return {k: v for k, v in data.items() if v not in (None, "", [], {})}


def from_epoch(value: Any) -> datetime:
    """Unix seconds (int, float or numeric string) as naive UTC; now when unreadable."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return utcnow()
    if seconds > 1e11:  # milliseconds
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return utcnow()


def from_iso(value: Any) -> datetime:
    """An ISO 8601 time ("2024-05-01T10:00:00.123Z") as naive UTC; now when unreadable."""
    if not isinstance(value, str) or not value:
        return utcnow()
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return utcnow()
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


def digest(*parts: Any) -> str:
    """A stable id for providers that give events none: the same report, the same id."""
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:40]


def json_object(value: Any) -> dict[str, Any]:
    """A JSON object carried as a string (Mailjet Payload, Brevo X-Mailin-custom) or a dict."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def bracket_variants(message_id: Any) -> tuple[str, ...]:
    """'<id@host>' and 'id@host': providers echo message ids with or without brackets."""
    if not isinstance(message_id, str | int) or message_id == "":
        return ()
    value = str(message_id).strip()
    bare = value[1:-1] if value.startswith("<") and value.endswith(">") else value
    return tuple(dict.fromkeys((value, bare, f"<{bare}>")))


def token_of(value: Any) -> str | None:
    """Our send token from a tag value. SES tag values cannot hold '.', so the sender's
    'c1a.SIG' arrives as 'c1a_SIG': the token's head (kind + base 36 id) never holds '_'."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    if "." not in value and "_" in value:
        head, _, tail = value.partition("_")
        value = f"{head}.{tail}"
    return value


def event_objects(doc: Any, provider: str) -> list[dict]:
    """The events of a callback that posts one event object or an array of them."""
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list):
        raise Malformed(f"{provider} posts an event object or an array of them")
    return [e for e in doc if isinstance(e, dict)]
