"""Outbound webhook delivery: claim due deliveries, post them signed with bounded
concurrency, record each answer (delivered, retry with backoff, failed), keep each endpoint's
health (disable one failing for too long), and prune old deliveries.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from flask import current_app
from sqlalchemy import bindparam, delete, select, update

from mailer.engine.webhooks_out.events import invalidate_cache
from mailer.engine.webhooks_out.signing import body_bytes, endpoint_secret, signed_headers
from mailer.extensions import db
from mailer.lib import dbutil, netguard
from mailer.lib.crypto import SecretsUnreadable
from mailer.models.base import utcnow
from mailer.models.webhooks import (
    TEST_EVENT,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

FIRST_DELAY = 30.0  # seconds before the first retry; doubles each time
MAX_DELAY = 3600.0
JITTER = 0.2
TIMEOUT = (5.0, 10.0)  # connect, read (seconds)
LEASE = timedelta(minutes=2)  # a claimed delivery whose worker died is retried after this
# A run starts no new batch after RUN_SECONDS; a batch gives each thread BATCH_PER_WORKER
# requests, so even a slow endpoint (10 s each) ends a run within the tick job's 60 s timeout.
RUN_SECONDS = 10.0
BATCH_PER_WORKER = 4
RETENTION_DAYS = 30  # delivered and failed deliveries are pruned after this
PRUNE_BATCH = 5000
USER_AGENT = "Mailer-Webhooks/1"
_D = WebhookDelivery.__table__


@dataclass
class DeliverResult:
    """What one delivery run did."""

    batches: int = 0
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    disabled: list[int] = field(default_factory=list)  # endpoints disabled by this run


@dataclass(frozen=True)
class _Attempt:
    """A claimed delivery, ready to post."""

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


def deliver_now(delivery_id: int) -> None:
    """Post one pending delivery now, whatever its endpoint's state (the "send test event"
    action); its outcome is recorded on the row."""
    with _Poster(1) as poster:
        _run_batch(poster, _claim(1, only_id=delivery_id, any_endpoint=True), DeliverResult())


def allow_private() -> bool:
    """Whether endpoints may be on private and loopback addresses (never link-local ones)."""
    return bool(current_app.config[netguard.SETTING])


def _concurrency() -> int:
    return max(1, int(current_app.config["MAILER_WEBHOOK_CONCURRENCY"]))


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
            allow_private=allow_private(),
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
        **signed_headers(a.secret, a.event_id, a.body),
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
    hours = int(current_app.config["MAILER_WEBHOOK_DISABLE_AFTER_HOURS"])
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
