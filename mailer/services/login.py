"""Checking a login: the exact account, the throttle, and trusted-device cookies.

A browser that logged in to an account gets a signed device cookie naming that account; its
later attempts for that account count on their own (see throttle.reserve), so an attacker who
locks an account or a shared address does not lock out the account's owner.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from mailer.extensions import db
from mailer.lib import throttle
from mailer.models import User
from mailer.models.base import utcnow

DEVICE_COOKIE = "mailer_device"


@dataclass(frozen=True)
class LoginResult:
    user: User | None = None  # set when the password was right
    retry_after: int = 0  # > 0: refused unchecked, too many failures
    device_cookie: str | None = None  # to set on the browser after a success


def find_user(email: str) -> User | None:
    """The account with exactly this address (lower-cased as stored).

    MariaDB's collation matches `ádmín@…` to `admin@…`: such a variant must not log in.
    """
    email = email.strip().lower()
    user = db.session.scalar(db.select(User).filter_by(email=email))
    return user if user is not None and user.email == email else None


def authenticate(email: str, password: str, ip: str, device_cookie: str | None) -> LoginResult:
    user = find_user(email)
    device = _trusted_device(device_cookie, user)
    attempt = throttle.reserve(email, user.id if user else None, ip, device)
    if attempt.refused:
        return LoginResult(retry_after=attempt.retry_after)
    if user is None or not user.active or not user.check_password(password):
        return LoginResult()  # the failure stays counted
    throttle.succeeded(attempt)
    user.last_login_at = utcnow()
    if not user.session_token:  # a row written outside the app
        user.rotate_session_token()
    db.session.commit()
    device = _serializer().dumps([user.id, secrets.token_hex(16)])
    return LoginResult(user=user, device_cookie=device)


def device_cookie_max_age() -> int:
    return current_app.config["LOGIN_DEVICE_DAYS"] * 86400


def _trusted_device(cookie: str | None, user: User | None) -> str | None:
    """The cookie's nonce when it was issued to this browser for `user`."""
    if not cookie or user is None:
        return None
    try:
        user_id, nonce = _serializer().loads(cookie, max_age=device_cookie_max_age())
    except (BadData, TypeError, ValueError):
        return None
    return str(nonce) if user_id == user.id else None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="mailer.login-device")
