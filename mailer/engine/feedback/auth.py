"""HTTP credentials for providers that do not sign their webhooks (Mailjet, Brevo): the
request must carry the basic-auth user and password, or the bearer token, configured on the
channel. Compared in constant time; nothing configured means nothing is accepted."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping

from mailer.engine.feedback.base import ChannelConfig, Rejected

USER_SETTING = "webhook_username"
PASSWORD_SETTING = "webhook_password"  # noqa: S105 - a field name
TOKEN_SETTING = "webhook_bearer_token"  # noqa: S105 - a field name


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def check(headers: Mapping[str, str], config: ChannelConfig, *, bearer: bool = False) -> None:
    user, password = config.get(USER_SETTING), config.get(PASSWORD_SETTING)
    token = config.get(TOKEN_SETTING) if bearer else ""
    if not (user and password) and not token:
        raise Rejected("no webhook credentials configured on the channel")
    header = headers.get("Authorization") or ""
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and token:
        if _same(value.strip(), token):
            return
        raise Rejected("wrong bearer token")
    if scheme == "basic" and user and password:
        try:
            given = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, ValueError):
            raise Rejected("malformed basic credentials") from None
        given_user, _, given_password = given.partition(":")
        # Both compared, always: no early exit that would time the user name.
        ok_user = _same(given_user, user)
        ok_password = _same(given_password, password)
        if ok_user and ok_password:
            return
        raise Rejected("wrong credentials")
    raise Rejected("no credentials in the request")
