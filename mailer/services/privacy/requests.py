"""The person's own export or erasure, from the preference centre: Mailer emails a signed,
expiring link to the address (transactional path, on the channel and sender the campaign came
through), and only that link shows the data or erases it: holding someone's campaign email is
not enough."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from mailer.engine import delivery
from mailer.engine.transactional import accept as transactional
from mailer.extensions import db
from mailer.lib.errors import ValidationError
from mailer.models import CampaignChannel, Channel, Identity, Send

ACTIONS = ("export", "erase")
_SALT = "mailer-privacy-request"


@dataclass(frozen=True)
class Request:
    send_id: int
    action: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def make_token(send_id: int, action: str) -> str:
    return _serializer().dumps([send_id, action])


def read_token(token: str) -> Request | None:
    """The request a link carries, None when forged or older than MAILER_PRIVACY_LINK_HOURS."""
    hours = int(current_app.config["MAILER_PRIVACY_LINK_HOURS"])
    try:
        send_id, action = _serializer().loads(token, max_age=hours * 3600)
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return None
    if not isinstance(send_id, int) or action not in ACTIONS:
        return None
    return Request(send_id, action)


def link(send_id: int, action: str) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/p/data/{make_token(send_id, action)}"


def email_link(send_id: int, email: str, action: str, language: str | None) -> bool:
    """Queue the confirmation email; False when it cannot go (no channel, or refused)."""
    row = db.session.execute(
        select(CampaignChannel.channel_id, CampaignChannel.identity_id)
        .join(Send, Send.campaign_channel_id == CampaignChannel.id)
        .where(Send.id == send_id)
    ).first()
    url = link(send_id, action)
    hours = int(current_app.config["MAILER_PRIVACY_LINK_HOURS"])
    with force_locale(language or "en"):
        if action == "export":
            subject = _("Your copy of your data")
            lead = _("Someone asked for a copy of the data we hold on this address.")
            button = _("Download my data")
        else:
            subject = _("Confirm erasing your data")
            lead = _("Someone asked us to erase every record we hold on this address.")
            button = _("Review and erase my data")
        note = _(
            "The link works for %(hours)s hours. If you did not ask, ignore this email.",
            hours=hours,
        )
    html = (
        f'<!doctype html><html><body style="font-family:sans-serif"><p>{escape(lead)}</p>'
        f'<p><a href="{escape(url)}">{escape(button)}</a></p><p>{escape(note)}</p></body></html>'
    )
    text = f"{lead}\n\n{button}: {url}\n\n{note}\n"
    item = {
        "to": email,
        "subject": subject,
        "html": html,
        "text": text,
        "tags": ["privacy"],
        "track_opens": False,
        "track_clicks": False,
    }
    if row is not None:
        item.update(channel=row.channel_id, **{"from": row.identity_id})
    try:
        outcomes = transactional.accept([item], None)
    except ValidationError:  # no channel or sender left: the page says it could not send
        db.session.rollback()
        current_app.logger.warning("privacy request: the confirmation email could not be queued")
        return False
    if outcomes[0].queued:
        return True
    # Refused because the person unsubscribed from everything (or bounced): their request
    # about their own data still gets its answer, sent now through the campaign's channel.
    if row is None:
        return False
    channel, identity = (
        db.session.get(Channel, row.channel_id),
        db.session.get(Identity, row.identity_id),
    )
    if channel is None or identity is None:
        return False
    message = delivery.compose(identity, "privacy", email, subject, html, text, None, {})
    [answer] = delivery.send_now(channel, [message])
    return answer.ok
