"""Lists, subscribers, segments, the global suppression list and file imports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.extensions import db
from mailer.models.base import BigId, Email, utcnow


class SubscriberStatus(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    UNCONFIRMED = "unconfirmed"  # signed up, has not confirmed by email yet: never mailed


class MailingList(db.Model):
    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    # True for a list made from files uploaded in a campaign's step 2.
    for_campaign: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Attribute name -> "number", "date" or "bool" (others are text): set by the mapping
    # step of imports, read by segments (engine/imports/values.py converts the values).
    attribute_types: Mapped[dict | None] = mapped_column(JSON)
    # Shown in the preference centre (by its public name, never ``name``) and open to join there.
    public: Mapped[bool] = mapped_column(default=False, server_default="0")
    public_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    public_description: Mapped[str] = mapped_column(String(500), default="", server_default="")

    segments: Mapped[list[Segment]] = relationship(
        back_populates="mailing_list", cascade="all, delete-orphan", passive_deletes=True
    )


class Subscriber(db.Model):
    __tablename__ = "subscribers"
    __table_args__ = (
        # (list_id, email) serves upserts, per-list scans and by-address lookups (with
        # list_id IN …). Every extra index on this table halves import speed at scale: a
        # (list_id, status) or a bare (email) index is deliberately absent.
        UniqueConstraint("list_id", "email"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(Email)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=SubscriberStatus.SUBSCRIBED.value)
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    # The import that last wrote this row: lets an import tell in-file duplicates apart.
    import_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    unsubscribed_at: Mapped[datetime | None]


class Segment(db.Model):
    """Saved conditions on a list, combined with AND ("all") or OR ("any")."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("list_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    match: Mapped[str] = mapped_column(String(3), default="all")
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    mailing_list: Mapped[MailingList] = relationship(back_populates="segments")


class SuppressionReason(StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCES = "soft_bounces"
    COMPLAINT = "complaint"
    MANUAL = "manual"
    IMPORT = "import"


class Suppression(db.Model):
    """Addresses never mailed again, whatever list they are on."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(Email, unique=True)
    reason: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportStatus(StrEnum):
    MAPPING = "mapping"  # uploaded, waiting for its columns to be matched (not queued yet)
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class Import(db.Model):
    """One contact file import; counters are checkpointed per batch for live progress."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(500))
    format: Mapped[str | None] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(10), default="upsert")
    status: Mapped[str] = mapped_column(String(10), default=ImportStatus.QUEUED.value)
    size_bytes: Mapped[int] = mapped_column(BigId, default=0)
    bytes_read: Mapped[int] = mapped_column(BigId, default=0)
    rows_read: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Set at each run's start and with each committed batch: a stale one means the job died.
    heartbeat_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")  # runs started
    # The mapping step's choice (engine/imports/mapping.py); None: fields matched by name.
    mapping: Mapped[list | None] = mapped_column(JSON)


class ImportMapping(db.Model):
    """A mapping remembered for the next file with the same header (by its normalised hash)."""

    __tablename__ = "import_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    header_hash: Mapped[str] = mapped_column(String(64), unique=True)
    columns: Mapped[list] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
