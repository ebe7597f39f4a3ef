"""Encryption at rest for provider secrets (Fernet, key from ``app.config["ENCRYPTION_KEY"]``).

A channel's secret fields are stored together as ONE token: the JSON of ``{field: value}``
encrypted with Fernet (AES-128-CBC + HMAC-SHA256, timestamped). ``ENCRYPTION_KEY`` may list
several keys separated by commas, newest first: new tokens use the first, any of them decrypts,
so a key can be rotated without losing the stored secrets.

Nothing here logs or repeats a plaintext or a token in an error text.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

__all__ = ["SecretsUnreadable", "decrypt_json", "encrypt_json"]


class SecretsUnreadable(Exception):
    """The stored token does not decrypt with the configured key(s)."""


def _fernet() -> MultiFernet:
    raw = current_app.config["ENCRYPTION_KEY"] or ""
    keys = [k.strip() for k in str(raw).split(",") if k.strip()]
    if not keys:
        raise RuntimeError("ENCRYPTION_KEY is not configured.")
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError:
        # Fernet's own message is harmless, but keep the key out of any traceback text.
        raise RuntimeError(
            "ENCRYPTION_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes)."
        ) from None


def encrypt_json(data: dict[str, Any]) -> str:
    """One Fernet token (text) holding ``data`` as JSON."""
    payload = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return _fernet().encrypt(payload).decode("ascii")


def decrypt_json(token: str | None) -> dict[str, Any]:
    """The dict inside a token from :func:`encrypt_json`; ``{}`` for no token."""
    if not token:
        return {}
    try:
        data = json.loads(_fernet().decrypt(token.encode("ascii")))
    except (InvalidToken, ValueError, UnicodeError):
        raise SecretsUnreadable(
            "The stored secrets cannot be decrypted with the configured ENCRYPTION_KEY; "
            "enter them again."
        ) from None
    if not isinstance(data, dict):
        raise SecretsUnreadable("The stored secrets are damaged; enter them again.")
    return data
