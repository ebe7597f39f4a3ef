"""API keys for client apps: created by admins, shown once, stored as SHA-256, revocable.

A key looks like ``mk_3f9a1c2b_<43 url-safe characters>``. Its first 11 characters are the
visible prefix that tells keys apart in the UI and in logs; only the SHA-256 of the whole key is
stored, so a leaked database holds no usable key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from mailer.extensions import db
from mailer.models import ApiIdempotency, ApiKey, User
from mailer.models.base import utcnow
from mailer.queue import get_redis
from mailer.services.errors import ValidationError

SCOPES = {
    "send": "Send transactional messages and read their status",
    "campaigns": "Create and run campaigns; manage templates, lists, subscribers, suppressions",
    "read": "Read everything: campaigns, messages, lists, events, stats",
    "admin": "Everything above",
}
PREFIX_LENGTH = 11  # "mk_" + 8 hex characters
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute
IDEMPOTENCY_TTL = timedelta(hours=24)  # how long a repeated request gets the first answer


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    plaintext: str  # shown once, never stored


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create(
    name: str, scopes: list[str], created_by: User | None, rate_limit: int | None = None
) -> CreatedKey:
    errors = {}
    name = name.strip()
    if not name:
        errors["name"] = "Give the key a name, e.g. the app that will use it."
    elif len(name) > 120:
        errors["name"] = "Keep the name under 120 characters."
    unknown = sorted(set(scopes) - SCOPES.keys())
    if unknown:
        errors["scopes"] = f"Unknown scope: {', '.join(unknown)}."
    elif not scopes:
        errors["scopes"] = "Choose at least one scope."
    if rate_limit is not None and rate_limit < 1:
        errors["rate_limit"] = "The rate limit is a number of requests per minute, at least 1."
    if errors:
        raise ValidationError(errors)
    plaintext = f"mk_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name,
        prefix=plaintext[:PREFIX_LENGTH],
        key_hash=hash_key(plaintext),
        scopes=sorted(set(scopes)),
        created_by_id=created_by.id if created_by else None,
        rate_limit_per_minute=rate_limit,
    )
    db.session.add(key)
    db.session.commit()
    return CreatedKey(key, plaintext)


def authenticate(plaintext: str) -> ApiKey | None:
    """The active key with this secret, or None. Records when it was last used."""
    if not plaintext.startswith("mk_") or len(plaintext) > 200:
        return None
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == hash_key(plaintext)))
    if key is None or not key.active:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        db.session.execute(sa.update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        db.session.commit()
    return key


def revoke(key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.session.commit()


def all_keys() -> list[ApiKey]:
    return list(
        db.session.scalars(
            sa.select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())
        )
    )


def take_request(key: ApiKey) -> float | None:
    """Count one request against the key's per-minute limit: None if allowed, else the
    seconds until the current minute's window ends (for Retry-After)."""
    limit = key.rate_limit_per_minute or current_app.config["MAILER_API_RATE_LIMIT"]
    now = utcnow().timestamp()
    window = int(now // 60)
    name = f"api-rate:{key.id}:{window}"
    pipe = get_redis().pipeline(transaction=False)
    pipe.incr(name)
    pipe.expire(name, 120)
    used, _ = pipe.execute()
    if used <= limit:
        return None
    return max(1.0, (window + 1) * 60 - now)


def purge_idempotency() -> int:
    """Forget stored answers older than IDEMPOTENCY_TTL (run by the minute tick)."""
    result = db.session.execute(
        sa.delete(ApiIdempotency).where(ApiIdempotency.created_at < utcnow() - IDEMPOTENCY_TTL)
    )
    db.session.commit()
    return result.rowcount
