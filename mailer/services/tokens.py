"""Tracking tokens: unguessable, signed from a send's id, checked without a database read.

A token is "<kind><id in base 36>.<signature>", the signature being 16 bytes of
HMAC-SHA256(secret, kind+id) in URL-safe base64. Signing instead of storing a random token keeps
launch set-based (no per-row random value to generate in SQL), lets a tracking hit validate its
token before touching any storage, and still cannot be guessed or enumerated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from flask import current_app

CAMPAIGN_SEND = "c"
MESSAGE = "m"
KINDS = (CAMPAIGN_SEND, MESSAGE)
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hashlib.sha256(b"mailer-tracking-token:" + secret).digest()


def _b36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _ALPHABET[r] + out
        if not n:
            return out


def _sign(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make(kind: str, ident: int, key: bytes | None = None) -> str:
    body = f"{kind}{_b36(ident)}"
    return f"{body}.{_sign(key or _key(), body)}"


def signer():
    """A fast token maker for a batch (the key derived once)."""
    key = _key()
    return lambda kind, ident: make(kind, ident, key)


def parse(token: str) -> tuple[str, int] | None:
    """(kind, id) for a genuine token, None for anything else."""
    if not token or len(token) > 64 or "." not in token:
        return None
    body, _, signature = token.partition(".")
    if len(body) < 2 or body[0] not in KINDS:
        return None
    try:
        ident = int(body[1:], 36)
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _sign(_key(), body)):
        return None
    return body[0], ident
