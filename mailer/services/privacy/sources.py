"""Where Mailer holds data on a person, as a registry: each source collects the records of one
kind for the export and erases them. A feature with a table of its own (consent records, ...)
calls :func:`register` at import time and takes part in both.

Large tables without an index on the address are walked in id ranges (``scan``), a committed
step at a time, so an erasure never holds a long transaction or a big lock.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import current_app
from sqlalchemy import Table, delete, func, or_, select, update

from mailer.extensions import db
from mailer.models import (
    Campaign,
    Event,
    EventType,
    FeedbackPayload,
    Import,
    Link,
    MailingList,
    Message,
    OutboxMessage,
    Send,
    SendStatus,
    Subscriber,
    Suppression,
    WebhookDelivery,
)
from mailer.models.campaigns import MessageLink, MessageStatus
from mailer.models.users import ApiIdempotency

PLACEHOLDER = "erased@erased.invalid"  # what an erased address becomes where a row stays
REDACTED = "[erased]"
OTHER = "[someone else]"
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass
class Footprint:
    """One address and the ids of its rows, found once and shared by every source."""

    email: str
    for_person: bool = False  # the person's own export: internal list names stay hidden
    subscriber_ids: list[int] = field(default_factory=list)
    send_ids: list[int] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)
    _pattern: re.Pattern | None = None

    @property
    def pattern(self) -> re.Pattern:
        """The address as written or URL-encoded, any case."""
        if self._pattern is None:
            forms = {self.email, quote(self.email, safe=""), quote(self.email, safe="@")}
            self._pattern = re.compile("|".join(re.escape(f) for f in forms), re.I)
        return self._pattern

    def mentions(self, text: str | None) -> bool:
        return bool(text) and self.pattern.search(text) is not None

    def scrub(self, text: str | None) -> str | None:
        return self.pattern.sub(REDACTED, text) if text else text

    def others_hidden(self, text: str | None) -> str | None:
        """The text with every other address hidden: a provider's batch payload names other
        people too, and an export is one person's."""
        if not text:
            return text
        mine = self.email.lower()
        return _ADDRESS.sub(lambda m: m[0] if m[0].lower() == mine else OTHER, text)

    def scrub_json(self, value: Any) -> Any:
        if value is None:
            return None
        dumped = json.dumps(value)
        return json.loads(self.scrub(dumped)) if self.mentions(dumped) else value


@dataclass(frozen=True)
class Source:
    name: str
    collect: Callable[[Footprint], list[dict]] | None  # None: scrubbed, not exported
    erase: Callable[[Footprint], int] | None = None  # rows changed; None: erased by another


SOURCES: dict[str, Source] = {}


def register(
    name: str,
    collect: Callable[[Footprint], list[dict]] | None,
    erase: Callable[[Footprint], int] | None = None,
) -> None:
    """Add a kind of record: ``collect`` gives JSON-ready dicts for the export, ``erase``
    removes or anonymises them and commits (in steps when large)."""
    SOURCES[name] = Source(name, collect, erase)


# ------------------------------------------------------------------ helpers


def batch() -> int:
    return max(100, int(current_app.config["MAILER_PRIVACY_BATCH"]))


def scan(table: Table, condition, columns: list) -> Iterator[Any]:
    """Rows matching ``condition``, read in id ranges of 20 batches (a full walk of a table
    without an index on the matched column, in short statements)."""
    step = batch() * 20
    low, high = db.session.execute(select(func.min(table.c.id), func.max(table.c.id))).one()
    if low is None:
        return
    start = low
    while start <= high:
        rows = db.session.execute(
            select(table.c.id, *columns)
            .where(table.c.id >= start, table.c.id < start + step, condition)
            .order_by(table.c.id)
        ).all()
        yield from rows
        start += step


def contains(column, fp: Footprint):
    """A case-blind LIKE for the address in a text or JSON column (JSON is binary-collated on
    MariaDB), either spelling."""
    text = func.lower(column)
    return or_(
        text.like(f"%{_like(fp.email.lower())}%", escape="\\"),
        text.like(f"%{_like(quote(fp.email, safe='').lower())}%", escape="\\"),
    )


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def chunks(ids: list[int]) -> Iterator[list[int]]:
    size = batch()
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def find(fp: Footprint) -> Footprint:
    """Fill the footprint's ids: subscriber rows by (list, address), sends and messages."""
    list_ids = list(db.session.scalars(select(MailingList.id)))
    if list_ids:
        fp.subscriber_ids = list(
            db.session.scalars(
                select(Subscriber.id).where(
                    Subscriber.list_id.in_(list_ids), Subscriber.email == fp.email
                )
            )
        )
    # sends: no index on the address (it would slow every launch), so a walk in id ranges
    fp.send_ids = [r.id for r in scan(Send.__table__, Send.email == fp.email, [])]
    fp.message_ids = list(
        db.session.scalars(select(Message.id).where(Message.to_email == fp.email))
    )
    return fp


# ------------------------------------------------------------------ lists and suppressions


def _subscriptions(fp: Footprint) -> list[dict]:
    out = []
    for chunk in chunks(fp.subscriber_ids):
        rows = db.session.execute(
            select(Subscriber, MailingList)
            .join(MailingList, MailingList.id == Subscriber.list_id)
            .where(Subscriber.id.in_(chunk))
        ).all()
        for sub, mailing_list in rows:
            if fp.for_person:
                name = mailing_list.public_name or mailing_list.name if mailing_list.public else ""
            else:
                name = mailing_list.name
            out.append(
                {
                    "list_id": mailing_list.id,
                    "list": name,
                    "status": sub.status,
                    "email": sub.email,
                    "first_name": sub.first_name,
                    "last_name": sub.last_name,
                    "name": sub.name,
                    "attributes": sub.attributes or {},
                    "created_at": iso(sub.created_at),
                    "updated_at": iso(sub.updated_at),
                    "unsubscribed_at": iso(sub.unsubscribed_at),
                }
            )
    return out


def _erase_subscriptions(fp: Footprint) -> int:
    done = 0
    for chunk in chunks(fp.subscriber_ids):
        done += db.session.execute(delete(Subscriber).where(Subscriber.id.in_(chunk))).rowcount
        db.session.commit()
    return done


def _suppressions(fp: Footprint) -> list[dict]:
    rows = db.session.scalars(select(Suppression).where(Suppression.email == fp.email))
    return [
        {"email": r.email, "reason": r.reason, "source": r.source, "created_at": iso(r.created_at)}
        for r in rows
    ]


def _erase_suppressions(fp: Footprint) -> int:
    done = db.session.execute(delete(Suppression).where(Suppression.email == fp.email)).rowcount
    db.session.commit()
    return done


# ------------------------------------------------------------------ campaign sends and events


def _sends(fp: Footprint) -> list[dict]:
    out = []
    for chunk in chunks(fp.send_ids):
        rows = db.session.execute(
            select(Send, Campaign.name)
            .join(Campaign, Campaign.id == Send.campaign_id)
            .where(Send.id.in_(chunk))
        ).all()
        for send, campaign_name in rows:
            out.append(
                {
                    "campaign_id": send.campaign_id,
                    "campaign": campaign_name if not fp.for_person else None,
                    "email": send.email,
                    "status": send.status,
                    "error": send.error,
                    "sent_at": iso(send.sent_at),
                    "delivered_at": iso(send.delivered_at),
                    "opened_at": iso(send.opened_at),
                    "clicked_at": iso(send.clicked_at),
                    "bounced_at": iso(send.bounced_at),
                    "complained_at": iso(send.complained_at),
                    "unsubscribed_at": iso(send.unsubscribed_at),
                }
            )
    return out


def _erase_sends(fp: Footprint) -> int:
    """The rows stay (campaign figures are counted from them) without the address; a send
    still waiting is cancelled, since its address is gone."""
    done = 0
    waiting = (SendStatus.PENDING.value,)
    for chunk in chunks(fp.send_ids):
        db.session.execute(
            update(Send)
            .where(Send.id.in_(chunk), Send.status.in_(waiting))
            .values(status=SendStatus.CANCELLED.value)
        )
        done += db.session.execute(
            update(Send).where(Send.id.in_(chunk)).values(email=PLACEHOLDER, error=None)
        ).rowcount
        db.session.commit()
    return done


def _events(fp: Footprint) -> list[Event]:
    found: list[Event] = []
    for chunk in chunks(fp.send_ids):
        found += db.session.scalars(select(Event).where(Event.send_id.in_(chunk)))
    for chunk in chunks(fp.message_ids):
        found += db.session.scalars(select(Event).where(Event.message_id.in_(chunk)))
    return found


def _event_json(e: Event) -> dict:
    return {
        "type": e.type,
        "occurred_at": iso(e.occurred_at),
        "campaign_id": e.campaign_id,
        "transactional": e.message_id is not None,
        "machine": e.machine,
        "data": e.data or {},
    }


def _events_of(*types: str, other: bool = False):
    known = {t.value for t in (EventType.OPEN, EventType.CLICK, EventType.BOUNCE)} | {
        EventType.COMPLAINT.value
    }

    def collect(fp: Footprint) -> list[dict]:
        return [
            _event_json(e)
            for e in _events(fp)
            if (e.type not in known if other else e.type in types)
        ]

    return collect


def _erase_events(fp: Footprint) -> int:
    """Events stay (opens and clicks are counted from them); the browser's user agent and any
    mention of the address go."""
    done = 0
    for e in _events(fp):
        data = dict(e.data or {})
        if "ua" in data:
            data["ua"] = ""
        data = fp.scrub_json(data)
        if data != e.data:
            e.data = data
            done += 1
    db.session.commit()
    return done


# ------------------------------------------------------------------ transactional messages


def _messages(fp: Footprint) -> list[dict]:
    out = []
    for chunk in chunks(fp.message_ids):
        for m in db.session.scalars(select(Message).where(Message.id.in_(chunk))):
            out.append(
                {
                    "id": m.id,
                    "to": m.to_email,
                    "subject": m.subject,
                    "status": m.status,
                    "content": m.payload or {},
                    "tags": m.tags or [],
                    "metadata": m.meta or {},
                    "error": m.error,
                    "created_at": iso(m.created_at),
                }
            )
    return out


def _erase_messages(fp: Footprint) -> int:
    done = 0
    for chunk in chunks(fp.message_ids):
        db.session.execute(
            update(Message)
            .where(Message.id.in_(chunk), Message.status == MessageStatus.QUEUED.value)
            .values(status=MessageStatus.FAILED.value)
        )
        for m in db.session.scalars(select(Message).where(Message.id.in_(chunk))):
            m.to_email, m.subject, m.payload = PLACEHOLDER, REDACTED, {}
            m.meta, m.tags = fp.scrub_json(m.meta or {}), fp.scrub_json(m.tags or [])
            m.error = fp.scrub(m.error)
            done += 1
        db.session.commit()
    return done


def _outbox(fp: Footprint) -> list[dict]:
    rows = scan(
        OutboxMessage.__table__,
        OutboxMessage.to_email == fp.email,
        [OutboxMessage.subject, OutboxMessage.created_at],
    )
    return [{"subject": r.subject, "created_at": iso(r.created_at)} for r in rows]


def _erase_outbox(fp: Footprint) -> int:
    """The sandbox's stored copies (no figure counts them): deleted."""
    ids = [r.id for r in scan(OutboxMessage.__table__, OutboxMessage.to_email == fp.email, [])]
    for chunk in chunks(ids):
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(chunk)))
        db.session.commit()
    return len(ids)


# ------------------------------------------------------------------ stored payloads


def _payloads(fp: Footprint) -> list[dict]:
    table = FeedbackPayload.__table__
    cols = [FeedbackPayload.provider, FeedbackPayload.received_at, FeedbackPayload.body]
    return [
        {
            "provider": r.provider,
            "received_at": iso(r.received_at),
            "body": fp.others_hidden(r.body),
        }
        for r in scan(table, contains(FeedbackPayload.body, fp), cols)
        if fp.mentions(r.body)
    ]


def _scrubber(model, text_columns: tuple[str, ...], json_columns: tuple[str, ...]):
    """An eraser that rewrites the address out of the given columns of every row naming it."""

    def erase(fp: Footprint) -> int:
        table = model.__table__
        condition = or_(*(contains(table.c[c], fp) for c in text_columns + json_columns))
        ids = [r.id for r in scan(table, condition, [])]
        done = 0
        for chunk in chunks(ids):
            for row in db.session.scalars(select(model).where(model.id.in_(chunk))):
                for name in text_columns:
                    setattr(row, name, fp.scrub(getattr(row, name)))
                for name in json_columns:
                    setattr(row, name, fp.scrub_json(getattr(row, name)))
                if isinstance(row, (Link, MessageLink)):  # unique per URL: keep it unique
                    row.url_hash = hashlib.sha256(f"{row.url}#{row.id}".encode()).hexdigest()
                done += 1
            db.session.commit()
        return done

    return erase


def _webhook_deliveries(fp: Footprint) -> list[dict]:
    table = WebhookDelivery.__table__
    cols = [WebhookDelivery.event_type, WebhookDelivery.created_at, WebhookDelivery.payload]
    return [
        {
            "event_type": r.event_type,
            "created_at": iso(r.created_at),
            "payload": json.loads(fp.others_hidden(json.dumps(r.payload))),
        }
        for r in scan(table, contains(WebhookDelivery.payload, fp), cols)
    ]


register("subscriptions", _subscriptions, _erase_subscriptions)
register("suppressions", _suppressions, _erase_suppressions)
register("sends", _sends, _erase_sends)
register("opens", _events_of(EventType.OPEN.value))
register("clicks", _events_of(EventType.CLICK.value))
register("bounces", _events_of(EventType.BOUNCE.value))
register("complaints", _events_of(EventType.COMPLAINT.value))
register("other_events", _events_of(other=True), _erase_events)  # erases every kind above
register("transactional_messages", _messages, _erase_messages)
register("sandbox_outbox", _outbox, _erase_outbox)
register(
    "provider_payloads",
    _payloads,
    _scrubber(FeedbackPayload, ("body", "error"), ("meta", "unmatched")),
)
register("webhook_deliveries", _webhook_deliveries, _scrubber(WebhookDelivery, (), ("payload",)))
# Records that may quote the address but are not about the person: scrubbed, not exported.
register("event_mentions", None, _scrubber(Event, (), ("data",)))  # e.g. in another's click
register("api_replays", None, _scrubber(ApiIdempotency, (), ("response",)))
register("import_errors", None, _scrubber(Import, ("error",), ()))
register("campaign_links", None, _scrubber(Link, ("url",), ()))
register("message_links", None, _scrubber(MessageLink, ("url",), ()))
