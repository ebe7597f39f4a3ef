"""SES event publishing: Reject and Rendering Failure are recorded (a transactional message
fails with SES's reason), and Open/Click count unless our own tracking already counts them."""

from __future__ import annotations

import json

from mailer.models import Campaign, Event, Send
from mailer.models.campaigns import Message
from tests.factories import make_sent_campaign
from tests.fixtures.feedback import drain, sns_headers, url

A, B, C = "ann@example.com", "bob@example.com", "cat@example.com"
WHEN = "2024-05-01T10:05:00.000Z"


def _mail(message_id: str, email: str) -> dict:
    return {
        "timestamp": "2024-05-01T10:00:00.000Z",
        "source": "news@example.com",
        "messageId": message_id,
        "destination": [email],
    }


def _post(client, channel, signer, event: dict) -> None:
    message = signer.notification(event, version="2")
    answer = client.post(url(channel), data=json.dumps(message), headers=sns_headers(message))
    assert answer.status_code == 200, answer.data


def _types(db, send: Send) -> list[str]:
    return sorted(db.session.scalars(db.select(Event.type).filter_by(send_id=send.id)))


def test_reject_rendering_failure_and_delay_are_recorded(
    app, client, db, channels, aws, sns_signer
):
    channel = channels["ses"]
    sent = make_sent_campaign(db, channel, [A, B, C])
    reject = {"eventType": "Reject", "reject": {"reason": "Bad content"}}
    failure = {
        "eventType": "Rendering Failure",
        "failure": {"errorMessage": "Attribute 'name' is not present", "templateName": "Hi"},
    }
    delay = {
        "eventType": "DeliveryDelay",
        "deliveryDelay": {
            "timestamp": WHEN,
            "delayType": "TransientCommunicationFailure",
            "delayedRecipients": [{"emailAddress": C, "status": "4.4.1", "diagnosticCode": "x"}],
        },
    }
    for event, email in ((reject, A), (failure, B), (delay, C)):
        _post(client, channel, sns_signer, {**event, "mail": _mail(sent.pmid(email), email)})
    drain(app, db)

    assert _types(db, sent.sends[A]) == ["reject"]
    rejected = db.session.scalar(db.select(Event).filter_by(send_id=sent.sends[A].id))
    assert rejected.data["detail"] == "SES rejected it: Bad content"
    rendering = db.session.scalar(db.select(Event).filter_by(send_id=sent.sends[B].id))
    assert rendering.type == "reject" and "Attribute 'name'" in rendering.data["detail"]
    assert _types(db, sent.sends[C]) == ["deferred"]


def test_a_rejected_transactional_message_fails_with_ses_reason(
    app, client, db, channels, aws, sns_signer
):
    channel = channels["ses"]
    message = Message(
        channel_id=channel.id,
        to_email=A,
        subject="Hi",
        status="sent",
        provider_message_id="0100-tx-1",
        payload={"html": "<p>Hi</p>"},
    )
    db.session.add(message)
    db.session.commit()
    event = {"eventType": "Reject", "reject": {"reason": "Bad content"}}
    _post(client, channel, sns_signer, {**event, "mail": _mail("0100-tx-1", A)})
    drain(app, db)
    db.session.expire_all()
    failed = db.session.get(Message, message.id)
    assert (failed.status, failed.error) == ("failed", "SES rejected it: Bad content")


def test_ses_opens_and_clicks_count_once_when_our_tracking_counts_them(
    app, client, db, channels, aws, sns_signer
):
    channel = channels["ses"]
    ours = make_sent_campaign(db, channel, [A])  # own tracking off: SES's count
    tracked = make_sent_campaign(db, channel, [B])
    campaign = db.session.get(Campaign, tracked.campaign_id)
    campaign.track_opens = campaign.track_clicks = True  # our pixel and links are in the mail
    db.session.commit()
    ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/125.0"
    for sent, email in ((ours, A), (tracked, B)):
        mail = _mail(sent.pmid(email), email)
        _post(
            client,
            channel,
            sns_signer,
            {"eventType": "Open", "open": {"timestamp": WHEN, "userAgent": ua}, "mail": mail},
        )
        click = {"timestamp": WHEN, "userAgent": ua, "link": "https://shop.example.com/"}
        _post(client, channel, sns_signer, {"eventType": "Click", "click": click, "mail": mail})
    drain(app, db)
    db.session.expire_all()
    counted = db.session.get(Send, ours.sends[A].id)
    assert _types(db, counted) == ["click", "open"]
    assert counted.opened_at is not None and counted.clicked_at is not None
    assert _types(db, tracked.sends[B]) == [], "our own pixel and links count these"


def test_a_messages_ses_open_counts_only_when_its_own_open_tracking_is_off(
    app, client, db, channels, aws, sns_signer
):
    channel = channels["ses"]
    untracked, tracked = (
        Message(
            channel_id=channel.id,
            to_email=email,
            subject="Hi",
            status="sent",
            provider_message_id=f"0100-{email}",
            payload={"html": "<p>Hi</p>", **extra},
        )
        for email, extra in ((A, {"track_opens": False}), (B, {}))
    )
    db.session.add_all([untracked, tracked])
    db.session.commit()
    for email in (A, B):
        event = {
            "eventType": "Open",
            "open": {"timestamp": WHEN},
            "mail": _mail(f"0100-{email}", email),
        }
        _post(client, channel, sns_signer, event)
    drain(app, db)
    db.session.expire_all()
    assert db.session.get(Message, untracked.id).opened_at is not None
    assert db.session.get(Message, tracked.id).opened_at is None, "our pixel counts it"
