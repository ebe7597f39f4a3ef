"""Login throttling: counters in Redis, shared by every web process, reserved before checking.

An attempt first takes one unit from each of its counters in one Lua script; past a limit it
takes none and is refused, so parallel attempts can never check more passwords than the limit.
A success forgets the account's counters and gives its unit back to the address's counter,
which therefore counts failures only. Counters expire with their window. See README "Roles".
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

from flask import current_app

from mailer.queue import lua_script

# An office behind one NAT shares an IP, so the per-IP allowance is larger.
IP_FACTOR = 4

# KEYS: counters; ARGV[1]: window (s), ARGV[i + 1]: limit of KEYS[i]. Takes a unit from each
# counter, or from none when one is past its limit: then returns the seconds to wait.
_RESERVE = """
local wait = 0
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  local ttl = redis.call('TTL', key)
  if ttl < 0 then
    ttl = tonumber(ARGV[1])
    redis.call('EXPIRE', key, ttl)
  end
  if n > tonumber(ARGV[i + 1]) then wait = math.max(wait, ttl, 1) end
end
if wait > 0 then
  for _, key in ipairs(KEYS) do redis.call('DECR', key) end
end
return wait
"""

# KEYS[1..ARGV[1]]: counters to forget; the rest: counters given their unit back.
_RELEASE = """
for i, key in ipairs(KEYS) do
  if i <= tonumber(ARGV[1]) then
    redis.call('DEL', key)
  elseif (tonumber(redis.call('GET', key)) or 0) > 0 then
    redis.call('DECR', key)
  end
end
return 1
"""


@dataclass(frozen=True)
class Attempt:
    """The counters one login attempt holds a unit of; `retry_after` > 0 when refused."""

    forget: tuple[str, ...]  # the account's counters: cleared by a success
    give_back: tuple[str, ...]  # the address's counter: a success is not a failure
    retry_after: int = 0

    @property
    def refused(self) -> bool:
        return self.retry_after > 0


def normalise(login: str) -> str:
    """One form for every case and accent variant of what was typed (`ÁdmÍn` -> `admin`)."""
    decomposed = unicodedata.normalize("NFKD", login.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]  # no addresses in Redis keys


def reserve(typed: str, user_id: int | None, ip: str, device: str | None = None) -> Attempt:
    """Take a unit for this attempt before its password is checked.

    `device`: the nonce of a trusted-device cookie for the account found. Such an attempt counts
    on that device alone, so neither a locked account nor a locked address blocks its owner.
    """
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    if device:
        forget, limits = (f"login:dev:{_digest(device)}",), [limit]
        give_back: tuple[str, ...] = ()
    else:
        forget = (f"login:typed:{_digest(normalise(typed))}",)
        if user_id is not None:
            forget += (f"login:acct:{user_id}",)
        give_back = (f"login:ip:{ip}",)
        limits = [limit] * len(forget) + [limit * IP_FACTOR]
    keys = forget + give_back
    window = current_app.config["LOGIN_FAILURE_WINDOW"]
    wait = lua_script(_RESERVE)(keys=keys, args=[window, *limits])
    return Attempt(forget, give_back, int(wait))


def succeeded(attempt: Attempt) -> None:
    keys = attempt.forget + attempt.give_back
    lua_script(_RELEASE)(keys=keys, args=[len(attempt.forget)])
