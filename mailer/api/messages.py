"""Transactional messages: POST /messages (one or a batch), GET /messages, GET /messages/{id}.

Thin views over :mod:`mailer.engine.transactional` (accept: validates and queues; status: reads).
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, request

from mailer.api.core import (
    ApiError,
    bp,
    field_errors,
    idempotent,
    json_body,
    not_found,
    paginate,
    plainly_valid,
    scope,
)
from mailer.api.spec import document
from mailer.engine.transactional import accept
from mailer.engine.transactional import status as message_status
from mailer.extensions import db
from mailer.models import Identity
from mailer.models.campaigns import Message

_STRINGS = {"to": 254, "subject": 500, "html": None, "text": None}
_ID_OR_NAME = {"from": 254, "channel": 120}
_OBJECTS = ("variables", "metadata")
_FLAGS = ("track_opens", "track_clicks")
_FIELDS = {*_STRINGS, *_ID_OR_NAME, *_OBJECTS, "template_id", "tags", *_FLAGS}
_MAX_ID = 2**31 - 1  # ids of identities, channels and templates (as in messages.yaml)


@plainly_valid("MessageRequest")
def plain_message(body: Any) -> bool:
    """A single message that MessageIn (openapi/messages.yaml) surely accepts: the usual
    request skips jsonschema. Anything unusual answers False and is validated in full."""
    if type(body) is not dict or "to" not in body or not body.keys() <= _FIELDS:
        return False
    for name, longest in _STRINGS.items():
        value = body.get(name, "")
        if type(value) is not str or (longest is not None and len(value) > longest):
            return False
    for name, longest in _ID_OR_NAME.items():
        value = body.get(name, 1)
        if not (type(value) is int and 1 <= value <= _MAX_ID) and not (
            type(value) is str and len(value) <= longest
        ):
            return False
    if any(type(body.get(name, {})) is not dict for name in _OBJECTS):
        return False
    template_id = body.get("template_id", 1)
    if type(template_id) is not int or not 1 <= template_id <= _MAX_ID:
        return False
    tags = body.get("tags", [])
    if type(tags) is not list or len(tags) > 10:
        return False
    if any(type(t) is not str or not 1 <= len(t) <= 64 or not _VISIBLE.search(t) for t in tags):
        return False
    if not all(type(body.get(flag, True)) is bool for flag in _FLAGS):
        return False
    subject = body.get("subject")
    if subject is not None and (not _VISIBLE.search(subject) or _LINE_BREAK.search(subject)):
        return False
    if "template_id" in body:
        content = "html" not in body and "text" not in body
    else:
        content = bool(body.get("html") or body.get("text")) and subject is not None
        content = content and "variables" not in body
    return content and not _reserved_domain().search(body["to"])


_LINE_BREAK = re.compile(r"[\r\n]")
_VISIBLE = re.compile(r"[^\s\x1c-\x1f\x85\ufeff]")  # "not blank" in messages.yaml


@functools.cache
def _reserved_domain() -> re.Pattern[str]:
    """The EmailAddress schema's refusal of special-use domains (openapi/base.yaml)."""
    return re.compile(document()["components"]["schemas"]["EmailAddress"]["not"]["pattern"])


@bp.post("/messages")
@scope("send")
@idempotent
def send_messages():
    body = json_body("MessageRequest", current_app.config["MAILER_TX_MAX_BODY_BYTES"])
    if "messages" in body:
        outcomes = accept.accept(body["messages"], g.api_key.id, prefix="messages")
        results = [_item(o) for o in outcomes]
        queued = sum(1 for o in outcomes if o.queued)
        return {"queued": queued, "refused": len(outcomes) - queued, "results": results}, 202
    (outcome,) = accept.accept([body], g.api_key.id)
    if not outcome.queued:
        raise ApiError(
            422, outcome.code or "refused", outcome.reason or "Refused.", {"to": outcome.to}
        )
    return {"id": outcome.id, "status": "queued", "to": outcome.to}, 202


def _item(outcome: accept.Outcome) -> dict:
    if outcome.queued:
        return {"index": outcome.index, "id": outcome.id, "status": "queued", "to": outcome.to}
    return {
        "index": outcome.index,
        "status": "refused",
        "to": outcome.to,
        "error": {"code": outcome.code, "message": outcome.reason},
    }


@bp.get("/messages")
@scope("send", "read")
def list_messages():
    stmt = _visible(sa.select(Message))
    status = request.args.get("status")
    problems = []
    if status is not None:
        if status not in message_status.STATUSES:
            problems.append(
                {"path": "status", "message": f"One of: {', '.join(message_status.STATUSES)}."}
            )
        else:
            stmt = stmt.where(message_status.status_condition(status))
    tag = request.args.get("tag")
    if tag is not None:
        if len(tag) > 64:
            problems.append({"path": "tag", "message": "A tag is at most 64 characters."})
        stmt = stmt.where(message_status.tag_condition(tag))
    to = request.args.get("to")
    if to is not None:
        if len(to) > 254:
            problems.append(
                {"path": "to", "message": "An email address is at most 254 characters."}
            )
        stmt = stmt.where(Message.to_email == to.strip().lower())
    if problems:
        raise field_errors(problems, "Invalid query parameter.")
    senders = _senders()
    return paginate(stmt, Message.id, lambda m: serialize(m, senders))


@bp.get("/messages/<int:message_id>")
@scope("send", "read")
def get_message(message_id: int):
    message = db.session.scalar(_visible(sa.select(Message).where(Message.id == message_id)))
    if message is None:
        raise not_found("message")
    body = serialize(message, _senders())
    body["events"] = [
        {
            "type": e.type,
            "occurred_at": _time(e.occurred_at),
            "machine": e.machine,
            "data": e.data or {},
        }
        for e in message_status.events_of(message.id)
    ]
    return body


@bp.post("/messages/<int:message_id>/cancel")
@scope("send")
def cancel_message(message_id: int):
    message = db.session.scalar(_visible(sa.select(Message).where(Message.id == message_id)))
    if message is None:
        raise not_found("message")
    try:
        message = message_status.cancel(message)
    except message_status.NotCancellable as exc:
        raise ApiError(409, "not_cancellable", str(exc)) from None
    return serialize(message, _senders())


def _visible(stmt: sa.Select) -> sa.Select:
    """A key without the read scope sees only the messages it sent."""
    if g.api_key.allows("read"):
        return stmt
    return stmt.where(Message.api_key_id == g.api_key.id)


def _senders() -> dict[int, str]:
    return {i: e for i, e in db.session.execute(sa.select(Identity.id, Identity.from_email))}


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def serialize(m: Message, senders: dict[int, str]) -> dict:
    return {
        "id": m.id,
        "status": message_status.public_status(m),
        "delivery_status": m.status,
        "to": m.to_email,
        "from": senders.get(m.identity_id) if m.identity_id else None,
        "subject": m.subject,
        "channel_id": m.channel_id,
        "template_id": m.template_id,
        **_parts(m),
        "tags": list(m.tags or []),
        "metadata": dict(m.meta or {}),
        "attempts": m.attempts,
        "error": m.error,
        "provider_message_id": m.provider_message_id,
        "created_at": _time(m.created_at),
        "next_attempt_at": _time(m.next_attempt_at),
        "sent_at": _time(m.sent_at),
        "delivered_at": _time(m.delivered_at),
        "opened_at": _time(m.opened_at),
        "clicked_at": _time(m.clicked_at),
        "bounced_at": _time(m.bounced_at),
        "complained_at": _time(m.complained_at),
    }


def _parts(m: Message) -> dict:
    """The optional parts of a message as accepted (engine/transactional/extras.py)."""
    payload = m.payload or {}
    reply_to = payload.get("reply_to")
    return {
        "recipients": {
            "to": _contacts(payload.get("to") or [[m.to_email, None]]),
            "cc": _contacts(payload.get("cc", ())),
            "bcc": _contacts(payload.get("bcc", ())),
        },
        "reply_to": _contacts([reply_to])[0] if reply_to else None,
        "headers": dict(payload.get("headers") or {}),
        "attachments": [
            {
                "filename": a["filename"],
                "content_type": a["content_type"],
                "size": a["size"],
                "content_id": a.get("content_id"),
            }
            for a in payload.get("attachments", ())
        ],
        "send_at": payload.get("send_at"),
    }


def _contacts(pairs) -> list[dict]:
    return [{"email": email, "name": name} for email, name in pairs]
