"""Feedback jobs: process stored provider payloads (``process_feedback``), and the SQS poll
tick (``poll_sqs``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from sqlalchemy import delete, select

from jobs.runtime import JobError, app_job, tick_lock
from mailer.engine.feedback import intake, processing, sqs
from mailer.extensions import db
from mailer.models import FeedbackPayload
from mailer.models.base import utcnow
from mailer.queue import get_redis, job_logger

log = job_logger(__name__)

RETENTION_DAYS = 30  # processed payloads kept this long (failed ones until handled)
PRUNE_EVERY = 3600
PRUNE_BATCH = 5000


@app_job
def process_feedback(helper: bool = False) -> dict:
    """Drain received payloads; a helper, enqueued during a backlog, only drains and leaves
    the kick flag alone.

    Enqueued on the feedback queue by the webhook (and by the poll tick) through
    ``intake.kick()``: one job drains every received payload, in batches, and lingers a moment
    for more, holding the kick flag meanwhile so a stream of webhooks costs one job, not one
    each (the protocol is in ``processing.run_job``)."""
    if helper:
        result = processing.process_pending()
        if result.more:
            intake.kick()
    else:
        result = processing.run_job()
    if result.payloads:
        log.info(
            "feedback: %d payloads, %d new events, %d duplicates, %d unmatched",
            result.payloads,
            result.events,
            result.duplicates,
            result.unmatched,
        )
    return _counts(result)


@app_job
def poll_sqs() -> dict:
    """The "sqs-poll" tick, every 10 s, under a Redis lock so runs never overlap: reads the
    SQS queue of every SES channel that has one, stores what it read, and deletes it from the
    queue only after the store committed. It also re-kicks payloads whose job was lost, and
    prunes old processed payloads about once an hour."""
    with tick_lock("sqs-poll", ttl=60) as mine:
        if not mine:
            return {"skipped": "another poll is running"}
        polled = []
        failed = []
        for channel_id in sqs.polled_channels():
            try:
                result = sqs.poll(channel_id)
            except Exception:  # one broken channel must not stop the others
                db.session.rollback()
                log.exception("SQS feedback poll of channel %s failed", channel_id)
                failed.append(channel_id)
                continue
            polled.append(_counts(result))
        stored = sum(p["stored"] for p in polled)
        if stored or processing.stale_payloads():
            intake.kick()
        pruned = _prune()
        if failed:
            # Raised so the queue shows the tick failed; why is in the worker's log.
            raise JobError(f"SQS feedback poll failed for channels {failed}")
        return {"polled": polled, "pruned": pruned}


def _counts(result) -> dict:
    """A result's ids and counts: its error texts quote provider payloads (user data)."""
    return {name: value for name, value in asdict(result).items() if isinstance(value, int)}


def _prune() -> int:
    if not get_redis().set("mailer:feedback:pruned", "1", nx=True, ex=PRUNE_EVERY):
        return 0
    cutoff = utcnow() - timedelta(days=RETENTION_DAYS)
    ids = list(
        db.session.scalars(
            select(FeedbackPayload.id)
            .where(FeedbackPayload.status == "processed", FeedbackPayload.received_at < cutoff)
            .order_by(FeedbackPayload.id)
            .limit(PRUNE_BATCH)
        )
    )
    if ids:
        db.session.execute(delete(FeedbackPayload).where(FeedbackPayload.id.in_(ids)))
    db.session.commit()
    return len(ids)
