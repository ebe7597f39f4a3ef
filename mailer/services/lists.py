"""Lists and their subscribers: create, rename, delete, browse, edit one subscriber."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Select, delete, func, or_, select

from mailer.extensions import db
from mailer.lib import erased
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


def ERASED_REFUSAL() -> str:  # noqa: N802 - reads as the message it is
    return _(
        "This person's data was erased at their request: the address can only come back "
        "through their own signup."
    )


def set_public(mailing_list: MailingList, public: bool, name: str, description: str) -> None:
    """How the list shows in the preference centre (issue 20): a public list needs a public
    name, since its internal name is never shown to subscribers."""
    name, description = (name or "").strip(), (description or "").strip()
    if public and not name:
        raise ValidationError({"public_name": _("Give the name people will see.")})
    if len(name) > 200:
        raise ValidationError({"public_name": _("Use at most %(n)s characters.", n=200)})
    mailing_list.public = public
    mailing_list.public_name = name
    mailing_list.public_description = description[:500]
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
    """A keyset page: ``older``/``newer`` are the ids to page from (None: no such page)."""

    rows: list[tuple[Subscriber, bool]]  # (subscriber, suppressed)
    older: int | None
    newer: int | None


def browse(
    list_id: int,
    query: str = "",
    status: str = "",
    before: int | None = None,
    after: int | None = None,
) -> Page:
    """One page of a list's subscribers, newest first, each flagged when suppressed.

    Keyset pages (ids below ``before``, or above ``after``): no OFFSET and no count, so a
    page of a list of millions costs what the first page costs."""
    conditions = [Subscriber.list_id == list_id]
    query = (query or "").strip()
    if query:
        like = (
            "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        conditions.append(
            or_(
                Subscriber.email.like(like, escape="\\"),
                func.lower(Subscriber.first_name).like(like, escape="\\"),
                func.lower(Subscriber.last_name).like(like, escape="\\"),
                func.lower(Subscriber.name).like(like, escape="\\"),
            )
        )
    if status in {s.value for s in SubscriberStatus}:
        conditions.append(Subscriber.status == status)
    stmt = select(Subscriber, Suppression.id.is_not(None)).outerjoin(
        Suppression, Suppression.email == Subscriber.email
    )
    if after is not None:  # going back to newer rows: read upwards, show newest first
        found = db.session.execute(
            stmt.where(*conditions, Subscriber.id > after)
            .order_by(Subscriber.id)
            .limit(PAGE_SIZE + 1)
        ).all()
        more_newer = len(found) > PAGE_SIZE
        rows = [(s, bool(flag)) for s, flag in reversed(found[:PAGE_SIZE])]
        return Page(
            rows, rows[-1][0].id if rows else None, rows[0][0].id if rows and more_newer else None
        )
    if before is not None:
        conditions.append(Subscriber.id < before)
    found = db.session.execute(
        stmt.where(*conditions).order_by(Subscriber.id.desc()).limit(PAGE_SIZE + 1)
    ).all()
    rows = [(s, bool(flag)) for s, flag in found[:PAGE_SIZE]]
    older = rows[-1][0].id if len(found) > PAGE_SIZE else None
    newer = rows[0][0].id if rows and before is not None else None
    return Page(rows, older, newer)


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


def add_subscriber(list_id: int, form: dict, attribute_rows=None) -> Subscriber:
    """Add one subscriber; ``attribute_rows(form)`` reads attributes typed as fields."""
    errors: dict[str, str] = {}
    taken: list[str] = []
    try:
        email = _clean_email(form.get("email", ""))
        if db.session.scalar(select(Subscriber.id).filter_by(list_id=list_id, email=email)):
            errors["email"] = _("This address is already on the list.")
            taken.append("email")
        elif erased.erased_among([email]):
            errors["email"] = ERASED_REFUSAL()
    except ValidationError as exc:
        errors.update(exc.errors)
    try:
        attributes = parse_attributes(form.get("attributes", ""))
        if attribute_rows is not None and "attr_name" in form:
            attributes = attribute_rows(form)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors, conflicts=taken)
    subscriber = Subscriber(list_id=list_id, email=email, attributes=attributes, **_names(form))
    db.session.add(subscriber)
    db.session.commit()
    return subscriber


def update_subscriber(subscriber: Subscriber, form: dict, attributes: dict | None = None) -> None:
    """Save the names, status and attributes (given, or as JSON in the form's "attributes")."""
    if attributes is None:
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
