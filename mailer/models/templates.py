"""Reusable email templates (user-written Jinja, rendered in a sandbox)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.base import LongText, utcnow


class Template(db.Model):
    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(500), default="")
    html: Mapped[str] = mapped_column(LongText, default="")
    text: Mapped[str | None] = mapped_column(LongText)  # blank: generated from the HTML
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
