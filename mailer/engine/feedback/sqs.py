"""SES feedback read from an SQS queue, the alternative to the SNS webhook.

``poll`` reads a channel's queue, stores each message as a ``FeedbackPayload`` (source "sqs")
that the feedback job processes like a webhook payload, then deletes it from the queue.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from mailer.engine.feedback import sns
from mailer.engine.feedback.intake import count_rejection
from mailer.extensions import db
from mailer.lib.crypto import SecretsUnreadable, decrypt_json
from mailer.models import Channel, FeedbackPayload

log = logging.getLogger(__name__)

QUEUE_SETTING = "sqs_queue_url"
ENDPOINT_SETTING = "sqs_endpoint_url"
RECEIVE_MAX = 10  # SQS's own limit per ReceiveMessage
STORE_EVERY = 50  # messages stored per commit (then deleted)
POLL_SECONDS = 8.0  # the tick runs every 10 s
WAIT_SECONDS = 1  # long-poll briefly: short polls may miss messages on a few SQS hosts
_QUEUE_REGION = re.compile(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com/")


@dataclass
class PollResult:
    channel_id: int
    received: int = 0
    stored: int = 0
    refused: int = 0
    deleted: int = 0
    delete_failures: int = 0
    errors: list[str] = field(default_factory=list)


def polled_channels() -> list[int]:
    """SES channels with a queue configured (inactive ones too: their mail still bounces)."""
    rows = db.session.execute(select(Channel.id, Channel.settings).where(Channel.provider == "ses"))
    return [r.id for r in rows if (r.settings or {}).get(QUEUE_SETTING)]


def client_for(channel: Channel) -> tuple[Any, str]:
    """(boto3 SQS client, queue URL) for the channel."""
    import boto3
    from botocore.config import Config

    settings = channel.settings or {}
    queue_url = str(settings[QUEUE_SETTING]).strip()
    try:
        secrets = decrypt_json(channel.secrets_encrypted)
    except SecretsUnreadable:
        secrets = {}
    found = _QUEUE_REGION.match(queue_url)
    region = found.group(1) if found else (settings.get("region") or "us-east-1")
    session = boto3.session.Session(
        aws_access_key_id=settings.get("access_key_id") or None,
        aws_secret_access_key=secrets.get("secret_access_key") or None,
        region_name=region,
    )
    client = session.client(
        "sqs",
        endpoint_url=(settings.get(ENDPOINT_SETTING) or None),
        config=Config(
            connect_timeout=5,
            read_timeout=WAIT_SECONDS + 10,
            retries={"mode": "standard", "total_max_attempts": 2},
        ),
    )
    return client, queue_url


def poll(channel_id: int, *, max_seconds: float = POLL_SECONDS, client: Any = None) -> PollResult:
    """Read what the queue holds (for up to ``max_seconds``), store it, then delete it.

    SES publishes to an SNS topic and the topic delivers to an SQS queue: each SQS message is
    the SNS envelope (JSON with ``Type`` and ``Message``), or the SES event itself when the
    subscription has raw message delivery on. Both are stored as they are.

    A message is deleted from the queue only after its payload row committed: a crash in
    between leaves it in the queue, it is read again after its visibility timeout, stored
    again, and the event ids (derived from the SES report itself) make the second copy a
    duplicate that changes nothing. The queue is read with the channel's own AWS credentials
    (IAM grants the trust, so the SNS signature is not re-checked here). An SNS envelope must
    still name a topic configured or confirmed on the channel: one from any other topic is not
    stored, only counted as refused (like a refused webhook), and deleted (:func:`refusal`).
    What is stored only ever matches this channel's sends.
    """
    result = PollResult(channel_id)
    channel = db.session.get(Channel, channel_id)
    if channel is None or not (channel.settings or {}).get(QUEUE_SETTING):
        return result
    made_here = client is None
    if made_here:
        client, queue_url = client_for(channel)
    else:
        queue_url = str(channel.settings[QUEUE_SETTING]).strip()
    settings = channel.settings or {}
    topics = sns.topics_of(settings.get(sns.TOPICS_SETTING)) | sns.confirmed_topics(settings)
    db.session.commit()  # no transaction held across the network calls
    deadline = time.monotonic() + max_seconds
    try:
        while time.monotonic() < deadline:
            batch: dict[str, dict] = {}  # by MessageId: a message seen twice is stored once
            handles: list[str] = []
            while len(batch) < STORE_EVERY and time.monotonic() < deadline:
                resp = client.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=RECEIVE_MAX,
                    WaitTimeSeconds=WAIT_SECONDS if not batch else 0,
                )
                messages = resp.get("Messages") or []
                handles += [m["ReceiptHandle"] for m in messages]
                fresh = [m for m in messages if m.get("MessageId") not in batch]
                if not fresh:
                    break  # empty, or only messages already in hand (a short visibility)
                batch.update((m.get("MessageId") or m["ReceiptHandle"], m) for m in fresh)
            if not batch:
                break
            result.received += len(batch)
            mine = []
            for m in batch.values():
                reason = refusal(str(m.get("Body") or ""), topics)
                if reason:
                    count_rejection(channel_id, reason)
                    result.refused += 1
                else:
                    mine.append(m)
            if mine:
                store_messages(channel_id, mine)
            result.stored += len(mine)
            _delete(client, queue_url, handles, result)
            if len(batch) < STORE_EVERY:
                break  # the queue ran dry
    finally:
        if made_here:
            client.close()
    return result


def refusal(body: str, topics: set[str]) -> str | None:
    """Why a queued message is not this channel's feedback, or None. A raw SES event names
    no topic (the queue's access policy vouches for it); one that is not JSON is stored and
    marked failed by the job, where the operator sees it."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    kind, _ = sns.unwrap(doc)
    if kind is not None and doc.get("TopicArn") not in topics:
        return "SQS message from an SNS topic not configured or confirmed on the channel"
    return None


def store_messages(channel_id: int, messages: list[dict]) -> None:
    rows = [
        FeedbackPayload(
            channel_id=channel_id,
            provider="ses",
            source="sqs",
            body=str(m.get("Body") or ""),
            meta={"sqs_message_id": m.get("MessageId")},
        )
        for m in messages
    ]
    try:
        db.session.add_all(rows)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def _delete(client: Any, queue_url: str, handles: list[str], result: PollResult) -> None:
    for start in range(0, len(handles), RECEIVE_MAX):
        chunk = handles[start : start + RECEIVE_MAX]
        resp = client.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)],
        )
        result.deleted += len(resp.get("Successful") or [])
        failed = resp.get("Failed") or []
        if failed:
            # Stored already: the message comes back and is recorded as a duplicate.
            result.delete_failures += len(failed)
            log.warning(
                "SQS feedback channel %s: %d messages not deleted (%s)",
                result.channel_id,
                len(failed),
                failed[0].get("Code"),
            )
