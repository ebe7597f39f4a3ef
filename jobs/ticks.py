"""Periodic jobs run by rq-scheduler (registered in mailer.dispatch.TICKS_REGISTRY).

Each is safe to run twice at once: it takes a Redis lock, and what it starts is itself guarded
(a campaign launches once; a channel row runs in one loop at a time).
"""

from __future__ import annotations

import logging

from jobs.runtime import app_job, tick_lock
from mailer.queue import job_logger
from mailer.services import queues

log = job_logger(__name__)


@app_job
def heartbeat() -> None:
    """Lets the Queues page tell whether the scheduler is alive."""
    queues.record_heartbeat()


@app_job
def campaigns_tick() -> dict:
    """Launch campaigns whose time has come; wake channel rows that wait for a start date,
    a new day's quota or their frequency, or whose worker died."""
    from mailer.campaigns import launch, lifecycle
    from mailer.engine.campaign_send import retry
    from mailer.engine.imports import importer
    from mailer.services import api_keys

    with tick_lock("campaigns") as mine:
        if not mine:
            return {"skipped": "another tick is running"}
        launched = launch.start_due()
        resumed = launch.restart_stranded()  # their orchestrator died: launch again
        woken = launch.wake_rows()
        probed = retry.probe_due()  # rows paused on provider errors, cool-down over
        purged = api_keys.purge_idempotency()
        importer.purge_failed_uploads()
        imports = importer.recover_stalled()  # their job died: resume them, or fail them
        for campaign_id in imports.campaign_ids:
            lifecycle.on_import_finished(campaign_id)
        did_something = any(
            (launched, resumed, woken, probed, purged, imports.resumed, imports.failed)
        )
        log.log(
            logging.INFO if did_something else logging.DEBUG,  # an idle minute is not news
            "tick: launched %s, resumed %s, woke rows %s, probing rows %s",
            launched,
            resumed,
            woken,
            probed,
        )
        return {
            "launched": launched,
            "resumed": resumed,
            "woken": woken,
            "probing": probed,
            "idempotency_purged": purged,
            "imports_resumed": len(imports.resumed),
            "imports_failed": len(imports.failed),
        }


@app_job
def transactional_tick() -> dict:
    """Every few seconds: wake channels with due transactional messages (retries, lost drain
    jobs) and fail messages a dead worker left "sending"."""
    from mailer.engine.transactional import accept
    from mailer.engine.transactional import drain as transactional_drain

    with tick_lock("transactional", ttl=30) as mine:
        if not mine:
            return {"skipped": "another tick is running"}
        stale = transactional_drain.recover_stale()
        woken = accept.wake(transactional_drain.due_channels())
        if stale or woken:
            log.info("transactional tick: woke %s, failed %s stale messages", woken, stale)
        return {"woken": woken, "stale": stale}


@app_job
def retention_tick() -> dict:
    """Daily: prune what the retention settings no longer keep (campaigns/retention.py)."""
    from mailer.campaigns import retention

    with tick_lock("retention", ttl=retention.RUN_SECONDS + 600) as mine:
        if not mine:
            return {"skipped": "another run is pruning"}
        return retention.prune().as_dict()


@app_job
def purge_unconfirmed() -> dict:
    """Daily: remove people who signed up and never confirmed (services/signup.py)."""
    from mailer.services import signup

    with tick_lock("unconfirmed-purge", ttl=3600) as mine:
        if not mine:
            return {"skipped": "another tick is running"}
        removed = signup.purge_unconfirmed()
        if removed:
            log.info("purged %s unconfirmed subscribers", removed)
        return {"removed": removed}
