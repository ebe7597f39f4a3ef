"""The global suppression list: addresses Mailer never mails again."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from mailer.extensions import db
from mailer.lib import dbutil
from mailer.lib.emails import InvalidEmail, normalize_email
from mailer.lib.errors import ValidationError
from mailer.models import Campaign, Suppression, SuppressionReason
from mailer.models.base import utcnow

PAGE_SIZE = 50
REASON_NAMES = {
    "unsubscribed": _l("unsubscribed"),
    "hard_bounce": _l("address does not exist (hard bounce)"),
    "soft_bounces": _l("mailbox kept refusing mail (repeated soft bounces)"),
    "complaint": _l("marked as spam"),
    "manual": _l("added by hand"),
    "import": _l("imported blocklist"),
}
# How sources are written (unsubscribe, feedback, imports, the page): "campaign 12",
# "brevo feedback, campaign 12", "brevo feedback, message 7", "import 3: file.csv", "added by …"
_SOURCE = re.compile(
    r"(?:(?P<provider>\w+) feedback, )?(?:campaign (?P<campaign>\d+)|message (?P<message>\d+))"
    r"|import (?P<import_id>\d+): (?P<file>.*)|added by (?P<by>.*)",
    re.S,
)


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


def reason_name(reason: str) -> str:
    return str(REASON_NAMES.get(reason, reason.replace("_", " ")))


def source_labels(rows: Sequence[Suppression]) -> dict[int, str]:
    """Each row's source in the reader's words, with campaigns named (one query per page)."""
    found = {row.id: _SOURCE.fullmatch(row.source or "") for row in rows}
    ids = {int(m["campaign"]) for m in found.values() if m and m["campaign"]}
    names = dict(
        db.session.execute(select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids))).all()
        if ids
        else []
    )
    labels = {}
    for row in rows:
        m = found[row.id]
        if m is None:
            labels[row.id] = row.source
        elif m["campaign"]:
            name = names.get(int(m["campaign"]))
            label = _("campaign “%(name)s”", name=name) if name else _("a deleted campaign")
            labels[row.id] = (
                _("%(provider)s report, %(what)s", provider=m["provider"], what=label)
                if m["provider"]
                else label
            )
        elif m["message"]:
            labels[row.id] = _(
                "%(provider)s report on a transactional email", provider=m["provider"] or "?"
            )
        elif m["file"] is not None:
            labels[row.id] = _("import of %(file)s", file=m["file"])
        else:
            labels[row.id] = _("added by %(email)s", email=m["by"])
    return labels


def add_manual(raw: str, source: str) -> Suppression:
    try:
        email = normalize_email(raw or "")
    except InvalidEmail as exc:
        raise ValidationError(
            {"email": _("Not a valid address: %(reason)s.", reason=exc.reason)}
        ) from exc
    if is_suppressed(email):
        raise ValidationError({"email": _("This address is already suppressed.")}, ["email"])
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
