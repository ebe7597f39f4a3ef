"""A campaign's status machine: which status may follow which, and the one atomic move.

People (pages, API, CLI) and the send loop (completing a campaign) both move statuses
through :func:`transition`.
"""

from __future__ import annotations

from flask_babel import gettext, pgettext
from sqlalchemy import select, update

from mailer.extensions import db
from mailer.lib.errors import NotAllowed
from mailer.models import Campaign, CampaignStatus
from mailer.models.base import utcnow

S = CampaignStatus
TRANSITIONS: dict[CampaignStatus, set[CampaignStatus]] = {
    S.DRAFT: {S.PROCESSING, S.SCHEDULED, S.CANCELLED},
    S.PROCESSING: {S.SCHEDULED, S.DRAFT, S.FAILED, S.CANCELLED},
    S.SCHEDULED: {S.RUNNING, S.DRAFT, S.CANCELLED, S.FAILED},
    S.RUNNING: {S.PAUSED, S.COMPLETED, S.CANCELLED, S.FAILED},
    S.PAUSED: {S.RUNNING, S.CANCELLED},
    S.COMPLETED: {S.RUNNING},  # failed or unconfirmed sends retried (not once archived)
    S.CANCELLED: set(),
    S.FAILED: {S.DRAFT},
}


def status_name(status: str) -> str:
    """A campaign's status in the reader's words (English in jobs and the API)."""
    names = {
        "draft": pgettext("campaign status", "draft"),
        "processing": pgettext("campaign status", "importing"),
        "scheduled": pgettext("campaign status", "scheduled"),
        "running": pgettext("campaign status", "sending"),
        "paused": pgettext("campaign status", "paused"),
        "completed": pgettext("campaign status", "completed"),
        "cancelled": pgettext("campaign status", "cancelled"),
        "failed": pgettext("campaign status", "failed"),
    }
    return names.get(status, status)


def can_transition(campaign: Campaign, to: CampaignStatus) -> bool:
    return CampaignStatus(to) in TRANSITIONS[CampaignStatus(campaign.status)]


def transition(
    campaign: Campaign,
    to: CampaignStatus,
    *,
    expect: CampaignStatus | None = None,
    commit: bool = True,
) -> Campaign:
    """Move `campaign` to `to`, atomically against concurrent movers; NotAllowed otherwise."""
    current = CampaignStatus(expect or campaign.status)
    to = CampaignStatus(to)
    if to not in TRANSITIONS[current]:
        raise NotAllowed(
            gettext(
                "A %(now)s campaign cannot become %(to)s.",
                now=status_name(current.value),
                to=status_name(to.value),
            )
        )
    values = {"status": to.value, "updated_at": utcnow()}
    if to == S.RUNNING and campaign.started_at is None:
        values["started_at"] = utcnow()
    if to in (S.COMPLETED, S.CANCELLED, S.FAILED):
        values["finished_at"] = utcnow()
    elif current == S.COMPLETED:  # reopened while retried sends go out
        values["finished_at"] = None
    where = [Campaign.id == campaign.id, Campaign.status == current.value]
    if current == S.COMPLETED:  # archived figures are final: it never sends again
        where.append(Campaign.archived_at.is_(None))
    changed = db.session.execute(update(Campaign).where(*where).values(**values)).rowcount
    if not changed:
        db.session.rollback()
        now_status = db.session.scalar(select(Campaign.status).where(Campaign.id == campaign.id))
        raise NotAllowed(
            gettext(
                "The campaign is %(now)s now; it cannot become %(to)s.",
                now=status_name(now_status),
                to=status_name(to.value),
            )
        )
    if commit:
        db.session.commit()
    db.session.refresh(campaign)
    return campaign
