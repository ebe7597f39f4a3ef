"""Provider feedback as received: stored first, processed by a job, kept for the operator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.base import BigId, LongText, utcnow


class FeedbackPayload(db.Model):
    """One webhook request body (or SQS message) from a provider, verified before storing.

    status: received -> processed | failed; events that matched no send are kept in
    `unmatched` (a small log for the operator) rather than dropped.
    """

    __tablename__ = "feedback_payloads"
    __table_args__ = (Index("ix_feedback_status", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    provider: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(10), default="webhook")  # webhook | sqs
    body: Mapped[str] = mapped_column(LongText)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)  # e.g. SNS message type, SQS id
    status: Mapped[str] = mapped_column(String(10), default="received")
    events: Mapped[int] = mapped_column(default=0)
    unmatched: Mapped[list] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
