"""Idempotency and the suppression rules, through the webhook and a real worker."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from mailer.engine.feedback import apply, intake, processing
from mailer.engine.feedback.base import FeedbackEvent
from mailer.lib import tokens
from mailer.models import Event, FeedbackPayload, Message, Send, Subscriber, Suppression
from mailer.models.base import utcnow
from tests.factories import make_sent_campaign
from tests.fixtures.feedback import count, drain, mailgun_body, sendgrid_headers, sns_headers, url

A, B = "ann@example.com", "bob@example.com"


def _mailgun_bounce(sent, email, n, severity="permanent", code=550, when=None) -> bytes:
    return mailgun_body(
        {
            "event": "failed",
            "id": f"ev-{email}-{n}",
            "timestamp": when or time.time(),
            "recipient": email,
            "severity": severity,
            "reason": "generic",
            "message": {"headers": {"message-id": sent.pmid(email)}},
            "user-variables": {"token": sent.token(email)},
            "delivery-status": {"code": code, "message": "x"},
        }
    )


def _post(client, channel, body) -> None:
    assert client.post(url(channel), data=body, content_type="application/json").status_code == 200


def _state(db) -> tuple:
    """Everything feedback may change, to compare before and after a replay."""
    sends = db.session.execute(
        db.select(Send.id, Send.delivered_at, Send.bounced_at, Send.complained_at).order_by(Send.id)
    ).all()
    subs = db.session.execute(
        db.select(Subscriber.id, Subscriber.status).order_by(Subscriber.id)
    ).all()
    supp = db.session.execute(
        db.select(Suppression.email, Suppression.reason).order_by(Suppression.email)
    ).all()
    events = db.session.execute(
        db.select(Event.provider_event_id, Event.type).order_by(Event.id)
    ).all()
    return sends, subs, supp, events


def test_a_replayed_sendgrid_batch_changes_nothing(app, client, db, channels, sendgrid_key):
    channel = channels["sendgrid"]
    sent = make_sent_campaign(db, channel, [A, B])
    events = [
        {
            "email": A,
            "timestamp": int(time.time()),
            "event": "bounce",
            "type": "bounce",
            "sg_event_id": "e-1",
            "sg_message_id": f"{sent.pmid(A)}.filter1",
        },
        {
            "email": B,
            "timestamp": int(time.time()),
            "event": "delivered",
            "sg_event_id": "e-2",
            "sg_message_id": f"{sent.pmid(B)}.filter1",
        },
    ]
    body = json.dumps(events).encode()

    def post():
        headers = sendgrid_headers(sendgrid_key[0], body)
        assert client.post(url(channel), data=body, headers=headers).status_code == 200

    post()
    drain(app, db)
    before = _state(db)
    assert len(before[3]) == 2
    post()  # SendGrid retries, or someone replays a captured request
    drain(app, db)
    assert _state(db) == before
    second = db.session.scalars(
        db.select(FeedbackPayload).order_by(FeedbackPayload.id.desc())
    ).first()
    assert second.status == "processed" and second.events == 0 and second.meta["duplicate"] == 2


def test_the_same_ses_event_from_the_webhook_and_from_sqs_is_recorded_once(
    app, client, db, channels, aws, sns_signer
):
    channel = channels["ses"]
    sent = make_sent_campaign(db, channel, [A])
    event = {
        "eventType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": A}],
            "timestamp": "2024-05-01T10:00:00Z",
            "feedbackId": "0100-c",
        },
        "mail": {
            "messageId": sent.pmid(A),
            "destination": [A],
            "timestamp": "2024-05-01T09:00:00Z",
        },
    }
    first = sns_signer.notification(event)
    again = sns_signer.notification(event)  # a new SNS delivery of the same SES report
    for message in (first, again):
        assert (
            client.post(
                url(channel), data=json.dumps(message), headers=sns_headers(message)
            ).status_code
            == 200
        )
    db.session.add(
        FeedbackPayload(channel_id=channel.id, provider="ses", source="sqs", body=json.dumps(event))
    )
    db.session.commit()
    intake.kick()
    drain(app, db)
    assert count(db, Event, type="complaint") == 1


def test_hard_bounce_suppresses_at_once(app, client, db, channels):
    channel = channels["mailgun"]
    sent = make_sent_campaign(db, channel, [A])
    _post(client, channel, _mailgun_bounce(sent, A, 1, code=550))
    drain(app, db)
    assert db.session.scalar(db.select(Suppression.reason).filter_by(email=A)) == "hard_bounce"


def test_soft_bounces_suppress_at_the_limit_within_the_window(app, client, db, channels):
    app.config.update(MAILER_SOFT_BOUNCE_LIMIT=3, MAILER_SOFT_BOUNCE_WINDOW_DAYS=7)
    channel = channels["mailgun"]
    campaigns = [make_sent_campaign(db, channel, [A, B]) for _ in range(4)]
    # B: an old soft bounce (outside the window) and two recent ones: not suppressed.
    old = time.time() - 10 * 86400
    _post(client, channel, _mailgun_bounce(campaigns[0], B, 1, code=452, when=old))
    _post(client, channel, _mailgun_bounce(campaigns[1], B, 2, code=452))
    _post(client, channel, _mailgun_bounce(campaigns[2], B, 3, code=452))
    # A: two soft bounces, then the third in another campaign.
    _post(client, channel, _mailgun_bounce(campaigns[0], A, 1, code=452))
    _post(client, channel, _mailgun_bounce(campaigns[1], A, 2, code=452))
    drain(app, db)
    assert count(db, Suppression) == 0
    # Temporary failures (Mailgun retries) are deferrals: they do not count.
    _post(client, channel, _mailgun_bounce(campaigns[2], A, 3, severity="temporary", code=452))
    drain(app, db)
    assert count(db, Suppression) == 0
    _post(client, channel, _mailgun_bounce(campaigns[3], A, 4, code=452))
    drain(app, db)
    assert db.session.scalar(db.select(Suppression.reason).filter_by(email=A)) == "soft_bounces"
    statuses = {s.status for s in db.session.scalars(db.select(Subscriber).filter_by(email=A))}
    assert "bounced" in statuses
    assert db.session.scalar(db.select(Suppression).filter_by(email=B)) is None


def test_provider_unsubscribe_follows_the_list_scope(app, client, db, channels):
    app.config["MAILER_UNSUBSCRIBE_SCOPE"] = "list"
    channel = channels["mailgun"]
    sent = make_sent_campaign(db, channel, [A])
    body = mailgun_body(
        {
            "event": "unsubscribed",
            "id": "u1",
            "timestamp": time.time(),
            "recipient": A,
            "message": {"headers": {"message-id": sent.pmid(A)}},
        }
    )
    _post(client, channel, body)
    drain(app, db)
    assert db.session.get(Subscriber, sent.sends[A].subscriber_id).status == "unsubscribed"
    assert count(db, Suppression) == 0


def test_transactional_messages_are_matched_and_suppressed(app, db, channels):
    """apply_events in the job's transaction: a message found by token, then by provider id."""
    channel = channels["brevo"]
    message = Message(
        channel_id=channel.id, to_email=A, subject="Receipt", provider_message_id="<tx-1@relay>"
    )
    db.session.add(message)
    db.session.commit()
    events = [
        FeedbackEvent(
            "brevo",
            "delivery",
            "d1",
            utcnow(),
            A,
            token=tokens.make(tokens.MESSAGE, message.id),
            channel_id=channel.id,
        ),
        FeedbackEvent(
            "brevo",
            "bounce",
            "b1",
            utcnow(),
            A,
            message_ids=("<tx-1@relay>",),
            bounce="hard",
            channel_id=channel.id,
        ),
    ]
    assert apply.apply_events(events) == ["new", "new"]
    db.session.commit()
    rows = db.session.scalars(db.select(Event).filter_by(message_id=message.id)).all()
    assert sorted(e.type for e in rows) == ["bounce", "delivery"]
    assert all(e.campaign_id is None and e.send_id is None for e in rows)
    assert db.session.scalar(db.select(Suppression.reason).filter_by(email=A)) == "hard_bounce"
    assert apply.apply_events(events) == ["duplicate", "duplicate"]


def test_last_feedback_time_is_recorded_on_the_channel(app, client, db, channels):
    channel = channels["mailgun"]
    sent = make_sent_campaign(db, channel, [A])
    assert channel.last_feedback_at is None
    _post(client, channel, _mailgun_bounce(sent, A, 1))
    drain(app, db)
    db.session.refresh(channel)
    assert channel.last_feedback_at is not None
    assert utcnow() - channel.last_feedback_at < timedelta(minutes=1)


def test_a_payload_that_can_not_be_read_is_marked_failed_and_the_job_fails(app, db, channels):
    from rq.job import Job, JobStatus

    from mailer.queue import FEEDBACK, get_queue, get_redis

    db.session.add(
        FeedbackPayload(
            channel_id=channels["mailjet"].id, provider="mailjet", body='"just a string"'
        )
    )
    db.session.commit()
    intake.kick()
    job_id = get_queue(FEEDBACK).job_ids[0]
    drain(app, db)
    payload = db.session.scalar(db.select(FeedbackPayload))
    assert payload.status == "failed" and "Malformed" in payload.error
    assert Job.fetch(job_id, connection=get_redis()).get_status() == JobStatus.FAILED


def test_a_payload_the_database_refuses_does_not_hold_up_the_others(app, db, channels, monkeypatch):
    """A batch that fails in the database is retried payload by payload: the good ones are
    applied, the bad one is marked failed, and the job still fails visibly."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    channel = channels["mailgun"]
    sent = make_sent_campaign(db, channel, [A, B])
    good = mailgun_body(
        {
            "event": "delivered",
            "id": "ok",
            "timestamp": time.time(),
            "recipient": A,
            "message": {"headers": {"message-id": sent.pmid(A)}},
        }
    )
    poison = mailgun_body(
        {
            "event": "delivered",
            "id": "poison",
            "timestamp": time.time(),
            "recipient": B,
            "message": {"headers": {"message-id": sent.pmid(B)}},
        }
    )
    for body in (good, poison):
        db.session.add(
            FeedbackPayload(channel_id=channel.id, provider="mailgun", body=body.decode())
        )
    db.session.commit()
    real = apply.apply_events

    def refusing(events, **kw):
        if any(e.data.get("mg_event") and "poison" in e.event_id for e in events):
            raise IntegrityError("INSERT", {}, Exception("refused"))
        return real(events, **kw)

    monkeypatch.setattr(apply, "apply_events", refusing)
    monkeypatch.setattr("mailer.engine.feedback.mailgun.digest", lambda *parts: str(parts[0]))
    with pytest.raises(processing.FeedbackJobError):
        processing.process_pending()
    db.session.commit()
    statuses = dict(
        db.session.execute(db.select(FeedbackPayload.body, FeedbackPayload.status)).all()
    )
    assert statuses[good.decode()] == "processed" and statuses[poison.decode()] == "failed"
    assert db.session.get(Send, sent.sends[A].id).delivered_at is not None
