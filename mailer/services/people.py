"""People across lists: search in keyset pages, a person's lists, attributes and activity.

A person is an address; each list they are on has its own subscriber row. How search stays
fast on millions of rows without new indexes is in docs/architecture.md ("People").
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Text, and_, cast, func, or_, select, true
from sqlalchemy.sql import ColumnElement

from mailer.extensions import db
from mailer.lib.errors import ValidationError
from mailer.models import (
    Campaign,
    Event,
    EventType,
    Link,
    MailingList,
    Message,
    Segment,
    Send,
    Subscriber,
    SubscriberStatus,
)
from mailer.models.campaigns import MessageLink
from mailer.services import segments as segments_service

PAGE_SIZE = 50
SCAN_STEP = 40_000  # most ids examined per step of a bounded scan
FIRST_STEP = 5_000  # its first step; each next one doubles while the budget allows
LISTS_PER_QUERY = 100  # lists searched by one prefix query (a UNION of per-list ranges)
FIELDS = ("email", "name", "attribute")
# Attribute names a JSON path can address on both databases (as segments require).
ATTRIBUTE_NAME = re.compile(rf'[^"\\\x00-\x1f\x7f]{{1,{segments_service.ATTRIBUTE_MAX}}}')


def valid_attribute_name(name: str) -> bool:
    return ATTRIBUTE_NAME.fullmatch(name) is not None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# ------------------------------------------------------------------ what to search


@dataclass(frozen=True)
class Search:
    """A search over subscribers of every list (or one list, or a segment)."""

    q: str = ""
    field: str = "email"  # email: starts with (or a domain: "@example.com"); name; attribute
    attribute: str = ""  # field == "attribute": this attribute only (empty: any)
    list_id: int | None = None
    segment_id: int | None = None
    status: str = ""

    @classmethod
    def from_args(cls, args) -> Search:
        def number(key: str) -> int | None:
            value = (args.get(key) or "").strip()
            return int(value) if value.isdigit() and len(value) < 12 else None

        fld = args.get("field", "email")
        status = args.get("status", "")
        return cls(
            q=(args.get("q") or "").strip()[:200],
            field=fld if fld in FIELDS else "email",
            attribute=(args.get("attribute") or "").strip()[:100],
            list_id=number("list"),
            segment_id=number("segment"),
            status=status if status in {s.value for s in SubscriberStatus} else "",
        )

    def as_args(self) -> dict:
        """Query arguments that give this search back (for links and bulk forms)."""
        args = {
            "q": self.q,
            "field": self.field if self.q else "",
            "attribute": self.attribute if self.field == "attribute" else "",
            "list": self.list_id,
            "segment": self.segment_id,
            "status": self.status,
        }
        return {k: v for k, v in args.items() if v}

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Search:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    @property
    def uses_prefix(self) -> bool:
        """Email prefix searches read the (list_id, email) index; others scan by id."""
        return self.field == "email" and bool(self.q) and not self.q.startswith("@")

    @property
    def is_empty(self) -> bool:
        return not (self.q or self.list_id or self.segment_id or self.status)


def _segment(search: Search) -> Segment | None:
    return db.session.get(Segment, search.segment_id) if search.segment_id else None


def _list_ids(search: Search) -> list[int]:
    segment = _segment(search)
    if segment is not None:
        return [segment.list_id]
    if search.list_id:
        return [search.list_id]
    return list(db.session.scalars(select(MailingList.id).order_by(MailingList.id)))


def criteria(search: Search) -> list[ColumnElement]:
    """The WHERE clause of a search (without paging)."""
    parts: list[ColumnElement] = []
    segment = _segment(search)
    if search.segment_id and segment is None:
        parts.append(Subscriber.id.is_(None))  # a deleted segment matches nobody
    if segment is not None:
        parts.append(Subscriber.list_id == segment.list_id)
        parts.append(segments_service.expression(segment.conditions, segment.match))
    elif search.list_id:
        parts.append(Subscriber.list_id == search.list_id)
    if search.status:
        parts.append(Subscriber.status == search.status)
    q = search.q.lower()
    if not q:
        return parts
    if search.field == "email":
        if search.uses_prefix:
            parts.append(Subscriber.email.like(_escape_like(q) + "%", escape="\\"))
        else:
            parts.append(Subscriber.email.like("%" + _escape_like(q), escape="\\"))
    elif search.field == "name":
        parts.append(_name_matches(q))
    else:
        parts.append(_attribute_matches(q, search.attribute))
    return parts


def _contains(column, text: str) -> ColumnElement:
    return func.lower(column).like("%" + _escape_like(text) + "%", escape="\\")


def _name_matches(q: str) -> ColumnElement:
    options = [
        _contains(Subscriber.first_name, q),
        _contains(Subscriber.last_name, q),
        _contains(Subscriber.name, q),
    ]
    first, _sep, last = q.partition(" ")
    if last.strip():
        options.append(
            and_(_contains(Subscriber.first_name, first), _contains(Subscriber.last_name, last))
        )
    return or_(*options)


def _attribute_matches(q: str, attribute: str) -> ColumnElement:
    """``attribute`` contains ``q``; with no attribute named, any attribute's value (the JSON
    text is searched, in both the escaped and the plain spelling of non-ASCII letters)."""
    if attribute:
        if not valid_attribute_name(attribute):
            return Subscriber.id.is_(None)
        return _contains(Subscriber.attributes[attribute].as_string(), q)
    text = cast(Subscriber.attributes, Text)
    escaped = json.dumps(q)[1:-1]
    if escaped == q:
        return _contains(text, q)
    return or_(_contains(text, q), _contains(text, escaped))


# ------------------------------------------------------------------ keyset pages


@dataclass
class ResultPage:
    rows: list[tuple[Subscriber, str]]  # (subscriber, list name)
    next_cursor: str | None = None  # the next page, or where a bounded scan stopped
    partial: bool = False  # the scan stopped on its time budget before filling the page
    scanned_to: int | None = None  # bounded scans: the lowest id examined so far
    extra: dict = field(default_factory=dict)


def encode_cursor(value: tuple) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str | None) -> tuple | None:
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return tuple(value) if isinstance(value, list) else None


def search_page(search: Search, cursor: str | None = None, size: int = PAGE_SIZE) -> ResultPage:
    """One page of matches: email prefix searches in (email, list) order, others newest first.

    Neither counts the matches nor skips rows with OFFSET: the cursor names the last row
    shown, so rows added meanwhile never shift a page (no row repeated or skipped)."""
    position = decode_cursor(cursor)
    if search.uses_prefix:
        page = _prefix_page(search, position, size)
    else:
        page = _scan_page(search, position, size)
    names = dict(db.session.execute(select(MailingList.id, MailingList.name)).all())
    page.rows = [(s, names.get(s.list_id, "")) for s, _name in page.rows]
    return page


def _prefix_page(search: Search, position: tuple | None, size: int) -> ResultPage:
    """Each list's matches are one range of the (list_id, email) index: read at most
    ``size + 1`` entries from each list's range after the cursor and merge them."""
    after_email, after_list = ("", 0)
    if position and len(position) == 3 and position[0] == "e":
        after_email, after_list = str(position[1]), int(position[2])
    base = criteria(search)
    found: list[tuple[str, int, Subscriber]] = []
    list_ids = _list_ids(search)
    for start in range(0, len(list_ids), LISTS_PER_QUERY):
        parts = []
        for list_id in list_ids[start : start + LISTS_PER_QUERY]:
            after = (
                Subscriber.email >= after_email
                if list_id > after_list
                else Subscriber.email > after_email
            )
            parts.append(
                select(Subscriber.id)
                .where(Subscriber.list_id == list_id, after, *base)
                .order_by(Subscriber.email)
                .limit(size + 1)
                .subquery()
                .select()
            )
        ids = [row[0] for row in db.session.execute(parts[0].union_all(*parts[1:]))]
        for sub in db.session.scalars(select(Subscriber).where(Subscriber.id.in_(ids))):
            found.append((sub.email, sub.list_id, sub))
    best = heapq.nsmallest(size + 1, found, key=lambda item: (item[0], item[1]))
    rows = [(sub, "") for _e, _l, sub in best[:size]]
    next_cursor = None
    if len(best) > size:
        last = best[size - 1][2]
        next_cursor = encode_cursor(("e", last.email, last.list_id))
    return ResultPage(rows, next_cursor)


def _scan_page(search: Search, position: tuple | None, size: int) -> ResultPage:
    """Newest first, by id. Without an index for the condition, the scan goes down the ids in
    steps of SCAN_STEP and stops when the page is full or its time budget is spent: the page
    then says how far it searched and offers to keep searching from there."""
    below = None
    if position and len(position) == 2 and position[0] == "i":
        below = int(position[1])
    started = time.monotonic()
    base = criteria(search)
    lowest = db.session.scalar(select(func.min(Subscriber.id)))
    if below is None:
        below = (db.session.scalar(select(func.max(Subscriber.id))) or 0) + 1
    if lowest is None or not base:  # no condition: the newest rows, straight off the id order
        stmt = select(Subscriber).where(Subscriber.id < below, *base)
        rows = list(db.session.scalars(stmt.order_by(Subscriber.id.desc()).limit(size + 1)))
        next_cursor = encode_cursor(("i", rows[size - 1].id)) if len(rows) > size else None
        return ResultPage([(s, "") for s in rows[:size]], next_cursor)
    budget = current_app.config["MAILER_SEARCH_BUDGET_MS"] / 1000
    rows: list[Subscriber] = []
    top = below
    step, step_took = min(FIRST_STEP, SCAN_STEP), 0.0
    while top > lowest and len(rows) <= size:
        step_started = time.monotonic()
        bottom = max(lowest, top - step)
        stmt = (
            select(Subscriber)
            .where(Subscriber.id < top, Subscriber.id >= bottom, *base)
            .order_by(Subscriber.id.desc())
            .limit(size + 1 - len(rows))
        )
        batch = list(db.session.scalars(stmt))
        rows.extend(batch)
        if len(rows) > size:
            break
        top = bottom
        now = time.monotonic()
        step_took = now - step_started
        if now - started + step_took > budget:
            break  # another step would likely end past the budget: answer with what was read
        if now - started + 3 * step_took < budget:  # a step twice as long still fits
            step, step_took = min(SCAN_STEP, 2 * step), 2 * step_took
    if len(rows) > size:
        return ResultPage([(s, "") for s in rows[:size]], encode_cursor(("i", rows[size - 1].id)))
    if top > lowest:  # the budget ran out: offer to go on below ``top``
        return ResultPage([(s, "") for s in rows], encode_cursor(("i", top)), True, top)
    return ResultPage([(s, "") for s in rows])


def count_matches(search: Search) -> int:
    """How many rows match: once per bulk action, never per page."""
    stmt = select(func.count()).select_from(Subscriber).where(true(), *criteria(search))
    return db.session.scalar(stmt) or 0


# ------------------------------------------------------------------ one person


@dataclass(frozen=True)
class Membership:
    subscriber_id: int
    list_id: int
    list_name: str
    status: str
    created_at: datetime
    unsubscribed_at: datetime | None


def memberships(email: str) -> list[Membership]:
    """Every list the address is on, with its status there ((list_id, email) index)."""
    list_ids = select(MailingList.id)
    stmt = (
        select(Subscriber, MailingList.name)
        .join(MailingList, MailingList.id == Subscriber.list_id)
        .where(Subscriber.list_id.in_(list_ids), Subscriber.email == email)
        .order_by(MailingList.name)
    )
    return [
        Membership(s.id, s.list_id, name, s.status, s.created_at, s.unsubscribed_at)
        for s, name in db.session.execute(stmt)
    ]


def display_value(value) -> str:
    """An attribute value as its field shows it: text as is, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def attribute_value(name: str, text: str, old=None):
    """The value to store for ``text`` typed in attribute ``name``'s field. Attributes are text
    here; a value left as shown keeps its stored type (a number stays a number). Typed
    attributes (issue 21, item 1) plug in here."""
    if old is not None and display_value(old) == text:
        return old
    return text


def attributes_from_form(form, current: dict | None = None) -> dict:
    """Attributes from the ``attr_name``/``attr_value`` rows of a form (a row with an empty
    name and value is ignored); errors name the row (``attr_name-<i>``)."""
    current = current or {}
    names, values = form.getlist("attr_name"), form.getlist("attr_value")
    result: dict = {}
    errors: dict[str, str] = {}
    for i, (name, text) in enumerate(zip(names, values, strict=False)):
        name = (name or "").strip()
        if not name:
            if (text or "").strip():
                errors[f"attr_name-{i}"] = _("Give this value a name.")
            continue
        if not valid_attribute_name(name):
            errors[f"attr_name-{i}"] = str(
                segments_service.ATTRIBUTE_RULE % {"n": segments_service.ATTRIBUTE_MAX}
            )
        elif name in result:
            errors[f"attr_name-{i}"] = _("“%(name)s” is already above.", name=name)
        else:
            result[name] = attribute_value(name, (text or "")[:2000], current.get(name))
    if errors:
        raise ValidationError(errors)
    return result


def attribute_rows(form, subscriber: Subscriber | None, extra: int = 0) -> list[tuple[str, str]]:
    """The rows an attribute editor shows: what was typed, else the stored attributes."""
    if form is not None and "attr_name" in form:
        rows = list(zip(form.getlist("attr_name"), form.getlist("attr_value"), strict=False))
    else:
        stored = (subscriber.attributes if subscriber is not None else None) or {}
        rows = [(k, display_value(v)) for k, v in stored.items()]
    return rows + [("", "")] * extra


# ------------------------------------------------------------------ activity timeline


@dataclass(frozen=True)
class Activity:
    at: datetime
    kind: str  # sent, open, click, bounce, complaint, unsubscribe, resubscribe
    campaign_id: int | None
    title: str  # the campaign's name, or the message's subject
    transactional: bool
    url: str | None = None  # a click's link
    detail: str | None = None  # a bounce's kind ("hard"/"soft")


@dataclass
class Timeline:
    items: list[Activity]
    next_cursor: str | None


TIMELINE_EVENTS = (
    EventType.OPEN.value,
    EventType.CLICK.value,
    EventType.BOUNCE.value,
    EventType.COMPLAINT.value,
    EventType.UNSUBSCRIBE.value,
    "resubscribe",
)


def _after(column, id_column, rank: int, cursor: tuple | None) -> ColumnElement:
    """Keyset condition for a part of rank ``rank`` (order: at desc, rank desc, id desc)."""
    if cursor is None:
        return true()
    at, crank, cid = cursor
    if rank < crank:
        return column <= at
    if rank > crank:
        return column < at
    return or_(column < at, and_(column == at, id_column < cid))


def timeline(email: str, cursor: str | None = None, size: int = PAGE_SIZE) -> Timeline:
    """What happened to mail sent to ``email``, newest first, from campaigns (through its
    subscriber rows' sends) and from transactional messages; keyset-paged across the four
    sources (each read through an index, at most ``size + 1`` rows)."""
    position = decode_cursor(cursor)
    at_cursor = None
    if position and len(position) == 3:
        try:
            at_cursor = (datetime.fromisoformat(position[0]), int(position[1]), int(position[2]))
        except (TypeError, ValueError):
            at_cursor = None
    subscriber_ids = select(Subscriber.id).where(
        Subscriber.list_id.in_(select(MailingList.id)), Subscriber.email == email
    )
    send_ids = select(Send.id).where(
        Send.campaign_id.in_(select(Campaign.id)), Send.subscriber_id.in_(subscriber_ids)
    )
    message_ids = select(Message.id).where(Message.to_email == email)
    parts = [
        (3, Event, Event.occurred_at, Event.send_id.in_(send_ids)),
        (2, Event, Event.occurred_at, Event.message_id.in_(message_ids)),
        (1, Send, Send.sent_at, Send.id.in_(send_ids)),
        (0, Message, Message.sent_at, Message.to_email == email),
    ]
    merged: list[tuple[datetime, int, int, object]] = []
    for rank, model, column, where in parts:
        stmt = select(model).where(where, column.is_not(None))
        if model is Event:
            stmt = stmt.where(Event.type.in_(TIMELINE_EVENTS))
        stmt = stmt.where(_after(column, model.id, rank, at_cursor))
        stmt = stmt.order_by(column.desc(), model.id.desc()).limit(size + 1)
        for row in db.session.scalars(stmt):
            merged.append((getattr(row, column.key), rank, row.id, row))
    merged.sort(key=lambda item: (item[0], item[1], item[2]), reverse=True)
    page = merged[:size]
    next_cursor = None
    if len(merged) > size:
        at, rank, row_id, _row = page[-1]
        next_cursor = encode_cursor((at.isoformat(), rank, row_id))
    return Timeline(_describe([row for *_k, row in page]), next_cursor)


def _describe(rows: list) -> list[Activity]:
    events = [r for r in rows if isinstance(r, Event)]
    sends = {r.id: r for r in rows if isinstance(r, Send)}
    send_ids = {e.send_id for e in events if e.send_id} - set(sends)
    if send_ids:
        sends.update(
            {s.id: s for s in db.session.scalars(select(Send).where(Send.id.in_(send_ids)))}
        )
    messages = {r.id: r for r in rows if isinstance(r, Message)}
    message_ids = {e.message_id for e in events if e.message_id} - set(messages)
    if message_ids:
        found = db.session.scalars(select(Message).where(Message.id.in_(message_ids)))
        messages.update({m.id: m for m in found})
    campaign_ids = {s.campaign_id for s in sends.values()} | {
        e.campaign_id for e in events if e.campaign_id
    }
    campaigns = dict(
        db.session.execute(
            select(Campaign.id, Campaign.name).where(Campaign.id.in_(campaign_ids))
        ).all()
    )
    click_links = {e.link_id for e in events if e.type == "click" and e.link_id}
    campaign_links = dict(
        db.session.execute(select(Link.id, Link.url).where(Link.id.in_(click_links))).all()
    )
    message_links = dict(
        db.session.execute(
            select(MessageLink.id, MessageLink.url).where(MessageLink.id.in_(click_links))
        ).all()
    )
    items = []
    for row in rows:
        if isinstance(row, Send):
            items.append(
                Activity(
                    row.sent_at, "sent", row.campaign_id, campaigns.get(row.campaign_id, ""), False
                )
            )
        elif isinstance(row, Message):
            items.append(Activity(row.sent_at, "sent", None, row.subject, True))
        else:
            message = messages.get(row.message_id) if row.message_id else None
            send = sends.get(row.send_id) if row.send_id else None
            campaign_id = row.campaign_id or (send.campaign_id if send else None)
            if message is not None:
                title, links = message.subject, message_links
            else:
                title, links = campaigns.get(campaign_id, ""), campaign_links
            data = row.data if isinstance(row.data, dict) else {}
            items.append(
                Activity(
                    row.occurred_at,
                    row.type,
                    campaign_id,
                    title,
                    message is not None,
                    url=links.get(row.link_id) if row.type == "click" else None,
                    detail=data.get("bounce") if row.type == "bounce" else None,
                )
            )
    return items


def subscribers_by_ids(ids: list[int]) -> Iterator[Subscriber]:
    if ids:
        yield from db.session.scalars(select(Subscriber).where(Subscriber.id.in_(ids)))
