"""Transactional jobs: the per-channel drain job (its safety-net tick is in jobs/ticks.py).

``drain`` is enqueued on the transactional queue by ``transactional.wake`` (after an API
request queued messages) and by the tick; the Redis flag it holds means one job per channel
is queued or running at a time, whatever the request rate. A job that used its time slice
enqueues a successor of itself, keeping the flag.
"""

from __future__ import annotations

from jobs.runtime import app_job
from mailer import dispatch
from mailer.engine.transactional import drain as transactional_drain
from mailer.queue import job_logger

log = job_logger(__name__)


@app_job
def drain(channel_id: int) -> dict:
    result = transactional_drain.drain(channel_id)
    log.info(
        "transactional channel %s: %s (sent %s, failed %s, retried %s) %s",
        channel_id,
        result.state,
        result.sent,
        result.failed,
        result.retried,
        result.reason or "",
    )
    if result.state == "sliced":
        dispatch.drain_transactional(channel_id)
    return {
        "channel_id": channel_id,
        "state": result.state,
        "sent": result.sent,
        "failed": result.failed,
        "retried": result.retried,
    }
