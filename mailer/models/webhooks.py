"""Outbound webhooks: client apps' endpoints and the signed deliveries queued for them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.base import BigId, utcnow

# What an endpoint can subscribe to (the `type` of a delivered event).
WEBHOOK_EVENT_TYPES = (
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "complained",
    "unsubscribed",
    "failed",
)
TEST_EVENT = "test"  # the "send test event" action; never subscribed to


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (next_attempt_at)
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # given up: no 2xx within the retry window


class WebhookEndpoint(db.Model):
    """A URL of a client app that receives events, signed with a secret only it knows."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    event_types: Mapped[list] = mapped_column(JSON, default=list)
    secret_encrypted: Mapped[str] = mapped_column(Text)  # crypto.encrypt_json({"secret": …})
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    # First failure since the last success: the endpoint is disabled when this gets too old.
    failing_since: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:  # never includes the secret
        return f"<WebhookEndpoint {self.id} {self.url!r}>"


class WebhookDelivery(db.Model):
    """One event for one endpoint: its payload, and where its delivery stands.

    `event_id` is the event's own id (the same for every endpoint and every attempt, so a
    receiver can dedupe on it); unique per endpoint, so an event written twice (a tracking
    flush that is replayed) is queued once."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_event"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    # Retries stop here (created + 24 h; a manual resend opens a new window).
    expires_at: Mapped[datetime]
    # Set by the worker that claimed the delivery; the claim lapses at next_attempt_at.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
