"""Bulk actions on subscribers."""

from __future__ import annotations

from jobs.runtime import app_job
from mailer.queue import job_logger
from mailer.services import bulk

log = job_logger(__name__)


@app_job
def run_bulk_action(action_id: int) -> dict:
    action = bulk.run(action_id)
    if action is None:
        return {"action_id": action_id, "status": "gone"}
    log.info(
        "bulk action %s %s: %s of %s", action.id, action.status, action.processed, action.total
    )
    return {"action_id": action.id, "status": action.status, "processed": action.processed}
