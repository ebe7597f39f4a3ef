"""The `flask worker` process: an RQ worker that rides out a Redis outage instead of exiting.

RQ retries a lost connection only while it waits for a job, logging every attempt; anywhere
else (watching a job's child, recording its result) the worker quits, and a job child it was
watching keeps running with nobody waiting for it. Here a job's child is watched through an
outage, and a worker that quit on a Redis error starts again once Redis answers."""

from __future__ import annotations

import contextlib
import logging
import time

from redis import Redis
from rq import Worker
from rq.exceptions import StopRequested

from mailer.queue import REDIS_DOWN, RedisOutage
from mailer.scheduling import JOB_PREFIX

TICK_JOBS = "jobs.ticks."  # in a tick job's description, e.g. "jobs.ticks.heartbeat()"

log = logging.getLogger(__name__)

# A worker that ran this long before quitting starts again at once; sooner, it waits first.
HEALTHY_RUN = 60.0


class _LostConnection(logging.Filter):
    """RQ logs each failed attempt while it waits for jobs; one line per outage is enough."""

    def __init__(self, outage: RedisOutage) -> None:
        super().__init__()
        self.outage = outage

    def filter(self, record: logging.LogRecord) -> bool:
        if "could not connect to Redis instance" in str(record.msg):
            self.outage.lost(ConnectionError("connection lost"))
            return False
        return True


class _QuietTicks(logging.Filter):
    """RQ writes four INFO lines per job; the periodic ticks run every few seconds and would
    flood the terminal. Their INFO lines become DEBUG (shown with LOG_LEVEL=DEBUG); a tick
    that did something says so itself, at INFO; failures stay errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.levelno == logging.INFO and any(
            isinstance(a, str) and (a.startswith(JOB_PREFIX) or TICK_JOBS in a) for a in args
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


class MailerWorker(Worker):
    """RQ's forking worker, with outage handling (one log line per change, capped backoff)."""

    outage: RedisOutage
    stop_asked = False

    def request_stop(self, signum, frame):
        self.stop_asked = True
        with contextlib.suppress(*REDIS_DOWN):  # noting the request in Redis is a nicety
            super().request_stop(signum, frame)

    def heartbeat(self, timeout=None, pipeline=None):
        super().heartbeat(timeout, pipeline=pipeline)
        if pipeline is None:
            self.outage.back()

    # While a job's child runs, the worker only does bookkeeping in Redis: through an outage
    # it keeps watching the child (which stops itself on Redis errors, or finishes) rather
    # than quit and leave it running beside the job a restarted worker would take next.
    def maintain_heartbeats(self, job):
        try:
            super().maintain_heartbeats(job)
        except REDIS_DOWN as exc:
            self.outage.lost(exc)

    def set_current_job_working_time(self, *args, **kwargs):
        try:
            super().set_current_job_working_time(*args, **kwargs)
        except REDIS_DOWN as exc:
            self.outage.lost(exc)


def run_worker(
    queues: list[str], conn: Redis, name: str | None, burst: bool, max_wait: float
) -> None:
    """Work until a signal or, with ``burst``, until the queues are empty; a Redis outage
    pauses the worker, which starts again (a fresh registration) once Redis answers."""
    outage = RedisOutage(f"worker {name or ''}".strip(), max_wait, log)
    rq_log = logging.getLogger("rq.worker")
    rq_log.addFilter(_LostConnection(outage))
    if not any(isinstance(f, _QuietTicks) for f in rq_log.filters):
        rq_log.addFilter(_QuietTicks())
    incarnation = 0
    while True:
        # A name is registered until it expires: a worker starting again takes a new one.
        worker_name = f"{name}.{incarnation}" if name and incarnation else name
        worker = MailerWorker(queues, connection=conn, name=worker_name)
        worker.max_connection_wait_time = max_wait
        worker.outage = outage
        started = time.monotonic()
        try:
            worker.work(burst=burst, with_scheduler=False)
        except REDIS_DOWN as exc:
            outage.lost(exc)
        else:
            if burst or worker.stop_asked:
                return
        if worker.stop_asked:
            return
        incarnation += 1
        try:
            if time.monotonic() - started < HEALTHY_RUN:
                outage.pause()  # a worker quitting at once, again and again, does not spin
            outage.wait_until_up(conn)
        except StopRequested:  # SIGTERM meanwhile (RQ's handler raises it when idle)
            return
