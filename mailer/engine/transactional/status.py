"""Reading transactional messages for the API: the status a client sees, and the filters
and event list behind it."""

from __future__ import annotations

from sqlalchemy import func, select

from mailer.extensions import db
from mailer.lib import dbutil
from mailer.models import Event
from mailer.models.campaigns import Message, MessageStatus


def public_status(message: Message) -> str:
    """The status clients see: opens and clicks show on a sent or delivered message."""
    if message.status in (MessageStatus.SENT.value, MessageStatus.DELIVERED.value):
        if message.clicked_at is not None:
            return "clicked"
        if message.opened_at is not None:
            return "opened"
    return message.status


STATUSES = (*(s.value for s in MessageStatus), "opened", "clicked")


def status_condition(status: str):
    """A filter matching :func:`public_status` = status."""
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
