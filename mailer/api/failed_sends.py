"""The failed-send review: list failed and in-doubt campaign sends and failed transactional
messages, filtered, and retry one, a filter or all. The rules are in
:mod:`mailer.campaigns.failed_sends`, the same as the campaign page's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import g, request

from mailer.api.core import ApiError, bp, field_errors, json_body, not_found, paginate, scope
from mailer.campaigns import documents as campaign_documents
from mailer.campaigns import failed_sends as review
from mailer.extensions import db
from mailer.lib.dbutil import MAX_INT, parse_id
from mailer.models import Send
from mailer.models.campaigns import Message

REASON_MAX = 200


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def _bad(name: str, message: str) -> ApiError:
    return field_errors([{"path": name, "message": message}], "Invalid query parameter.")


def _moment(value: Any, name: str, bad) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise bad(name, "An ISO 8601 time, e.g. 2025-03-01T12:00:00Z.") from None
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise bad(name, "A time between the years 1 and 9999.") from None
    return moment


def _filter(values: dict[str, Any], *, campaigns: bool, bad=_bad) -> review.Filter:
    """The filter from query parameters or a retry body (same names)."""
    campaign_id = None
    if campaigns and values.get("campaign") is not None:
        campaign = campaign_documents.find(str(values["campaign"]))
        if campaign is None:
            raise not_found("campaign")
        campaign_id = campaign.id
    channel_id = None
    if values.get("channel") is not None:
        channel_id = parse_id(str(values["channel"]))
        if channel_id is None or channel_id > MAX_INT:
            raise bad("channel", "A channel's id: a positive whole number.")
    reason = values.get("reason")
    if reason is not None and not 1 <= len(str(reason)) <= REASON_MAX:
        raise bad("reason", f"From 1 to {REASON_MAX} characters.")
    state = values.get("state")
    if state is not None and state not in review.STATES:
        raise bad("state", f"One of: {', '.join(review.STATES)}.")
    return review.Filter(
        api_key_id=None if campaigns or g.api_key.allows("read") else g.api_key.id,
        campaign_id=campaign_id,
        channel_id=channel_id,
        reason=reason,
        since=_moment(values.get("since"), "since", bad),
        until=_moment(values.get("until"), "until", bad),
        state=state,
    )


def _body_problem(name: str, message: str) -> ApiError:
    return field_errors([{"path": f"$.{name}", "message": message}])


def _body(schema: str) -> dict[str, Any]:
    """The optional JSON body of a retry (none: retry what the path says, unconfirmed)."""
    if not request.get_data(cache=True):
        return {}
    return json_body(schema)


def _retried(done: review.Retried):
    return done.as_dict(), 202 if done.queued else 200


def _retry(action, *args, **kwargs):
    try:
        return action(*args, **kwargs)
    except review.NeedsConfirmation as exc:
        raise ApiError(409, "confirmation_required", str(exc)) from None


# ------------------------------------------------------------------ campaign sends


@bp.get("/failed-sends")
@scope("campaigns", "read")
def list_failed_sends():
    f = _filter(request.args, campaigns=True)
    stmt = review.sends_query(f)
    cache: dict[str, dict] = {}
    return paginate(stmt, Send.id, lambda s: serialize_send(s, cache))


@bp.post("/failed-sends/retry")
@scope("campaigns")
def retry_failed_sends():
    body = _body("FailedSendRetry")
    f = _filter(body, campaigns=True, bad=_body_problem)
    return _retried(
        _retry(review.retry_sends, f, confirm_in_doubt=bool(body.get("confirm_in_doubt")))
    )


@bp.post("/failed-sends/<int:send_id>/retry")
@scope("campaigns")
def retry_failed_send(send_id: int):
    body = _body("RetryOne")
    send = db.session.get(Send, send_id)
    if send is None:
        raise not_found("send")
    return _retried(
        _retry(review.retry_send, send, confirm_in_doubt=bool(body.get("confirm_in_doubt")))
    )


def serialize_send(send: Send, cache: dict[str, dict]) -> dict[str, Any]:
    rows = cache.setdefault("rows", {})
    if send.campaign_channel_id not in rows:
        rows.update(review.row_channels([send.campaign_channel_id]))
    state = review.send_state(send)
    reason, answer = review.reason_of(send.error, state)
    return {
        "id": send.id,
        "campaign_id": send.campaign_id,
        "channel_id": rows.get(send.campaign_channel_id),
        "email": send.email,
        "state": state,
        "reason": reason,
        "provider_answer": answer,
        "error": send.error,
        "attempts": send.attempts,
        "failed_at": _time(send.failed_at),
    }


# ------------------------------------------------------------------ transactional messages


@bp.get("/failed-messages")
@scope("send", "read")
def list_failed_messages():
    f = _filter(request.args, campaigns=False)
    return paginate(review.messages_query(f), Message.id, serialize_message)


@bp.post("/failed-messages/retry")
@scope("send")
def retry_failed_messages():
    body = _body("FailedMessageRetry")
    f = _filter(body, campaigns=False, bad=_body_problem)
    return _retried(
        _retry(review.retry_messages, f, confirm_in_doubt=bool(body.get("confirm_in_doubt")))
    )


@bp.post("/failed-messages/<int:message_id>/retry")
@scope("send")
def retry_failed_message(message_id: int):
    body = _body("RetryOne")
    message = db.session.get(Message, message_id)
    if message is None or not (g.api_key.allows("read") or message.api_key_id == g.api_key.id):
        raise not_found("message")
    return _retried(
        _retry(review.retry_message, message, confirm_in_doubt=bool(body.get("confirm_in_doubt")))
    )


def serialize_message(message: Message) -> dict[str, Any]:
    state = review.message_state(message)
    reason, answer = review.reason_of(message.error, state)
    return {
        "id": message.id,
        "channel_id": message.channel_id,
        "to": message.to_email,
        "subject": message.subject,
        "tags": list(message.tags or []),
        "state": state,
        "reason": reason,
        "provider_answer": answer,
        "error": message.error,
        "attempts": message.attempts,
        "failed_at": _time(message.claimed_at),
        "created_at": _time(message.created_at),
    }
