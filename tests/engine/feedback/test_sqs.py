"""SQS polling for SES feedback against a local SQS server (moto in server mode), run as the
real tick in a real worker: raw and SNS-wrapped messages, deleted only after they were stored."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from rq import SimpleWorker

from mailer.dispatch import TICKS_REGISTRY
from mailer.engine.feedback import sqs
from mailer.models import Event, FeedbackPayload, Suppression
from mailer.queue import FEEDBACK, TICKS, enqueue, get_redis, set_worker_app
from tests.factories import make_channel, make_sent_campaign
from tests.fixtures.feedback import REGION, TOPIC, count

A, B = "ann@example.com", "bob@example.com"


@pytest.fixture
def sqs_endpoint(aws_endpoint):
    return aws_endpoint


@pytest.fixture
def queue(sqs_endpoint):
    client = boto3.client(
        "sqs",
        region_name=REGION,
        endpoint_url=sqs_endpoint,
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="secret",
    )
    url = client.create_queue(
        QueueName=f"ses-feedback-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "0"}
    )["QueueUrl"]
    yield client, url
    client.delete_queue(QueueUrl=url)
    client.close()


@pytest.fixture
def channel(db, queue, sqs_endpoint):
    _, url = queue
    return make_channel(
        db,
        "ses",
        {
            "region": REGION,
            "access_key_id": "AKIDTEST",
            "sqs_queue_url": url,
            "sqs_endpoint_url": sqs_endpoint,
            "sns_topic_arns": TOPIC,
        },
        {"secret_access_key": "secret"},
    )


def _ses_bounce(sent, email, kind="Permanent") -> dict:
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": kind,
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": email, "status": "5.1.1"}],
            "timestamp": "2024-05-01T10:00:00.000Z",
            "feedbackId": f"fb-{email}",
        },
        "mail": {
            "messageId": sent.pmid(email),
            "destination": [email],
            "timestamp": "2024-05-01T09:59:00.000Z",
            "tags": {"token": [sent.token(email).replace(".", "_")]},
        },
    }


def _sns_wrapped(event: dict, topic: str = TOPIC) -> dict:
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic,
        "Message": json.dumps(event),
        "Timestamp": "2024-05-01T10:00:01.000Z",
        "SignatureVersion": "1",
        "Signature": "c2lnbmF0dXJl",
        "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-x.pem",
    }


def _in_queue(client, url) -> int:
    attrs = client.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def _run_tick(app, db):
    enqueue(TICKS, "jobs.feedback.poll_sqs")
    set_worker_app(app)
    SimpleWorker([TICKS, FEEDBACK], connection=get_redis()).work(burst=True)
    db.session.commit()


def test_the_tick_is_registered_every_10_seconds():
    assert any(
        t.name == "sqs-poll" and t.func == "jobs.feedback.poll_sqs" and t.interval == 10
        for t in TICKS_REGISTRY
    )


def test_poll_stores_raw_and_sns_wrapped_messages_then_deletes_them(app, db, queue, channel):
    client, url = queue
    sent = make_sent_campaign(db, channel, [A, B])
    client.send_message(QueueUrl=url, MessageBody=json.dumps(_sns_wrapped(_ses_bounce(sent, A))))
    client.send_message(QueueUrl=url, MessageBody=json.dumps(_ses_bounce(sent, B, "Transient")))
    _run_tick(app, db)

    payloads = db.session.scalars(db.select(FeedbackPayload).order_by(FeedbackPayload.id)).all()
    assert [(p.source, p.status) for p in payloads] == [("sqs", "processed")] * 2
    assert all(p.meta["sqs_message_id"] for p in payloads)
    assert _in_queue(client, url) == 0, "deleted once stored"
    assert db.session.scalar(db.select(Suppression.reason).filter_by(email=A)) == "hard_bounce"
    bounces = db.session.scalars(db.select(Event).filter_by(type="bounce")).all()
    assert sorted(e.data["bounce"] for e in bounces) == ["hard", "soft"]
    assert db.session.get(type(channel), channel.id).last_feedback_at is not None


def test_a_message_is_not_deleted_when_storing_it_failed(app, db, queue, channel, monkeypatch):
    client, url = queue
    sent = make_sent_campaign(db, channel, [A])
    client.send_message(QueueUrl=url, MessageBody=json.dumps(_ses_bounce(sent, A)))

    def broken_store(channel_id, messages):
        raise RuntimeError("database went away")

    monkeypatch.setattr(sqs, "store_messages", broken_store)
    _run_tick(app, db)
    assert count(db, FeedbackPayload) == 0
    assert _in_queue(client, url) == 1, "still in the queue for the next poll"

    monkeypatch.undo()
    _run_tick(app, db)
    assert count(db, FeedbackPayload) == 1 and _in_queue(client, url) == 0
    assert count(db, Event, type="bounce") == 1


def test_deletion_happens_only_after_the_payloads_committed(app, db, queue, channel):
    client, url = queue
    sent = make_sent_campaign(db, channel, [A, B])
    for email in (A, B):
        client.send_message(QueueUrl=url, MessageBody=json.dumps(_ses_bounce(sent, email)))
    seen_at_delete = []

    class Watching:
        """The real client; at delete time, count payloads on another connection."""

        def __getattr__(self, name):
            return getattr(client, name)

        def delete_message_batch(self, **kwargs):
            with db.engine.connect() as other:
                seen_at_delete.append(
                    other.scalar(db.select(db.func.count()).select_from(FeedbackPayload))
                )
            return client.delete_message_batch(**kwargs)

    result = sqs.poll(channel.id, client=Watching())
    assert (result.received, result.stored) == (2, 2)
    assert result.deleted >= 2  # with a zero visibility timeout a message may come twice
    assert seen_at_delete == [2], "committed (visible to another connection) before deleting"
    assert _in_queue(client, url) == 0


def test_a_redelivered_message_is_a_duplicate(app, db, queue, channel):
    client, url = queue
    sent = make_sent_campaign(db, channel, [A])
    body = json.dumps(_ses_bounce(sent, A))
    client.send_message(QueueUrl=url, MessageBody=body)
    client.send_message(QueueUrl=url, MessageBody=body)  # e.g. a delete that did not happen
    _run_tick(app, db)
    assert count(db, FeedbackPayload) == 2
    assert count(db, Event, type="bounce") == 1


def test_runs_never_overlap(app, db, queue, channel):
    client, url = queue
    sent = make_sent_campaign(db, channel, [A])
    client.send_message(QueueUrl=url, MessageBody=json.dumps(_ses_bounce(sent, A)))
    get_redis().set("mailer:tick:sqs-poll", "1", ex=60)  # another poll holds the lock
    _run_tick(app, db)
    assert count(db, FeedbackPayload) == 0 and _in_queue(client, url) == 1


def test_a_queue_updates_only_its_own_channels_sends(app, db, queue, channel):
    client, url = queue
    other = make_channel(db, "ses", {"region": REGION, "sns_topic_arns": TOPIC})
    theirs = make_sent_campaign(db, other, [A])
    client.send_message(QueueUrl=url, MessageBody=json.dumps(_sns_wrapped(_ses_bounce(theirs, A))))
    _run_tick(app, db)
    payload = db.session.scalar(db.select(FeedbackPayload))
    assert payload.status == "processed" and payload.meta["unmatched"] == 1
    assert count(db, Event) == 0 and count(db, Suppression) == 0
    db.session.refresh(theirs.sends[A])
    assert theirs.sends[A].bounced_at is None


def test_sns_messages_from_a_topic_not_configured_are_refused_and_deleted(app, db, queue, channel):
    from mailer.engine.feedback import intake

    client, url = queue
    sent = make_sent_campaign(db, channel, [A, B])
    foreign = f"arn:aws:sns:{REGION}:999999999999:someone-else"
    client.send_message(
        QueueUrl=url, MessageBody=json.dumps(_sns_wrapped(_ses_bounce(sent, A), foreign))
    )
    client.send_message(QueueUrl=url, MessageBody=json.dumps(_sns_wrapped(_ses_bounce(sent, B))))
    _run_tick(app, db)
    assert count(db, FeedbackPayload) == 1, "only the configured topic's message is stored"
    assert db.session.scalar(db.select(Suppression.email)) == B
    assert _in_queue(client, url) == 0
    count_, last = intake.rejections(channel.id)
    assert count_ == 1 and "SNS topic" in last["reason"]
