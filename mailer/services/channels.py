"""Sending channels: CRUD, encrypted secrets, building a provider, test sends, the quick start.

A channel's form is driven by its provider's ``FIELDS``. Non-secret fields are stored in
``Channel.settings`` (JSON); secret fields together as ONE Fernet token in
``Channel.secrets_encrypted`` (see :mod:`mailer.lib.crypto`). Secrets never go back to the
browser: on edit a blank secret input keeps the stored value. They are never logged and never
put in an error text (provider errors name fields by label, never by value).
"""

from __future__ import annotations

import email
import email.policy
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import delete, func

from mailer.engine import delivery
from mailer.engine.delivery import channel_secrets
from mailer.engine.feedback.sns import CONFIRMED_SETTING
from mailer.extensions import db
from mailer.lib.crypto import SecretsUnreadable, encrypt_json
from mailer.lib.dbutil import MAX_INT, parse_id
from mailer.lib.emails import InvalidEmail, normalize_email
from mailer.lib.errors import NotAllowed, ValidationError
from mailer.models import Campaign, CampaignChannel, Channel, Identity, OutboxMessage
from mailer.providers import (
    ConfigField,
    OutboundMessage,
    Provider,
    ProviderError,
    make_provider,
    registry,
)
from mailer.providers.sandbox import SandboxProvider

log = logging.getLogger(__name__)


DEFAULT_RATE = 14.0
NAME_MAX = 120
ENDPOINT_MAX = 500
FIELD_PREFIX = "cfg-"
SANDBOX_NAME = "Sandbox (local outbox)"
# Settings Mailer records on a channel itself, not form fields (the SNS topics whose
# subscription the feedback webhook confirmed): saving the form keeps them.
RECORDED_SETTINGS = (CONFIRMED_SETTING,)
SANDBOX_IDENTITY = {
    "name": "Mailer Sandbox",
    "from_email": "mailer@example.com",
    "from_name": "Mailer Sandbox",
}

# What an empty endpoint URL means, where the class has no single default_endpoint.
ENDPOINT_HINTS = {
    "smtp": _l("empty: the server and port below (or smtp://host:port)"),
    "ses": _l("empty: the AWS address of the region"),
    "sandbox": _l("not used: emails stay in the Outbox"),
}
# Provider names people read in their language (the others are brand names).
PROVIDER_LABELS = {"sandbox": _l("Sandbox (local outbox)"), "smtp": _l("SMTP server")}


# ---------------------------------------------------------------- providers and their fields


def providers() -> list[tuple[str, str]]:
    """(name, label) of every provider a channel can use, sandbox last."""
    names = sorted(registry, key=lambda n: (n == "sandbox", n))
    return [(n, provider_label(n)) for n in names]


def provider_label(name: str) -> str:
    if name in PROVIDER_LABELS:
        return str(PROVIDER_LABELS[name])
    cls = registry.get(name)
    return getattr(cls, "label", None) or name


def endpoint_placeholder(name: str) -> str:
    cls = registry.get(name)
    default = getattr(cls, "default_endpoint", None)
    if name in ENDPOINT_HINTS:
        return str(ENDPOINT_HINTS[name])
    return _("empty: %(address)s", address=default) if default else _("empty: the usual address")


def input_name(f: ConfigField) -> str:
    return FIELD_PREFIX + f.name


@dataclass(frozen=True)
class FieldView:
    """A provider field as the form shows it; a secret's value is never carried."""

    field: ConfigField
    input: str
    value: Any = None  # non-secret only
    stored: bool = False  # secret only: a value is stored (never which)

    @property
    def label(self) -> str:
        """The provider's label, in the reader's language once the catalogue has it."""
        return _(self.field.label)

    @property
    def help(self) -> str:
        return _(self.field.help) if self.field.help else ""

    @property
    def choices(self) -> list[tuple[str, str]]:
        return [(value, _(text)) for value, text in self.field.choices or ()]

    @property
    def display(self) -> str:
        """The value as the channel page shows it."""
        f = self.field
        if f.secret:
            return _("•••• stored (encrypted)") if self.stored else _("not set")
        if f.kind == "bool":
            return _("yes") if self.value else _("no")
        if self.value in (None, ""):
            return "—"
        return dict(self.choices).get(self.value, str(self.value))


def field_views(
    provider: str, channel: Channel | None = None, form: Mapping[str, str] | None = None
) -> list[FieldView]:
    """The provider's fields with the values to show: the submitted form's, else the
    channel's, else the defaults. Secrets: only whether one is stored."""
    cls = registry.get(provider)
    if cls is None:
        return []
    same = channel is not None and channel.provider == provider
    settings = (channel.settings or {}) if same else {}
    stored = stored_secret_names(channel) if same else set()
    views = []
    for f in cls.FIELDS:
        name = input_name(f)
        if f.secret:
            views.append(FieldView(f, name, stored=f.name in stored))
            continue
        if form is not None:
            value: Any = (name in form) if f.kind == "bool" else form.get(name, "")
        elif f.name in settings:
            value = settings[f.name]
        else:
            value = f.default
        views.append(FieldView(f, name, value=value))
    return views


# ---------------------------------------------------------------- reading


def list_channels() -> list[Channel]:
    return list(db.session.scalars(db.select(Channel).order_by(Channel.name)))


def get_channel(channel_id: int) -> Channel | None:
    return db.session.get(Channel, channel_id)


def usage_count(channel: Channel) -> int:
    """How many campaigns send through this channel."""
    query = db.select(func.count(func.distinct(CampaignChannel.campaign_id))).filter_by(
        channel_id=channel.id
    )
    return db.session.scalar(query) or 0


def stored_secret_names(channel: Channel | None) -> set[str]:
    if channel is None or not channel.secrets_encrypted:
        return set()
    try:
        return {k for k, v in channel_secrets(channel).items() if v not in (None, "")}
    except SecretsUnreadable:
        return set()


def webhook_url(channel: Channel) -> str:
    """Where the provider posts delivery feedback for this channel. Its token is what tells
    our webhook the call is genuine, so the URL is only shown on the admin-only pages."""
    base = (current_app.config["PUBLIC_BASE_URL"] or "").rstrip("/")
    return f"{base}/webhooks/{channel.provider}/{channel.webhook_token}"


# ---------------------------------------------------------------- saving


def _clean_common(
    form: Mapping[str, str], channel: Channel | None, errors: dict[str, str]
) -> dict[str, Any]:
    name = (form.get("name") or "").strip()
    if not name:
        errors["name"] = _("Give the channel a name, e.g. “SES production”.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("Use at most %(num)s characters.", num=NAME_MAX)
    else:
        query = db.select(Channel.id).filter_by(name=name)
        if channel is not None:
            query = query.where(Channel.id != channel.id)
        if db.session.scalar(query.limit(1)):
            errors["name"] = _("Another channel already has this name.")

    endpoint = (form.get("endpoint_url") or "").strip()
    if len(endpoint) > ENDPOINT_MAX:
        errors["endpoint_url"] = _("Use at most %(num)s characters.", num=ENDPOINT_MAX)
    elif endpoint and (any(c.isspace() for c in endpoint) or "://" not in endpoint):
        errors["endpoint_url"] = _(
            "Enter a full address such as https://api.example.com, or leave it empty."
        )

    rate_text = (form.get("rate_per_second") or "").strip()
    rate = DEFAULT_RATE
    if rate_text:
        try:
            rate = float(rate_text)
        except ValueError:
            rate = math.nan
        if not math.isfinite(rate) or rate <= 0 or rate > 100_000:
            errors["rate_per_second"] = _("Enter emails per second, e.g. 14 (more than 0).")

    quota_text = (form.get("daily_quota") or "").strip()
    quota = None
    if quota_text:
        try:
            quota = int(quota_text)
            if not 1 <= quota <= MAX_INT:
                raise ValueError
        except ValueError:
            errors["daily_quota"] = _("Enter a whole number of emails per day, or leave it empty.")

    return {
        "name": name,
        "endpoint_url": endpoint or None,
        "rate_per_second": rate,
        "daily_quota": quota,
        "active": form.get("active") in ("on", "1", "true", "y"),
    }


def _check_value(f: ConfigField, raw: str) -> tuple[Any, str | None]:
    """(coerced value, error) of one submitted non-blank value."""
    value: Any = raw
    if f.kind == "int":
        try:
            value = int(raw)
        except ValueError:
            return None, _("Enter a whole number.")
        wanted = f.out_of_limits(value)
        if wanted:
            return None, _("Enter %(wanted)s.", wanted=wanted)
    if f.choices and value not in {c for c, _ in f.choices}:
        return None, _("Choose one of the options.")
    return value, None


def _clean_provider_fields(
    cls: type[Provider],
    form: Mapping[str, str],
    channel: Channel | None,
    errors: dict[str, str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    settings: dict[str, Any] = {}
    try:
        secrets = channel_secrets(channel) if channel is not None else {}
    except SecretsUnreadable:
        secrets = {}
    secrets = {k: v for k, v in secrets.items() if k in {f.name for f in cls.FIELDS if f.secret}}
    for f in cls.FIELDS:
        name = input_name(f)
        if f.kind == "bool":
            settings[f.name] = name in form and form.get(name) not in ("", "off", "0")
            continue
        raw = (form.get(name) or "").strip()
        if f.secret:
            if raw:
                secrets[f.name] = raw
            elif form.get(name + "-clear"):
                secrets.pop(f.name, None)
            if f.required and not secrets.get(f.name):
                errors[name] = _("Required.")
            continue
        if not raw:
            if f.required and f.default in (None, ""):
                errors[name] = _("Required.")
            elif f.default not in (None, ""):
                settings[f.name] = f.default
            continue
        value, problem = _check_value(f, raw)
        if problem:
            errors[name] = problem
        else:
            settings[f.name] = value
    return settings, secrets


def _ask_to_retype_secrets(
    cls: type[Provider], form: Mapping[str, str], errors: dict[str, str]
) -> None:
    """A typed secret is not sent back with the re-rendered form: say so next to it."""
    for f in cls.FIELDS:
        if f.secret and (form.get(input_name(f)) or "").strip():
            errors.setdefault(
                input_name(f),
                _("Not saved yet: enter it again (secrets are never sent back to the browser)."),
            )


def _check_builds(
    provider: str, settings: dict, secrets: dict, endpoint: str | None, errors: dict[str, str]
) -> None:
    """Let the provider itself judge the combination (e.g. username without password)."""
    try:
        built = make_provider(provider, settings, secrets, endpoint_url=endpoint)
    except ProviderError as exc:
        errors[""] = str(exc)
        return
    built.close()


def save_channel(form: Mapping[str, str], channel: Channel | None = None) -> Channel:
    """Create (channel None) or update a channel from a submitted form."""
    errors: dict[str, str] = {}
    provider = channel.provider if channel is not None else (form.get("provider") or "").strip()
    cls = registry.get(provider)
    if cls is None:
        errors["provider"] = _("Choose a provider.")
    common = _clean_common(form, channel, errors)
    settings: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    if cls is not None:
        settings, secrets = _clean_provider_fields(cls, form, channel, errors)
        if not errors:
            _check_builds(provider, settings, secrets, common["endpoint_url"], errors)
    if errors:
        if cls is not None:
            _ask_to_retype_secrets(cls, form, errors)
        raise ValidationError(errors)

    if channel is None:
        channel = Channel(provider=provider)
        db.session.add(channel)
    recorded = {k: v for k, v in (channel.settings or {}).items() if k in RECORDED_SETTINGS}
    for key, value in common.items():
        setattr(channel, key, value)
    channel.settings = {**recorded, **settings}
    channel.secrets_encrypted = encrypt_json(secrets) if secrets else None
    if channel.active:
        channel.paused_reason = None
    db.session.commit()
    return channel


def delete_channel(channel: Channel) -> None:
    used = usage_count(channel)
    if used:
        raise NotAllowed(
            ngettext(
                "“%(name)s” is used by %(num)d campaign. "
                "Remove it from that campaign first, or make it inactive instead.",
                "“%(name)s” is used by %(num)d campaigns. "
                "Remove it from those campaigns first, or make it inactive instead.",
                used,
                name=channel.name,
            )
        )
    db.session.delete(channel)
    db.session.commit()


# ---------------------------------------------------------------- sending


@dataclass(frozen=True)
class SendTestOutcome:
    ok: bool
    message: str  # plain words for the page
    provider_message_id: str | None = None
    transient: bool = False
    to: str = ""


def build_test_message(channel: Channel, identity: Identity, to: str) -> OutboundMessage:
    """The test email, in the language of whoever sends it (the request's: the caller may wrap
    it in ``flask_babel.force_locale``)."""
    subject = _("Test email from Mailer channel “%(name)s”", name=channel.name)
    label = provider_label(channel.provider)
    via = f"“{channel.name}”" + (f" ({label})" if label != channel.name else "")
    first = _(
        "This is a test email sent through the channel %(channel)s as “%(sender)s”.",
        channel=via,
        sender=identity.name,
    )
    works = _("If you can read it, the channel works.")
    text = f"{first}\n\n{works}"
    html = (
        f'<!doctype html><html lang="{escape(str(get_locale() or "en"))}">'
        '<body style="font-family: sans-serif">'
        f"<p>{escape(first)}</p><p>{escape(works)}</p></body></html>"
    )
    return delivery.compose(identity, "test-send", to, subject, html, text, tags={"test": "1"})


def send_test_email(
    channel: Channel, to: str, identity_id: int | str | None, language: str = "en"
) -> SendTestOutcome:
    """Send one test email now, through the channel's provider, and say what happened.
    The email is written in ``language`` (the sender's: whoever pressed the button)."""
    errors: dict[str, str] = {}
    try:
        to = normalize_email(to or "")
    except InvalidEmail as exc:
        errors["to"] = _("Enter a valid email address (%(reason)s).", reason=exc.reason)
    ident = parse_id(identity_id)
    identity = db.session.get(Identity, ident) if ident else None
    if identity is None:
        errors["identity_id"] = _("Choose a sender.")
    if errors:
        raise ValidationError(errors)
    assert identity is not None

    with force_locale(language):
        message = build_test_message(channel, identity, to)
    label = provider_label(channel.provider)
    [answer] = delivery.send_now(channel, [message])
    if answer.ok:
        return SendTestOutcome(
            True,
            _("%(provider)s accepted the email for %(to)s.", provider=label, to=to),
            provider_message_id=answer.provider_message_id,
            to=to,
        )
    return SendTestOutcome(False, answer.explanation, transient=answer.transient, to=to)


# ---------------------------------------------------------------- quick start


def ensure_sandbox_setup() -> Channel | None:
    """With no channel at all, create the sandbox channel and a sample sender; else nothing.

    Returns the new channel, or None when channels already existed.
    """
    if db.session.scalar(db.select(Channel.id).limit(1)):
        return None
    channel = Channel(name=SANDBOX_NAME, provider=SandboxProvider.name, settings={})
    db.session.add(channel)
    if not db.session.scalar(db.select(Identity.id).limit(1)):
        db.session.add(Identity(**SANDBOX_IDENTITY))
    db.session.commit()
    return channel


# ---------------------------------------------------------------- the Outbox (sandbox mail)

OUTBOX_PAGE_SIZE = 50


@dataclass(frozen=True)
class OutboxPage:
    messages: list[OutboxMessage]
    page: int
    pages: int
    total: int
    campaign_names: dict[int, str] = field(default_factory=dict)  # of this page's messages


def outbox_page(page: int = 1, per_page: int = OUTBOX_PAGE_SIZE) -> OutboxPage:
    """Newest first."""
    total = db.session.scalar(db.select(func.count()).select_from(OutboxMessage)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = db.session.scalars(
        db.select(OutboxMessage)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    names = campaign_names({r.campaign_id for r in rows if r.campaign_id is not None})
    return OutboxPage(list(rows), page, pages, total, names)


def campaign_names(ids: set[int]) -> dict[int, str]:
    """Campaign names by id, to name a message's campaign instead of numbering it."""
    if not ids:
        return {}
    query = db.select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids))
    return {row.id: row.name for row in db.session.execute(query)}


def get_outbox_message(message_id: int) -> OutboxMessage | None:
    return db.session.get(OutboxMessage, message_id)


def clear_outbox() -> int:
    """Delete every Outbox message; returns how many."""
    deleted = db.session.execute(delete(OutboxMessage)).rowcount or 0
    db.session.commit()
    return deleted


@dataclass(frozen=True)
class ParsedMessage:
    headers: list[tuple[str, str]]
    html: str | None
    text: str | None


SHOWN_HEADERS = ("From", "To", "Reply-To", "Subject", "Date", "Message-ID")


def parse_stored_message(raw: str) -> ParsedMessage:
    """The parts the message view shows; tolerant of anything the raw source holds."""
    msg = email.message_from_string(raw, policy=email.policy.default)
    headers = [(name, str(msg[name])) for name in SHOWN_HEADERS if msg[name] is not None]

    def content(kind: str) -> str | None:
        part = msg.get_body(preferencelist=(kind,))  # type: ignore[attr-defined]
        if part is None:
            return None
        try:
            return part.get_content()
        except (LookupError, ValueError):
            return part.get_payload(decode=True).decode("utf-8", "replace")

    return ParsedMessage(headers=headers, html=content("html"), text=content("plain"))
