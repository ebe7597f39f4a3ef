"""The UI's language: English and French, through Flask-Babel.

Who reads decides. A recipient page follows the subscriber's ``locale`` attribute (the view calls
``use_locale``), a signed-in person the language picked in their profile, anyone else their
browser's. The REST API always answers in English: its messages are read by programs and the
developers who write them."""

from __future__ import annotations

from datetime import datetime

from babel import Locale
from babel.dates import format_skeleton
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
    """A moment in the reader's language: "Dec 6, 2026, 14:05", "6 déc. 2026, 14:05" (UTC);
    ``skeleton`` picks the fields (CLDR letters, date first: "yMMMdHms", "Hms").

    CLDR has no date-and-time skeleton: the date's and the time's are formatted apart and
    joined by the language's own pattern."""
    if value is None:
        return ""
    locale = Locale.parse(get_locale() or "en")
    split = next((i for i, c in enumerate(skeleton) if c in "HhjKkmsaB"), len(skeleton))
    parts = [
        format_skeleton(part, value, tzinfo=get_timezone(), locale=locale) if part else ""
        for part in (skeleton[:split], skeleton[split:])
    ]
    if not all(parts):
        return parts[0] or parts[1]
    return locale.datetime_formats["medium"].format(parts[1], parts[0])


def day(value: datetime | None) -> str:
    """A date in the reader's language: "Dec 6, 2026", "6 déc. 2026"."""
    if value is None:
        return ""
    return format_skeleton("yMMMd", value, tzinfo=get_timezone(), locale=get_locale() or "en")


def choose_early() -> None:
    """Pick the language as a page's request starts: a view that commits expires current_user,
    and a flash translated afterwards would load the user again just to read their language.
    Static files, health probes, provider webhooks and the API need no language."""
    if request.endpoint != "static" and request.blueprint not in ("api", "webhooks", "health"):
        get_locale()


def role_name(role: str) -> str:
    return str(ROLE_NAMES.get(role, role))


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(choose_early)
    app.jinja_env.filters.update(when=when, day=day)
    app.jinja_env.globals.update(ui_language=lambda: str(get_locale() or "en"), role_name=role_name)
