"""Dates as people type and read them: in the configured time zone (``MAILER_TIMEZONE``),
stored as naive UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_time
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _

from mailer.models.base import utcnow

PAST_GRACE = timedelta(minutes=1)  # a time typed "now" is a minute old when it arrives


def timezone_name() -> str:
    return current_app.config["MAILER_TIMEZONE"] or "UTC"


def zone() -> ZoneInfo:
    try:
        return ZoneInfo(timezone_name())
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def to_local(value: datetime | None) -> datetime | None:
    """Naive UTC from the database -> aware local time."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(zone())


def local_input(value: datetime | None) -> str:
    """A stored naive UTC time as a datetime-local input value."""
    local = to_local(value)
    return local.strftime("%Y-%m-%dT%H:%M") if local else ""


def local_text(value: datetime | None) -> str:
    """A stored naive UTC time as the pages show it, in the configured zone and the reader's
    language: "Dec 6, 2026, 14:05 UTC", "6 déc. 2026, 14:05 UTC"."""
    local = to_local(value)
    if local is None:
        return ""
    language = get_locale() or "en"
    day = format_date(local, "medium", locale=language)
    return f"{day}, {format_time(local, 'HH:mm', locale=language)} {timezone_name()}"


def parse_local(text: str) -> datetime:
    """A datetime-local value (or 'YYYY-MM-DD HH:MM') in the configured zone -> naive UTC."""
    naive = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    if naive.tzinfo is not None:
        raise ValueError("give a local time without a zone")
    return naive.replace(tzinfo=zone()).astimezone(UTC).replace(tzinfo=None)


def future_time(text: str, errors: dict[str, str], key: str, what: str) -> datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        when = parse_local(text)
    except ValueError:
        errors[key] = _(
            "Enter a date and time, e.g. 2030-06-01 09:00 (%(zone)s).", zone=timezone_name()
        )
        return None
    if when < utcnow() - PAST_GRACE:
        errors[key] = _(
            "%(what)s is in the past: choose a later time, or leave it blank.", what=what
        )
        return None
    return when
