"""Sending limits shared by every worker process, as atomic Redis operations (one Lua script each).

- rate: a token bucket per channel (messages per second, a quarter second's worth of burst),
  with a part of it reserved for transactional mail while some is in flight
  (``MAILER_TRANSACTIONAL_SHARE``);
- daily: counters per channel and per campaign channel row, rolling over at local midnight;
- frequency: the earliest time a row may send its next message.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from mailer.queue import get_redis, lua_script

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

# Campaign side under a transactional reserve: KEYS[1]=channel bucket, KEYS[2]=campaign bucket,
# KEYS[3]=the "transactional active" flag; ARGV: rate, capacity, wanted, now_ms, campaign rate,
# campaign capacity. Without the flag (or with a campaign rate >= rate) only KEYS[1] counts.
# Returns {granted, wait_ms}.
_SHARED = """
local function refill(key, rate, capacity, now)
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1])
  local ts = tonumber(state[2])
  if tokens == nil then tokens = capacity; ts = now end
  if now > ts then
    tokens = math.min(capacity, tokens + (now - ts) * rate / 1000.0)
    ts = now
  end
  return tokens, ts
end
local function store(key, tokens, ts, rate, capacity)
  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(ts))
  redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000) + 60000)
end
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local crate = tonumber(ARGV[5])
local ccapacity = tonumber(ARGV[6])
local tokens, ts = refill(KEYS[1], rate, capacity, now)
local reserved = crate < rate and redis.call('EXISTS', KEYS[3]) == 1
local granted = math.max(0, math.min(wanted, math.floor(tokens)))
local ctokens, cts
if reserved then
  if crate <= 0 then
    return {0, math.max(1, redis.call('PTTL', KEYS[3]))}
  end
  ctokens, cts = refill(KEYS[2], crate, ccapacity, now)
  granted = math.max(0, math.min(granted, math.floor(ctokens)))
end
tokens = tokens - granted
store(KEYS[1], tokens, ts, rate, capacity)
local wait = 0
if tokens < 1 then wait = math.ceil((1 - tokens) * 1000.0 / rate) end
if reserved then
  ctokens = ctokens - granted
  store(KEYS[2], ctokens, cts, crate, ccapacity)
  if ctokens < 1 then wait = math.max(wait, math.ceil((1 - ctokens) * 1000.0 / crate)) end
end
return {granted, wait}
"""

# Give back unused bucket tokens: KEYS[1]=bucket, ARGV: tokens, capacity.
_GIVE_BACK = """
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens'))
if tokens ~= nil then
  tokens = math.min(tonumber(ARGV[2]), tokens + tonumber(ARGV[1]))
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens))
end
return 1
"""

TX_ACTIVE_MS = 2000  # a channel counts as sending transactional mail this long after a take

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


def timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config["MAILER_TIMEZONE"])


def day_key(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone())
    return now.astimezone(timezone()).strftime("%Y%m%d")


def next_midnight(now: datetime | None = None) -> datetime:
    """The next local midnight, as an aware datetime."""
    now = (now or datetime.now(timezone())).astimezone(timezone())
    return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), timezone())


def _capacity(rate_per_second: float) -> float:
    # A quarter second of burst: chunks stay large at high rates while any one-second window
    # holds at most 1.25 x the rate (the bucket's bound: capacity + rate x window).
    return max(1.0, rate_per_second / 4)


def _keys(channel_id: int) -> list[str]:
    return [
        f"mailer:rate:ch:{channel_id}",
        f"mailer:rate:ch:{channel_id}:campaigns",
        f"mailer:rate:ch:{channel_id}:tx-active",
    ]


def transactional_share() -> float:
    share = float(current_app.config["MAILER_TRANSACTIONAL_SHARE"])
    return min(1.0, max(0.0, share))


def take_rate(channel_id: int, rate_per_second: float, wanted: int) -> tuple[int, float]:
    """(granted, seconds to wait for the next token) for campaign mail on the channel.

    While transactional mail is in flight on the channel, campaign mail gets at most
    ``1 - MAILER_TRANSACTIONAL_SHARE`` of the rate (see the module docstring)."""
    campaign_rate = rate_per_second * (1 - transactional_share())
    granted, wait_ms = lua_script(_SHARED)(
        keys=_keys(channel_id),
        args=[
            rate_per_second,
            _capacity(rate_per_second),
            wanted,
            int(time.time() * 1000),
            campaign_rate,
            _capacity(campaign_rate) if campaign_rate > 0 else 1,
        ],
    )
    return int(granted), int(wait_ms) / 1000


def take_rate_transactional(
    channel_id: int, rate_per_second: float, wanted: int
) -> tuple[int, float]:
    """(granted, seconds to wait) for transactional mail: the whole channel bucket, and the
    channel is marked so campaign workers leave the reserved share alone meanwhile."""
    bucket, _, active = _keys(channel_id)
    get_redis().set(active, "1", px=TX_ACTIVE_MS)
    granted, wait_ms = lua_script(_BUCKET)(
        keys=[bucket],
        args=[rate_per_second, _capacity(rate_per_second), wanted, int(time.time() * 1000)],
    )
    return int(granted), int(wait_ms) / 1000


def give_back_rate(channel_id: int, rate_per_second: float, tokens: int) -> None:
    """Return tokens taken but not used (fewer messages were due than were asked for)."""
    if tokens > 0:
        lua_script(_GIVE_BACK)(
            keys=[_keys(channel_id)[0]], args=[tokens, _capacity(rate_per_second)]
        )


def take_daily(caps: dict[str, int | None], wanted: int, now: datetime | None = None) -> int:
    """Reserve up to `wanted` units under every cap ({name: cap or None}); returns granted."""
    day = day_key(now)
    keys = [f"mailer:daily:{name}:{day}" for name in caps]
    args = [wanted, 2 * 86400, *[-1 if cap is None else cap for cap in caps.values()]]
    return int(lua_script(_CAPPED)(keys=keys, args=args))


def refund_daily(names: list[str], units: int, now: datetime | None = None) -> None:
    if units > 0:
        day = day_key(now)
        lua_script(_REFUND)(keys=[f"mailer:daily:{n}:{day}" for n in names], args=[units])


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
