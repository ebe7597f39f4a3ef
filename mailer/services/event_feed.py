"""Events as client apps read them: filtered by campaign, message, type and time.

Events hold ids only; the address (from the send or the transactional message) and a click's
URL are looked up for a whole page at once, three queries whatever the page size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select

from mailer.extensions import db
from mailer.models import Event, Link, Message, Send


@dataclass(frozen=True)
class EventFilter:
    campaign_id: int | None = None
    message_id: int | None = None
    types: tuple[str, ...] = ()
    since: datetime | None = None  # naive UTC, inclusive
    until: datetime | None = None  # naive UTC, exclusive


def query(filters: EventFilter) -> Select:
    """The matching events, unordered: the caller pages them by id."""
    stmt = select(Event)
    if filters.campaign_id is not None:
        stmt = stmt.where(Event.campaign_id == filters.campaign_id)
    if filters.message_id is not None:
        stmt = stmt.where(Event.message_id == filters.message_id)
    if filters.types:
        stmt = stmt.where(Event.type.in_(filters.types))
    if filters.since is not None:
        stmt = stmt.where(Event.occurred_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(Event.occurred_at < filters.until)
    return stmt


@dataclass(frozen=True)
class Details:
    emails_by_send: dict[int, str]
    emails_by_message: dict[int, str]
    urls_by_link: dict[int, str]

    def email(self, event: Event) -> str | None:
        if event.send_id is not None and event.send_id in self.emails_by_send:
            return self.emails_by_send[event.send_id]
        if event.message_id is not None:
            return self.emails_by_message.get(event.message_id)
        return None

    def url(self, event: Event) -> str | None:
        return self.urls_by_link.get(event.link_id) if event.link_id is not None else None


def details(events: Sequence[Event]) -> Details:
    """Addresses and click URLs for these events."""
    send_ids = {e.send_id for e in events if e.send_id is not None}
    message_ids = {e.message_id for e in events if e.message_id is not None}
    link_ids = {e.link_id for e in events if e.link_id is not None}
    sends: dict[int, str] = {}
    if send_ids:
        sends = dict(
            db.session.execute(select(Send.id, Send.email).where(Send.id.in_(send_ids))).all()
        )
    messages: dict[int, str] = {}
    if message_ids:
        messages = dict(
            db.session.execute(
                select(Message.id, Message.to_email).where(Message.id.in_(message_ids))
            ).all()
        )
    links: dict[int, str] = {}
    if link_ids:
        links = dict(
            db.session.execute(select(Link.id, Link.url).where(Link.id.in_(link_ids))).all()
        )
    return Details(sends, messages, links)
