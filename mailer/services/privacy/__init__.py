"""GDPR for one person (an address): export everything Mailer holds on them as JSON, or erase
it everywhere while campaign figures stay (rows they are counted from are anonymised, not
deleted). An erasure is logged with who and when, never whom; the address's keyed hash keeps
imports and the API from adding it back (lib/erased.py). Sources: privacy/sources.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from mailer.extensions import db
from mailer.lib import erased
from mailer.lib.emails import InvalidEmail, normalize_email
from mailer.lib.errors import ValidationError
from mailer.models import Erasure
from mailer.models.base import utcnow
from mailer.services.privacy.sources import SOURCES, Footprint, find, iso, register

__all__ = ["SOURCES", "Actor", "clean_address", "erase", "export", "iso", "register"]


@dataclass(frozen=True)
class Actor:
    """Who asked: a user, an API key, or the person themselves (a confirmed emailed link)."""

    kind: str  # "user" | "api_key" | "self"
    user_id: int | None = None
    api_key_id: int | None = None


def clean_address(raw: str) -> str:
    try:
        return normalize_email(raw or "")
    except InvalidEmail as exc:
        raise ValidationError(
            {"email": _("Not a valid address: %(reason)s.", reason=exc.reason)}
        ) from exc


def export(email: str, *, for_person: bool = False) -> dict:
    """Every record of every registered source for this address."""
    fp = find(Footprint(clean_address(email), for_person=for_person))
    data: dict = {"email": fp.email, "exported_at": iso(utcnow())}
    for name, source in SOURCES.items():
        if source.collect is not None:
            data[name] = source.collect(fp)
    return data


def erase(email: str, actor: Actor) -> Erasure:
    """Erase the address everywhere, source by source (each commits in steps), then log it."""
    fp = find(Footprint(clean_address(email)))
    counts: dict[str, int] = {}
    erased.remember(fp.email)  # first: an import running meanwhile already refuses it
    db.session.commit()
    for name, source in SOURCES.items():
        if source.erase is not None:
            counts[name] = source.erase(fp)
    record = Erasure(
        erased_at=utcnow(),
        actor_kind=actor.kind,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        counts=counts,
    )
    db.session.add(record)
    db.session.commit()
    return record
