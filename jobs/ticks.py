"""Periodic jobs run by rq-scheduler (registered in mailer.queue.TICKS_REGISTRY)."""

from __future__ import annotations

from mailer.queue import app_job
from mailer.services import queues


@app_job
def heartbeat() -> None:
    """Lets the Queues page tell whether the scheduler is alive."""
    queues.record_heartbeat()
