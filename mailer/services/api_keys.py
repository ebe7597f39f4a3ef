"""API keys for client apps: created by admins, shown once, stored as SHA-256, revocable.

A key looks like ``mk_3f9a1c2b_<43 url-safe characters>``; its first 11 characters are the
visible prefix. Checking a key (every API request) reads a Redis cache entry (:class:`KeyInfo`)
in the same Lua call that counts the request against the key's per-minute limit; only a miss
reads the row. Revoking a key overwrites its cache entry.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_number
from flask_babel import gettext as _

from mailer.extensions import db
from mailer.lib.dbutil import MAX_INT
from mailer.lib.errors import ValidationError
from mailer.lib.i18n import N_
from mailer.models import ApiIdempotency, ApiKey, User
from mailer.models.base import utcnow
from mailer.queue import get_redis, lua_script, thread_redis

SCOPES = {
    "send": N_("Send transactional messages and read their status"),
    "campaigns": N_("Create and run campaigns; manage templates, lists, subscribers, suppressions"),
    "read": N_("Read everything: campaigns, messages, lists, events, stats"),
    "admin": N_("Everything above"),
}
PREFIX_LENGTH = 11  # "mk_" + 8 hex characters
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute
IDEMPOTENCY_TTL = timedelta(hours=24)  # how long a repeated request gets the first answer
CACHE_KEY = "mailer:api-key:v1:{}"  # by SHA-256: KeyInfo as JSON (v: its shape), or REVOKED
CACHE_TTL = 60  # seconds a key's facts are reused without reading its row
REVOKED = b"revoked"
REVOKED_TTL = 10 * CACHE_TTL  # outlives any request that read the row before the revocation
RATE_KEY = "mailer:api-rate:{}:{}"  # by SHA-256 prefix and minute
RATE_KEY_TTL = 120


# The key's cached facts and the request counted in its minute, in one round trip.
_CHECK = """
local facts = redis.call('GET', KEYS[1])
local used = redis.call('INCR', KEYS[2])
if used == 1 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return {facts, used}
"""


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
        errors["name"] = _("Give the key a name, e.g. the app that will use it.")
    elif len(name) > 120:
        errors["name"] = _("Keep the name under 120 characters.")
    unknown = sorted(set(scopes) - SCOPES.keys())
    if unknown:
        errors["scopes"] = _("Unknown scope: %(scopes)s.", scopes=", ".join(unknown))
    elif not scopes:
        errors["scopes"] = _("Choose at least one scope.")
    if rate_limit is not None and not 1 <= rate_limit <= MAX_INT:
        errors["rate_limit"] = _(
            "The limit is a number of requests per minute, from 1 to %(max)s.",
            max=format_number(MAX_INT),
        )
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


@dataclass(frozen=True)
class KeyInfo:
    """What a request needs to know about its key (``g.api_key``), without its row."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    rate_limit_per_minute: int | None = None
    active: bool = True

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    @classmethod
    def of(cls, key: ApiKey) -> KeyInfo:
        return cls(
            key.id, key.name, key.prefix, tuple(key.scopes), key.rate_limit_per_minute, key.active
        )


@dataclass(frozen=True)
class Access:
    """A request's key (None: unknown or revoked) and, when over its limit, the seconds until
    the current minute ends (for Retry-After). ``limit``, ``remaining`` and ``reset`` (seconds
    until the minute ends) are the key's RateLimit headers."""

    key: KeyInfo | None
    retry_after: float | None = None
    limit: int = 0
    remaining: int = 0
    reset: float = 0.0


def check_request(plaintext: str) -> Access:
    """The key sending this request, with the request counted against its per-minute limit:
    one Redis round trip when the key is cached (the usual case), no database query."""
    if not plaintext.startswith("mk_") or len(plaintext) > 200:
        return Access(None)
    digest = hash_key(plaintext)
    now = utcnow().timestamp()
    window = int(now // 60)
    keys = [CACHE_KEY.format(digest), RATE_KEY.format(digest[:32], window)]
    cached, used = lua_script(_CHECK)(keys=keys, args=[RATE_KEY_TTL], client=thread_redis())
    if cached == REVOKED:
        return Access(None)
    key = _from_cache(cached) if cached else _load(digest)
    if key is None:
        return Access(None)
    limit = int(key.rate_limit_per_minute or current_app.config["MAILER_API_RATE_LIMIT"])
    reset = (window + 1) * 60 - now
    counts = {"limit": limit, "remaining": max(0, limit - used), "reset": reset}
    if used <= limit:
        return Access(key, **counts)
    return Access(key, max(1.0, reset), **counts)


def _from_cache(raw: bytes) -> KeyInfo:
    facts = json.loads(raw)
    facts["scopes"] = tuple(facts["scopes"])
    return KeyInfo(**facts)


def _load(digest: str) -> KeyInfo | None:
    """Read the key's row (a cache miss): record when it was last used, cache its facts."""
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == digest))
    if key is None or not key.active:
        return None
    info = KeyInfo.of(key)
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        db.session.execute(sa.update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        db.session.commit()
    facts = {**info.__dict__, "scopes": list(info.scopes)}
    get_redis().set(CACHE_KEY.format(digest), json.dumps(facts), nx=True, ex=CACHE_TTL)
    return info


def revoke(key: ApiKey) -> None:
    """Revoke at once: the next request with this key gets 401, whichever process serves it."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.session.commit()
    get_redis().set(CACHE_KEY.format(key.key_hash), REVOKED, ex=REVOKED_TTL)


def all_keys() -> list[ApiKey]:
    return list(
        db.session.scalars(
            sa.select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())
        )
    )


def purge_idempotency() -> int:
    """Forget stored answers older than IDEMPOTENCY_TTL (run by the minute tick)."""
    result = db.session.execute(
        sa.delete(ApiIdempotency).where(ApiIdempotency.created_at < utcnow() - IDEMPOTENCY_TTL)
    )
    db.session.commit()
    return result.rowcount
