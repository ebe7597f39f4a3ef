"""Outbound webhook events: what every emitter builds (:class:`WebhookEvent`), and
:func:`emit`, which queues one delivery row per (event, enabled endpoint subscribed to its
type) in the caller's transaction.

The body a receiver gets (stable; documented in the README, section "Outbound webhooks")::

    {"id": "evt_…", "type": "opened", "occurred_at": "2025-01-31T12:00:00Z",
     "email": "ann@example.com", "campaign_id": 7, "campaign_name": "March news",
     "campaign_external_id": null, "send_id": 123, "message_id": null,
     "tags": [], "metadata": {}, "machine": false, "data": {...}}

``tags`` and ``metadata`` are a transactional message's own (as sent through the API);
the OpenAPI document's ``webhooks`` section describes every type's ``data``.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from mailer.engine.delivery import SendOutcome
from mailer.extensions import db
from mailer.lib import dbutil
from mailer.models import Campaign, Link, Message, Send
from mailer.models.base import utcnow
from mailer.models.webhooks import (
    TEST_EVENT,
    WEBHOOK_EVENT_TYPES,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

CACHE_SECONDS = 5.0  # how long a process trusts its copy of the subscriptions
RETRY_WINDOW = timedelta(hours=24)  # a delivery is retried until this long after it was queued

# Event rows' types (models.EventType) and the send loop's statuses -> webhook event types.
_TYPE = {
    "open": "opened",
    "click": "clicked",
    "delivery": "delivered",
    "bounce": "bounced",
    "complaint": "complained",
    "unsubscribe": "unsubscribed",
    "reject": "failed",  # the provider refused the message
    **{t: t for t in WEBHOOK_EVENT_TYPES},
}
_NAMESPACE = uuid.UUID("6f1d5a52-7d0e-4d0a-9a57-3c2b8e0f4b11")  # event ids from event keys
_CACHE_KEY = "mailer_webhook_targets"
_D = WebhookDelivery.__table__


@dataclass(frozen=True)
class WebhookEvent:
    """One thing that happened to one recipient's mail, as client apps are told about it.

    ``kind`` is a webhook type ("opened") or an Event row type ("open"); others are ignored.
    ``email`` is looked up from ``send_id``/``message_id`` when missing. ``key`` is a stable
    identity of the event: the event id is derived from it, so the same event emitted twice
    is queued once. ``link_id`` (clicks) adds the link's URL to ``data``."""

    kind: str
    occurred_at: datetime | None = None  # naive UTC; now when None
    email: str | None = None
    campaign_id: int | None = None
    send_id: int | None = None
    message_id: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None
    machine: bool = False
    link_id: int | None = None

    @classmethod
    def from_event_row(cls, row: Mapping[str, Any]) -> WebhookEvent:
        """The webhook event of an ``Event`` row's values (tracking hits, provider feedback):
        its ``provider_event_id`` is the key."""
        return cls(
            kind=row["type"],
            occurred_at=row.get("occurred_at"),
            campaign_id=row.get("campaign_id"),
            send_id=row.get("send_id"),
            message_id=row.get("message_id"),
            data=row.get("data") or {},
            key=row.get("provider_event_id"),
            machine=bool(row.get("machine")),
            link_id=row.get("link_id"),
        )


def _targets() -> dict[str, list[int]]:
    """{event type: ids of enabled endpoints subscribed to it}, cached per process."""
    cached = current_app.extensions.get(_CACHE_KEY)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    targets: dict[str, list[int]] = defaultdict(list)
    rows = db.session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(WebhookEndpoint.enabled)
    )
    for endpoint_id, types in rows:
        for kind in types or ():
            targets[kind].append(endpoint_id)
    targets = dict(targets)
    current_app.extensions[_CACHE_KEY] = (now + CACHE_SECONDS, targets)
    return targets


def invalidate_cache() -> None:
    """This process sees endpoint changes at once; others within CACHE_SECONDS."""
    current_app.extensions.pop(_CACHE_KEY, None)


def subscribed(kind: str) -> bool:
    """Whether any enabled endpoint wants events of this type (webhook or Event row name)."""
    return bool(_targets().get(_TYPE.get(kind, kind)))


def emit(events: Iterable[WebhookEvent]) -> int:
    """Queue deliveries of ``events`` to the endpoints subscribed to them, in the caller's
    transaction; returns how many were queued. Costs a dict lookup when no endpoint is
    enabled (``events`` is not even iterated)."""
    targets = _targets()
    if not targets:
        return 0
    wanted: list[tuple[str, WebhookEvent]] = []
    for event in events:
        kind = _TYPE.get(event.kind)
        if kind and kind in targets:
            wanted.append((kind, event))
    if not wanted:
        return 0
    facts = _lookup([e for _, e in wanted])
    links = _link_urls([e for k, e in wanted if k == "clicked" and e.link_id])
    now = utcnow()
    rows = []
    for kind, event in wanted:
        event_id = _event_id(event)
        payload = _payload(event_id, kind, event, facts, links)
        for endpoint_id in targets[kind]:
            rows.append(_row(endpoint_id, event_id, kind, payload, now))
    keys = ["endpoint_id", "event_id"]
    db.session.execute(dbutil.insert_ignore(_D, keys), rows)
    return len(rows)


def emit_send_outcomes(campaign_id: int, outcomes: Sequence[SendOutcome]) -> int:
    """``sent`` and ``failed`` events for a chunk of campaign send outcomes; free when nobody
    subscribes to either (no event is built)."""
    targets = _targets()
    if not (targets.get("sent") or targets.get("failed")):
        return 0
    return emit(
        WebhookEvent(
            o.status,
            key=f"send:{o.id}:{o.status}",
            occurred_at=o.sent_at,
            campaign_id=campaign_id,
            send_id=o.id,
            data={"error": o.error} if o.error else {},
        )
        for o in outcomes
        if o.status in ("sent", "failed")
    )


def delivery_of_test_event(endpoint_id: int) -> dict[str, Any]:
    """A ``test`` event's delivery to one endpoint: due now, one attempt, no retries."""
    now = utcnow()
    event = WebhookEvent(
        TEST_EVENT,
        occurred_at=now,
        data={"message": "A test event from Mailer: the signature can be checked."},
    )
    event_id = _event_id(event)
    payload = _payload(event_id, TEST_EVENT, event, _Facts(), {})
    row = _row(endpoint_id, event_id, TEST_EVENT, payload, now)
    row["expires_at"] = now  # one attempt, no retries
    return row


def _event_id(event: WebhookEvent) -> str:
    raw = uuid.uuid5(_NAMESPACE, str(event.key)) if event.key else uuid.uuid4()
    return f"evt_{raw.hex}"


def _row(endpoint_id: int, event_id: str, kind: str, payload: dict, now: datetime) -> dict:
    return {
        "endpoint_id": endpoint_id,
        "event_id": event_id,
        "event_type": kind,
        "payload": payload,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "expires_at": now + RETRY_WINDOW,
        "created_at": now,
    }


def _payload(
    event_id: str,
    kind: str,
    event: WebhookEvent,
    facts: _Facts,
    links: Mapping[int, str],
) -> dict[str, Any]:
    """The body posted to the endpoint (see the module docstring)."""
    data = dict(event.data)
    link_id = event.link_id
    if link_id:
        data.setdefault("link_id", link_id)
        if link_id in links:
            data.setdefault("url", links[link_id])
    send_id, message_id = event.send_id, event.message_id
    send = facts.sends.get(send_id) if send_id else None
    message = facts.messages.get(message_id) if message_id else None
    email = event.email or (send and send[0]) or (message and message[0]) or None
    campaign_id = event.campaign_id or (send and send[1]) or None
    campaign = facts.campaigns.get(campaign_id) if campaign_id else None
    return {
        "id": event_id,
        "type": kind,
        "occurred_at": _iso(event.occurred_at or utcnow()),
        "email": email,
        "campaign_id": campaign_id,
        "campaign_name": campaign[0] if campaign else None,
        "campaign_external_id": campaign[1] if campaign else None,
        "send_id": send_id,
        "message_id": message_id,
        "tags": list(message[1] or []) if message else [],
        "metadata": dict(message[2] or {}) if message else {},
        "machine": bool(event.machine or data.get("machine")),
        "data": data,
    }


def _iso(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


@dataclass
class _Facts:
    """What the payloads of a batch of events need from the database, read once per batch."""

    sends: dict[int, tuple[str, int]] = field(default_factory=dict)  # email, campaign
    messages: dict[int, tuple[str, list, dict]] = field(default_factory=dict)  # to, tags, meta
    campaigns: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # name, ext. id


def _lookup(events: list[WebhookEvent]) -> _Facts:
    facts = _Facts()
    send_ids = sorted({e.send_id for e in events if e.send_id and not (e.email and e.campaign_id)})
    message_ids = sorted({e.message_id for e in events if e.message_id})
    for chunk in _chunks(send_ids):
        query = select(Send.id, Send.email, Send.campaign_id).where(Send.id.in_(chunk))
        for sid, email, campaign_id in db.session.execute(query):
            facts.sends[sid] = (email, campaign_id)
    for chunk in _chunks(message_ids):
        query = select(Message.id, Message.to_email, Message.tags, Message.meta).where(
            Message.id.in_(chunk)
        )
        for mid, email, tags, meta in db.session.execute(query):
            facts.messages[mid] = (email, tags, meta)
    campaign_ids = {e.campaign_id for e in events if e.campaign_id}
    campaign_ids.update(campaign for _, campaign in facts.sends.values())
    for chunk in _chunks(sorted(campaign_ids)):
        query = select(Campaign.id, Campaign.name, Campaign.external_id).where(
            Campaign.id.in_(chunk)
        )
        for cid, name, external_id in db.session.execute(query):
            facts.campaigns[cid] = (name, external_id)
    return facts


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _link_urls(events: list[WebhookEvent]) -> dict[int, str]:
    ids = sorted({int(e.link_id) for e in events if e.link_id})
    if not ids:
        return {}
    return dict(db.session.execute(select(Link.id, Link.url).where(Link.id.in_(ids))).all())
