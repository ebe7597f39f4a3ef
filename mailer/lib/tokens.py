"""Tracking tokens: unguessable, signed from a send's id, checked without a database read.

A token is "<kind><id in base 36>.<signature>" (16 bytes of HMAC-SHA256 over kind and id,
URL-safe base64). A click link's last segment is "<link id>-<mac>" (8 bytes of keyed BLAKE2s
over the token and the link id), so a token reaches only the links of its own message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable

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


# ------------------------------------------------------------------ click links

_LINK = re.compile(r"([0-9]{1,19})(?:-([0-9a-f]{16}))?")


def link_key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hashlib.sha256(b"mailer-click-link:" + secret).digest()


def link_mac(key: bytes, token: str, link_id: int) -> str:
    """The MAC binding a link id to a token (``key`` from :func:`link_key`)."""
    return link_signer(key, token)(link_id)


def link_signer(key: bytes, token: str) -> Callable[[int], str]:
    """:func:`link_mac` for one token's links, the token hashed once (the send path)."""
    state = hashlib.blake2s(f"{token}/".encode(), key=key, digest_size=8)

    def sign(link_id: int) -> str:
        mac = state.copy()
        mac.update(b"%d" % link_id)
        return mac.hexdigest()

    return sign


def parse_link(token: str, segment: str) -> tuple[int, bool] | None:
    """(link id, signed) of a click URL's last segment for a genuine ``token``: signed for
    "<id>-<mac>" with the right MAC, unsigned for a bare "<id>" (mail sent before links were
    signed: the caller must prove the link was in the message), None for anything else."""
    match = _LINK.fullmatch(segment)
    if match is None:
        return None
    link_id = int(match[1])
    if match[2] is None:
        return link_id, False
    if not hmac.compare_digest(match[2], link_mac(link_key(), token, link_id)):
        return None
    return link_id, True
