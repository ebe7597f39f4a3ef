"""rq-scheduler: periodic ticks registered idempotently (one entry per tick name), registered
again whenever they go missing (Redis restarted empty), and a scheduler process that rides out
a Redis outage instead of exiting."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime

from redis import Redis
from rq.job import Job
from rq_scheduler import Scheduler

from mailer.dispatch import TICKS_REGISTRY
from mailer.queue import REDIS_DOWN, TICKS, RedisOutage

JOB_PREFIX = "tick-"

log = logging.getLogger(__name__)


def _schedule(scheduler: Scheduler, tick) -> str:
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
    return job.id


def register_ticks(conn: Redis) -> list[str]:
    """(Re)register every tick; earlier registrations of ours are cancelled first."""
    scheduler = Scheduler(queue_name=TICKS, connection=conn)
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX):
            scheduler.cancel(job)
    return [_schedule(scheduler, tick) for tick in TICKS_REGISTRY]


def ensure_ticks(scheduler: Scheduler) -> list[str]:
    """Register the ticks that are not scheduled (or whose job is gone); leave the others'
    times alone. One round trip when nothing is missing."""
    ids = [f"{JOB_PREFIX}{tick.name}" for tick in TICKS_REGISTRY]
    with scheduler.connection.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.zscore(scheduler.scheduled_jobs_key, job_id)
            pipe.exists(Job.key_for(job_id))
        answers = pipe.execute()
    missing = [
        tick
        for i, tick in enumerate(TICKS_REGISTRY)
        if answers[2 * i] is None or not answers[2 * i + 1]
    ]
    registered = [_schedule(scheduler, tick) for tick in missing]
    if registered:
        log.warning("scheduler: registered missing ticks again: %s", ", ".join(registered))
    return registered


class TickScheduler(Scheduler):
    """rq-scheduler's loop, checking its ticks on every poll it holds the lock for."""

    def enqueue_jobs(self):
        ensure_ticks(self)
        return super().enqueue_jobs()

    # Run on SIGTERM too: a stop during an outage still exits cleanly.
    def register_death(self):
        with contextlib.suppress(*REDIS_DOWN):
            super().register_death()

    def remove_lock(self):
        with contextlib.suppress(*REDIS_DOWN):
            super().remove_lock()


def run_scheduler(conn: Redis, interval: int, max_wait: float) -> None:
    """Run the scheduler until a signal stops it; a Redis outage pauses it (one log line when
    Redis goes, one when it is back) and the ticks are registered again if Redis lost them."""
    outage = RedisOutage("scheduler", max_wait, log)
    registered = False
    while True:
        try:
            if not registered:  # at start: an upgrade may have changed the ticks
                register_ticks(conn)
                registered = True
            TickScheduler(queue_name=TICKS, connection=conn, interval=interval).run()
            return
        except REDIS_DOWN as exc:
            outage.lost(exc)
        outage.wait_until_up(conn)
