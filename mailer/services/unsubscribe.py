"""Unsubscribe and resubscribe through a campaign send's token.

A POST unsubscribes at once (RFC 8058 one-click, or the form on the page); a GET only shows
the page, because link scanners follow GETs. ``MAILER_UNSUBSCRIBE_SCOPE`` says how far it
reaches: "global" (default) also puts the address on the suppression list, so no campaign
mails it again; "list" unsubscribes the subscriber row of the list the campaign went to.
Resubscribe undoes exactly that (a suppression for another reason, e.g. a bounce, stays).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from mailer.engine.webhooks_out import events as webhook_events
from mailer.engine.webhooks_out.events import WebhookEvent
from mailer.extensions import db
from mailer.lib import tokens
from mailer.models import (
    Campaign,
    Event,
    EventType,
    MailingList,
    Send,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)
from mailer.models.base import utcnow
from mailer.services import suppressions

SCOPES = ("global", "list")
RESUBSCRIBE = "resubscribe"  # event type recorded when a recipient comes back
REASONS = {
    "too_many": _l("I get too many emails"),
    "not_relevant": _l("The content is not relevant to me"),
    "never_signed_up": _l("I never signed up"),
    "other": _l("Another reason"),
}


@dataclass(frozen=True)
class Target:
    """Whom a token unsubscribes: the send, its subscriber row and what the page names."""

    token: str
    send_id: int
    campaign_id: int
    email: str
    subscriber_id: int | None
    list_name: str | None
    campaign_name: str
    unsubscribed: bool

    @property
    def masked_email(self) -> str:
        return mask_email(self.email)


def scope() -> str:
    value = current_app.config["MAILER_UNSUBSCRIBE_SCOPE"]
    if value not in SCOPES:
        raise ValueError(f"MAILER_UNSUBSCRIBE_SCOPE must be one of {SCOPES}, not {value!r}")
    return value


def mask_email(email: str) -> str:
    """jane.doe@example.com → ja•••@example.com: recognisable to its owner, not to others."""
    local, _, domain = email.partition("@")
    keep = 2 if len(local) > 4 else 1
    return f"{local[:keep]}•••@{domain}"


def lookup(token: str) -> Target | None:
    parsed = tokens.parse(token)
    if parsed is None or parsed[0] != tokens.CAMPAIGN_SEND:
        return None
    row = db.session.execute(
        select(
            Send.id,
            Send.campaign_id,
            Send.email,
            Send.subscriber_id,
            Send.unsubscribed_at,
            Campaign.name.label("campaign_name"),
        )
        .join(Campaign, Campaign.id == Send.campaign_id)
        .where(Send.id == parsed[1])
    ).first()
    if row is None:
        return None
    subscriber = db.session.execute(
        select(Subscriber.id, Subscriber.status, MailingList.name)
        .join(MailingList, MailingList.id == Subscriber.list_id)
        .where(Subscriber.id == row.subscriber_id)
    ).first()
    return Target(
        token=token,
        send_id=row.id,
        campaign_id=row.campaign_id,
        email=row.email,
        subscriber_id=subscriber.id if subscriber else None,
        list_name=subscriber.name if subscriber else None,
        campaign_name=row.campaign_name,
        unsubscribed=row.unsubscribed_at is not None
        or (subscriber is not None and subscriber.status == SubscriberStatus.UNSUBSCRIBED.value),
    )


def unsubscribe(target: Target, *, reason: str = "", one_click: bool = False) -> bool:
    """Unsubscribe now; True the first time, False when this send had already unsubscribed
    (a mailbox provider may POST twice: one event, one suppression)."""
    now = utcnow()
    first = db.session.execute(
        update(Send)
        .where(Send.id == target.send_id, Send.unsubscribed_at.is_(None))
        .values(unsubscribed_at=now)
    ).rowcount
    if target.subscriber_id is not None:
        db.session.execute(
            update(Subscriber)
            .where(
                Subscriber.id == target.subscriber_id,
                Subscriber.status == SubscriberStatus.SUBSCRIBED.value,
            )
            .values(status=SubscriberStatus.UNSUBSCRIBED.value, unsubscribed_at=now)
        )
    if first:
        data: dict = {"one_click": one_click, "scope": scope()}
        if reason:
            data["reason"] = reason[:500]
        _event(target, EventType.UNSUBSCRIBE.value, now, data)
        webhook_events.emit(  # outbound webhooks
            [
                WebhookEvent(
                    EventType.UNSUBSCRIBE.value,
                    occurred_at=now,
                    email=target.email,
                    campaign_id=target.campaign_id,
                    send_id=target.send_id,
                    data=data,
                )
            ]
        )
    db.session.commit()
    if scope() == "global":
        suppressions.suppress(
            [target.email], SuppressionReason.UNSUBSCRIBED, f"campaign {target.campaign_id}"
        )
    return bool(first)


def resubscribe(target: Target) -> None:
    """Undo an unsubscribe made through this token (and only that)."""
    now = utcnow()
    db.session.execute(update(Send).where(Send.id == target.send_id).values(unsubscribed_at=None))
    if target.subscriber_id is not None:
        db.session.execute(
            update(Subscriber)
            .where(
                Subscriber.id == target.subscriber_id,
                Subscriber.status == SubscriberStatus.UNSUBSCRIBED.value,
            )
            .values(status=SubscriberStatus.SUBSCRIBED.value, unsubscribed_at=None)
        )
    db.session.execute(
        delete(Suppression).where(
            Suppression.email == target.email,
            Suppression.reason == SuppressionReason.UNSUBSCRIBED.value,
        )
    )
    _event(target, RESUBSCRIBE, now, {})
    db.session.commit()


def _event(target: Target, kind: str, at: datetime, data: dict) -> None:
    db.session.add(
        Event(
            type=kind,
            occurred_at=at,
            campaign_id=target.campaign_id,
            send_id=target.send_id,
            data=data,
        )
    )
