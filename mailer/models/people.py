"""Bulk actions on many subscribers at once (issue 21): one row per action, run by a job."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.base import BigId, utcnow


class BulkKind(StrEnum):
    ADD_TO_LIST = "add_to_list"
    REMOVE_FROM_LIST = "remove_from_list"
    UNSUBSCRIBE = "unsubscribe"
    SUPPRESS = "suppress"
    DELETE = "delete"


class BulkStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class BulkAction(db.Model):
    """An action on a selection (``{"ids": [...]}``) or on every match of a search or segment
    (``{"search": {...}}``), applied in chunks of ids (a search: in windows of ids up to
    ``end_id``, so rows added meanwhile are left alone); ``last_id`` is the checkpoint."""

    __tablename__ = "bulk_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    target_list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="SET NULL"))
    selection: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=BulkStatus.QUEUED.value)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    total: Mapped[int] = mapped_column(BigId, default=0)  # matches when the run started
    processed: Mapped[int] = mapped_column(BigId, default=0)  # matches gone through
    changed: Mapped[int] = mapped_column(BigId, default=0)  # rows the action changed
    last_id: Mapped[int] = mapped_column(BigId, default=0)
    end_id: Mapped[int | None] = mapped_column(BigId)  # searches: the highest id at the start
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
