"""The transactional drain: one job per channel sends its due queued messages in chunks
(claimed with SKIP LOCKED, within the channel's rate and daily quota), rendered with templates
compiled once, through the delivery path; and the tick's helpers (stale sends, due channels)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from mailer import dispatch
from mailer.dispatch import KeyedJob
from mailer.engine.delivery import (
    FAILED,
    SENT,
    SendOutcome,
    channel_provider,
    compose,
    decided,
    interpret,
    write_outcomes,
)
from mailer.engine.rendering import CompiledEmail, RenderError
from mailer.engine.rendering.message import message_content
from mailer.engine.tracking.links import insert_before_body_end, message_links, pixel_img
from mailer.engine.transactional import extras
from mailer.engine.transactional.accept import drain_job
from mailer.engine.webhooks_out import events as webhook_events
from mailer.engine.webhooks_out.events import WebhookEvent
from mailer.extensions import db
from mailer.lib import dbutil, ratelimit, tokens
from mailer.lib.emails import address_problem
from mailer.models import Channel, Identity, Suppression, Template
from mailer.models.base import utcnow
from mailer.models.campaigns import Message, MessageStatus
from mailer.providers.base import Attachment, OutboundMessage

CHUNK = 200  # messages claimed per turn (fewer when the rate allows fewer)
DRAIN_SECONDS = dispatch.DRAIN_SECONDS  # one job hands over to a fresh one after this
LINGER_SECONDS = 1.0  # an idle job waits this long for more messages before it ends
IDLE_SLEEP = 0.05
STALE_AFTER = timedelta(minutes=10)  # "sending" this long: its worker died
QUEUED = MessageStatus.QUEUED.value  # where a message waits for its retry
# A message left "sending" by a dead worker: failed with this reason, never resent blindly.
IN_DOUBT_ERROR = "in doubt: the worker stopped while sending; the provider may have it"
_MESSAGES = Message.__table__


@dataclass
class DrainResult:
    state: str = "idle"  # idle | sliced | waiting | inactive
    sent: int = 0
    failed: int = 0
    retried: int = 0
    reason: str | None = None
    details: dict = field(default_factory=dict)


def drain(
    channel_id: int,
    *,
    max_seconds: float = DRAIN_SECONDS,
    linger: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DrainResult:
    """Send the channel's due queued messages until none is left (then linger a moment) or
    the time slice ends ("sliced": the caller enqueues a successor, the flag stays held)."""
    linger = LINGER_SECONDS if linger is None else linger
    flag = drain_job(channel_id)
    flag.hold()  # held while we run (the tick may have started us)
    result = DrainResult()
    provider = None
    started = time.monotonic()
    idle_since: float | None = None
    compiled: dict[tuple, CompiledEmail] = {}
    try:
        while True:
            flag.hold()
            if time.monotonic() - started >= max_seconds:
                result.state = "sliced"
                return result
            db.session.expire_all()
            channel = db.session.get(Channel, channel_id)
            if channel is None or not channel.active:
                result.state, result.reason = "inactive", "channel inactive or deleted"
                return _release(flag, channel_id, result, recheck=False)
            if provider is None:
                provider = channel_provider(channel)
            wanted = min(CHUNK, getattr(provider, "max_batch", CHUNK))
            wanted = max(1, min(wanted, int(channel.rate_per_second / 4) or 1))
            ids = _claim(channel_id, wanted, utcnow())
            if not ids:
                if idle_since is None:
                    idle_since = time.monotonic()
                if time.monotonic() - idle_since >= linger:
                    released = _release(flag, channel_id, result, recheck=True)
                    if released is not None:
                        return released
                    idle_since = None  # more arrived as we let go: keep going
                    continue
                sleep(IDLE_SLEEP)
                continue
            idle_since = None
            ids = _take_allowances(channel, ids, sleep, result)
            if not ids:
                return _release(flag, channel_id, result, recheck=False)
            _send_chunk(channel, provider, ids, compiled, result)
    finally:
        if provider is not None:
            provider.close()


def _release(flag: KeyedJob, channel_id: int, result: DrainResult, *, recheck: bool):
    """Let the flag go; with `recheck`, take it back (and return None) when messages arrived
    meanwhile: a request that found the flag set enqueued no job of its own."""
    if not recheck:
        flag.let_go()
        return result
    db.session.commit()
    if flag.let_go(lambda: _due(channel_id)):
        return None
    return result


def _due(channel_id: int, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return bool(
        db.session.scalar(
            select(Message.id)
            .where(
                Message.channel_id == channel_id,
                Message.status == MessageStatus.QUEUED.value,
                or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
            )
            .limit(1)
        )
    )


def _claim(channel_id: int, n: int, now: datetime) -> list[int]:
    """Up to n due queued messages of the channel, now "sending" and ours alone."""
    base = (Message.channel_id == channel_id, Message.status == MessageStatus.QUEUED.value)
    due = (
        select(Message.id)
        .where(*base, or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now))
        .order_by(Message.id)
        .limit(n)
    )
    values = {"status": MessageStatus.SENDING.value, "claimed_at": now}
    dbutil.begin_read_committed()  # API requests insert new messages into the claim index
    ids = dbutil.claim(_MESSAGES, due, values, increment=("attempts",), recheck=base)
    db.session.commit()
    return sorted(ids)


def _take_allowances(
    channel: Channel, ids: list[int], sleep: Callable[[float], None], result: DrainResult
) -> list[int]:
    """The channel's daily quota and rate tokens for the claimed messages. Messages over the
    daily quota go back to the queue (the tick retries after midnight); for the rate we wait."""
    names = {f"ch:{channel.id}": channel.daily_quota}
    allowed = ratelimit.take_daily(names, len(ids))
    if allowed < len(ids):
        _put_back(ids[allowed:])
        ids = ids[:allowed]
        if not ids:
            midnight = ratelimit.next_midnight()
            result.state = "waiting"
            result.reason = f"daily quota reached until {midnight:%Y-%m-%d %H:%M %Z}"
            return []
    need = len(ids)
    while need:
        granted, wait = ratelimit.take_rate_transactional(channel.id, channel.rate_per_second, need)
        need -= granted
        if need:
            drain_job(channel.id).hold()
            sleep(min(max(wait, 0.01), 1.0))
    return ids


def _put_back(ids: Sequence[int]) -> None:
    db.session.execute(
        update(Message)
        .where(Message.id.in_(list(ids)), Message.status == MessageStatus.SENDING.value)
        .values(status=MessageStatus.QUEUED.value, attempts=Message.attempts - 1, claimed_at=None)
    )
    db.session.commit()


def _send_chunk(
    channel: Channel, provider, ids: list[int], cache: dict, result: DrainResult
) -> None:
    rows = db.session.execute(
        select(
            Message.id,
            Message.to_email,
            Message.subject,
            Message.payload,
            Message.tags,
            Message.attempts,
            Message.template_id,
            Identity.from_email,
            Identity.from_name,
            Identity.reply_to,
            Suppression.reason.label("suppressed"),
        )
        .outerjoin(Identity, Identity.id == Message.identity_id)
        .outerjoin(Suppression, Suppression.email == Message.to_email)
        .where(Message.id.in_(ids))
    ).all()
    templates = {
        t.id: t
        for t in db.session.scalars(
            select(Template).where(Template.id.in_({r.template_id for r in rows if r.template_id}))
        )
    }
    now = utcnow()
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    sign = tokens.signer()
    feedback_id = f"tx:{channel.id}:mailer"
    links = message_links(base)
    outcomes: list[SendOutcome] = []
    messages: list[OutboundMessage] = []
    attempts: dict[str, tuple[int, int, str]] = {}
    contents = []
    files: dict[int, tuple[Attachment, ...]] = {}
    for r in rows:
        payload = r.payload or {}
        if r.suppressed:
            reason = f"recipient suppressed after acceptance ({r.suppressed})"
            outcomes.append(decided(r.id, FAILED, reason))
            continue
        if r.from_email is None:
            outcomes.append(decided(r.id, FAILED, "the sender identity was deleted"))
            continue
        if (problem := address_problem(r.to_email)) is not None:  # written elsewhere
            outcomes.append(decided(r.id, FAILED, f"invalid address: {problem}"))
            continue
        try:
            content = message_content(r, payload, templates, cache)
            if payload.get("attachments"):
                files[r.id] = extras.load_files(payload["attachments"])
            contents.append((r, payload, *content))
        except RenderError as exc:
            outcomes.append(decided(r.id, FAILED, f"template: {exc}"))
        except LookupError as exc:
            outcomes.append(decided(r.id, FAILED, str(exc)))
    tracked = [
        html for _, payload, _, html, _ in contents if html and payload.get("track_clicks", True)
    ]
    try:
        links.prepare(tracked)  # the chunk's new URLs recorded in one short write
    except SQLAlchemyError:
        _put_back(ids)  # nothing of this chunk has left yet: send it next time
        raise
    for r, payload, subject, html, text in contents:
        token = sign(tokens.MESSAGE, r.id)
        if payload.get("track_clicks", True):
            try:  # writes only for a URL the chunk's prepare did not see, or a trimmed cache
                html, text = links.rewrite(html, text, token)
            except SQLAlchemyError:
                _put_back(ids)
                raise
        if html and payload.get("track_opens", True):
            html = insert_before_body_end(html, pixel_img(base, token))
        tags = {"message": str(r.id), "token": token}
        message = compose(
            r,  # the query row carries the sender identity's columns
            str(r.id),
            r.to_email,
            subject,
            html or None,
            text or None,
            {"Feedback-ID": feedback_id, **payload.get("headers", {})},
            tags,
        )
        if _RICH.intersection(payload):
            message = _with_extras(message, payload, files.get(r.id, ()))
        messages.append(message)
        attempts[str(r.id)] = (r.id, r.attempts, r.to_email)
    emitted: list[WebhookEvent] = []
    if messages:
        for answer in provider.send_batch(messages):
            message_id, tries, to = attempts[answer.ref]
            outcome = interpret(answer, message_id, tries, now, queued=QUEUED)
            outcomes.append(outcome)
            if outcome.status == SENT:
                emitted.append(
                    _event("sent", message_id, to, now, answer.provider_message_id, None, tries)
                )
            elif outcome.status == FAILED:
                emitted.append(_event("failed", message_id, to, now, None, outcome.error, tries))
    failed_early = {o.id for o in outcomes if o.status == FAILED}
    emails = {r.id: r.to_email for r in rows}
    for message_id in failed_early - {int(m.ref) for m in messages}:
        error = next(o.error for o in outcomes if o.id == message_id)
        emitted.append(_event("failed", message_id, emails[message_id], now, None, error))
    _write(outcomes, emitted)
    with_files = {
        r.id: r.payload["attachments"] for r in rows if (r.payload or {}).get("attachments")
    }
    if with_files:  # a message sent or failed for good keeps no file (GDPR)
        done = {o.id for o in outcomes if o.status in (SENT, FAILED)}
        extras.forget_files(d for i, ds in with_files.items() if i in done for d in ds)
    for o in outcomes:
        if o.status == SENT:
            result.sent += 1
        elif o.status == FAILED:
            result.failed += 1
        else:
            result.retried += 1


_RICH = frozenset({"to", "cc", "bcc", "reply_to", "attachments"})


def _with_extras(
    message: OutboundMessage, payload: dict[str, Any], files: tuple[Attachment, ...]
) -> OutboundMessage:
    """The message with its optional parts (engine/transactional/extras.py)."""
    to = payload.get("to") or [[message.to, None]]
    reply_to, reply_name = payload.get("reply_to") or (message.reply_to, None)
    return dataclasses.replace(
        message,
        to_name=to[0][1],
        also_to=tuple((a, n) for a, n in to[1:]),
        cc=tuple((a, n) for a, n in payload.get("cc", ())),
        bcc=tuple((a, n) for a, n in payload.get("bcc", ())),
        reply_to=reply_to,
        reply_to_name=reply_name,
        attachments=files,
    )


def _write(outcomes: list[SendOutcome], events: list[WebhookEvent]) -> None:
    """The chunk's outcomes (see delivery.write_outcomes), and outbound webhook events for
    sent and failed messages in the same transaction."""
    write_outcomes(_MESSAGES, outcomes)
    if events:
        webhook_events.emit(events)
    db.session.commit()


def _event(kind, message_id, to, at, pmid, error=None, attempt=0) -> WebhookEvent:
    data: dict[str, Any] = {}
    if pmid:
        data["provider_message_id"] = pmid
    if error:
        data["error"] = error
    return WebhookEvent(
        kind,
        occurred_at=at,
        email=to,
        message_id=message_id,
        data=data,
        key=f"message:{message_id}:{kind}:{attempt}",
    )


def recover_stale(now: datetime | None = None) -> int:
    """Messages left "sending" by a worker that died: the provider may have them, so they
    are failed with that reason rather than sent twice."""
    cutoff = (now or utcnow()) - STALE_AFTER
    dbutil.begin_read_committed()
    stale = (Message.status == MessageStatus.SENDING.value, Message.claimed_at < cutoff)
    payloads = list(db.session.scalars(select(Message.payload).where(*stale)))
    count = db.session.execute(
        update(Message)
        .where(*stale)
        .values(
            status=MessageStatus.FAILED.value,
            error=IN_DOUBT_ERROR,
        )
    ).rowcount
    db.session.commit()
    extras.forget_files(d for p in payloads for d in (p or {}).get("attachments", ()))
    return count or 0


def due_channels(now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Message.channel_id)
            .where(
                Message.status == MessageStatus.QUEUED.value,
                or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
                Message.channel_id.is_not(None),
            )
            .distinct()
        )
    )
