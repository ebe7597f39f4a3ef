"""Reading transactional messages for the API: the status a client sees, and the filters
and event list behind it."""

from __future__ import annotations

from sqlalchemy import func, select, update

from mailer.engine.transactional import extras
from mailer.extensions import db
from mailer.lib import dbutil
from mailer.models import Event
from mailer.models.base import utcnow
from mailer.models.campaigns import Message, MessageStatus


def public_status(message: Message) -> str:
    """The status clients see: opens and clicks show on a sent or delivered message, and a
    message waiting for its send_at is "scheduled"."""
    if message.status in (MessageStatus.SENT.value, MessageStatus.DELIVERED.value):
        if message.clicked_at is not None:
            return "clicked"
        if message.opened_at is not None:
            return "opened"
    if message.status == MessageStatus.QUEUED.value and _waits(message, utcnow()):
        return "scheduled"
    return message.status


def _waits(message: Message, now) -> bool:
    return (
        message.attempts == 0
        and message.next_attempt_at is not None
        and (message.next_attempt_at > now)
    )


STATUSES = (*(s.value for s in MessageStatus), "scheduled", "opened", "clicked")


def status_condition(status: str):
    """A filter matching :func:`public_status` = status."""
    if status in ("scheduled", MessageStatus.QUEUED.value):
        waits = (Message.attempts == 0) & (Message.next_attempt_at > utcnow())
        queued = Message.status == MessageStatus.QUEUED.value
        return queued & waits if status == "scheduled" else queued & ~waits
    shown = Message.status.in_([MessageStatus.SENT.value, MessageStatus.DELIVERED.value])
    if status == "clicked":
        return shown & Message.clicked_at.is_not(None)
    if status == "opened":
        return shown & Message.opened_at.is_not(None) & Message.clicked_at.is_(None)
    if status in (MessageStatus.SENT.value, MessageStatus.DELIVERED.value):
        return (
            (Message.status == status) & Message.opened_at.is_(None) & Message.clicked_at.is_(None)
        )
    return Message.status == status


def tag_condition(tag: str):
    if dbutil.dialect() == "mysql":
        return func.json_contains(Message.tags, func.json_quote(tag)) == 1
    each = func.json_each(Message.tags).table_valued("value")
    return select(each.c.value).where(each.c.value == tag).exists()


def events_of(message_id: int, limit: int = 100) -> list[Event]:
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.message_id == message_id)
            .order_by(Event.occurred_at, Event.id)
            .limit(limit)
        )
    )


class NotCancellable(Exception):
    """The message was handed to a provider already (or is finished): the reason."""


def cancel(message: Message) -> Message:
    """Cancel a message not yet handed to a provider (a scheduled one, usually): it is never
    sent and its files are deleted. One UPDATE, so a drain job claiming it at the same
    moment and this cancel cannot both win. Raises NotCancellable otherwise."""
    if message.status == MessageStatus.CANCELLED.value:
        return message
    done = db.session.execute(
        update(Message)
        .where(
            Message.id == message.id,
            Message.status == MessageStatus.QUEUED.value,
            Message.attempts == 0,
        )
        .values(status=MessageStatus.CANCELLED.value, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    db.session.refresh(message)
    if not done:
        raise NotCancellable(
            f"Message {message.id} is {public_status(message)}: sending has started, so it "
            "can no longer be cancelled."
        )
    extras.forget_files((message.payload or {}).get("attachments", ()))
    return message
