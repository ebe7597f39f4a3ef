"""The UI's language: English and French, through Flask-Babel.

Who reads decides. A recipient page follows the subscriber's ``locale`` attribute (the view calls
``use_locale``), a signed-in person the language picked in their profile, anyone else their
browser's. The REST API always answers in English: its messages are read by programs and the
developers who write them."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_skeleton, get_datetime_format
from flask import Flask, g, has_request_context, request
from flask_babel import Babel, get_locale, get_timezone, refresh
from flask_babel import lazy_gettext as _l
from flask_login import current_user

LANGUAGES = ("en", "fr")
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}  # each in its own language

ROLE_NAMES = {"viewer": _l("viewer"), "marketer": _l("marketer"), "admin": _l("admin")}

babel = Babel()


def supported(code: str | None) -> str | None:
    """Maps "fr", "fr-FR", "fr_CA", "FR" to "fr"; a language Mailer does not speak to None."""
    if not code or not isinstance(code, str):
        return None
    language = code.strip().replace("_", "-").split("-")[0].lower()
    return language if language in LANGUAGES else None


def use_locale(code: str | None) -> None:
    """Answer this request in ``code`` when Mailer speaks it (recipient pages: the subscriber's)."""
    language = supported(code)
    if language:
        g.mailer_locale = language
        refresh()


def select_locale() -> str | None:
    if not has_request_context():
        return None  # jobs: English, unless the caller wraps its work in force_locale
    chosen = g.get("mailer_locale")
    if chosen:
        return chosen
    if request.blueprint == "api":
        return "en"
    if current_user and current_user.is_authenticated and supported(current_user.locale):
        return current_user.locale
    return request.accept_languages.best_match(LANGUAGES) or "en"


def when(value: datetime | None, skeleton: str = "yMMMdHm") -> str:
    """A moment in the reader's language: "Dec 6, 2026, 14:05", "6 déc. 2026, 14:05" (UTC)."""
    if value is None:
        return ""
    locale = get_locale() or "en"
    # CLDR has skeletons for a date or a time, not both: format each, join them the
    # locale's way ("{1}, {0}").
    date = "".join(c for c in skeleton if c not in "HhjmsaB")
    time = skeleton[len(date) :] if skeleton.startswith(date) else ""
    if not date or not time:
        return format_skeleton(skeleton, value, tzinfo=get_timezone(), locale=locale)
    parts = [format_skeleton(p, value, tzinfo=get_timezone(), locale=locale) for p in (date, time)]
    glue = get_datetime_format("medium", locale=locale)
    return glue.replace("{1}", parts[0]).replace("{0}", parts[1])


def day(value: datetime | None) -> str:
    """A date in the reader's language: "Dec 6, 2026", "6 déc. 2026"."""
    return when(value, "yMMMd")


def role_name(role: str) -> str:
    return str(ROLE_NAMES.get(role, role))


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters.update(when=when, day=day)
    app.jinja_env.globals.update(ui_language=lambda: str(get_locale() or "en"), role_name=role_name)
