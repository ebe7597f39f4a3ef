"""Sending limits shared by every worker process, as atomic Redis operations.

- rate: a token bucket per channel (messages per second, a quarter second's worth of burst),
- daily: counters per channel and per campaign channel row, keyed by the day in the configured
  time zone, so they roll over at local midnight,
- frequency: the earliest time a row may send its next message.

Each operation is one Lua script, so two workers never take the same token.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from mailer.queue import get_redis

# Token bucket: KEYS[1]=bucket, ARGV: rate/s, capacity, wanted, now_ms.
# Returns {granted, wait_ms}: wait_ms is how long until one more token exists.
_BUCKET = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = capacity; ts = now end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate / 1000.0)
  ts = now
end
local granted = math.min(wanted, math.floor(tokens))
if granted < 0 then granted = 0 end
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 60000)
local wait = 0
if tokens < 1 then wait = math.ceil((1 - tokens) * 1000.0 / rate) end
return {granted, wait}
"""

# Counters with caps: KEYS = counter keys, ARGV = wanted, ttl, then one cap per key (-1: none).
# Grants as many as every cap allows and adds them to every counter.
_CAPPED = """
local wanted = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local granted = wanted
for i, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[2 + i])
  if cap >= 0 then
    local used = tonumber(redis.call('GET', key) or '0')
    granted = math.min(granted, math.max(0, cap - used))
  end
end
if granted > 0 then
  for i, key in ipairs(KEYS) do
    redis.call('INCRBY', key, granted)
    redis.call('EXPIRE', key, ttl)
  end
end
return granted
"""

# Give back unused daily units (a chunk that sent fewer than it reserved).
_REFUND = """
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('DECRBY', key, ARGV[1]) end
end
return 1
"""


def _scripts():
    redis = get_redis()
    cache = current_app.extensions.setdefault("mailer_ratelimit_scripts", {})
    if "bucket" not in cache:
        cache["bucket"] = redis.register_script(_BUCKET)
        cache["capped"] = redis.register_script(_CAPPED)
        cache["refund"] = redis.register_script(_REFUND)
    return cache


def timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("MAILER_TIMEZONE", "UTC"))


def day_key(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone())
    return now.astimezone(timezone()).strftime("%Y%m%d")


def next_midnight(now: datetime | None = None) -> datetime:
    """The next local midnight, as an aware datetime."""
    now = (now or datetime.now(timezone())).astimezone(timezone())
    return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), timezone())


def take_rate(channel_id: int, rate_per_second: float, wanted: int) -> tuple[int, float]:
    """(granted, seconds to wait for the next token) from the channel's bucket."""
    # A quarter second of burst: chunks stay large at high rates while any one-second window
    # holds at most 1.25 x the rate (the bucket's bound: capacity + rate x window).
    capacity = max(1.0, rate_per_second / 4)
    granted, wait_ms = _scripts()["bucket"](
        keys=[f"mailer:rate:ch:{channel_id}"],
        args=[rate_per_second, capacity, wanted, int(time.time() * 1000)],
    )
    return int(granted), int(wait_ms) / 1000


def take_daily(caps: dict[str, int | None], wanted: int, now: datetime | None = None) -> int:
    """Reserve up to `wanted` units under every cap ({name: cap or None}); returns granted."""
    day = day_key(now)
    keys = [f"mailer:daily:{name}:{day}" for name in caps]
    args = [wanted, 2 * 86400, *[-1 if cap is None else cap for cap in caps.values()]]
    return int(_scripts()["capped"](keys=keys, args=args))


def refund_daily(names: list[str], units: int, now: datetime | None = None) -> None:
    if units > 0:
        day = day_key(now)
        _scripts()["refund"](keys=[f"mailer:daily:{n}:{day}" for n in names], args=[units])


def used_today(name: str, now: datetime | None = None) -> int:
    return int(get_redis().get(f"mailer:daily:{name}:{day_key(now)}") or 0)


def frequency_gate(row_id: int, minutes: float) -> float:
    """0 when row `row_id` may send one message now (and books the next slot), else seconds
    to wait. Atomic: SET NX with the interval as expiry."""
    interval_ms = max(1, int(minutes * 60_000))
    key = f"mailer:freq:cc:{row_id}"
    if get_redis().set(key, "1", px=interval_ms, nx=True):
        return 0.0
    return max(0.05, get_redis().pttl(key) / 1000)
