"""Images people upload for their emails (the asset library), served from /assets/<hash>.<ext>."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.base import utcnow


class Asset(db.Model):
    """One stored image; ``hash`` is the SHA-256 of the stored (re-encoded) bytes, so the same
    image uploaded twice is one row and its address never changes."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    ext: Mapped[str] = mapped_column(String(4))  # png, jpg, gif, webp
    content_type: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(255))  # the uploaded file's name, for people
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    alt: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def filename(self) -> str:
        """The stored name, also the last part of its public address."""
        return f"{self.hash}.{self.ext}"
