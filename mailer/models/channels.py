"""Sending channels (provider accounts) and sender identities."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.base import Email, utcnow

PROVIDERS = ("ses", "smtp", "brevo", "sendgrid", "mailgun", "mailjet", "sandbox")


def _webhook_token() -> str:
    return secrets.token_urlsafe(24)


class Channel(db.Model):
    """A sending server. Non-secret settings are JSON; secrets are one Fernet token."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    provider: Mapped[str] = mapped_column(String(20))
    endpoint_url: Mapped[str | None] = mapped_column(String(500))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    rate_per_second: Mapped[float] = mapped_column(default=14.0)
    daily_quota: Mapped[int | None]
    # Unguessable part of this channel's feedback webhook URL.
    webhook_token: Mapped[str] = mapped_column(String(64), unique=True, default=_webhook_token)
    paused_reason: Mapped[str | None] = mapped_column(String(500))
    last_feedback_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:  # never includes secrets
        return f"<Channel {self.id} {self.provider} {self.name!r}>"


class Identity(db.Model):
    """Who a message is from."""

    __tablename__ = "identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    from_email: Mapped[str] = mapped_column(Email)
    from_name: Mapped[str] = mapped_column(String(120), default="")
    reply_to: Mapped[str | None] = mapped_column(Email)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
