"""A send's events come only through its own channel: a report posted (genuinely signed) to
another channel's webhook finds nothing there, changes nothing anywhere, and is only logged as
unmatched; an event id used on one channel never makes another channel's event a duplicate."""

from __future__ import annotations

import json
import time

import pytest

from mailer.lib import tokens
from mailer.models import Event, FeedbackPayload, Message, Subscriber, Suppression
from tests.factories import make_channel, make_sent_campaign
from tests.fixtures.feedback import count, drain, mailgun_body, sendgrid_headers, url

A, B = "ann@example.com", "bob@example.com"
OTHER_KEY = "key-" + "7" * 32


def _bounce(sent, email: str, how: str) -> dict:
    """A Mailgun hard bounce naming the send by our token or by its provider message id."""
    event = {
        "event": "failed",
        "id": f"bounce-{email}",
        "timestamp": time.time(),
        "recipient": email,
        "severity": "permanent",
        "reason": "generic",
        "delivery-status": {"code": 550, "message": "no such user"},
    }
    if how == "token":
        event["user-variables"] = {"token": sent.token(email)}
    else:
        event["message"] = {"headers": {"message-id": sent.pmid(email)}}
    return event


def _post(client, channel, body: bytes, headers=None) -> None:
    headers = headers or {"Content-Type": "application/json"}
    assert client.post(url(channel), data=body, headers=headers).status_code == 200


@pytest.mark.parametrize("how", ["token", "message id"])
def test_a_bounce_posted_to_another_channels_webhook_changes_nothing(
    app, client, db, channels, how
):
    ours = channels["mailgun"]
    theirs = make_channel(
        db, "mailgun", {"domain": "mg2.example.com"}, {"webhook_signing_key": OTHER_KEY}
    )
    sent = make_sent_campaign(db, theirs, [A])
    send = sent.sends[A]

    _post(client, ours, mailgun_body(_bounce(sent, A, how)))
    drain(app, db)
    payload = db.session.scalar(db.select(FeedbackPayload))
    assert payload.status == "processed" and payload.events == 0
    assert [e["email"] for e in payload.unmatched] == [A] and payload.meta["unmatched"] == 1
    db.session.refresh(send)
    assert send.bounced_at is None
    assert count(db, Event) == 0 and count(db, Suppression) == 0
    assert db.session.get(Subscriber, send.subscriber_id).status == "subscribed"

    # The same report through the send's own channel is applied.
    _post(client, theirs, mailgun_body(_bounce(sent, A, how), OTHER_KEY))
    drain(app, db)
    db.session.refresh(send)
    assert send.bounced_at is not None
    assert db.session.scalar(db.select(Suppression.reason).filter_by(email=A)) == "hard_bounce"


def test_a_transactional_message_of_another_channel_is_not_touched(app, client, db, channels):
    ours = channels["brevo"]
    theirs = make_channel(db, "brevo", {}, {"webhook_bearer_token": "theirs"})
    message = Message(
        channel_id=theirs.id,
        to_email=A,
        subject="Receipt",
        status="sent",
        provider_message_id="<tx-1@relay>",
    )
    db.session.add(message)
    db.session.commit()
    events = [
        {
            "event": "hard_bounce",
            "email": A,
            "message-id": "<tx-1@relay>",
            "ts_epoch": int(time.time() * 1000),
        },
        {
            "event": "spam",
            "email": A,
            "message-id": "<unknown@relay>",
            "ts_epoch": int(time.time() * 1000),
            "X-Mailin-custom": json.dumps({"token": tokens.make(tokens.MESSAGE, message.id)}),
        },
    ]
    auth = {"Authorization": "Bearer brevo-token", "Content-Type": "application/json"}
    _post(client, ours, json.dumps(events).encode(), auth)
    drain(app, db)
    db.session.refresh(message)
    assert message.status == "sent" and message.bounced_at is None
    assert message.complained_at is None
    assert count(db, Event) == 0 and count(db, Suppression) == 0
    assert db.session.scalar(db.select(FeedbackPayload.meta))["unmatched"] == 2


def test_an_event_id_used_on_one_channel_is_no_duplicate_on_another(
    app, client, db, channels, sendgrid_key
):
    ours = channels["sendgrid"]
    theirs = make_channel(db, "sendgrid", {"webhook_public_key": sendgrid_key[1]})
    mine, other = make_sent_campaign(db, ours, [A]), make_sent_campaign(db, theirs, [B])

    def post(channel, sent, email):
        body = json.dumps(
            [
                {
                    "event": "bounce",
                    "type": "bounce",
                    "sg_event_id": "same-id",  # chosen by whoever posts to the first channel
                    "email": email,
                    "timestamp": int(time.time()),
                    "token": sent.token(email),
                }
            ]
        ).encode()
        _post(client, channel, body, sendgrid_headers(sendgrid_key[0], body))
        drain(app, db)

    post(ours, mine, A)
    post(theirs, other, B)
    assert count(db, Event, send_id=other.sends[B].id, type="bounce") == 1
    assert db.session.scalar(db.select(Suppression.reason).filter_by(email=B)) == "hard_bounce"
