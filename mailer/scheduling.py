"""rq-scheduler: periodic ticks registered idempotently (one entry per tick name)."""

from __future__ import annotations

from datetime import UTC, datetime

from redis import Redis
from rq_scheduler import Scheduler

from mailer.dispatch import TICKS_REGISTRY
from mailer.queue import TICKS

JOB_PREFIX = "tick-"


def register_ticks(conn: Redis) -> list[str]:
    """(Re)register every tick; earlier registrations of ours are cancelled first."""
    scheduler = Scheduler(queue_name=TICKS, connection=conn)
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX):
            scheduler.cancel(job)
    ids = []
    for tick in TICKS_REGISTRY:
        job = scheduler.schedule(
            scheduled_time=datetime.now(UTC),
            func=tick.func,
            interval=tick.interval,
            repeat=None,
            id=f"{JOB_PREFIX}{tick.name}",
            result_ttl=tick.interval * 2,
            timeout=max(tick.interval * 5, 60),
            queue_name=TICKS,
        )
        ids.append(job.id)
    return ids


def run_scheduler(conn: Redis, interval: int) -> None:
    Scheduler(queue_name=TICKS, connection=conn, interval=interval).run()
