"""Sending transactional messages: the per-channel drain job, the tick's stale recovery and
due channels. (The rest of the old module is now accept.py, status.py, feedback.py and
tracking/; the lead merges this section into drain.py.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from mailer import dispatch
from mailer.dispatch import KeyedJob
from mailer.engine.rendering.core import CompiledEmail, RenderError, compile_email, html_to_text
from mailer.engine.rendering.message import message_context
from mailer.engine.tracking import core as tracking
from mailer.engine.tracking.links import message_links as _message_links
from mailer.engine.transactional.accept import drain_job
from mailer.engine.transactional.feedback import apply_feedback  # noqa: F401  (for feedback/core.py until merge)
from mailer.engine.webhooks_out import core as webhooks_out
from mailer.extensions import db
from mailer.lib import dbutil, ratelimit, tokens
from mailer.models import Channel, Identity, Suppression, Template
from mailer.models.base import utcnow
from mailer.models.campaigns import Message, MessageStatus
from mailer.providers.base import OutboundMessage, SendResult

log = logging.getLogger(__name__)

CHUNK = 200  # messages claimed per turn (fewer when the rate allows fewer)
DRAIN_SECONDS = dispatch.DRAIN_SECONDS  # one job hands over to a fresh one after this
LINGER_SECONDS = 1.0  # an idle job waits this long for more messages before it ends
IDLE_SLEEP = 0.05
STALE_AFTER = timedelta(minutes=10)  # "sending" this long: its worker died


# ------------------------------------------------------------------------------ sending


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
                from mailer.engine.campaign_send.core import _provider_for

                provider = _provider_for(channel)
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
    values = {
        "status": MessageStatus.SENDING.value,
        "claimed_at": now,
        "attempts": Message.attempts + 1,
    }
    if dbutil.dialect() == "mysql":
        _read_committed()
        ids = list(db.session.scalars(due.with_for_update(skip_locked=True)))
        if ids:
            db.session.execute(update(Message).where(Message.id.in_(ids)).values(**values))
    else:
        ids = list(
            db.session.scalars(
                update(Message)
                .where(Message.id.in_(due.scalar_subquery()), *base)
                .values(**values)
                .returning(Message.id)
            )
        )
    db.session.commit()
    return sorted(ids)


def _read_committed() -> None:
    """Start the transaction in READ COMMITTED: under MySQL's REPEATABLE READ a locking read
    of the claim index also locks the gaps between its entries, and API requests inserting
    new messages into those gaps deadlock with it."""
    db.session.commit()
    db.session.connection(execution_options={"isolation_level": "READ COMMITTED"})


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


def _compiled(template: Template | None, subject: str, cache: dict) -> CompiledEmail:
    key = (template.id, template.updated_at, subject) if template else None
    found = cache.get(key)
    if found is None:
        found = compile_email(
            subject, template.html or "", template.text or None, name=template.name
        )
        if len(cache) > 64:
            cache.clear()
        cache[key] = found
    return found


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
    links = _message_links(base)
    results: list[dict] = []
    messages: list[OutboundMessage] = []
    attempts: dict[str, tuple[int, int, str]] = {}
    contents = []
    for r in rows:
        payload = r.payload or {}
        if r.suppressed:
            results.append(_failed(r.id, f"recipient suppressed after acceptance ({r.suppressed})"))
            continue
        if r.from_email is None:
            results.append(_failed(r.id, "the sender identity was deleted"))
            continue
        try:
            contents.append((r, payload, *_content(r, payload, templates, cache)))
        except RenderError as exc:
            results.append(_failed(r.id, f"template: {exc}"))
        except LookupError as exc:
            results.append(_failed(r.id, str(exc)))
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
            html = tracking._before_body_end(
                html,
                f'<img src="{tracking.pixel_url(base, token)}" width="1" height="1" alt="" '
                'style="display:block;width:1px;height:1px;border:0">',
            )
        tags = {"message": str(r.id), "token": token}
        messages.append(
            OutboundMessage(
                ref=str(r.id),
                to=r.to_email,
                subject=subject,
                from_email=r.from_email,
                from_name=r.from_name or None,
                reply_to=r.reply_to or None,
                html=html or None,
                text=text or None,
                headers={"Feedback-ID": f"tx:{channel.id}:mailer"},
                tags=tags,
            )
        )
        attempts[str(r.id)] = (r.id, r.attempts, r.to_email)
    emitted: list[dict] = []
    if messages:
        for answer in provider.send_batch(messages):
            message_id, tries, to = attempts[answer.ref]
            row = _interpret(answer, message_id, tries, now)
            results.append(row)
            if row["b_status"] == MessageStatus.SENT.value:
                emitted.append(
                    _event("sent", message_id, to, now, answer.provider_message_id, None, tries)
                )
            elif row["b_status"] == MessageStatus.FAILED.value:
                emitted.append(_event("failed", message_id, to, now, None, row["b_error"], tries))
    failed_early = {r["b_id"] for r in results if r["b_status"] == MessageStatus.FAILED.value}
    emails = {r.id: r.to_email for r in rows}
    for message_id in failed_early - {int(m.ref) for m in messages}:
        error = next(r["b_error"] for r in results if r["b_id"] == message_id)
        emitted.append(_event("failed", message_id, emails[message_id], now, None, error))
    _write(results, emitted)
    for r in results:
        if r["b_status"] == MessageStatus.SENT.value:
            result.sent += 1
        elif r["b_status"] == MessageStatus.FAILED.value:
            result.failed += 1
        else:
            result.retried += 1


def _content(r, payload: dict, templates: dict, cache: dict) -> tuple[str, str, str]:
    """(subject, html, text) of one message, rendered when it uses a template."""
    if r.template_id is None and "template_id" in payload:
        raise LookupError(f"template {payload['template_id']} was deleted before sending")
    if r.template_id is None:
        html, text = payload.get("html") or "", payload.get("text") or ""
        if html and not text:
            text = html_to_text(html)
        return r.subject, html, text
    template = templates[r.template_id]
    context = message_context(r.to_email, payload.get("variables") or {})
    if "subject_source" in payload:  # the subject was rendered when the message was accepted
        rendered = _compiled(template, "", cache).render(context)
        return r.subject, rendered.html, rendered.text
    rendered = _compiled(template, r.subject, cache).render(context)  # accepted before that
    return rendered.subject, rendered.html, rendered.text


def _interpret(answer: SendResult, message_id: int, attempts: int, now: datetime) -> dict:
    from mailer.engine.campaign_send.core import backoff, max_attempts

    if answer.ok:
        return _row(message_id, MessageStatus.SENT, pmid=answer.provider_message_id, sent_at=now)
    if answer.transient and attempts < max_attempts():
        retry_at = now + timedelta(seconds=backoff(attempts, answer.retry_after))
        return _row(message_id, MessageStatus.QUEUED, error=answer.error, next_at=retry_at)
    error = (
        answer.error
        if not answer.transient
        else f"gave up after {attempts} attempts: {answer.error}"
    )
    return _failed(message_id, error or "the provider refused the message")


def _row(message_id, status: MessageStatus, *, error=None, pmid=None, sent_at=None, next_at=None):
    return {
        "b_id": message_id,
        "b_status": status.value,
        "b_error": error[:500] if error else None,
        "b_pmid": pmid,
        "b_sent_at": sent_at,
        "b_next": next_at,
    }


def _failed(message_id: int, error: str) -> dict:
    return _row(message_id, MessageStatus.FAILED, error=error)


_M = Message.__table__
_RESULT_UPDATE = (
    update(_M)
    .where(_M.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        error=bindparam("b_error"),
        next_attempt_at=bindparam("b_next"),
    )
)


def _write(results: list[dict], events: list[dict]) -> None:
    """Sent messages in one UPDATE (a CASE for their provider ids), the rest (failures,
    retries: few) in one executemany; outbound webhook events for sent and failed messages
    in the same transaction."""
    from mailer.engine.campaign_send.core import write_results

    write_results(Message, results, _RESULT_UPDATE)
    if events:
        webhooks_out.emit(events)
    db.session.commit()


def _event(kind, message_id, to, at, pmid, error=None, attempt=0) -> dict:
    data: dict[str, Any] = {}
    if pmid:
        data["provider_message_id"] = pmid
    if error:
        data["error"] = error
    return {
        "type": kind,
        "occurred_at": at,
        "email": to,
        "campaign_id": None,
        "send_id": None,
        "message_id": message_id,
        "data": data,
        "key": f"message:{message_id}:{kind}:{attempt}",
    }


def recover_stale(now: datetime | None = None) -> int:
    """Messages left "sending" by a worker that died: the provider may have them, so they
    are failed with that reason rather than sent twice."""
    cutoff = (now or utcnow()) - STALE_AFTER
    if dbutil.dialect() == "mysql":
        _read_committed()
    count = db.session.execute(
        update(Message)
        .where(Message.status == MessageStatus.SENDING.value, Message.claimed_at < cutoff)
        .values(
            status=MessageStatus.FAILED.value,
            error="in doubt: the worker stopped while sending; the provider may have it",
        )
    ).rowcount
    db.session.commit()
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
