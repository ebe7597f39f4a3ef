"""Login throttling: repeated failures for one account or one IP are refused for a while.

Counters live in Redis so every web process shares them; each key expires with its window.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from mailer.queue import get_redis

# An office behind one NAT shares an IP, so the per-IP allowance is larger.
IP_FACTOR = 4


@dataclass(frozen=True)
class Verdict:
    blocked: bool
    retry_after: int = 0


def _keys(email: str, ip: str) -> tuple[str, str]:
    return f"login:fail:acct:{email.strip().lower()}", f"login:fail:ip:{ip}"


def check(email: str, ip: str) -> Verdict:
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    acct_key, ip_key = _keys(email, ip)
    r = get_redis()
    pipe = r.pipeline()
    pipe.get(acct_key)
    pipe.ttl(acct_key)
    pipe.get(ip_key)
    pipe.ttl(ip_key)
    acct, acct_ttl, by_ip, ip_ttl = pipe.execute()
    waits = []
    if acct and int(acct) >= limit:
        waits.append(acct_ttl)
    if by_ip and int(by_ip) >= limit * IP_FACTOR:
        waits.append(ip_ttl)
    if waits:
        return Verdict(True, max(1, max(waits)))
    return Verdict(False)


def record_failure(email: str, ip: str) -> None:
    window = current_app.config["LOGIN_FAILURE_WINDOW"]
    pipe = get_redis().pipeline()
    for key in _keys(email, ip):
        pipe.set(key, 0, ex=window, nx=True)  # the window starts at the first failure
        pipe.incr(key)
    pipe.execute()


def reset_account(email: str, ip: str) -> None:
    get_redis().delete(_keys(email, ip)[0])
