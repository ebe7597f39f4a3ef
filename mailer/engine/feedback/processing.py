"""The feedback job: claim received payloads in batches, parse each with its provider's
module, apply the events of a whole batch at once, and mark the payloads processed.

:func:`run_job` drains and lingers a moment for more (one job per burst of webhooks);
:func:`process_pending` is one drain, also run by helper jobs during a backlog.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from mailer import dispatch
from mailer.dispatch import KeyedJob
from mailer.engine.feedback import apply, sns
from mailer.engine.feedback.base import FeedbackEvent, Malformed
from mailer.engine.feedback.intake import (
    FAILED,
    FEEDBACK_JOB,
    PROCESSED,
    PROVIDER_MODULES,
    RECEIVED,
    kick,
)
from mailer.extensions import db
from mailer.lib import dbutil
from mailer.models import Channel, FeedbackPayload
from mailer.models.base import utcnow

log = logging.getLogger(__name__)

HELPER_KEY = "mailer:feedback:helper"
HELPER_TTL = 5  # at most one helper job enqueued per this many seconds
BATCH = 200  # payloads per transaction
MAX_UNMATCHED = 50  # unmatched events logged per payload (all are counted)
PROCESS_SECONDS = 50.0  # one job stops claiming after this and kicks a successor
LINGER_SECONDS = 2.0  # the job waits this long for more payloads before it ends
IDLE_SLEEP = 0.25  # seconds between passes: up to this much delay, far fewer passes

HELPER_JOB = KeyedJob(HELPER_KEY, HELPER_TTL)  # its flag is never let go: a rate limit


class FeedbackJobError(RuntimeError):
    """Some payloads failed (recorded on them); raised so the queue records it too."""


def _spawn_helper() -> None:
    """A backlog on MySQL: one more job takes batches in parallel (SKIP LOCKED)."""
    HELPER_JOB.wake(lambda: dispatch.process_feedback(helper=True))


def run_job(*, linger: float | None = None, max_seconds: float = PROCESS_SECONDS) -> ProcessResult:
    """The feedback job: drain, linger a moment for more, let the kick flag go, drain once
    more, end (docs/architecture.md, "Provider feedback")."""
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


@dataclass
class ProcessResult:
    """What one drain (or a whole job) did, in counts; ``errors`` quote provider payloads."""

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
    outcomes = apply.apply_events(flat, now=now)
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
        for chunk in apply.chunks(sorted(ids)):
            db.session.execute(update(table).where(table.c.id.in_(chunk)).values(values))
    return latest


def _parse(row: FeedbackPayload) -> tuple[list[FeedbackEvent], dict]:
    """(events, what to note in the payload's meta)."""
    module = PROVIDER_MODULES.get(row.provider)
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
