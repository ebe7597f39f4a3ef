"""Provider feedback: bounces, complaints, deliveries, opens and clicks reported by providers.

Intake (the webhook request, :func:`receive`): find the channel by its URL token, parse the
JSON (400 when it is not), verify the request with the provider's scheme (403 when it fails:
only a Redis counter records it), store the raw body as a ``FeedbackPayload`` and kick the
feedback job. Nothing else happens in the request, so it answers in a few milliseconds.

Processing (:func:`process_pending`, run by ``jobs.feedback``): claim received payloads in
batches (SKIP LOCKED on MySQL), let each provider module turn a payload into normalised
:class:`FeedbackEvent` records, then apply a whole batch at once (:func:`apply_events`):

* find each event's send by the signed token carried in the provider's tags / custom args,
  else by the provider message id the send stored (events for transactional messages find
  their ``Message`` the same way), only among the sends and messages of the channel whose
  webhook or queue reported it; events that match nothing there go to the payload's
  ``unmatched`` log for the operator and change nothing, here or elsewhere;
* insert one ``Event`` row per event with ``provider_event_id`` = "<provider>:<channel>:<id>"
  (unique): an event already recorded — a replayed webhook, the same event from SNS and
  SQS — is a duplicate and changes nothing at all;
* for new events only: deliveries, bounces, complaints, opens, clicks and unsubscribes set the
  send's first-time columns; a hard bounce or a complaint suppresses the address at once and
  marks the subscriber (suppressions are global per address, but only an event matched to a
  send or message of its own channel makes one); a soft bounce counts, and
  ``MAILER_SOFT_BOUNCE_LIMIT`` soft bounces within ``MAILER_SOFT_BOUNCE_WINDOW_DAYS`` suppress
  the address (reason soft_bounces).
  Provider-reported unsubscribes follow ``MAILER_UNSUBSCRIBE_SCOPE`` like our own.

Event ``data`` keeps small details: ``bounce`` ("hard"/"soft"), the provider's diagnostic,
URL, user agent; ``machine`` marks opens/clicks from image proxies and scanners (the rules of
:mod:`mailer.engine.tracking.core`).
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from flask import current_app
from sqlalchemy import case, func, insert, or_, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from mailer import dispatch
from mailer.dispatch import KeyedJob
from mailer.engine.feedback import brevo, mailgun, mailjet, sendgrid, ses, sns
from mailer.engine.feedback.base import (
    ChannelConfig,
    FeedbackEvent,
    Incoming,
    Malformed,
    Rejected,
    forget,
)
from mailer.engine.webhooks_out import core as webhooks_out
from mailer.extensions import db
from mailer.lib import dbutil, tokens
from mailer.lib.crypto import SecretsUnreadable, decrypt_json
from mailer.models import (
    CampaignChannel,
    Channel,
    Event,
    EventType,
    FeedbackPayload,
    Message,
    Send,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)
from mailer.models.base import utcnow
from mailer.queue import get_redis

log = logging.getLogger(__name__)

__all__ = [
    "FeedbackEvent",
    "Malformed",
    "Rejected",
    "UnknownWebhook",
    "apply_events",
    "kick",
    "process_pending",
    "receive",
]

MODULES: dict[str, ModuleType] = {
    "ses": ses,
    "sendgrid": sendgrid,
    "mailgun": mailgun,
    "mailjet": mailjet,
    "brevo": brevo,
}

KICK_KEY = "mailer:feedback:kick"
KICK_TTL = 30  # seconds; refreshed by the running job; a lost job's flag expires by itself
HELPER_KEY = "mailer:feedback:helper"
HELPER_TTL = 5  # at most one helper job enqueued per this many seconds
REJECTED_KEY = "mailer:feedback:rejected:{}"
BATCH = 200  # payloads per transaction
CHUNK = 500  # ids per IN (…)
MAX_UNMATCHED = 50  # unmatched events logged per payload (all are counted)
PROCESS_SECONDS = 50.0  # one job stops claiming after this and kicks a successor
LINGER_SECONDS = 2.0  # the job waits this long for more payloads before it ends
IDLE_SLEEP = 0.25  # seconds between passes: up to this much delay, far fewer passes

RECEIVED, PROCESSED, FAILED = "received", "processed", "failed"


class UnknownWebhook(Exception):
    """No channel of that provider has this webhook token: 404."""


class FeedbackJobError(RuntimeError):
    """Some payloads failed (recorded on them); raised so the queue records it too."""


# ------------------------------------------------------------------------------ intake


def channel_config(channel_id: int, settings: Any, secrets_encrypted: str | None) -> ChannelConfig:
    """Settings and decrypted secrets (unreadable secrets verify nothing: every request is
    refused and counted, which the channel page shows)."""
    try:
        secrets = decrypt_json(secrets_encrypted)
    except SecretsUnreadable:
        secrets = {}
    return ChannelConfig(channel_id, dict(settings or {}), secrets)


def receive(provider: str, token: str, raw: bytes, headers: Mapping[str, str]) -> int:
    """Verify and store one webhook request; returns the payload id.

    Raises UnknownWebhook (404), Malformed (400) or Rejected (403, counted per channel).
    """
    module = MODULES.get(provider)
    if module is None or not token or len(token) > 64:
        raise UnknownWebhook(provider)
    row = db.session.execute(
        select(Channel.id, Channel.provider, Channel.settings, Channel.secrets_encrypted).where(
            Channel.webhook_token == token
        )
    ).first()
    if row is None or row.provider != provider:
        raise UnknownWebhook(provider)
    try:
        body = raw.decode("utf-8")
        doc = json.loads(body)
    except ValueError:  # UnicodeDecodeError is a ValueError
        raise Malformed("the body is not JSON") from None
    config = channel_config(row.id, row.settings, row.secrets_encrypted)
    try:
        meta = module.verify(Incoming(raw, headers, doc), config)
    except Rejected as exc:
        count_rejection(row.id, str(exc))
        raise
    stored_meta = {k: v for k, v in meta.items() if k != "replay_key"}
    try:
        # Core, not the ORM: one INSERT, no object to load back after the commit.
        payload_id = db.session.execute(
            insert(FeedbackPayload).values(
                channel_id=row.id,
                provider=provider,
                source="webhook",
                body=body,
                meta=stored_meta,
                status=RECEIVED,
                events=0,
                unmatched=[],
                received_at=utcnow(),
            )
        ).inserted_primary_key[0]
        db.session.commit()
    except BaseException:
        db.session.rollback()
        forget(meta)
        raise
    kick()
    return payload_id


def count_rejection(channel_id: int, reason: str) -> None:
    """The one trace a refused request leaves: a counter and the last reason (ours, no data
    from the request)."""
    redis = get_redis()
    key = REJECTED_KEY.format(channel_id)
    pipe = redis.pipeline(transaction=False)
    pipe.incr(key)
    pipe.set(
        key + ":last",
        json.dumps({"at": utcnow().isoformat(timespec="seconds"), "reason": reason[:200]}),
    )
    pipe.execute()
    log.info("Feedback webhook for channel %s refused: %s", channel_id, reason)


def rejections(channel_id: int) -> tuple[int, dict | None]:
    redis = get_redis()
    key = REJECTED_KEY.format(channel_id)
    count, last = redis.mget(key, key + ":last")
    return int(count or 0), (json.loads(last) if last else None)


FEEDBACK_JOB = KeyedJob(KICK_KEY, KICK_TTL)  # one feedback job drains every payload
HELPER_JOB = KeyedJob(HELPER_KEY, HELPER_TTL)  # its flag is never let go: a rate limit


def kick() -> None:
    """Make sure a feedback job will run: a burst of webhooks enqueues one job."""
    FEEDBACK_JOB.wake(dispatch.process_feedback)


def _spawn_helper() -> None:
    """A backlog on MySQL: one more job takes batches in parallel (SKIP LOCKED)."""
    HELPER_JOB.wake(lambda: dispatch.process_feedback(helper=True))


def run_job(*, linger: float | None = None, max_seconds: float = PROCESS_SECONDS) -> ProcessResult:
    """The feedback job: drain, then linger a moment for more (webhooks arrive one event at a
    time; one job taking them in batches costs far less than one job each), then end.

    While it runs it holds the kick flag (:class:`KeyedJob`), so webhooks do not enqueue more
    jobs. It lets the flag go, then drains once more: a payload committed before that is found
    by the last drain; one committed after it wakes a new job."""
    linger = LINGER_SECONDS if linger is None else linger
    result = ProcessResult()
    deadline = time.monotonic() + max_seconds
    idle_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            FEEDBACK_JOB.hold()
            part = process_pending(max_seconds=deadline - time.monotonic(), raise_errors=False)
            result.merge(part)
            if part.payloads:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= linger:
                break
            # The pass drained everything: let the next batch gather rather than take
            # payloads one by one (a pass costs about as much for 1 payload as for 50).
            time.sleep(IDLE_SLEEP)
    finally:
        FEEDBACK_JOB.let_go()
    last = process_pending(max_seconds=max(5.0, max_seconds / 5), raise_errors=False)
    result.merge(last)
    if last.more:
        kick()
    if result.errors:
        raise FeedbackJobError("; ".join(result.errors[:10]))
    return result


def stale_payloads(older_than: float = 60.0) -> bool:
    """Received payloads left behind (their job was lost): the tick kicks again."""
    cutoff = utcnow() - timedelta(seconds=older_than)
    return (
        db.session.scalar(
            select(FeedbackPayload.id)
            .where(FeedbackPayload.status == RECEIVED, FeedbackPayload.received_at < cutoff)
            .limit(1)
        )
        is not None
    )


# ------------------------------------------------------------------------------ processing


@dataclass
class ProcessResult:
    payloads: int = 0
    events: int = 0  # new event rows
    duplicates: int = 0
    unmatched: int = 0
    ignored: int = 0
    failed: int = 0
    confirmed: int = 0
    errors: list[str] = field(default_factory=list)
    more: bool = False  # stopped by the time limit with payloads possibly left

    def merge(self, other: ProcessResult) -> None:
        for name in (
            "payloads",
            "events",
            "duplicates",
            "unmatched",
            "ignored",
            "failed",
            "confirmed",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors


def process_pending(
    *, batch: int = BATCH, max_seconds: float = PROCESS_SECONDS, raise_errors: bool = True
) -> ProcessResult:
    """Process received payloads until a claim finds less than a full batch (none left when
    it looked) or time is up (``result.more``).

    Payloads that fail are marked failed with the reason; FeedbackJobError is raised at the
    end so the queue records the failure as well."""
    result = ProcessResult()
    deadline = time.monotonic() + max_seconds
    db.session.commit()
    while True:
        if time.monotonic() > deadline:
            result.more = True
            break
        latest: dict[int, datetime] = {}
        ids: list[int] = []
        for attempt in range(RETRIES + 1):
            part = ProcessResult()  # merged only once the batch committed
            try:
                rows = _claim(batch)
                ids = [r.id for r in rows]
                if len(rows) == batch and dbutil.dialect() == "mysql":
                    _spawn_helper()
                if rows:
                    latest = _process_batch(rows, part)
                db.session.commit()
                result.merge(part)
                break
            except OperationalError as exc:
                db.session.rollback()
                if attempt == RETRIES or not dbutil.is_lock_conflict(exc):
                    raise  # the database is unwell: payloads stay received, the queue retries
                time.sleep(0.05 * (attempt + 1))  # a deadlock with another worker: again
            except SQLAlchemyError as exc:
                db.session.rollback()
                log.warning("Feedback batch refused (%s); trying payload by payload", exc)
                _process_one_by_one(ids, result)
                break
        if latest:
            _touch_channels(latest)
        if len(ids) < batch:
            # Less than a full batch: that claim saw every payload committed before it, so
            # the queue is drained. (Claiming again at once would chase the arrivals one or
            # two at a time, each batch paying the whole per-batch cost.)
            break
    if result.errors and raise_errors:
        raise FeedbackJobError("; ".join(result.errors[:10]))
    return result


RETRIES = 3


def process_payload(payload_id: int) -> ProcessResult:
    """Process one payload now (tests, the operator retrying a failed one)."""
    result = ProcessResult()
    row = db.session.get(FeedbackPayload, payload_id)
    if row is not None:
        row.status = RECEIVED
        latest = _process_batch([row], result)
        db.session.commit()
        _touch_channels(latest)
    return result


def _claim(limit: int) -> list[FeedbackPayload]:
    query = (
        select(FeedbackPayload)
        .where(FeedbackPayload.status == RECEIVED)
        .order_by(FeedbackPayload.id)
        .limit(limit)
    )
    if dbutil.dialect() == "mysql":
        # READ COMMITTED: no gap locks, so webhooks inserting new payloads never wait for (or
        # deadlock with) a batch being processed; SKIP LOCKED leaves rows another worker holds.
        dbutil.begin_read_committed()
        query = query.with_for_update(skip_locked=True)
    return list(db.session.scalars(query))


def _touch_channels(latest: Mapping[int, datetime]) -> None:
    """Channel.last_feedback_at, in its own short transaction: webhook inserts take a shared
    lock on the channel row (foreign key), so it is never held through a whole batch."""
    for channel_id, at in sorted(latest.items()):
        db.session.execute(
            update(Channel)
            .where(
                Channel.id == channel_id,
                or_(Channel.last_feedback_at.is_(None), Channel.last_feedback_at < at),
            )
            .values(last_feedback_at=at)
        )
    db.session.commit()


def _process_one_by_one(ids: Sequence[int], result: ProcessResult) -> None:
    for payload_id in ids:
        row = db.session.get(FeedbackPayload, payload_id)
        if row is None or row.status != RECEIVED:
            continue
        part = ProcessResult()
        try:
            latest = _process_batch([row], part)
            db.session.commit()
            result.merge(part)
            _touch_channels(latest)
        except OperationalError:
            db.session.rollback()
            raise
        except SQLAlchemyError as exc:
            db.session.rollback()
            _fail(payload_id, f"database refused the events ({type(exc).__name__})", result)
            db.session.commit()


def _fail(payload_id: int, error: str, result: ProcessResult) -> None:
    db.session.execute(
        update(FeedbackPayload)
        .where(FeedbackPayload.id == payload_id)
        .values(status=FAILED, error=error[:2000], processed_at=utcnow())
    )
    result.failed += 1
    result.errors.append(f"payload {payload_id}: {error}")
    log.warning("Feedback payload %s failed: %s", payload_id, error)


def _process_batch(rows: Sequence[FeedbackPayload], result: ProcessResult) -> dict[int, datetime]:
    """Parse and apply a batch in the caller's transaction; returns, per channel, the time of
    its latest payload (for ``_touch_channels`` once the batch committed)."""
    now = utcnow()
    parsed: list[tuple[FeedbackPayload, list[FeedbackEvent], dict]] = []
    for row in rows:
        try:
            events, extra = _parse(row)
        except Exception as exc:  # recorded on the payload and raised at the end of the job
            _fail(row.id, f"{type(exc).__name__}: {exc}", result)
            continue
        if extra.get("confirmed"):
            result.confirmed += 1
        parsed.append((row, events, extra))
    flat = [e for _, events, _ in parsed for e in events]
    outcomes = apply_events(flat, now=now)
    position = 0
    latest: dict[int, datetime] = {}
    # Payloads with the same outcome are marked in one UPDATE (the usual case: one new event).
    groups: dict[tuple, list[int]] = defaultdict(list)
    for row, events, extra in parsed:
        mine = outcomes[position : position + len(events)]
        position += len(events)
        counts = {k: mine.count(k) for k in ("new", "duplicate", "unmatched", "ignored")}
        unmatched = [
            _unmatched_entry(e)
            for e, outcome in zip(events, mine, strict=True)
            if outcome == "unmatched"
        ][:MAX_UNMATCHED]
        noted = {**extra, **{k: v for k, v in counts.items() if v and k != "new"}}
        meta = json.dumps({**(row.meta or {}), **noted}, sort_keys=True) if noted else None
        groups[(counts["new"], json.dumps(unmatched), meta)].append(row.id)
        result.payloads += 1
        result.events += counts["new"]
        result.duplicates += counts["duplicate"]
        result.unmatched += counts["unmatched"]
        result.ignored += counts["ignored"]
        if row.channel_id is not None:
            seen = latest.get(row.channel_id)
            latest[row.channel_id] = max(seen, row.received_at) if seen else row.received_at
    table = FeedbackPayload.__table__
    for (new, unmatched, meta), ids in groups.items():
        values: dict[str, Any] = {
            "status": PROCESSED,
            "processed_at": now,
            "events": new,
            "unmatched": json.loads(unmatched),
        }
        if meta is not None:
            values["meta"] = json.loads(meta)
        for chunk in _chunks(sorted(ids)):
            db.session.execute(update(table).where(table.c.id.in_(chunk)).values(values))
    return latest


def _parse(row: FeedbackPayload) -> tuple[list[FeedbackEvent], dict]:
    """(events, what to note in the payload's meta)."""
    module = MODULES.get(row.provider)
    if module is None:
        raise Malformed(f"no feedback handler for provider {row.provider!r}")
    try:
        doc = json.loads(row.body)
    except ValueError:
        raise Malformed("the stored body is not JSON") from None
    if row.provider == "ses":
        kind, _ = sns.unwrap(doc)
        if kind == "SubscriptionConfirmation":
            if row.source == "webhook" and not (row.meta or {}).get("confirmed"):
                # Stored only after the signature verified and the topic matched.
                sns.verifier().confirm(doc)
                _pin_topic(row.channel_id, str(doc.get("TopicArn")))
                log.info("SNS subscription to %s confirmed", doc.get("TopicArn"))
                return [], {"confirmed": True}
            return [], {}
    events = module.parse(doc)
    for e in events:
        e.channel_id = row.channel_id  # only this channel's sends and messages match
    return events, {}


def _pin_topic(channel_id: int | None, topic: str) -> None:
    """From now on the channel's webhook accepts notifications from this topic."""
    channel = db.session.get(Channel, channel_id) if channel_id is not None else None
    if channel is not None:
        channel.settings = sns.with_confirmed(channel.settings or {}, topic)


def _unmatched_entry(e: FeedbackEvent) -> dict[str, Any]:
    entry = {
        "type": e.kind,
        "email": e.email,
        "message_id": e.message_ids[0] if e.message_ids else None,
        "at": e.occurred_at.isoformat(timespec="seconds"),
    }
    if e.bounce:
        entry["bounce"] = e.bounce
    return {k: v for k, v in entry.items() if v is not None}


# ------------------------------------------------------------------------------ applying


@dataclass(frozen=True)
class _Target:
    kind: str  # tokens.CAMPAIGN_SEND | tokens.MESSAGE
    id: int
    email: str
    channel_id: int | None  # the channel it was sent through
    campaign_id: int | None = None
    subscriber_id: int | None = None


_S = Send.__table__


def _set_first_times(column: str, times: Mapping[int, datetime]) -> None:
    """Set a send time column where it is still empty: one UPDATE … CASE per chunk (the MySQL
    driver sends an executemany UPDATE as one statement per row)."""
    for chunk in _chunks(sorted(times)):
        db.session.execute(
            update(_S)
            .where(_S.c.id.in_(chunk), _S.c[column].is_(None))
            .values({column: case({i: times[i] for i in chunk}, value=_S.c.id)})
        )


_COLUMN = {
    EventType.DELIVERY.value: "delivered_at",
    EventType.BOUNCE.value: "bounced_at",
    EventType.COMPLAINT.value: "complained_at",
    EventType.OPEN.value: "opened_at",
    EventType.CLICK.value: "clicked_at",
    EventType.UNSUBSCRIBE.value: "unsubscribed_at",
}
# New subscriber status per suppression reason, and the statuses it may replace.
_SUBSCRIBER = {
    SuppressionReason.HARD_BOUNCE.value: (SubscriberStatus.BOUNCED, (SubscriberStatus.SUBSCRIBED,)),
    SuppressionReason.SOFT_BOUNCES.value: (
        SubscriberStatus.BOUNCED,
        (SubscriberStatus.SUBSCRIBED,),
    ),
    SuppressionReason.COMPLAINT.value: (
        SubscriberStatus.COMPLAINED,
        (SubscriberStatus.SUBSCRIBED, SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED),
    ),
    SuppressionReason.UNSUBSCRIBED.value: (
        SubscriberStatus.UNSUBSCRIBED,
        (SubscriberStatus.SUBSCRIBED,),
    ),
}


def _chunks(values: Iterable[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _resolve(events: Sequence[FeedbackEvent], active: Sequence[int]) -> dict[int, _Target]:
    """Index of each event -> its send or message: by signed token, else by provider message
    id; either way only one sent through the channel that reported the event. A send's
    channel is its campaign channel row's; an event of a payload whose channel is gone
    matches nothing."""
    scoped = [i for i in active if events[i].channel_id is not None]
    wanted: dict[int, tuple[str, int]] = {}
    for i in scoped:
        parsed = tokens.parse(events[i].token) if events[i].token else None
        if parsed is not None:
            wanted[i] = parsed
    by_id: dict[tuple[str, int], _Target] = {}
    for kind in (tokens.CAMPAIGN_SEND, tokens.MESSAGE):
        ids = {v for k, v in wanted.values() if k == kind}
        for chunk in _chunks(ids):
            for _, target in _targets(kind, "id", chunk):
                by_id[(kind, target.id)] = target
    found: dict[int, _Target] = {}
    for i, key in wanted.items():
        target = by_id.get(key)
        if target is not None and target.channel_id == events[i].channel_id:
            found[i] = target
    rest = [i for i in scoped if i not in found and events[i].message_ids]
    if rest:
        channels = {events[i].channel_id for i in rest}
        by_pmid: dict[tuple[int | None, str], _Target] = {}
        pmids = {m for i in rest for m in events[i].message_ids}
        for chunk in _chunks(pmids):
            # Sends first: a message with the same id does not replace one.
            for kind in (tokens.CAMPAIGN_SEND, tokens.MESSAGE):
                for pmid, target in _targets(kind, "provider_message_id", chunk, channels):
                    by_pmid.setdefault((target.channel_id, pmid), target)
        for i in rest:
            for mid in events[i].message_ids:
                target = by_pmid.get((events[i].channel_id, mid))
                if target is not None:
                    found[i] = target
                    break
    return found


def _targets(
    kind: str, by: str, values: Sequence[Any], channels: set[int | None] | None = None
) -> Iterable[tuple[Any, _Target]]:
    """(value, send or message) whose column ``by`` ("id" or "provider_message_id") is one of
    ``values``, with the channel it went through (a send's: its channel row's); only those of
    ``channels`` when given."""
    if kind == tokens.CAMPAIGN_SEND:
        column = getattr(Send, by)
        stmt = (
            select(
                column.label("value"),
                Send.id,
                Send.email,
                Send.campaign_id,
                Send.subscriber_id,
                CampaignChannel.channel_id,
            )
            .outerjoin(CampaignChannel, CampaignChannel.id == Send.campaign_channel_id)
            .where(column.in_(values))
        )
        channel = CampaignChannel.channel_id
    else:
        column = getattr(Message, by)
        stmt = select(
            column.label("value"), Message.id, Message.to_email.label("email"), Message.channel_id
        ).where(column.in_(values))
        channel = Message.channel_id
    if channels is not None:
        stmt = stmt.where(channel.in_(channels))
    for r in db.session.execute(stmt):
        extra = (r.campaign_id, r.subscriber_id) if kind == tokens.CAMPAIGN_SEND else ()
        yield r.value, _Target(kind, r.id, r.email, r.channel_id, *extra)


def _machine_reason(e: FeedbackEvent) -> str | None:
    """Why an open or click looks automated (the rules of services/tracking.py), or None."""
    if e.machine:
        return "provider-flagged proxy open"
    ua = e.data.get("ua")
    if e.kind not in (EventType.OPEN.value, EventType.CLICK.value) or not ua:
        return None  # no user agent: the provider judged it an open, trust it
    from mailer.engine.tracking import core as tracking

    kind = tracking.OPEN if e.kind == EventType.OPEN.value else tracking.CLICK
    return tracking.machine_reason(kind, ua)


def apply_events(events: Sequence[FeedbackEvent], *, now: datetime | None = None) -> list[str]:
    """Record events and their effects in the caller's transaction.

    Returns one outcome per event: "new", "duplicate" (already recorded: nothing done),
    "unmatched" (no send or message found) or "ignored" (nothing to record)."""
    now = now or utcnow()
    outcomes = ["ignored" if e.kind is None else "" for e in events]
    active = [i for i, e in enumerate(events) if e.kind is not None]
    targets = _resolve(events, active)
    for i in active:
        if i not in targets:
            outcomes[i] = "unmatched"
    matched = [i for i in active if i in targets]
    existing: set[str] = set()
    for chunk in _chunks({events[i].key for i in matched}):
        existing.update(
            db.session.scalars(
                select(Event.provider_event_id).where(Event.provider_event_id.in_(chunk))
            )
        )
    fresh: list[int] = []
    for i in matched:
        key = events[i].key
        if key in existing:
            outcomes[i] = "duplicate"
        else:
            existing.add(key)  # a second copy within the batch is a duplicate too
            outcomes[i] = "new"
            fresh.append(i)
    if not fresh:
        return outcomes

    rows = []
    first: dict[str, dict[int, datetime]] = defaultdict(dict)
    messages: dict[str, dict[int, tuple[datetime, str | None]]] = defaultdict(dict)
    suppress: dict[str, tuple[str, str]] = {}
    subscribers: dict[str, set[int]] = defaultdict(set)
    soft: dict[str, set[int | None]] = defaultdict(set)
    global_unsubscribe = _unsubscribe_scope() == "global"
    for i in fresh:
        e, t = events[i], targets[i]
        why = _machine_reason(e)
        machine = why is not None
        data = {"provider": e.provider, **e.data}
        if e.bounce:
            data["bounce"] = e.bounce
        if e.suppress:
            data["suppressed"] = e.suppress
        if why:
            data["machine"] = why
        rows.append(
            {
                "type": e.kind,
                "occurred_at": e.occurred_at,
                "campaign_id": t.campaign_id,
                "send_id": t.id if t.kind == tokens.CAMPAIGN_SEND else None,
                "message_id": t.id if t.kind == tokens.MESSAGE else None,
                "link_id": None,
                "provider_event_id": e.key,
                "machine": machine,
                "data": data,
            }
        )
        column = _COLUMN.get(e.kind)  # type: ignore[arg-type]
        if t.kind == tokens.CAMPAIGN_SEND and column and not machine:
            seen = first[column].get(t.id)
            first[column][t.id] = e.occurred_at if seen is None else min(seen, e.occurred_at)
        if t.kind == tokens.MESSAGE and not machine:  # transactional: status and times
            seen_m = messages[e.kind].get(t.id)
            if seen_m is None or e.occurred_at < seen_m[0]:
                messages[e.kind][t.id] = (e.occurred_at, e.data.get("detail"))
        reason = _suppression_reason(e, global_unsubscribe)
        source = f"{e.provider} feedback, " + (
            f"campaign {t.campaign_id}" if t.kind == tokens.CAMPAIGN_SEND else f"message {t.id}"
        )
        if reason:
            suppress.setdefault(t.email, (reason, source))
        status_reason = e.suppress or (
            SuppressionReason.HARD_BOUNCE.value
            if e.bounce == "hard"
            else SuppressionReason.COMPLAINT.value
            if e.kind == EventType.COMPLAINT.value
            else SuppressionReason.UNSUBSCRIBED.value
            if e.kind == EventType.UNSUBSCRIBE.value
            else None
        )
        if status_reason and t.subscriber_id is not None:
            subscribers[status_reason].add(t.subscriber_id)
        if e.bounce == "soft":
            soft[t.email].add(t.subscriber_id)

    # Rows in key order everywhere: two workers lock in the same order, not into a deadlock.
    rows.sort(key=lambda r: r["provider_event_id"])
    db.session.execute(dbutil.insert_ignore(Event.__table__, ["provider_event_id"]), rows)
    webhooks_out.emit(rows)  # outbound webhooks (issue 8): only the fresh events are in rows
    for column, times in sorted(first.items()):
        _set_first_times(column, times)
    if messages:
        from mailer.engine.transactional import core as transactional

        transactional.apply_feedback(messages)
    for email in _over_soft_limit(soft.keys(), now):
        suppress.setdefault(email, (SuppressionReason.SOFT_BOUNCES.value, "feedback: soft bounces"))
        subscribers[SuppressionReason.SOFT_BOUNCES.value].update(
            s for s in soft[email] if s is not None
        )
    _suppress(suppress, now)
    _mark_subscribers(subscribers, now)
    return outcomes


def _unsubscribe_scope() -> str:
    return current_app.config.get("MAILER_UNSUBSCRIBE_SCOPE", "global")


def _suppression_reason(e: FeedbackEvent, global_unsubscribe: bool) -> str | None:
    if e.suppress:
        reason = e.suppress
    elif e.kind == EventType.BOUNCE.value and e.bounce == "hard":
        reason = SuppressionReason.HARD_BOUNCE.value
    elif e.kind == EventType.COMPLAINT.value:
        reason = SuppressionReason.COMPLAINT.value
    elif e.kind == EventType.UNSUBSCRIBE.value:
        reason = SuppressionReason.UNSUBSCRIBED.value
    else:
        return None
    if reason == SuppressionReason.UNSUBSCRIBED.value and not global_unsubscribe:
        return None
    return reason


def soft_bounce_settings() -> tuple[int, int]:
    cfg = current_app.config
    return int(cfg.get("MAILER_SOFT_BOUNCE_LIMIT", 3)), int(
        cfg.get("MAILER_SOFT_BOUNCE_WINDOW_DAYS", 7)
    )


def count_soft_bounces(emails: Iterable[str], since: datetime) -> dict[str, int]:
    """Soft bounces per address since ``since``, sends and transactional messages together.

    Reads the events index (campaign, type, time) once per campaign rather than scanning:
    neither sends nor events are indexed by address."""
    emails = list(emails)
    counts: dict[str, int] = defaultdict(int)
    if not emails:
        return counts
    is_soft = Event.data["bounce"].as_string() == "soft"
    # Campaign sends' bounces, then transactional messages' (their events have no campaign).
    sources = (
        (Send, Send.email, Send.id == Event.send_id, Event.campaign_id.is_not(None)),
        (Message, Message.to_email, Message.id == Event.message_id, Event.campaign_id.is_(None)),
    )
    for chunk in _chunks(emails):
        for table, email_column, joined, origin in sources:
            for email, n in db.session.execute(
                select(email_column, func.count())
                .select_from(Event)
                .join(table, joined)
                .where(
                    origin,
                    Event.type == EventType.BOUNCE.value,
                    Event.occurred_at >= since,
                    email_column.in_(chunk),
                    is_soft,
                )
                .group_by(email_column)
            ):
                counts[email] += n
    return counts


def _over_soft_limit(emails: Iterable[str], now: datetime) -> list[str]:
    emails = list(emails)
    limit, days = soft_bounce_settings()
    if not emails or limit < 1:
        return []
    counts = count_soft_bounces(emails, now - timedelta(days=days))
    return [e for e in emails if counts.get(e, 0) >= limit]


def _suppress(entries: Mapping[str, tuple[str, str]], now: datetime) -> None:
    if not entries:
        return
    db.session.execute(
        dbutil.insert_ignore(Suppression.__table__, ["email"]),
        [
            {"email": email, "reason": reason, "source": source[:200], "created_at": now}
            for email, (reason, source) in sorted(entries.items())
        ],
    )


def _mark_subscribers(groups: Mapping[str, set[int]], now: datetime) -> None:
    # Complaints last: they may replace a status an earlier group just set.
    order = sorted(groups, key=lambda r: r == SuppressionReason.COMPLAINT.value)
    for reason in order:
        new, replaceable = _SUBSCRIBER[reason]
        values: dict[str, Any] = {"status": new.value, "updated_at": now}
        if new == SubscriberStatus.UNSUBSCRIBED:
            values["unsubscribed_at"] = now
        for chunk in _chunks(sorted(groups[reason])):
            db.session.execute(
                update(Subscriber)
                .where(
                    Subscriber.id.in_(chunk),
                    Subscriber.status.in_([s.value for s in replaceable]),
                )
                .values(values)
            )
