"""Figures for the dashboard."""

from __future__ import annotations

from sqlalchemy import func

from mailer.extensions import db
from mailer.models import Campaign, Channel, MailingList, Subscriber, Suppression


def counts() -> dict[str, int]:
    def count(model) -> int:
        return db.session.scalar(db.select(func.count()).select_from(model)) or 0

    return {
        "lists": count(MailingList),
        "subscribers": count(Subscriber),
        "campaigns": count(Campaign),
        "channels": count(Channel),
        "suppressions": count(Suppression),
    }


def recent_campaigns(limit: int = 10) -> list[Campaign]:
    return db.session.scalars(
        db.select(Campaign).order_by(Campaign.created_at.desc()).limit(limit)
    ).all()
