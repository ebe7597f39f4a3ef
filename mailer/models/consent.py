"""Public signup forms, each list's confirmation (double opt-in) settings, and consent records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.base import BigId, utcnow


class ConsentSource:
    """How a person came onto a list (``Consent.source``)."""

    FORM = "form"  # a signup form, confirmed by email when the list asks for it
    API = "api"  # declared by the API client
    MANUAL = "manual"  # added by someone in the UI
    IMPORT = "import"  # asked to confirm by an import


class SignupForm(db.Model):
    """A hosted signup page (``/subscribe/<public_id>``) and the snippet that posts to it."""

    __tablename__ = "signup_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))  # for the team only
    title: Mapped[str] = mapped_column(String(200), default="")
    intro: Mapped[str] = mapped_column(Text, default="")
    # [{"id": list id, "label": what visitors read}]: the form names lists by its own labels.
    lists: Mapped[list] = mapped_column(JSON, default=list)
    # [{"name": attribute key, "label": ..., "required": bool}]
    fields: Mapped[list] = mapped_column(JSON, default=list)
    ask_name: Mapped[bool] = mapped_column(default=True)
    thank_you_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ListConfirmation(db.Model):
    """A list's double opt-in settings; a list without a row asks for confirmation (the
    default) with the default email on the first channel and sender."""

    __tablename__ = "list_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), unique=True)
    double_opt_in: Mapped[bool] = mapped_column(default=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("identities.id", ondelete="SET NULL")
    )
    subject: Mapped[str | None] = mapped_column(String(500))  # None: the default, per language
    html: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Consent(db.Model):
    """Proof of consent: one subscription request and, once given, its confirmation."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(16))
    form_id: Mapped[int | None] = mapped_column(ForeignKey("signup_forms.id", ondelete="SET NULL"))
    form_name: Mapped[str | None] = mapped_column(String(200))  # kept if the form goes
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    request_ip: Mapped[str | None] = mapped_column(String(45))
    confirmed_at: Mapped[datetime | None]
    confirm_ip: Mapped[str | None] = mapped_column(String(45))
