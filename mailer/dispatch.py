"""The one place that names jobs: each job's queue, time limit and options, by dotted name.

Nothing in ``mailer/`` imports ``jobs/``: code asks for work through these functions and RQ
finds the job function by its name. :class:`KeyedJob` is the "one job per key" protocol that
the transactional drain and the feedback job share (docs/architecture.md, "Jobs").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from rq import Retry

from mailer.queue import FEEDBACK, IMPORTS, SEND, TRANSACTIONAL, enqueue, get_redis

LAUNCH_SECONDS = 3600  # the launch job's time limit, and how long its Redis lock lives
IMPORT_SECONDS = 6 * 3600
DRAIN_SECONDS = 30.0  # a transactional drain job hands over to a fresh one after this
SHORT_RESULT_TTL = 300  # seconds RQ keeps the result of a frequent job
FAILURE_TTL = 86400
CHANNEL_RETRIES = 3  # a channel job whose child died (or that raised) is enqueued again
RETRY_SECONDS = 3600  # a failed-send retry job over a large filter
ROW_WAKE_TTL = 120  # seconds a queued loop of a row's extra slot stops others being queued


@dataclass(frozen=True)
class Tick:
    """A periodic job run by rq-scheduler; `func` is a dotted path to an app_job."""

    name: str
    func: str
    interval: int  # seconds


TICKS_REGISTRY: list[Tick] = [  # run by rq-scheduler on the ticks queue (scheduling.py)
    Tick("heartbeat", "jobs.ticks.heartbeat", 60),
    Tick("campaigns", "jobs.ticks.campaigns_tick", 60),
    Tick("tracking-flush", "jobs.tracking.flush_events", 5),
    Tick("sqs-poll", "jobs.feedback.poll_sqs", 10),
    Tick("transactional", "jobs.ticks.transactional_tick", 5),
    Tick("webhooks-deliver", "jobs.webhooks_out.deliver_webhooks", 5),  # outbound webhooks
    Tick("retention", "jobs.ticks.retention_tick", 86400),  # prunes old data: daily
    Tick("unconfirmed-purge", "jobs.ticks.purge_unconfirmed", 86400),  # signups never confirmed
]


def launch_campaign(campaign_id: int):
    return enqueue(
        SEND, "jobs.campaigns.orchestrate_launch", campaign_id, job_timeout=LAUNCH_SECONDS
    )


def run_channel(row_id: int, slot: int = 0):
    """A campaign channel row's long-running loop (it hands over to itself every slice); slot
    0 is the row's first loop, which starts the others (`wake_channel_slot`). RQ enqueues it
    again at once when its job child dies (kill -9, out of memory): the next loop takes the
    slot over from the dead process (campaign_send.loop)."""
    args = (row_id,) if slot == 0 else (row_id, slot)
    return enqueue(
        SEND, "jobs.campaigns.run_channel", *args, job_timeout=-1, retry=Retry(max=CHANNEL_RETRIES)
    )


def _slot_job(row_id: int, slot: int) -> KeyedJob:
    return KeyedJob(f"mailer:wake:cc:{row_id}:{slot}", ROW_WAKE_TTL)


def wake_channel_slot(row_id: int, slot: int) -> bool:
    """Enqueue a loop for one more slot of a row, unless one is already queued for it."""
    return _slot_job(row_id, slot).wake(lambda: run_channel(row_id, slot))


def channel_slot_started(row_id: int, slot: int) -> None:
    """The slot's queued job runs (and holds the slot's lock): a later wake may queue again."""
    _slot_job(row_id, slot).let_go()


def run_import(import_id: int):
    return enqueue(IMPORTS, "jobs.imports.run_import", import_id, job_timeout=IMPORT_SECONDS)


def run_bulk_action(action_id: int):
    """A bulk action on many subscribers (services/bulk.py), on the imports queue."""
    return enqueue(IMPORTS, "jobs.people.run_bulk_action", action_id, job_timeout=IMPORT_SECONDS)


def drain_transactional(channel_id: int):
    return enqueue(
        TRANSACTIONAL,
        "jobs.transactional.drain",
        channel_id,
        job_timeout=int(DRAIN_SECONDS * 4),
        result_ttl=SHORT_RESULT_TTL,
    )


def process_feedback(*, helper: bool = False):
    kwargs = {"helper": True} if helper else {}
    return enqueue(
        FEEDBACK,
        "jobs.feedback.process_feedback",
        result_ttl=SHORT_RESULT_TTL,
        failure_ttl=FAILURE_TTL,
        **kwargs,
    )


def retry_failed(kind: str, filter_data: dict, confirm_in_doubt: bool):
    """Retry every failed send or message of a filter too large for one request."""
    return enqueue(
        SEND,
        "jobs.failed_sends.retry_failed",
        kind,
        filter_data,
        confirm_in_doubt,
        job_timeout=RETRY_SECONDS,
        failure_ttl=FAILURE_TTL,
    )


@dataclass(frozen=True)
class KeyedJob:
    """At most one job per key is queued or running, whatever the rate of wake-ups.

    A Redis flag means "a job for this key is queued or running". :meth:`wake` enqueues only
    when it sets the flag; the running job :meth:`hold`s it (so it outlives neither a lost job
    nor its TTL), keeps it when it hands over to a successor, and :meth:`let_go`es it when
    idle, then looks once more: work stored after that look sets the flag and wakes a new
    job, work stored before it is found by the look."""

    key: str
    ttl: int  # seconds; refreshed by the running job

    def wake(self, start: Callable[[], object], client: Redis | None = None) -> bool:
        """Call ``start`` (which enqueues the job) unless a job already holds the key."""
        if (client or get_redis()).set(self.key, "1", nx=True, ex=self.ttl):
            start()
            return True
        return False

    def hold(self) -> None:
        get_redis().set(self.key, "1", ex=self.ttl)

    def let_go(self, more_work: Callable[[], bool] | None = None) -> bool:
        """Release the key. With ``more_work``, take it back and return True when work
        arrived meanwhile (a waker that found the key held enqueued nothing): keep going."""
        redis = get_redis()
        redis.delete(self.key)
        if more_work is None or not more_work():
            return False
        return bool(redis.set(self.key, "1", nx=True, ex=self.ttl))
