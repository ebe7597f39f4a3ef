"""Channel rows that paused themselves after a burst of provider errors, tried again: the
minute tick un-pauses those whose cool-down is over and starts their loop, which tests the
provider with a few sends (chunks.bursting, chunks.end_probe)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from mailer import dispatch
from mailer.extensions import db
from mailer.models import Campaign, CampaignChannel, CampaignStatus
from mailer.models.base import utcnow


def probe_due(now: datetime | None = None) -> list[int]:
    """Start a probe on every row of a running campaign whose cool-down is over. A row is
    claimed by a conditional UPDATE, so two ticks start it once."""
    now = now or utcnow()
    due = db.session.scalars(
        select(CampaignChannel.id)
        .join(Campaign, Campaign.id == CampaignChannel.campaign_id)
        .where(
            Campaign.status == CampaignStatus.RUNNING.value,
            CampaignChannel.paused_reason.is_not(None),
            CampaignChannel.retry_at <= now,
        )
    ).all()
    started = []
    for row_id in due:
        taken = db.session.execute(
            update(CampaignChannel)
            .where(
                CampaignChannel.id == row_id,
                CampaignChannel.paused_reason.is_not(None),
                CampaignChannel.retry_at <= now,
            )
            .values(paused_reason=None)
        ).rowcount
        db.session.commit()
        if taken:
            dispatch.run_channel(row_id)
            started.append(row_id)
    return started
