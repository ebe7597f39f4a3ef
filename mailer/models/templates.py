"""Reusable email templates (user-written Jinja, rendered in a sandbox)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.base import LongText, utcnow


class Editor(StrEnum):
    """How an email is written; ``html`` is always what is sent (compiled from ``source``)."""

    VISUAL = "visual"  # the drag-and-drop editor: MJML source plus its project data
    MJML = "mjml"  # MJML written by hand
    HTML = "html"  # HTML written by hand


class EmailDesign:
    """The columns of an email's way of writing, shared by templates and campaigns."""

    editor: Mapped[str] = mapped_column(
        String(10), default=Editor.HTML.value, server_default="html"
    )
    source: Mapped[str | None] = mapped_column(LongText)  # MJML (visual and mjml editors)
    design: Mapped[str | None] = mapped_column(LongText)  # the visual editor's project (JSON)


class Template(EmailDesign, db.Model):
    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(500), default="")
    html: Mapped[str] = mapped_column(LongText, default="")
    text: Mapped[str | None] = mapped_column(LongText)  # blank: generated from the HTML
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
