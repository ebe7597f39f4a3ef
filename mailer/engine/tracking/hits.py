"""Opens and clicks: one hit on a campaign send or a transactional message, checked, flagged
when it looks automated, recorded cheaply (buffered in Redis, or written at once), and
written as events with the first human open and click of each mail."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, current_app
from redis.exceptions import RedisError
from sqlalchemy import bindparam, case, func, select, update

from mailer.engine.tracking import targets
from mailer.engine.webhooks_out import events as webhook_events
from mailer.engine.webhooks_out.events import WebhookEvent
from mailer.extensions import db
from mailer.lib import dbutil, tokens
from mailer.models import Event, EventType, Send
from mailer.models.campaigns import Message, MessageLink
from mailer.queue import get_redis

log = logging.getLogger(__name__)

# 1×1 transparent GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
PIXEL_HEADERS = {
    "Cache-Control": "no-cache, no-store, must-revalidate, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
}

BUFFER_KEY = "mailer:tracking:buffer"  # a Redis list of Hit.to_json(), read by flush.py

OPEN, CLICK = "o", "c"
_EVENT_TYPE = {OPEN: EventType.OPEN.value, CLICK: EventType.CLICK.value}

MACHINE_WINDOW = timedelta(seconds=2)
# (user-agent test, label). Image proxies fetch the pixel for the mailbox, opened or not.
OPEN_PROXIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"GoogleImageProxy"), "gmail image proxy"),
    (re.compile(r"YahooMailProxy"), "yahoo image proxy"),
    (re.compile(r"^Mozilla/5\.0$"), "apple mail privacy protection"),
)
# Link scanners, security gateways, and scripts rather than mail clients or browsers.
SCANNERS = re.compile(
    r"bot\b|crawl|spider|barracuda|proofpoint|mimecast|python-|curl/|wget/|go-http-client"
    r"|java/|okhttp|headlesschrome|ms office existence discovery",
    re.I,
)
MAX_USER_AGENT = 255


@dataclass(slots=True)
class Hit:
    """One open or click, as the endpoint saw it."""

    id: str  # unique: written as the event's provider_event_id "hit:<id>" (written once)
    kind: str  # OPEN or CLICK
    mail_id: int  # the send's id, or the message's when ``message``
    link_id: int | None  # a click's link (a campaign's Link, or a MessageLink for a message)
    at: float  # Unix time of the hit
    user_agent: str
    machine: str | None  # why the request looks automated (timing is checked on write)
    message: bool = False  # a transactional message rather than a campaign send

    def to_json(self) -> str:
        """The buffer's compact form (one-letter keys; "mk": "m" marks a message)."""
        data: dict[str, Any] = {
            "id": self.id,
            "k": self.kind,
            "s": self.mail_id,
            "l": self.link_id,
            "t": self.at,
            "ua": self.user_agent,
            "m": self.machine,
        }
        if self.message:
            data["mk"] = "m"
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Hit:
        """A buffered hit; ValueError, KeyError or TypeError for anything else."""
        data = json.loads(raw)
        return cls(
            id=str(data["id"]),
            kind=data["k"],
            mail_id=int(data["s"]),
            link_id=data.get("l"),
            at=float(data["t"]),
            user_agent=data.get("ua") or "",
            machine=data.get("m"),
            message=data.get("mk") == "m",
        )


# ------------------------------------------------------------------------------ machine rules


def machine_reason(kind: str, user_agent: str, *, head: bool = False) -> str | None:
    """Why a hit looks automated from the request alone, or None (timing is checked on write)."""
    if head:
        return "HEAD request"
    if not user_agent.strip():
        return "no user agent"
    if kind == OPEN:
        for pattern, label in OPEN_PROXIES:
            if pattern.search(user_agent):
                return label
    if SCANNERS.search(user_agent):
        return "link scanner"
    return None


def timing_reason(occurred_at: datetime, sent_at: datetime | None) -> str | None:
    """Why a hit this soon after sending looks automated (security gateways), or None."""
    if sent_at is not None and occurred_at - sent_at <= MACHINE_WINDOW:
        return "within seconds of sending"
    return None


# ------------------------------------------------------------------------------ hits


def track_open(token: str, user_agent: str, *, head: bool = False) -> None:
    """The pixel: records an open for a valid token (the pixel is served whatever the token)."""
    parsed = tokens.parse(token)
    if parsed is not None:
        message = parsed[0] == tokens.MESSAGE
        record(make_hit(OPEN, parsed[1], user_agent=user_agent, head=head, message=message))


def track_click(token: str, link: str, user_agent: str, *, head: bool = False) -> str | None:
    """A click link ("<link id>-<mac>", or a bare "<link id>" in mail sent before links were
    signed): records the click and returns where it redirects, or None for a bad token, a link
    whose MAC does not match the token (not written into that mail), or a link that is not
    the send's campaign's (a send) or not recorded for transactional mail (a message)."""
    parsed = tokens.parse(token)
    if parsed is None:
        return None
    link_parsed = tokens.parse_link(token, link)
    if link_parsed is None:
        return None
    (kind, mail_id), (link_id, signed) = parsed, link_parsed
    message = kind == tokens.MESSAGE
    if message:
        url = targets.message_link_url(link_id, mail_id, signed=signed)
    else:
        url = targets.send_link_url(mail_id, link_id, signed=signed)
    if url is None:
        return None
    record(make_hit(CLICK, mail_id, link_id, user_agent=user_agent, head=head, message=message))
    return url


def buffered() -> bool:
    return current_app.config["MAILER_TRACKING_BUFFER"]


def make_hit(
    kind: str,
    mail_id: int,
    link_id: int | None = None,
    *,
    user_agent: str = "",
    head: bool = False,
    message: bool = False,
) -> Hit:
    """A hit on a campaign send, or with ``message`` on a transactional message."""
    user_agent = (user_agent or "")[:MAX_USER_AGENT]
    return Hit(
        uuid.uuid4().hex,
        kind,
        mail_id,
        link_id,
        time.time(),
        user_agent,
        machine_reason(kind, user_agent, head=head),
        message,
    )


def record(hit: Hit) -> bool:
    """Buffer the hit in Redis (production) or write it now (embedded, tests).

    With Redis unreachable the hit is logged as lost and the recipient still gets the pixel or
    the redirect: a tracking outage must not break the links in every email already sent.
    """
    if not buffered():
        write_hits([hit])
        db.session.commit()
        return True
    try:
        get_redis().rpush(BUFFER_KEY, hit.to_json())
    except RedisError:
        log.exception("tracking hit lost, Redis unavailable: %s", hit)
        return False
    return True


def pixel_response() -> Response:
    return Response(PIXEL, mimetype="image/gif", headers=PIXEL_HEADERS)


# ------------------------------------------------------------------------------ writing


@dataclass
class WriteResult:
    written: int = 0  # events handed to the INSERT (already-written ones are ignored by it)
    dropped: int = 0  # hits whose send no longer exists (campaign deleted)


def write_hits(hits: Sequence[Hit]) -> WriteResult:
    """Write hits as events and first-hit times, in the caller's transaction. Idempotent."""
    result = WriteResult()
    if not hits:
        return result
    message_hits = [h for h in hits if h.message]  # transactional messages
    if message_hits:
        hits = [h for h in hits if not h.message]
    sends: dict[int, Any] = {}
    ids = sorted({h.mail_id for h in hits})
    for start in range(0, len(ids), 500):
        rows = db.session.execute(
            select(Send.id, Send.campaign_id, Send.sent_at, Send.opened_at, Send.clicked_at).where(
                Send.id.in_(ids[start : start + 500])
            )
        )
        sends.update({row.id: row for row in rows})
    events: list[dict] = []
    first: dict[str, dict[int, datetime]] = {OPEN: {}, CLICK: {}}
    for hit in hits:
        send = sends.get(hit.mail_id)
        kind = hit.kind
        if send is None or kind not in _EVENT_TYPE:
            result.dropped += 1
            continue
        at = datetime.fromtimestamp(hit.at, UTC).replace(tzinfo=None)
        reason = hit.machine or timing_reason(at, send.sent_at)
        data = {"ua": hit.user_agent or ""}
        if reason:
            data["machine"] = reason
        events.append(
            {
                "type": _EVENT_TYPE[kind],
                "occurred_at": at,
                "campaign_id": send.campaign_id,
                "send_id": send.id,
                "message_id": None,
                "link_id": hit.link_id if kind == CLICK else None,
                "provider_event_id": f"hit:{hit.id}",
                "machine": reason is not None,
                "data": data,
            }
        )
        already = send.opened_at if kind == OPEN else send.clicked_at
        if reason is None and already is None:
            seen = first[kind].get(send.id)
            first[kind][send.id] = at if seen is None else min(seen, at)
    if message_hits:
        found = _message_events(message_hits)
        result.dropped += len(message_hits) - len(found)
        events += found
    if events:
        db.session.execute(dbutil.insert_ignore(Event.__table__, ["provider_event_id"]), events)
        result.written = len(events)
        # Outbound webhooks (issue 8): a replayed hit keeps its event id, so is queued once.
        webhook_events.emit(WebhookEvent.from_event_row(e) for e in events)
    for kind, column in ((OPEN, "opened_at"), (CLICK, "clicked_at")):
        if first[kind]:
            rows = [{"b_id": k, "b_at": v} for k, v in first[kind].items()]
            db.session.execute(_FIRST_HIT[column], rows)
    return result


_S = Send.__table__
# COALESCE keeps the first time: a batch written twice changes nothing.
_FIRST_HIT = {
    column: update(_S)
    .where(_S.c.id == bindparam("b_id"))
    .values({column: func.coalesce(_S.c[column], bindparam("b_at"))})
    for column in ("opened_at", "clicked_at")
}


def _message_events(hits: Sequence[Hit]) -> list[dict]:
    """Hits on transactional messages as event rows; sets their first human opens and
    clicks. Returns the event rows for the caller's INSERT."""
    ids = sorted({h.mail_id for h in hits})
    sent = {}
    for chunk in _chunks(ids):
        rows = db.session.execute(select(Message.id, Message.sent_at).where(Message.id.in_(chunk)))
        sent.update({message_id: at for message_id, at in rows})
    link_ids = sorted({int(h.link_id) for h in hits if h.kind == CLICK and h.link_id})
    urls: dict[int, str] = {}
    for chunk in _chunks(link_ids):
        rows = db.session.execute(
            select(MessageLink.id, MessageLink.url).where(MessageLink.id.in_(chunk))
        )
        urls.update({link_id: url for link_id, url in rows})
    events: list[dict] = []
    first: dict[str, dict[int, tuple[datetime, None]]] = defaultdict(dict)
    for hit in hits:
        message_id = hit.mail_id
        if message_id not in sent or hit.kind not in (OPEN, CLICK):
            continue
        at = datetime.fromtimestamp(hit.at, UTC).replace(tzinfo=None)
        reason = hit.machine or timing_reason(at, sent[message_id])
        data: dict[str, Any] = {"ua": hit.user_agent or ""}
        if reason:
            data["machine"] = reason
        if hit.kind == CLICK and hit.link_id:
            # Event.link_id names a campaign's Link: a message's link goes in data instead.
            data["link_id"] = int(hit.link_id)
            data["url"] = urls.get(int(hit.link_id))
        kind = "open" if hit.kind == OPEN else "click"
        events.append(
            {
                "type": kind,
                "occurred_at": at,
                "campaign_id": None,
                "send_id": None,
                "message_id": message_id,
                "link_id": None,
                "provider_event_id": f"hit:{hit.id}",
                "machine": reason is not None,
                "data": data,
            }
        )
        if reason is None:
            seen = first[kind].get(message_id)
            if seen is None or at < seen[0]:
                first[kind][message_id] = (at, None)
    set_first_message_hits(first)
    return events


_M = Message.__table__


def set_first_message_hits(reports: Mapping[str, Mapping[int, tuple[datetime, Any]]]) -> None:
    """Set messages' ``opened_at``/``clicked_at`` where still empty, in the caller's
    transaction: ``reports`` maps "open" and "click" (other keys are ignored) to
    {message id: (first time, detail)}."""
    for kind in ("open", "click"):
        column = f"{'opened' if kind == 'open' else 'clicked'}_at"
        times = reports.get(kind) or {}
        for chunk in _chunks(sorted(times)):
            db.session.execute(
                update(_M)
                .where(_M.c.id.in_(chunk), _M.c[column].is_(None))
                .values({column: case({i: times[i][0] for i in chunk}, value=_M.c.id)})
            )


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]
