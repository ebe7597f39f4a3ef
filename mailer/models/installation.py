"""Values the whole installation shares, kept in the database rather than on one host."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.base import utcnow

KEY_FINGERPRINT = "key_fingerprint"  # of SECRET_KEY and MAILER_ENCRYPTION_KEY (lib/secrets)


class InstallationValue(db.Model):
    """One named value, e.g. the fingerprint of the keys every host must share."""

    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    value: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
