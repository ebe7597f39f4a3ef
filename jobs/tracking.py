"""The tracking flush tick: buffered opens and clicks from Redis into the database.

Runs every 5 s (mailer.dispatch.TICKS_REGISTRY). Safe to run twice at once: the second run finds
the lock taken and does nothing; a run that dies leaves its batch in Redis for the next one
(see mailer/engine/tracking/flush.py: events leave Redis only after their batch committed).
"""

from __future__ import annotations

from dataclasses import asdict

from jobs.runtime import app_job, tick_lock
from mailer.engine.tracking import flush
from mailer.queue import job_logger

log = job_logger(__name__)


@app_job
def flush_events() -> dict:
    with tick_lock("tracking-flush", ttl=60) as mine:
        if not mine:
            return {"skipped": "another flush is running"}
        result = flush.flush()
        if result.events or result.dropped or result.recovered:
            log.info("tracking flush: %s", result)
        return asdict(result)
