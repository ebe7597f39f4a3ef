"""The global suppression list: addresses Mailer never mails again."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, func, select

from mailer.extensions import db
from mailer.lib import dbutil
from mailer.lib.emails import InvalidEmail, normalize_email
from mailer.lib.errors import ValidationError
from mailer.models import Suppression, SuppressionReason
from mailer.models.base import utcnow

PAGE_SIZE = 50


def suppress(emails: Iterable[str], reason: SuppressionReason | str, source: str = "") -> int:
    """Add addresses (already normalised), keeping existing entries; returns how many were new."""
    emails = list(dict.fromkeys(emails))
    if not emails:
        return 0
    known = set(db.session.scalars(select(Suppression.email).where(Suppression.email.in_(emails))))
    fresh = [e for e in emails if e not in known]
    if fresh:
        now = utcnow()
        rows = [
            {"email": e, "reason": str(reason), "source": source[:200], "created_at": now}
            for e in fresh
        ]
        db.session.connection().execute(
            dbutil.insert_ignore(Suppression.__table__, ["email"]), rows
        )
    db.session.commit()
    return len(fresh)


def add_manual(raw: str, source: str) -> Suppression:
    try:
        email = normalize_email(raw or "")
    except InvalidEmail as exc:
        raise ValidationError({"email": f"Not a valid address: {exc.reason}."}) from exc
    if is_suppressed(email):
        raise ValidationError({"email": "This address is already suppressed."})
    suppress([email], SuppressionReason.MANUAL, source)
    return db.session.scalar(select(Suppression).filter_by(email=email))


def remove(suppression: Suppression) -> None:
    db.session.delete(suppression)
    db.session.commit()


def is_suppressed(email: str) -> bool:
    return db.session.scalar(select(Suppression.id).filter_by(email=email)) is not None


def search(query: str = "", reason: str = "", page: int = 1):
    conditions = []
    if query.strip():
        conditions.append(Suppression.email.like(f"%{query.strip().lower()}%"))
    if reason:
        conditions.append(Suppression.reason == reason)
    total = db.session.scalar(select(func.count()).select_from(Suppression).where(*conditions))
    pages = max(1, -(-(total or 0) // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = db.session.scalars(
        select(Suppression)
        .where(*conditions)
        .order_by(Suppression.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return rows, total or 0, page, pages


def query(search_text: str = "", reason: str = "") -> Select:
    """Suppressions whose address contains ``search_text``, with ``reason`` if given.

    Unordered: the caller pages it by id (api.core.paginate)."""
    stmt = select(Suppression)
    text = search_text.strip().lower()
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Suppression.email.like(f"%{escaped}%", escape="\\"))
    if reason:
        stmt = stmt.where(Suppression.reason == reason)
    return stmt


def find(raw: str) -> Suppression | None:
    """The entry for an address written in any case or form; None when it is not suppressed."""
    try:
        email = normalize_email(raw or "")
    except InvalidEmail:
        return None
    return db.session.scalar(select(Suppression).filter_by(email=email))
