"""The outbound webhooks tick: post due deliveries to client apps' endpoints.

Runs every 5 s (mailer.dispatch.TICKS_REGISTRY) under a Redis lock, so runs never overlap; the
claim in mailer/engine/webhooks_out/delivery.py keeps even overlapping workers from posting
one attempt twice. A run stops starting batches after delivery.RUN_SECONDS (a batch in flight
ends within the 10 s request timeout), well inside the tick's 60 s job timeout. About once an
hour it also prunes old finished deliveries.
"""

from __future__ import annotations

from dataclasses import asdict

from jobs.runtime import app_job, tick_lock
from mailer.engine.webhooks_out import delivery as webhook_delivery
from mailer.queue import get_redis, job_logger

log = job_logger(__name__)

PRUNE_EVERY = 3600


@app_job
def deliver_webhooks() -> dict:
    with tick_lock("webhooks-deliver", ttl=90) as mine:
        if not mine:
            return {"skipped": "another delivery run is in progress"}
        result = webhook_delivery.deliver_due()
        if result.attempted:
            log.info(
                "webhooks: %d attempted, %d delivered, %d to retry, %d failed",
                result.attempted,
                result.delivered,
                result.retrying,
                result.failed,
            )
        if result.disabled:
            log.warning("webhooks: endpoints disabled after failing too long: %s", result.disabled)
        summary = asdict(result)
        if get_redis().set("mailer:webhooks:pruned", "1", nx=True, ex=PRUNE_EVERY):
            summary["pruned"] = webhook_delivery.prune()
        return summary
