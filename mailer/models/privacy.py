"""GDPR erasures: the log (who and when, never whom) and the keyed hashes of erased addresses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.base import utcnow


class Erasure(db.Model):
    """One erasure: who asked and when, and how many records of each kind it changed."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "user", "api_key" or "self" (the person, through a confirmed link), with the id.
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    counts: Mapped[dict] = mapped_column(JSON, default=dict)


class ErasedAddress(db.Model):
    """HMAC of an erased address (key from SECRET_KEY): imports and the API refuse it until the
    person gives fresh consent. The address itself is kept nowhere."""

    __tablename__ = "erased_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), unique=True)
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)
