"""Campaigns, their audience and channel rules, and one send row per recipient."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.extensions import db
from mailer.models.base import BigId, Email, LongText, utcnow
from mailer.models.templates import EmailDesign


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    PROCESSING = "processing"  # uploaded contact files are importing
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Campaign(EmailDesign, db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_status_scheduled", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(500))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id", ondelete="SET NULL"))
    html: Mapped[str | None] = mapped_column(LongText)  # pasted HTML, or a copy at launch
    text: Mapped[str | None] = mapped_column(LongText)
    status: Mapped[str] = mapped_column(String(12), default=CampaignStatus.DRAFT.value)
    scheduled_at: Mapped[datetime | None]  # naive UTC; None = at launch
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    audience_size: Mapped[int] = mapped_column(default=0)
    # When the launch had written every send. Until then no channel row completes the
    # campaign (it has not found the rest yet), and the tick resumes a launch that died.
    materialised_at: Mapped[datetime | None]
    excluded_count: Mapped[int] = mapped_column(default=0)  # suppressed/unsubscribed at launch
    track_opens: Mapped[bool] = mapped_column(default=True)
    track_clicks: Mapped[bool] = mapped_column(default=True)
    # The id a client team gave the campaign in a document sent through the API.
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # A finished campaign's report figures, kept before retention prunes its sends and events
    # (engine/retention.py); from then on its figures are read from here (campaigns/stats.py).
    archived_at: Mapped[datetime | None]
    archived_figures: Mapped[dict | None] = mapped_column(JSON)
    # Listed in the public archive (/archive), rendered for a sample person without tracking.
    public: Mapped[bool] = mapped_column(default=False, server_default="0")

    audiences: Mapped[list[CampaignAudience]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )
    channels: Mapped[list[CampaignChannel]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="CampaignChannel.position"
    )


class CampaignAudience(db.Model):
    """One list (optionally narrowed by a segment) in a campaign's audience."""

    __tablename__ = "campaign_audiences"
    __table_args__ = (UniqueConstraint("campaign_id", "list_id", "segment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    # A template of its own for this audience (campaign documents), with a copy of its content
    # taken when the campaign is created; None: the campaign's template.
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id", ondelete="SET NULL"))
    html: Mapped[str | None] = mapped_column(LongText)
    text: Mapped[str | None] = mapped_column(LongText)


class CampaignChannel(db.Model):
    """A channel row of a campaign: sender, channel and its pacing rules."""

    __tablename__ = "campaign_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="RESTRICT"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="RESTRICT"))
    position: Mapped[int] = mapped_column(default=0)
    frequency_minutes: Mapped[float | None]  # minimum minutes between two emails on this row
    daily_max: Mapped[int | None]  # None: the channel's quota
    start_at: Mapped[datetime | None]  # None: at launch
    loops: Mapped[int | None]  # loops sending the row at once; None: MAILER_ROW_LOOPS
    waiting_reason: Mapped[str | None] = mapped_column(String(200))
    # Set when the row stopped itself (a burst of provider errors); cleared on resume.
    paused_reason: Mapped[str | None] = mapped_column(String(500))
    # A row that paused itself is tried again with a few sends at ``retry_at`` (the cool-down
    # doubles with each of its ``self_pauses`` in a row); ``resumed_at``: when it last resumed
    # by itself. While ``retry_at`` is set and the row is not paused, the loop is probing.
    retry_at: Mapped[datetime | None]
    self_pauses: Mapped[int] = mapped_column(default=0, server_default="0")
    resumed_at: Mapped[datetime | None]
    sent_count: Mapped[int] = mapped_column(default=0)
    failed_count: Mapped[int] = mapped_column(default=0)
    # The send loop's record of its chunks (engine/campaign_send/chunks.py), each left by a
    # loop that died: the ids of the sends with the provider (JSON), cleared once their
    # results are written;
    handed: Mapped[str | None] = mapped_column(Text)
    # the results of the chunk before, journaled when that one was handed over and cleared
    # once written to its sends.
    journal: Mapped[str | None] = mapped_column(LongText)


class CampaignChannelSlot(db.Model):
    """The ``handed`` and ``journal`` of a row's extra loop (slot 1 and up; slot 0, the row's
    first loop, keeps them on the row), so a dead loop's successor recovers its chunks only."""

    __tablename__ = "campaign_channel_slots"
    __table_args__ = (UniqueConstraint("campaign_channel_id", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_channel_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_channels.id", ondelete="CASCADE")
    )
    slot: Mapped[int]
    handed: Mapped[str | None] = mapped_column(Text)
    journal: Mapped[str | None] = mapped_column(LongText)


class SendStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"  # taken by a worker, not yet handed over: safe to put back
    # With the provider, before migration 0007; since, still "claimed" and listed in the
    # channel row's ``handed``. Either way a dead worker's next one marks it in doubt.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # became suppressed after launch
    IN_DOUBT = "in_doubt"  # handed over, no answer recorded (worker died): never resent blindly
    CANCELLED = "cancelled"


class Send(db.Model):
    """One recipient of one campaign. Its tracking token is signed from its id (tokens.py)."""

    __tablename__ = "sends"
    __table_args__ = (
        UniqueConstraint("campaign_id", "subscriber_id"),
        Index("ix_sends_claim", "campaign_id", "status", "next_attempt_at"),
        Index("ix_sends_provider_message_id", "provider_message_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(BigId)  # no FK: sends outlive deleted subscribers
    campaign_channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_channels.id", ondelete="SET NULL")
    )
    # The audience the recipient was chosen from (the first one listing the address), recorded
    # when an audience of the campaign has a template of its own; None: the campaign's template.
    audience_id: Mapped[int | None]
    # Which loop of the row claimed it (CampaignChannelSlot.slot; 0 or None: the first).
    slot: Mapped[int | None] = mapped_column(SmallInteger)
    email: Mapped[str] = mapped_column(Email)
    status: Mapped[str] = mapped_column(String(10), default=SendStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    clicked_at: Mapped[datetime | None]
    bounced_at: Mapped[datetime | None]
    complained_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    # When it last failed or was found in doubt (migration 0017); a retry clears it.
    failed_at: Mapped[datetime | None]


class Link(db.Model):
    """A URL of a campaign, recorded so click redirects go only where the campaign pointed."""

    __tablename__ = "links"
    __table_args__ = (UniqueConstraint("campaign_id", "url_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex: indexable on MySQL


class MessageLink(db.Model):
    """A URL of transactional mail (migration 0006), recorded so a message's click redirects
    only where some message pointed. Shared by all messages: one row per distinct URL."""

    __tablename__ = "message_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex
    # Last written into a message (at most a day old: the link caches are dropped daily);
    # retention prunes links unused for MAILER_RETENTION_MESSAGE_LINKS_DAYS.
    used_at: Mapped[datetime | None] = mapped_column(default=utcnow)


class MessageStatus(StrEnum):
    """A transactional message's delivery status. Opens and clicks are not statuses of their
    own: ``opened_at``/``clicked_at`` record them, and the API reports "opened"/"clicked"
    for a sent or delivered message that has them (see engine/transactional/status.py)."""

    QUEUED = "queued"  # accepted, waiting for the drain job (or for a retry: next_attempt_at)
    SENDING = "sending"  # claimed by a drain job and handed to the provider
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the provider reported delivery
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    FAILED = "failed"  # refused for good, or given up after retries: ``error`` says why
    CANCELLED = "cancelled"  # cancelled through the API before it was handed to a provider


class Message(db.Model):
    """A transactional message sent for a client app through the API."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_status", "status", "next_attempt_at"),
        Index("ix_messages_provider_message_id", "provider_message_id"),
        Index("ix_messages_claim", "channel_id", "status", "next_attempt_at"),
        Index("ix_messages_to_email", "to_email"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("identities.id", ondelete="SET NULL")
    )
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id", ondelete="SET NULL"))
    to_email: Mapped[str] = mapped_column(Email)
    subject: Mapped[str] = mapped_column(String(500))
    # {"html", "text"} as given, or {"template_id", "variables"} rendered at send time
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default=MessageStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]  # when a drain job took it ("sending")
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]  # first human open
    clicked_at: Mapped[datetime | None]  # first human click
    bounced_at: Mapped[datetime | None]
    complained_at: Mapped[datetime | None]


class EventType(StrEnum):
    OPEN = "open"
    CLICK = "click"
    UNSUBSCRIBE = "unsubscribe"
    DELIVERY = "delivery"
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    DEFERRED = "deferred"
    REJECT = "reject"


class Event(db.Model):
    """Something that happened to a sent message: a recipient's action or provider feedback."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_campaign_type_time", "campaign_id", "type", "occurred_at"),
        Index("ix_events_send", "send_id"),
        Index("ix_events_message", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    send_id: Mapped[int | None] = mapped_column(BigId)
    message_id: Mapped[int | None] = mapped_column(BigId)
    link_id: Mapped[int | None]
    # "<provider>:<its event id>", unique so a replayed webhook records nothing twice.
    provider_event_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    machine: Mapped[bool] = mapped_column(default=False)  # image proxy, scanner, pre-fetch
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class OutboxMessage(db.Model):
    """A message 'sent' through a sandbox channel, kept whole for the Outbox page."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    to_email: Mapped[str] = mapped_column(Email)
    subject: Mapped[str] = mapped_column(String(500))
    message_id: Mapped[str] = mapped_column(String(255))
    raw: Mapped[str] = mapped_column(LongText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
