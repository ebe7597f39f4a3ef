"""A channel's feedback health for its page: what arrived last, and bounce and complaint rates
over the last 7 days against the thresholds mailbox providers and SES act on.

Gmail and Yahoo's bulk-sender rules: keep the spam complaint rate below 0.1%, never reach
0.3%. Amazon SES reviews an account at a 5% bounce rate and may pause it at 10%.
Rates are events over messages sent through the channel in the same 7 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from mailer.engine.feedback.intake import rejections
from mailer.extensions import db
from mailer.models import (
    CampaignChannel,
    Channel,
    Event,
    EventType,
    FeedbackPayload,
    Message,
    Send,
)
from mailer.models.base import utcnow

WINDOW_DAYS = 7
COMPLAINT_WARN, COMPLAINT_ALERT = 0.001, 0.003
BOUNCE_WARN, BOUNCE_ALERT = 0.05, 0.10
RECENT_PAYLOADS = 200  # payloads looked at for the unmatched log
UNMATCHED_SHOWN = 10

# What a provider can report at all.
SUPPORTED = ("ses", "sendgrid", "mailgun", "mailjet", "brevo")


@dataclass
class Health:
    supported: bool
    last_feedback_at: datetime | None = None
    sent: int = 0
    hard_bounces: int = 0
    soft_bounces: int = 0
    complaints: int = 0
    deliveries: int = 0
    pending: int = 0
    failed: int = 0
    rejected: int = 0
    last_rejection: dict | None = None
    unmatched: list[dict] = field(default_factory=list)
    window_days: int = WINDOW_DAYS

    @property
    def bounce_rate(self) -> float | None:
        return (self.hard_bounces / self.sent) if self.sent else None

    @property
    def complaint_rate(self) -> float | None:
        return (self.complaints / self.sent) if self.sent else None

    @property
    def complaint_level(self) -> str:
        return _level(self.complaint_rate, COMPLAINT_WARN, COMPLAINT_ALERT)

    @property
    def bounce_level(self) -> str:
        return _level(self.bounce_rate, BOUNCE_WARN, BOUNCE_ALERT)


def _level(rate: float | None, warn: float, alert: float) -> str:
    if rate is None:
        return "none"
    if rate >= alert:
        return "alert"
    if rate >= warn:
        return "warn"
    return "ok"


def channel_health(channel: Channel, now: datetime | None = None) -> Health:
    health = Health(supported=channel.provider in SUPPORTED)
    if not health.supported:
        return health
    now = now or utcnow()
    since = now - timedelta(days=WINDOW_DAYS)
    health.last_feedback_at = channel.last_feedback_at
    row_ids = list(
        db.session.scalars(
            select(CampaignChannel.id).where(CampaignChannel.channel_id == channel.id)
        )
    )
    campaign_ids = list(
        db.session.scalars(
            select(CampaignChannel.campaign_id)
            .where(CampaignChannel.channel_id == channel.id)
            .distinct()
        )
    )
    if row_ids:
        health.sent = (
            db.session.scalar(
                select(func.count())
                .select_from(Send)
                .where(Send.campaign_channel_id.in_(row_ids), Send.sent_at >= since)
            )
            or 0
        )
    health.sent += (
        db.session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.channel_id == channel.id, Message.sent_at >= since)
        )
        or 0
    )
    kinds = (EventType.BOUNCE.value, EventType.COMPLAINT.value, EventType.DELIVERY.value)
    bounce = Event.data["bounce"].as_string()
    queries = []
    if row_ids and campaign_ids:
        queries.append(
            select(Event.type, bounce, func.count())
            .join(Send, Send.id == Event.send_id)
            .where(
                Event.campaign_id.in_(campaign_ids),
                Event.type.in_(kinds),
                Event.occurred_at >= since,
                Send.campaign_channel_id.in_(row_ids),
            )
            .group_by(Event.type, bounce)
        )
    queries.append(
        select(Event.type, bounce, func.count())
        .join(Message, Message.id == Event.message_id)
        .where(
            Event.campaign_id.is_(None),
            Event.type.in_(kinds),
            Event.occurred_at >= since,
            Message.channel_id == channel.id,
        )
        .group_by(Event.type, bounce)
    )
    for query in queries:
        for kind, bounce_type, n in db.session.execute(query):
            if kind == EventType.BOUNCE.value:
                if bounce_type == "soft":
                    health.soft_bounces += n
                else:
                    health.hard_bounces += n
            elif kind == EventType.COMPLAINT.value:
                health.complaints += n
            else:
                health.deliveries += n
    for status, n in db.session.execute(
        select(FeedbackPayload.status, func.count())
        # By status first: (status, id) is indexed and few rows are not processed.
        .where(
            FeedbackPayload.status.in_(("received", "failed")),
            FeedbackPayload.channel_id == channel.id,
        )
        .group_by(FeedbackPayload.status)
    ):
        if status == "received":
            health.pending = n
        elif status == "failed":
            health.failed = n
    for (log,) in db.session.execute(
        select(FeedbackPayload.unmatched)
        .where(FeedbackPayload.channel_id == channel.id)
        .order_by(FeedbackPayload.id.desc())
        .limit(RECENT_PAYLOADS)
    ):
        health.unmatched.extend(log or [])
        if len(health.unmatched) >= UNMATCHED_SHOWN:
            break
    health.unmatched = health.unmatched[:UNMATCHED_SHOWN]
    health.rejected, health.last_rejection = rejections(channel.id)
    return health
