"""Bulk actions: change many subscribers at once, in chunks of ids, each chunk one transaction.

A selection of ticked rows small enough runs in the request; anything larger (and every match
of a search or segment) runs as a job with a progress bar, and can be cancelled between chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, delete, func, select, update

from mailer import dispatch
from mailer.extensions import db
from mailer.lib import dbutil
from mailer.lib.errors import ValidationError
from mailer.models import (
    BulkAction,
    BulkKind,
    BulkStatus,
    MailingList,
    Subscriber,
    SubscriberStatus,
    SuppressionReason,
    User,
)
from mailer.models.base import utcnow
from mailer.services import people, suppressions

NEEDS_LIST = (BulkKind.ADD_TO_LIST.value, BulkKind.REMOVE_FROM_LIST.value)
FINISHED = (BulkStatus.COMPLETED.value, BulkStatus.CANCELLED.value, BulkStatus.FAILED.value)
MAX_SELECTED = 10_000  # ticked ids in one request


@dataclass(frozen=True)
class Selection:
    """Ticked subscriber ids, or every match of a search (a segment is a search too)."""

    ids: tuple[int, ...] = ()
    search: people.Search | None = None

    def to_json(self) -> dict:
        if self.search is not None:
            return {"search": self.search.to_json()}
        return {"ids": list(self.ids)}

    @classmethod
    def from_json(cls, data: dict) -> Selection:
        if "search" in data:
            return cls(search=people.Search.from_json(data["search"]))
        return cls(ids=tuple(sorted(int(i) for i in data.get("ids", []))))


def start(kind: str, selection: Selection, target_list_id: int | None, user: User) -> BulkAction:
    """Record the action; run it now when it is a small selection, else queue its job."""
    errors: dict[str, str] = {}
    if kind not in {k.value for k in BulkKind}:
        errors["kind"] = _("Choose what to do.")
    if kind in NEEDS_LIST and (
        target_list_id is None or db.session.get(MailingList, target_list_id) is None
    ):
        errors["target_list"] = _("Choose a list.")
    if selection.search is None and not selection.ids:
        errors["selection"] = _("Tick at least one person, or choose every match.")
    if len(selection.ids) > MAX_SELECTED:
        errors["selection"] = _("Too many ticked at once: choose every match instead.")
    if errors:
        raise ValidationError(errors)
    action = BulkAction(
        kind=kind,
        target_list_id=target_list_id if kind in NEEDS_LIST else None,
        selection=selection.to_json(),
        total=len(selection.ids),
        created_by_id=user.id,
    )
    db.session.add(action)
    db.session.commit()
    if (
        selection.search is None
        and len(selection.ids) <= current_app.config["MAILER_BULK_INLINE_MAX"]
    ):
        run(action.id)
    else:
        dispatch.run_bulk_action(action.id)  # committed above: the worker finds the row
    return db.session.get(BulkAction, action.id)


def cancel(action: BulkAction) -> None:
    """Ask a running action to stop after its current chunk; a queued one stops at once."""
    if action.status in FINISHED:
        return
    db.session.execute(
        update(BulkAction).where(BulkAction.id == action.id).values(cancel_requested=True)
    )
    db.session.execute(
        update(BulkAction)
        .where(BulkAction.id == action.id, BulkAction.status == BulkStatus.QUEUED.value)
        .values(status=BulkStatus.CANCELLED.value, finished_at=utcnow())
    )
    db.session.commit()
    db.session.refresh(action)


def _cancel_requested(action_id: int) -> bool:
    return bool(
        db.session.scalar(select(BulkAction.cancel_requested).where(BulkAction.id == action_id))
    )


def run(action_id: int) -> BulkAction | None:
    """Apply the action chunk by chunk from its checkpoint (``last_id``): a job that died is
    resumed by running it again. Returns the action, or None when it is gone."""
    action = db.session.get(BulkAction, action_id)
    if action is None or action.status in FINISHED:
        return action
    selection = Selection.from_json(action.selection)
    if action.status == BulkStatus.QUEUED.value:
        action.status = BulkStatus.RUNNING.value
        action.started_at = utcnow()
        if selection.search is not None:
            action.total = people.count_matches(selection.search)
            first = db.session.scalar(select(func.min(Subscriber.id))) or 1
            action.last_id = first - 1
            action.end_id = db.session.scalar(select(func.max(Subscriber.id))) or 0
        db.session.commit()
    chunk = current_app.config["MAILER_BULK_CHUNK"]
    window = chunk
    by = db.session.get(User, action.created_by_id) if action.created_by_id else None
    source = f"added by {by.email}" if by is not None else "bulk action"
    try:
        while True:
            if _cancel_requested(action.id):
                action.status = BulkStatus.CANCELLED.value
                break
            if selection.search is not None:
                # A window of ids, not a list of them: one range scan per statement instead
                # of a SELECT of the ids and an IN list of thousands (half the time).
                if action.last_id >= (action.end_id or 0):
                    action.status = BulkStatus.COMPLETED.value
                    break
                top = min(action.last_id + window, action.end_id)
                where = and_(
                    Subscriber.id > action.last_id,
                    Subscriber.id <= top,
                    *people.criteria(selection.search),
                )
                matches = db.session.scalar(select(func.count()).where(where)) or 0
                if matches > chunk and window > chunk:  # dense again: a narrower window
                    window = max(chunk, window // 4)
                    continue
                changed = apply(action.kind, where, action.target_list_id, source) if matches else 0
                if matches < chunk // 4:  # sparse matches: a wider window next time
                    window = min(window * 2, chunk * 64)
                action.last_id = top
                action.processed += matches
            else:
                ids = [i for i in selection.ids if i > action.last_id][:chunk]
                if not ids:
                    action.status = BulkStatus.COMPLETED.value
                    break
                changed = apply(action.kind, Subscriber.id.in_(ids), action.target_list_id, source)
                action.last_id = ids[-1]
                action.processed += len(ids)
            action.changed += changed
            db.session.commit()
    except Exception:
        db.session.rollback()
        _fail(action.id)
        raise
    action.finished_at = utcnow()
    db.session.commit()
    return action


def _fail(action_id: int) -> None:
    db.session.execute(
        update(BulkAction)
        .where(BulkAction.id == action_id)
        .values(status=BulkStatus.FAILED.value, finished_at=utcnow(), error="internal error")
    )
    db.session.commit()


def apply(kind: str, where, target_list_id: int | None, source: str = "") -> int:
    """Apply one chunk (the subscribers ``where`` selects: an id list or an id window) in
    set-based statements, never one per row; returns rows changed. The caller commits."""
    if kind == BulkKind.UNSUBSCRIBE.value:
        now = utcnow()
        result = db.session.execute(
            update(Subscriber)
            .where(where, Subscriber.status == SubscriberStatus.SUBSCRIBED.value)
            .values(status=SubscriberStatus.UNSUBSCRIBED.value, unsubscribed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount
    if kind == BulkKind.DELETE.value:
        result = db.session.execute(
            delete(Subscriber).where(where).execution_options(synchronize_session=False)
        )
        return result.rowcount
    emails = list(dict.fromkeys(db.session.scalars(select(Subscriber.email).where(where))))
    if kind == BulkKind.SUPPRESS.value:
        return suppressions.suppress(emails, SuppressionReason.MANUAL, source)
    if kind == BulkKind.REMOVE_FROM_LIST.value:
        result = db.session.execute(
            delete(Subscriber)
            .where(Subscriber.list_id == target_list_id, Subscriber.email.in_(emails))
            .execution_options(synchronize_session=False)
        )
        return result.rowcount
    if kind == BulkKind.ADD_TO_LIST.value:
        return _copy_to_list(where, target_list_id)
    raise ValueError(f"unknown bulk action {kind!r}")


def _copy_to_list(where, list_id: int | None) -> int:
    """Copy these subscribers to a list, with their names, attributes and status (an address
    unsubscribed elsewhere stays unsubscribed); addresses already on it are left alone."""
    table = Subscriber.__table__
    rows = db.session.execute(
        select(
            table.c.email,
            table.c.first_name,
            table.c.last_name,
            table.c.name,
            table.c.attributes,
            table.c.status,
            table.c.unsubscribed_at,
        ).where(where, table.c.list_id != list_id)
    ).mappings()
    fresh: dict[str, dict] = {}
    for row in rows:
        fresh.setdefault(row["email"], dict(row))
    if not fresh:
        return 0
    present = set(
        db.session.scalars(
            select(Subscriber.email).where(
                Subscriber.list_id == list_id, Subscriber.email.in_(list(fresh))
            )
        )
    )
    now = utcnow()
    values = [
        {**row, "list_id": list_id, "created_at": now, "updated_at": now}
        for email, row in fresh.items()
        if email not in present
    ]
    if values:
        db.session.connection().execute(dbutil.insert_ignore(table, ["list_id", "email"]), values)
    return len(values)


def progress(action: BulkAction) -> float:
    """Share done, 0 to 1."""
    if action.status == BulkStatus.COMPLETED.value:
        return 1.0
    return min(1.0, action.processed / action.total) if action.total else 0.0


def recent(limit: int = 5) -> list[BulkAction]:
    stmt = select(BulkAction).order_by(BulkAction.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))
