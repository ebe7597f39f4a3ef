"""Outbound webhooks: tell client apps what happened to their mail, signed, retried for a day.

Emitting: the code that records events (tracking flush, unsubscribe, provider feedback, the
send loop, transactional sends) calls :func:`emit` in its own transaction. It queues one
``webhook_deliveries`` row per (event, enabled endpoint subscribed to its type), in bulk, and
costs a dict lookup when no endpoint subscribes (the subscriptions are cached per process for
``CACHE_SECONDS``).

Delivering: the ``webhooks-deliver`` tick (jobs/webhooks_out.py) calls :func:`deliver_due`,
which claims due deliveries with a conditional UPDATE (``FOR UPDATE SKIP LOCKED`` first on
MySQL/MariaDB), so two workers never post the same attempt; posts them with bounded thread
concurrency, no redirects followed, only to public addresses unless
MAILER_WEBHOOK_ALLOW_PRIVATE is set (:mod:`mailer.lib.netguard`, also checked when an
endpoint is saved); 2xx is delivered, anything else is retried with
exponential backoff (30 s doubling, capped at 1 h, ±20 % jitter) until the retry window
(24 h) closes, then the delivery is failed. An endpoint whose deliveries have all failed for
``MAILER_WEBHOOK_DISABLE_AFTER_HOURS`` is disabled with the reason shown in the UI.

The body a receiver gets (stable; documented in the README, section "Outbound webhooks")::

    {"id": "evt_…", "type": "opened", "occurred_at": "2025-01-31T12:00:00Z",
     "email": "ann@example.com", "campaign_id": 7, "send_id": 123, "message_id": null,
     "machine": false, "data": {...}}

Signature header: ``Mailer-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``;
receivers check it with :func:`verify_signature` (or the same few lines in their language).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import random
import secrets as pysecrets
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app
from sqlalchemy import bindparam, delete, func, select, update

from mailer.engine.delivery import SendOutcome
from mailer.extensions import db
from mailer.lib import dbutil, netguard
from mailer.lib.crypto import SecretsUnreadable, decrypt_json, encrypt_json
from mailer.lib.errors import ValidationError
from mailer.models import Link, Message, Send
from mailer.models.base import utcnow
from mailer.models.webhooks import (
    TEST_EVENT,
    WEBHOOK_EVENT_TYPES,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0  # how long a process trusts its copy of the subscriptions
RETRY_WINDOW = timedelta(hours=24)
FIRST_DELAY = 30.0  # seconds before the first retry; doubles each time
MAX_DELAY = 3600.0
JITTER = 0.2
TIMEOUT = (5.0, 10.0)  # connect, read (seconds)
CONCURRENCY = 8  # requests in flight per delivery run (MAILER_WEBHOOK_CONCURRENCY overrides)
LEASE = timedelta(minutes=2)  # a claimed delivery whose worker died is retried after this
# A run starts no new batch after RUN_SECONDS; a batch gives each thread BATCH_PER_WORKER
# requests, so even a slow endpoint (10 s each) ends a run within the tick job's 60 s timeout.
RUN_SECONDS = 10.0
BATCH_PER_WORKER = 4
RETENTION_DAYS = 30  # delivered and failed deliveries are pruned after this
PRUNE_BATCH = 5000
URL_MAX = 2000
DESCRIPTION_MAX = 200
PAGE_SIZE = 50
USER_AGENT = "Mailer-Webhooks/1"
SIGNATURE_HEADER = "Mailer-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret

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


# ------------------------------------------------------------------------------ emitting


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


def emit(events: Iterable[Mapping[str, Any]]) -> int:
    """Queue deliveries of ``events`` to the endpoints subscribed to them, in the caller's
    transaction; returns how many were queued.

    Each event: ``type`` (a webhook type such as "opened", or an Event row type such as
    "open"; others are ignored), ``occurred_at`` (datetime, naive UTC), ``email`` (looked up
    from send_id/message_id when missing), ``campaign_id``, ``send_id``, ``message_id``,
    ``data`` (dict). Optional ``key`` (or ``provider_event_id``): a stable identity of the
    event; the event id is derived from it, so the same event emitted twice is queued once.
    Optional ``machine`` (bool) and ``link_id`` (clicks: the URL is added to ``data``)."""
    targets = _targets()
    if not targets:
        return 0
    wanted: list[tuple[str, Mapping[str, Any]]] = []
    for event in events:
        kind = _TYPE.get(event.get("type", ""))
        if kind and kind in targets:
            wanted.append((kind, event))
    if not wanted:
        return 0
    emails = _emails([e for _, e in wanted if not e.get("email")])
    links = _link_urls([e for k, e in wanted if k == "clicked" and e.get("link_id")])
    now = utcnow()
    rows = []
    for kind, event in wanted:
        event_id = _event_id(event)
        payload = _payload(event_id, kind, event, emails, links)
        for endpoint_id in targets[kind]:
            rows.append(_row(endpoint_id, event_id, kind, payload, now))
    keys = ["endpoint_id", "event_id"]
    db.session.execute(dbutil.insert_ignore(_D, keys), rows)
    return len(rows)


def emit_send_results(campaign_id: int, outcomes: Sequence[SendOutcome]) -> int:
    """``sent`` and ``failed`` events for a chunk of campaign send outcomes; free when nobody
    subscribes."""
    targets = _targets()
    if not (targets.get("sent") or targets.get("failed")):
        return 0
    now = utcnow()
    return emit(
        {
            "type": o.status,
            "key": f"send:{o.id}:{o.status}",
            "occurred_at": o.sent_at or now,
            "campaign_id": campaign_id,
            "send_id": o.id,
            "data": {"error": o.error} if o.error else {},
        }
        for o in outcomes
        if o.status in ("sent", "failed")
    )


def _event_id(event: Mapping[str, Any]) -> str:
    key = event.get("key") or event.get("provider_event_id")
    raw = uuid.uuid5(_NAMESPACE, str(key)) if key else uuid.uuid4()
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


def _payload(event_id, kind, event, emails, links) -> dict[str, Any]:
    data = dict(event.get("data") or {})
    link_id = event.get("link_id")
    if link_id:
        data.setdefault("link_id", link_id)
        if link_id in links:
            data.setdefault("url", links[link_id])
    send_id, message_id = event.get("send_id"), event.get("message_id")
    email = event.get("email") or emails.get(("s", send_id)) or emails.get(("m", message_id))
    return {
        "id": event_id,
        "type": kind,
        "occurred_at": _iso(event.get("occurred_at") or utcnow()),
        "email": email,
        "campaign_id": event.get("campaign_id"),
        "send_id": send_id,
        "message_id": message_id,
        "machine": bool(event.get("machine") or data.get("machine")),
        "data": data,
    }


def _iso(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


def _emails(events: list[Mapping[str, Any]]) -> dict[tuple[str, int], str]:
    send_ids = sorted({e["send_id"] for e in events if e.get("send_id")})
    message_ids = sorted({e["message_id"] for e in events if e.get("message_id")})
    found: dict[tuple[str, int], str] = {}
    for start in range(0, len(send_ids), 500):
        chunk = send_ids[start : start + 500]
        for sid, email in db.session.execute(select(Send.id, Send.email).where(Send.id.in_(chunk))):
            found[("s", sid)] = email
    for start in range(0, len(message_ids), 500):
        chunk = message_ids[start : start + 500]
        query = select(Message.id, Message.to_email).where(Message.id.in_(chunk))
        for mid, email in db.session.execute(query):
            found[("m", mid)] = email
    return found


def _link_urls(events: list[Mapping[str, Any]]) -> dict[int, str]:
    ids = sorted({int(e["link_id"]) for e in events})
    if not ids:
        return {}
    return dict(db.session.execute(select(Link.id, Link.url).where(Link.id.in_(ids))).all())


# ------------------------------------------------------------------------------ signing


def new_secret() -> str:
    return SECRET_PREFIX + pysecrets.token_urlsafe(32)


def body_bytes(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes posted (and signed): compact JSON, keys sorted, ASCII only."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("ascii")


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={stamp},v1={signature(secret, body, stamp)}"


def verify_signature(
    secret: str, header: str | None, body: bytes, tolerance: int = 300, now: float | None = None
) -> bool:
    """True when ``header`` (the Mailer-Signature value) signs ``body`` (the raw request body,
    bytes as received) with ``secret`` and its timestamp is within ``tolerance`` seconds of
    now. Any ``v1`` entry may match (several appear while a secret is being replaced)."""
    if not header or not secret:
        return False
    stamp: int | None = None
    candidates = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                stamp = int(value)
            except ValueError:
                return False
        elif name == "v1":
            candidates.append(value)
    if stamp is None or not candidates:
        return False
    now = time.time() if now is None else now
    if abs(now - stamp) > tolerance:
        return False
    expected = signature(secret, body, stamp)
    return any(hmac.compare_digest(expected, c) for c in candidates)


# ------------------------------------------------------------------------------ endpoints


def list_endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(endpoint_id: int) -> WebhookEndpoint | None:
    return db.session.get(WebhookEndpoint, endpoint_id)


def pending_counts() -> dict[int, int]:
    """Deliveries waiting per endpoint (the due index makes this cheap)."""
    rows = db.session.execute(
        select(WebhookDelivery.endpoint_id, func.count())
        .where(WebhookDelivery.status == DeliveryStatus.PENDING.value)
        .group_by(WebhookDelivery.endpoint_id)
    )
    return dict(rows.all())


def _clean(url: str, description: str, event_types: Iterable[str]) -> tuple[str, str, list[str]]:
    errors: dict[str, str] = {}
    url = (url or "").strip()
    parts = urlsplit(url) if url else None
    if not url:
        errors["url"] = "Enter the URL that receives the events."
    elif len(url) > URL_MAX:
        errors["url"] = f"At most {URL_MAX} characters."
    elif any(c.isspace() or ord(c) < 32 for c in url):
        errors["url"] = "A URL cannot contain spaces or control characters."
    elif parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        errors["url"] = "Enter an http:// or https:// URL with a host name."
    else:
        try:
            # Also checked for the address connected to at each delivery (DNS may change).
            refused = netguard.check_url(parts, _allow_private())
        except ValueError:
            errors["url"] = "The port in this URL is not a number between 0 and 65535."
        else:
            if refused:
                errors["url"] = refused
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = f"At most {DESCRIPTION_MAX} characters."
    chosen = [t for t in WEBHOOK_EVENT_TYPES if t in set(event_types)]
    unknown = sorted(set(event_types) - set(WEBHOOK_EVENT_TYPES))
    if unknown:
        errors["event_types"] = f"Unknown event type: {', '.join(unknown)}."
    elif not chosen:
        errors["event_types"] = "Choose at least one event type."
    if errors:
        raise ValidationError(errors)
    return url, description, chosen


def create_endpoint(
    url: str, description: str, event_types: Iterable[str], created_by_id: int | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint and its secret (in full: the only time it is available)."""
    url, description, types = _clean(url, description, list(event_types))
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=url,
        description=description,
        event_types=types,
        secret_encrypted=encrypt_json({"secret": secret}),
        enabled=True,
        created_by_id=created_by_id,
    )
    db.session.add(endpoint)
    db.session.commit()
    invalidate_cache()
    return endpoint, secret


def update_endpoint(
    endpoint: WebhookEndpoint, url: str, description: str, event_types: Iterable[str]
) -> None:
    endpoint.url, endpoint.description, endpoint.event_types = _clean(
        url, description, list(event_types)
    )
    db.session.commit()
    invalidate_cache()


def set_enabled(endpoint: WebhookEndpoint, enabled: bool) -> None:
    """Enabling clears the failure record: the endpoint starts with a clean slate."""
    endpoint.enabled = enabled
    if enabled:
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    else:
        endpoint.disabled_reason = "Disabled by an administrator."
    db.session.commit()
    invalidate_cache()


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """A new secret, used from the next attempt on; the old one stops working at once."""
    secret = new_secret()
    endpoint.secret_encrypted = encrypt_json({"secret": secret})
    db.session.commit()
    return secret


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """Deletes its deliveries too (the foreign key cascades)."""
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.commit()
    invalidate_cache()


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    return str(decrypt_json(endpoint.secret_encrypted).get("secret") or "")


# ------------------------------------------------------------------------------ the log


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[WebhookDelivery]
    page: int
    pages: int
    total: int
    status: str


def deliveries_page(
    endpoint: WebhookEndpoint, status: str = "", page: int = 1, per_page: int = PAGE_SIZE
) -> DeliveryPage:
    """Newest first; ``status`` one of DeliveryStatus or "" for all."""
    if status and status not in {s.value for s in DeliveryStatus}:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    where = [WebhookDelivery.endpoint_id == endpoint.id]
    if status:
        where.append(WebhookDelivery.status == status)
    total = db.session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where))
    total = total or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = db.session.scalars(
        select(WebhookDelivery)
        .where(*where)
        .order_by(WebhookDelivery.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return DeliveryPage(list(rows), page, pages, total, status)


def get_delivery(endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery | None:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    return delivery if delivery is not None and delivery.endpoint_id == endpoint.id else None


def resend(delivery: WebhookDelivery) -> None:
    """Due now, with a fresh retry window (a test event still gets one attempt)."""
    now = utcnow()
    delivery.status = DeliveryStatus.PENDING.value
    delivery.next_attempt_at = now
    delivery.claim_token = None
    delivery.expires_at = now if delivery.event_type == TEST_EVENT else now + RETRY_WINDOW
    db.session.commit()


def send_test_event(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Post a ``test`` event to the endpoint now (even a disabled one), once, and return the
    delivery with its outcome. It does not count towards the endpoint's health."""
    now = utcnow()
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = {
        "id": event_id,
        "type": TEST_EVENT,
        "occurred_at": _iso(now),
        "email": None,
        "campaign_id": None,
        "send_id": None,
        "message_id": None,
        "machine": False,
        "data": {"message": "A test event from Mailer: the signature can be checked."},
    }
    row = _row(endpoint.id, event_id, TEST_EVENT, payload, now)
    row["expires_at"] = now  # one attempt, no retries
    delivery = WebhookDelivery(**row)
    db.session.add(delivery)
    db.session.commit()
    with _Poster(1) as poster:
        _run_batch(poster, _claim(1, only_id=delivery.id, any_endpoint=True), DeliverResult())
    db.session.refresh(delivery)
    return delivery


# ------------------------------------------------------------------------------ delivering


@dataclass
class DeliverResult:
    batches: int = 0
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    disabled: list[int] = field(default_factory=list)  # endpoints disabled by this run


@dataclass(frozen=True)
class _Attempt:
    id: int
    token: str
    endpoint_id: int
    url: str
    secret: str | None  # None: the stored secret cannot be decrypted
    event_type: str
    event_id: str
    body: bytes
    attempts: int  # including this one
    expires_at: datetime


@dataclass(frozen=True)
class _Outcome:
    attempt: _Attempt
    ok: bool
    status_code: int | None = None
    error: str | None = None


def deliver_due(
    *, batch_size: int | None = None, max_seconds: float = RUN_SECONDS
) -> DeliverResult:
    """Post due deliveries until none is left or ``max_seconds`` passed (a batch started
    before then is finished)."""
    result = DeliverResult()
    concurrency = _concurrency()
    batch_size = batch_size or concurrency * BATCH_PER_WORKER
    deadline = time.monotonic() + max_seconds
    with _Poster(concurrency) as poster:
        while time.monotonic() < deadline:
            attempts = _claim(batch_size)
            if not attempts:
                break
            _run_batch(poster, attempts, result)
            if len(attempts) < batch_size:
                break
    return result


def _allow_private() -> bool:
    """Whether endpoints may be on private and loopback addresses (never link-local ones)."""
    return bool(current_app.config.get(netguard.SETTING, False))


def _concurrency() -> int:
    return max(1, int(current_app.config.get("MAILER_WEBHOOK_CONCURRENCY", CONCURRENCY)))


def _claim(limit: int, *, only_id: int | None = None, any_endpoint: bool = False) -> list[_Attempt]:
    """Take up to ``limit`` due deliveries for this worker: their next_attempt_at moves a
    lease ahead and they carry our token, in one conditional UPDATE; committed."""
    now = utcnow()
    D = WebhookDelivery
    due = [D.status == DeliveryStatus.PENDING.value, D.next_attempt_at <= now]
    query = select(D.id).where(*due)
    if only_id is not None:
        query = query.where(D.id == only_id)
    if not any_endpoint:
        enabled = list(
            db.session.scalars(select(WebhookEndpoint.id).where(WebhookEndpoint.enabled))
        )
        if not enabled:
            db.session.commit()
            return []
        query = query.where(D.endpoint_id.in_(enabled))
    query = query.order_by(D.next_attempt_at, D.id).limit(limit)
    if dbutil.dialect() == "mysql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if not ids:
        db.session.commit()
        return []
    token = uuid.uuid4().hex
    db.session.execute(
        update(D)
        .where(D.id.in_(ids), *due)  # re-checked: another worker may have taken some
        .values(claim_token=token, next_attempt_at=now + LEASE, attempts=D.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    rows = db.session.execute(
        select(
            D.id,
            D.endpoint_id,
            D.event_type,
            D.event_id,
            D.payload,
            D.attempts,
            D.expires_at,
        ).where(D.id.in_(ids), D.claim_token == token)
    ).all()
    endpoints = {
        e.id: e
        for e in db.session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.id.in_({r.endpoint_id for r in rows}))
        )
    }
    secrets: dict[int, str | None] = {}
    for endpoint_id, endpoint in endpoints.items():
        try:
            secrets[endpoint_id] = endpoint_secret(endpoint) or None
        except SecretsUnreadable:
            secrets[endpoint_id] = None
    attempts = [
        _Attempt(
            id=r.id,
            token=token,
            endpoint_id=r.endpoint_id,
            url=endpoints[r.endpoint_id].url,
            secret=secrets[r.endpoint_id],
            event_type=r.event_type,
            event_id=r.event_id,
            body=body_bytes(r.payload),
            attempts=r.attempts,
            expires_at=r.expires_at,
        )
        for r in rows
    ]
    # Committed: the claim is visible to every worker, and no transaction (nor pooled
    # connection) is held while posting.
    db.session.commit()
    return attempts


def _run_batch(poster: _Poster, attempts: list[_Attempt], result: DeliverResult) -> None:
    if not attempts:
        return
    outcomes = poster.post_all(attempts)
    _record(outcomes, result)
    result.batches += 1
    result.attempted += len(outcomes)


class _Poster:
    """Threads and keep-alive connections shared by every batch of one run. An endpoint that
    timed out or refused the connection is not tried again in the same run: its other
    deliveries fail at once (and retry later) instead of each waiting out the timeout."""

    def __init__(self, workers: int) -> None:
        self.http = requests.Session()
        # One pool as large as the requests in flight; no silent retries inside requests.
        # Connections open only to permitted addresses, checked for the socket's peer (SSRF).
        adapter = netguard.GuardedAdapter(
            allow_private=_allow_private(),
            pool_connections=workers,
            pool_maxsize=workers,
            max_retries=0,
        )
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="webhook")
        self.unreachable: set[int] = set()

    def __enter__(self) -> _Poster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown()
        self.http.close()

    def post_all(self, attempts: list[_Attempt]) -> list[_Outcome]:
        return list(self.pool.map(self.post, attempts))

    def post(self, a: _Attempt) -> _Outcome:
        if a.secret is None:
            return _Outcome(a, False, error="The secret cannot be decrypted: rotate it.")
        if a.endpoint_id in self.unreachable:
            return _Outcome(a, False, error="Not attempted: the endpoint was unreachable just now.")
        outcome = _post(self.http, a)
        if outcome.status_code is None:
            self.unreachable.add(a.endpoint_id)
        return outcome


def _post(http: requests.Session, a: _Attempt) -> _Outcome:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(a.secret, a.body),
        "Mailer-Event": a.event_type,
        "Mailer-Event-Id": a.event_id,
        "Mailer-Delivery": str(a.id),
    }
    try:
        resp = http.post(
            a.url, data=a.body, headers=headers, timeout=TIMEOUT, allow_redirects=False, stream=True
        )
    except requests.Timeout:
        return _Outcome(a, False, error=f"No answer within {TIMEOUT[1]:g} s.")
    except requests.ConnectionError as exc:
        return _Outcome(a, False, error=f"Connection failed: {_reason(exc)}")
    except requests.RequestException as exc:
        return _Outcome(a, False, error=f"Request failed: {_reason(exc)}")
    with resp:
        code = resp.status_code
        if 200 <= code < 300:
            return _Outcome(a, True, code)
        if 300 <= code < 400:
            where = resp.headers.get("Location", "")[:200]
            return _Outcome(a, False, code, f"HTTP {code} redirect to {where} (not followed).")
        try:
            snippet = next(resp.iter_content(200), b"").decode("utf-8", "replace")
        except requests.RequestException:
            snippet = ""
        text = " ".join(snippet.split())
        return _Outcome(a, False, code, f"HTTP {code}" + (f": {text}" if text else ""))


def _reason(exc: Exception) -> str:
    """The innermost cause, without the pool's long preamble."""
    inner: BaseException = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    text = str(getattr(inner, "reason", None) or inner or exc)
    return " ".join(text.split())[:300] or type(exc).__name__


def backoff(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: 30, 60, 120 … capped at
    an hour, ±20 % jitter so a recovering endpoint is not hit by every retry at once."""
    base = FIRST_DELAY * 2 ** min(max(attempts - 1, 0), 20)
    return min(base * random.uniform(1 - JITTER, 1 + JITTER), MAX_DELAY)


_RECORD = (
    update(_D)
    .where(_D.c.id == bindparam("b_id"), _D.c.claim_token == bindparam("b_token"))
    .values(
        status=bindparam("b_status"),
        next_attempt_at=bindparam("b_next"),
        claim_token=None,
        last_status_code=bindparam("b_code"),
        last_error=bindparam("b_error"),
        delivered_at=bindparam("b_delivered_at"),
    )
)


def _record(outcomes: list[_Outcome], result: DeliverResult) -> None:
    now = utcnow()
    rows = []
    for o in outcomes:
        a = o.attempt
        row = {
            "b_id": a.id,
            "b_token": a.token,
            "b_code": o.status_code,
            "b_error": o.error[:500] if o.error else None,
            "b_delivered_at": None,
            "b_next": None,
        }
        if o.ok:
            row["b_status"] = DeliveryStatus.DELIVERED.value
            row["b_delivered_at"] = now
            result.delivered += 1
        elif now >= a.expires_at:
            row["b_status"] = DeliveryStatus.FAILED.value
            result.failed += 1
        else:
            row["b_status"] = DeliveryStatus.PENDING.value
            row["b_next"] = min(now + timedelta(seconds=backoff(a.attempts)), a.expires_at)
            result.retrying += 1
        rows.append(row)
    db.session.connection().execute(_RECORD, rows)
    _update_health([o for o in outcomes if o.attempt.event_type != TEST_EVENT], now, result)
    db.session.commit()


def _update_health(outcomes: list[_Outcome], now: datetime, result: DeliverResult) -> None:
    E = WebhookEndpoint
    if not outcomes:
        return
    ok = {o.attempt.endpoint_id for o in outcomes if o.ok}
    last_error = {o.attempt.endpoint_id: o.error for o in outcomes if not o.ok}
    failing = set(last_error) - ok
    if ok:
        db.session.execute(
            update(E).where(E.id.in_(ok)).values(last_success_at=now, failing_since=None)
        )
    if not failing:
        return
    db.session.execute(
        update(E).where(E.id.in_(failing), E.failing_since.is_(None)).values(failing_since=now)
    )
    hours = int(current_app.config.get("MAILER_WEBHOOK_DISABLE_AFTER_HOURS", 24))
    cutoff = now - timedelta(hours=hours)
    for endpoint_id, since in db.session.execute(
        select(E.id, E.failing_since).where(E.id.in_(failing), E.enabled, E.failing_since <= cutoff)
    ).all():
        reason = (
            f"Disabled automatically on {now:%Y-%m-%d %H:%M} UTC: every delivery failed for "
            f"more than {hours} hours (since {since:%Y-%m-%d %H:%M} UTC). "
            f"Last error: {last_error[endpoint_id]}"
        )
        db.session.execute(
            update(E).where(E.id == endpoint_id).values(enabled=False, disabled_reason=reason[:500])
        )
        result.disabled.append(endpoint_id)
        log.warning("webhook endpoint %s disabled: failing since %s", endpoint_id, since)
    if result.disabled:
        invalidate_cache()


def prune(now: datetime | None = None) -> int:
    """Delete up to PRUNE_BATCH delivered or failed deliveries older than RETENTION_DAYS
    (ids grow with time: the oldest are read first in primary-key order)."""
    cutoff = (now or utcnow()) - timedelta(days=RETENTION_DAYS)
    D = WebhookDelivery
    ids = list(
        db.session.scalars(
            select(D.id)
            .where(D.created_at < cutoff, D.status != DeliveryStatus.PENDING.value)
            .order_by(D.id)
            .limit(PRUNE_BATCH)
        )
    )
    if ids:
        db.session.execute(delete(D).where(D.id.in_(ids)))
    db.session.commit()
    return len(ids)
