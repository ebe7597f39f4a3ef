"""The preference centre: a recipient, through their send's signed token and without an
account, sees the public lists they are on, joins or leaves them, corrects their name or
unsubscribes from everything. Changes are committed at once; a running campaign's loop skips a
send whose subscriber row is no longer subscribed (campaign_send/chunks.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update

from mailer.extensions import db
from mailer.lib import tokens
from mailer.models import (
    MailingList,
    Send,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)
from mailer.models.base import utcnow
from mailer.services import suppressions
from mailer.services import unsubscribe as unsubscribe_service

NAME_LIMIT = 100
_SUBSCRIBED = SubscriberStatus.SUBSCRIBED.value
_UNSUBSCRIBED = SubscriberStatus.UNSUBSCRIBED.value


@dataclass(frozen=True)
class PublicList:
    id: int
    name: str  # the public name (the internal name is never shown)
    description: str
    subscribed: bool


@dataclass
class Person:
    """Whom a token names: their address (from the send), lists and name."""

    token: str
    send_id: int
    campaign_id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    locale: str | None = None
    lists: list[PublicList] = field(default_factory=list)
    suppressed: bool = False  # unsubscribed from everything

    @property
    def masked_email(self) -> str:
        return unsubscribe_service.mask_email(self.email)


def send_of(token: str) -> tuple[int, int, str] | None:
    """(send id, campaign id, address) of a genuine campaign token whose send still exists."""
    parsed = tokens.parse(token)
    if parsed is None or parsed[0] != tokens.CAMPAIGN_SEND:
        return None
    row = db.session.execute(
        select(Send.id, Send.campaign_id, Send.email).where(Send.id == parsed[1])
    ).first()
    if row is None or is_erased_placeholder(row.email):
        return None
    return row.id, row.campaign_id, row.email


def is_erased_placeholder(email: str) -> bool:
    return email.endswith("@erased.invalid")


def rows_of(email: str, list_ids: Iterable[int] | None = None) -> list[Subscriber]:
    """The address's subscriber rows (by (list_id, email): no index on the address alone)."""
    ids = list(list_ids) if list_ids is not None else all_list_ids()
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Subscriber)
            .where(Subscriber.list_id.in_(ids), Subscriber.email == email)
            .order_by(Subscriber.id)
        )
    )


def all_list_ids() -> list[int]:
    return list(db.session.scalars(select(MailingList.id)))


def lookup(token: str) -> Person | None:
    found = send_of(token)
    if found is None:
        return None
    send_id, campaign_id, email = found
    rows = rows_of(email)
    by_list = {r.list_id: r for r in rows}
    public = db.session.scalars(
        select(MailingList).where(MailingList.public.is_(True)).order_by(MailingList.id)
    ).all()
    person = Person(token=token, send_id=send_id, campaign_id=campaign_id, email=email)
    for row in rows:
        person.first_name = person.first_name or row.first_name or ""
        person.last_name = person.last_name or row.last_name or ""
        locale = (row.attributes or {}).get("locale") if isinstance(row.attributes, dict) else None
        if isinstance(locale, str) and person.locale is None:
            person.locale = locale
    for mailing_list in public:
        row = by_list.get(mailing_list.id)
        person.lists.append(
            PublicList(
                mailing_list.id,
                mailing_list.public_name or mailing_list.name,
                mailing_list.public_description,
                row is not None and row.status == _SUBSCRIBED,
            )
        )
    person.suppressed = (
        db.session.scalar(
            select(Suppression.id).where(
                Suppression.email == email,
                Suppression.reason == SuppressionReason.UNSUBSCRIBED.value,
            )
        )
        is not None
    )
    return person


def save(person: Person, chosen: set[int], first_name: str, last_name: str) -> None:
    """Apply the form: join the chosen public lists, leave the others, set the name. Joining a
    list lifts an unsubscribe-everything (never a bounce or complaint suppression)."""
    first = (first_name or "").strip()[:NAME_LIMIT] or None
    last = (last_name or "").strip()[:NAME_LIMIT] or None
    now = utcnow()
    public_ids = {entry.id for entry in person.lists}
    rows = {r.list_id: r for r in rows_of(person.email)}
    joined = False
    for list_id in public_ids:
        row = rows.get(list_id)
        if list_id in chosen:
            if row is None:
                row = Subscriber(list_id=list_id, email=person.email, status=_SUBSCRIBED)
                db.session.add(row)
                rows[list_id] = row
                joined = True
            elif row.status != _SUBSCRIBED:
                row.status, row.unsubscribed_at = _SUBSCRIBED, None
                joined = True
        elif row is not None and row.status == _SUBSCRIBED:
            row.status, row.unsubscribed_at = _UNSUBSCRIBED, now
    for row in rows.values():
        row.first_name, row.last_name = first, last
        row.name = " ".join(p for p in (first, last) if p) or None
    if joined:
        db.session.execute(
            delete(Suppression).where(
                Suppression.email == person.email,
                Suppression.reason == SuppressionReason.UNSUBSCRIBED.value,
            )
        )
    db.session.commit()


def unsubscribe_all(person: Person) -> None:
    """Leave every list (public or not) and join the suppression list: no campaign mails the
    address again. The campaign's send records the unsubscribe as its link would."""
    target = unsubscribe_service.lookup(person.token)
    if target is not None:
        unsubscribe_service.unsubscribe(target, reason="")
    ids = [r.id for r in rows_of(person.email)]
    if ids:
        db.session.execute(
            update(Subscriber)
            .where(Subscriber.id.in_(ids), Subscriber.status == _SUBSCRIBED)
            .values(status=_UNSUBSCRIBED, unsubscribed_at=utcnow())
        )
    db.session.commit()
    suppressions.suppress(
        [person.email],
        SuppressionReason.UNSUBSCRIBED,
        f"preference centre, campaign {person.campaign_id}",
    )
