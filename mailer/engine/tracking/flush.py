"""The tracking flush: buffered hits moved from Redis to the database in batches, a batch
leaving Redis only after it committed (run by the tick every few seconds, under a lock)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from mailer.engine.tracking.hits import BUFFER_KEY, Hit, write_hits
from mailer.extensions import db
from mailer.queue import get_redis

PROCESSING_KEY = "mailer:tracking:processing"
FLUSH_BATCH = 2000
FLUSH_SECONDS = 20.0  # one flush stops taking new batches after this (the tick runs every 5 s)


@dataclass
class FlushResult:
    batches: int = 0
    events: int = 0
    dropped: int = 0
    recovered: int = 0  # events found in the processing list, left by a flush that died


def flush(*, batch_size: int = FLUSH_BATCH, max_seconds: float = FLUSH_SECONDS) -> FlushResult:
    """Move buffered hits to the database in batches. The caller holds the flush lock."""
    redis = get_redis()
    result = FlushResult()
    leftover = redis.lrange(PROCESSING_KEY, 0, -1)
    if leftover:
        _write_batch(leftover, result)
        result.recovered = len(leftover)
        clear_processing(redis)
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        waiting = redis.llen(BUFFER_KEY)
        if not waiting:
            break
        pipe = redis.pipeline(transaction=True)
        for _ in range(min(waiting, batch_size)):
            pipe.lmove(BUFFER_KEY, PROCESSING_KEY, "LEFT", "RIGHT")
        moved = [item for item in pipe.execute() if item is not None]
        if not moved:
            break
        _write_batch(moved, result)
        clear_processing(redis)
    return result


def _write_batch(raw: Iterable[bytes], result: FlushResult) -> None:
    hits = []
    for item in raw:
        try:
            hits.append(Hit.from_json(item))
        except (ValueError, KeyError, TypeError):
            result.dropped += 1  # not ours: nothing can be done with it
    try:
        written = write_hits(hits)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    result.batches += 1
    result.events += written.written
    result.dropped += written.dropped


def clear_processing(redis) -> None:
    """Only after the batch committed: from here on the events live in the database."""
    redis.delete(PROCESSING_KEY)


def pending() -> int:
    """Hits waiting in Redis (buffer and an unfinished batch)."""
    redis = get_redis()
    return int(redis.llen(BUFFER_KEY)) + int(redis.llen(PROCESSING_KEY))
