"""Provider feedback on transactional messages: the status moves that delivery, bounce,
complaint and reject reports make (a later, stronger report wins), and first opens/clicks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import case, update

from mailer.engine.tracking.hits import set_first_message_hits
from mailer.extensions import db
from mailer.models.campaigns import Message

_M = Message.__table__

# Which delivery statuses each reported event may replace (a bounce after "delivered" is an
# asynchronous bounce; a complaint trumps everything).
_MOVES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    # event type: (new status, time column, statuses it replaces)
    "delivery": ("delivered", "delivered_at", ("queued", "sending", "sent")),
    "reject": ("failed", None, ("queued", "sending", "sent")),
    "bounce": ("bounced", "bounced_at", ("queued", "sending", "sent", "delivered", "failed")),
    "complaint": (
        "complained",
        "complained_at",
        ("queued", "sending", "sent", "delivered", "bounced", "failed"),
    ),
}


def apply_feedback(reports: Mapping[str, Mapping[int, tuple[datetime, str | None]]]) -> None:
    """Provider feedback and tracking for messages, in the caller's transaction.

    ``reports`` maps an event type (delivery, bounce, complaint, reject, open, click) to
    {message id: (first time, detail)}; opens and clicks only set their first-time column."""
    set_first_message_hits(reports)
    for kind in ("delivery", "reject", "bounce", "complaint"):
        status, column, replaces = _MOVES[kind]
        found = reports.get(kind) or {}
        for chunk in _chunks(sorted(found)):
            if column:
                db.session.execute(
                    update(_M)
                    .where(_M.c.id.in_(chunk), _M.c[column].is_(None))
                    .values({column: case({i: found[i][0] for i in chunk}, value=_M.c.id)})
                )
            values: dict[str, Any] = {"status": status}
            if kind in ("reject", "bounce"):
                reasons = {i: (found[i][1] or f"provider reported a {kind}")[:500] for i in chunk}
                values["error"] = case(reasons, value=_M.c.id)
            db.session.execute(
                update(_M).where(_M.c.id.in_(chunk), _M.c.status.in_(replaces)).values(values)
            )


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]
