"""Feedback intake: one provider webhook request, verified and stored, then the job kicked.

:func:`receive` finds the channel by its URL token, checks the request with the provider's
scheme and stores the raw body as a ``FeedbackPayload``; nothing else happens in the request.
A refused request leaves only a per-channel counter (:func:`count_rejection`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from sqlalchemy import insert, select

from mailer import dispatch
from mailer.dispatch import KeyedJob
from mailer.engine.feedback import brevo, mailgun, mailjet, sendgrid, ses
from mailer.engine.feedback.base import ChannelConfig, Incoming, Malformed, Rejected, forget
from mailer.extensions import db
from mailer.lib.crypto import SecretsUnreadable, decrypt_json
from mailer.models import Channel, FeedbackPayload
from mailer.models.base import utcnow
from mailer.queue import get_redis

log = logging.getLogger(__name__)

# The provider module that verifies and parses each provider's requests.
PROVIDER_MODULES: dict[str, ModuleType] = {
    "ses": ses,
    "sendgrid": sendgrid,
    "mailgun": mailgun,
    "mailjet": mailjet,
    "brevo": brevo,
}

KICK_KEY = "mailer:feedback:kick"
KICK_TTL = 30  # seconds; refreshed by the running job; a lost job's flag expires by itself
REJECTED_KEY = "mailer:feedback:rejected:{}"

# A stored payload's status.
RECEIVED, PROCESSED, FAILED = "received", "processed", "failed"

FEEDBACK_JOB = KeyedJob(KICK_KEY, KICK_TTL)  # one feedback job drains every payload


class UnknownWebhook(Exception):
    """No channel of that provider has this webhook token: 404."""


def channel_config(channel_id: int, settings: Any, secrets_encrypted: str | None) -> ChannelConfig:
    """Settings and decrypted secrets (unreadable secrets verify nothing: every request is
    refused and counted, which the channel page shows)."""
    try:
        secrets = decrypt_json(secrets_encrypted)
    except SecretsUnreadable:
        secrets = {}
    return ChannelConfig(channel_id, dict(settings or {}), secrets)


def receive(provider: str, token: str, raw: bytes, headers: Mapping[str, str]) -> int:
    """Verify and store one webhook request; returns the payload id.

    Raises UnknownWebhook (404), Malformed (400) or Rejected (403, counted per channel).
    """
    module = PROVIDER_MODULES.get(provider)
    if module is None or not token or len(token) > 64:
        raise UnknownWebhook(provider)
    row = db.session.execute(
        select(Channel.id, Channel.provider, Channel.settings, Channel.secrets_encrypted).where(
            Channel.webhook_token == token
        )
    ).first()
    if row is None or row.provider != provider:
        raise UnknownWebhook(provider)
    try:
        body = raw.decode("utf-8")
        doc = json.loads(body)
    except ValueError:  # UnicodeDecodeError is a ValueError
        raise Malformed("the body is not JSON") from None
    config = channel_config(row.id, row.settings, row.secrets_encrypted)
    try:
        meta = module.verify(Incoming(raw, headers, doc), config)
    except Rejected as exc:
        count_rejection(row.id, str(exc))
        raise
    stored_meta = {k: v for k, v in meta.items() if k != "replay_key"}
    try:
        # Core, not the ORM: one INSERT, no object to load back after the commit.
        payload_id = db.session.execute(
            insert(FeedbackPayload).values(
                channel_id=row.id,
                provider=provider,
                source="webhook",
                body=body,
                meta=stored_meta,
                status=RECEIVED,
                events=0,
                unmatched=[],
                received_at=utcnow(),
            )
        ).inserted_primary_key[0]
        db.session.commit()
    except BaseException:
        db.session.rollback()
        forget(meta)
        raise
    kick()
    return payload_id


def count_rejection(channel_id: int, reason: str) -> None:
    """The one trace a refused request leaves: a counter and the last reason (ours, no data
    from the request)."""
    redis = get_redis()
    key = REJECTED_KEY.format(channel_id)
    pipe = redis.pipeline(transaction=False)
    pipe.incr(key)
    pipe.set(
        key + ":last",
        json.dumps({"at": utcnow().isoformat(timespec="seconds"), "reason": reason[:200]}),
    )
    pipe.execute()
    log.info("Feedback webhook for channel %s refused: %s", channel_id, reason)


def rejections(channel_id: int) -> tuple[int, dict | None]:
    """How many requests the channel's webhook refused, and the last refusal."""
    redis = get_redis()
    key = REJECTED_KEY.format(channel_id)
    count, last = redis.mget(key, key + ":last")
    return int(count or 0), (json.loads(last) if last else None)


def kick() -> None:
    """Make sure a feedback job will run: a burst of webhooks enqueues one job."""
    FEEDBACK_JOB.wake(dispatch.process_feedback)
