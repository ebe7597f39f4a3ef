"""Lists and their subscribers: create, rename, delete, browse, edit one subscriber."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Select, delete, func, or_, select

from mailer.extensions import db
from mailer.lib.emails import InvalidEmail, normalize_email
from mailer.lib.errors import ValidationError
from mailer.models import MailingList, Subscriber, SubscriberStatus, Suppression
from mailer.models.base import utcnow

PAGE_SIZE = 50
DELETE_CHUNK = 5000


# ------------------------------------------------------------------ lists


def _check_name(name: str, current: MailingList | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the list a name.")})
    if len(name) > 200:
        raise ValidationError({"name": _("Use at most %(n)s characters.", n=200)})
    clash = db.session.scalar(select(MailingList).filter_by(name=name))
    if clash is not None and clash is not current:
        raise ValidationError(
            {"name": _("A list called “%(name)s” already exists.", name=name)}, conflicts=["name"]
        )
    return name


def create_list(name: str, description: str = "") -> MailingList:
    mailing_list = MailingList(name=_check_name(name), description=(description or "").strip())
    db.session.add(mailing_list)
    db.session.commit()
    return mailing_list


def rename_list(mailing_list: MailingList, name: str, description: str | None = None) -> None:
    mailing_list.name = _check_name(name, mailing_list)
    if description is not None:
        mailing_list.description = description.strip()
    db.session.commit()


def delete_list(mailing_list: MailingList) -> int:
    """Delete a list and its subscribers in chunks (millions of rows, bounded transactions)."""
    deleted = 0
    while True:
        ids = db.session.scalars(
            select(Subscriber.id).where(Subscriber.list_id == mailing_list.id).limit(DELETE_CHUNK)
        ).all()
        if not ids:
            break
        db.session.execute(delete(Subscriber).where(Subscriber.id.in_(ids)))
        db.session.commit()
        deleted += len(ids)
    db.session.delete(mailing_list)
    db.session.commit()
    return deleted


@dataclass(frozen=True)
class ListSummary:
    mailing_list: MailingList
    total: int
    by_status: dict[str, int]


def list_summaries() -> list[ListSummary]:
    lists = db.session.scalars(select(MailingList).order_by(MailingList.name)).all()
    counts: dict[int, dict[str, int]] = {}
    rows = db.session.execute(
        select(Subscriber.list_id, Subscriber.status, func.count()).group_by(
            Subscriber.list_id, Subscriber.status
        )
    )
    for list_id, status, n in rows:
        counts.setdefault(list_id, {})[status] = n
    return [ListSummary(m, sum(counts.get(m.id, {}).values()), counts.get(m.id, {})) for m in lists]


def status_counts(list_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Subscriber.status, func.count())
        .where(Subscriber.list_id == list_id)
        .group_by(Subscriber.status)
    )
    return dict(rows.all())


# ------------------------------------------------------------------ browsing


@dataclass(frozen=True)
class Page:
    rows: list[tuple[Subscriber, bool]]  # (subscriber, suppressed)
    total: int
    page: int
    pages: int


def browse(list_id: int, query: str = "", status: str = "", page: int = 1) -> Page:
    """One page of a list's subscribers, newest first, each flagged when suppressed."""
    conditions = [Subscriber.list_id == list_id]
    query = (query or "").strip()
    if query:
        like = f"%{query.lower()}%"
        conditions.append(
            or_(
                Subscriber.email.like(like, escape="\\"),
                func.lower(Subscriber.first_name).like(like),
                func.lower(Subscriber.last_name).like(like),
                func.lower(Subscriber.name).like(like),
            )
        )
    if status in {s.value for s in SubscriberStatus}:
        conditions.append(Subscriber.status == status)
    total = db.session.scalar(select(func.count()).select_from(Subscriber).where(*conditions)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    stmt = (
        select(Subscriber, Suppression.id.is_not(None))
        .outerjoin(Suppression, Suppression.email == Subscriber.email)
        .where(*conditions)
        .order_by(Subscriber.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return Page([(s, bool(flag)) for s, flag in db.session.execute(stmt)], total, page, pages)


# ------------------------------------------------------------------ one subscriber


def parse_attributes(text: str) -> dict:
    text = (text or "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        where = _("line %(line)s, column %(column)s", line=exc.lineno, column=exc.colno)
        raise ValidationError(
            {
                "attributes": _(
                    "Not valid JSON: %(reason)s (%(where)s).", reason=exc.msg, where=where
                )
            }
        ) from exc
    if not isinstance(value, dict):
        raise ValidationError({"attributes": _('Attributes must be a JSON object: {"key": …}.')})
    return value


def _clean_email(raw: str) -> str:
    try:
        return normalize_email(raw or "")
    except InvalidEmail as exc:
        raise ValidationError(
            {"email": _("Not a valid address: %(reason)s.", reason=exc.reason)}
        ) from exc


def add_subscriber(list_id: int, form: dict) -> Subscriber:
    errors: dict[str, str] = {}
    taken: list[str] = []
    try:
        email = _clean_email(form.get("email", ""))
        if db.session.scalar(select(Subscriber.id).filter_by(list_id=list_id, email=email)):
            errors["email"] = _("This address is already on the list.")
            taken.append("email")
    except ValidationError as exc:
        errors.update(exc.errors)
    try:
        attributes = parse_attributes(form.get("attributes", ""))
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors, conflicts=taken)
    subscriber = Subscriber(list_id=list_id, email=email, attributes=attributes, **_names(form))
    db.session.add(subscriber)
    db.session.commit()
    return subscriber


def update_subscriber(subscriber: Subscriber, form: dict) -> None:
    attributes = parse_attributes(form.get("attributes", ""))
    for key, value in _names(form).items():
        setattr(subscriber, key, value)
    subscriber.attributes = attributes
    status = form.get("status")
    if status and status != subscriber.status:
        set_status(subscriber, status)
    db.session.commit()


def set_status(subscriber: Subscriber, status: str) -> None:
    if status not in {s.value for s in SubscriberStatus}:
        raise ValidationError({"status": _("Unknown status.")})
    subscriber.status = status
    subscriber.unsubscribed_at = utcnow() if status == SubscriberStatus.UNSUBSCRIBED else None
    db.session.commit()


def delete_subscriber(subscriber: Subscriber) -> None:
    db.session.delete(subscriber)
    db.session.commit()


def _names(form: dict) -> dict[str, str | None]:
    def clean(key: str, limit: int) -> str | None:
        value = (form.get(key) or "").strip()
        return value[:limit] or None

    return {
        "first_name": clean("first_name", 100),
        "last_name": clean("last_name", 100),
        "name": clean("name", 200),
    }


def attribute_names(limit: int = 200) -> set[str]:
    """Attribute keys in use (from a sample of recent subscribers), for template checks."""
    names: set[str] = set()
    rows = db.session.scalars(
        select(Subscriber.attributes).order_by(Subscriber.id.desc()).limit(limit)
    )
    for attributes in rows:
        if isinstance(attributes, dict):
            names.update(attributes)
    return names


# ------------------------------------------------------------------ API reads (cursor pages)


def subscribers_query(list_id: int, email: str = "", status: str = "") -> Select:
    """A list's subscribers whose address contains ``email``, with ``status`` if given.

    Unordered: the caller pages it by id (api.core.paginate)."""
    stmt = select(Subscriber).where(Subscriber.list_id == list_id)
    email = (email or "").strip().lower()
    if email:
        escaped = email.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Subscriber.email.like(f"%{escaped}%", escape="\\"))
    if status:
        stmt = stmt.where(Subscriber.status == status)
    return stmt


def counts_by_list(list_ids: list[int]) -> dict[int, dict[str, int]]:
    """list id -> {status: subscribers} for these lists, in one grouped query."""
    counts: dict[int, dict[str, int]] = {list_id: {} for list_id in list_ids}
    if not list_ids:
        return counts
    rows = db.session.execute(
        select(Subscriber.list_id, Subscriber.status, func.count())
        .where(Subscriber.list_id.in_(list_ids))
        .group_by(Subscriber.list_id, Subscriber.status)
    )
    for list_id, status, n in rows:
        counts[list_id][status] = n
    return counts
