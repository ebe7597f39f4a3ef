"""Erased addresses: a keyed hash (HMAC-SHA256, key from SECRET_KEY) is all Mailer keeps of a
person it erased, so an import or the API can refuse the address without storing it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import delete, select

from mailer.extensions import db
from mailer.models import ErasedAddress
from mailer.models.base import utcnow


def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hashlib.sha256(b"mailer-erased-address:" + secret).digest()


def address_hash(email: str, key: bytes | None = None) -> str:
    return hmac.new(key or _key(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def refusing() -> bool:
    """Whether re-adding an erased address is refused (MAILER_ERASED_REFUSE_READD)."""
    return bool(current_app.config["MAILER_ERASED_REFUSE_READD"])


def erased_among(emails: Iterable[str], conn=None) -> set[str]:
    """The given addresses that were erased (empty when the setting is off)."""
    if not refusing():
        return set()
    key = _key()
    by_hash = {address_hash(e, key): e for e in emails}
    if not by_hash:
        return set()
    query = select(ErasedAddress.address_hash).where(ErasedAddress.address_hash.in_(by_hash))
    found = (conn or db.session).execute(query).scalars()
    return {by_hash[h] for h in found}


def any_erased(conn=None) -> bool:
    """Whether any address was ever erased: lets bulk paths skip hashing altogether."""
    if not refusing():
        return False
    return (conn or db.session).execute(select(ErasedAddress.id).limit(1)).first() is not None


def remember(email: str) -> None:
    """Keep the hash of an erased address (uncommitted)."""
    digest = address_hash(email)
    if db.session.scalar(select(ErasedAddress.id).where(ErasedAddress.address_hash == digest)):
        return
    db.session.add(ErasedAddress(address_hash=digest, erased_at=utcnow()))


def forget(email: str) -> bool:
    """Fresh consent (e.g. a confirmed signup): the address may be added again. Uncommitted."""
    digest = address_hash(email)
    result = db.session.execute(delete(ErasedAddress).where(ErasedAddress.address_hash == digest))
    return bool(result.rowcount)
