"""Campaign jobs: the launch orchestrator and one channel worker per campaign channel row."""

from __future__ import annotations

from jobs.runtime import app_job
from mailer import dispatch
from mailer.campaigns import launch as campaign_launch
from mailer.engine.campaign_send.loop import ChannelLoop
from mailer.queue import job_logger

log = job_logger(__name__)

# A channel job runs this long, then hands over to a fresh job of itself: a worker's warm
# shutdown never waits longer, and other queued work gets a turn.
SLICE_SECONDS = 30


@app_job
def orchestrate_launch(campaign_id: int) -> dict:
    campaign = campaign_launch.orchestrate(campaign_id)
    if campaign is None:
        return {"status": "missing"}
    log.info("campaign %s %s, audience %s", campaign.id, campaign.status, campaign.audience_size)
    return {"status": campaign.status, "audience": campaign.audience_size}


# Jobs queued by the release before this one name the orchestrator by its old name.
launch = orchestrate_launch


@app_job
def run_channel(row_id: int, slot: int = 0) -> dict:
    outcome = ChannelLoop(row_id, slot=slot, slice_seconds=SLICE_SECONDS).run()
    log.info(
        "row %s/%s: %s (sent %s, failed %s) %s",
        row_id,
        slot,
        outcome.state,
        outcome.sent,
        outcome.failed,
        outcome.reason or "",
    )
    # Not after "redis_down": the minute tick wakes the row once Redis is back.
    if outcome.state in ("sliced", "stopped", "lost_lock"):
        dispatch.run_channel(row_id, slot)
    # No reason: a pause's reason quotes the provider's last error (the row has it).
    return {
        "row_id": row_id,
        "state": outcome.state,
        "sent": outcome.sent,
        "failed": outcome.failed,
    }
