"""Each provider's documented payload shapes, posted signed to the webhook and processed by a
real worker: which send they find, which event they become, what they change."""

from __future__ import annotations

import json
import time

from mailer.models import Event, FeedbackPayload, Send, Subscriber, Suppression
from tests.factories import make_sent_campaign
from tests.fixtures.feedback import (
    basic,
    count,
    drain,
    mailgun_body,
    sendgrid_headers,
    sns_headers,
    url,
)

A, B, C, D, E = (f"{n}@example.com" for n in ("ann", "bob", "cat", "dan", "eve"))
NOW = int(time.time())


def _events(db, send: Send) -> list[Event]:
    return db.session.scalars(db.select(Event).filter_by(send_id=send.id).order_by(Event.id)).all()


def _types(db, send: Send) -> list[str]:
    """Event types of a send, sorted (rows are written in key order, not arrival order)."""
    return sorted(e.type for e in _events(db, send))


def _only_event(db, send: Send) -> Event:
    events = _events(db, send)
    assert len(events) == 1, [(e.type, e.data) for e in events]
    return events[0]


def _subscriber(db, send: Send) -> Subscriber:
    return db.session.get(Subscriber, send.subscriber_id)


def _suppression(db, email: str) -> Suppression | None:
    return db.session.scalar(db.select(Suppression).filter_by(email=email))


def _fresh(db, send: Send) -> Send:
    db.session.refresh(send)
    return send


# ------------------------------------------------------------------------------ SES


def _ses_mail(sent, email, *, tags=True) -> dict:
    mail = {
        "timestamp": "2024-05-01T10:00:00.000Z",
        "source": "News <news@example.com>",
        "sendingAccountId": "123456789012",
        "messageId": sent.pmid(email),
        "destination": [email],
        "headersTruncated": False,
    }
    if tags:
        # What SES reports for our EmailTags: token values have '.' replaced by '_'.
        mail["tags"] = {
            "ses:configuration-set": ["feedback"],
            "campaign": [str(sent.campaign_id)],
            "token": [sent.token(email).replace(".", "_")],
        }
    return mail


def _post_ses(client, channel, signer, event: dict) -> None:
    message = signer.notification(event, version="2")
    response = client.post(url(channel), data=json.dumps(message), headers=sns_headers(message))
    assert response.status_code == 200, response.data


def test_ses_event_publishing_bounces_complaint_delivery_open_click(
    app, client, db, channels, aws, sns_signer
):
    channel = channels["ses"]
    sent = make_sent_campaign(db, channel, [A, B, C, D, E])
    t = "2024-05-01T10:05:00.000Z"
    events = [
        {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": A,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
                "timestamp": t,
                "feedbackId": "0100-bounce-a",
                "reportingMTA": "dsn; a.example.com",
            },
            "mail": _ses_mail(sent, A),
        },
        {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": "Transient",
                "bounceSubType": "MailboxFull",
                "bouncedRecipients": [{"emailAddress": B, "status": "4.2.2"}],
                "timestamp": t,
                "feedbackId": "0100-bounce-b",
            },
            "mail": _ses_mail(sent, B),
        },
        {
            "eventType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": C}],
                "timestamp": t,
                "feedbackId": "0100-complaint-c",
                "userAgent": "Yahoo!-Mail-Feedback/2.0",
                "complaintFeedbackType": "abuse",
                "arrivalDate": t,
            },
            "mail": _ses_mail(sent, C),
        },
        {
            "eventType": "Delivery",
            "delivery": {
                "timestamp": t,
                "processingTimeMillis": 546,
                "recipients": [D],
                "smtpResponse": "250 2.6.0 Message received",
                "reportingMTA": "a8-70.smtp-out",
            },
            "mail": _ses_mail(sent, D),
        },
        {
            "eventType": "Open",
            "open": {
                "ipAddress": "192.0.2.1",
                "timestamp": "2024-05-01T11:00:00.000Z",
                "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/125.0",
            },
            "mail": _ses_mail(sent, D),
        },
        {
            "eventType": "Click",
            "click": {
                "ipAddress": "192.0.2.1",
                "timestamp": "2024-05-01T11:01:00.000Z",
                "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/125.0",
                "link": "https://shop.example.com/spring",
                "linkTags": {},
            },
            "mail": _ses_mail(sent, D),
        },
        {
            "eventType": "DeliveryDelay",
            "deliveryDelay": {
                "timestamp": t,
                "delayType": "MailboxFull",
                "expirationTime": t,
                "delayedRecipients": [
                    {"emailAddress": E, "status": "4.2.2", "diagnosticCode": "smtp; 452 full"}
                ],
            },
            "mail": _ses_mail(sent, E),
        },
        {"eventType": "Send", "send": {}, "mail": _ses_mail(sent, E)},
    ]
    for event in events:
        _post_ses(client, channel, sns_signer, event)
    drain(app, db)

    a, b, c, d, e = (_fresh(db, sent.sends[x]) for x in (A, B, C, D, E))
    hard = _only_event(db, a)
    assert (hard.type, hard.data["bounce"], hard.campaign_id) == (
        "bounce",
        "hard",
        sent.campaign_id,
    )
    assert hard.provider_event_id.startswith("ses:")
    assert "user unknown" in hard.data["detail"]
    assert a.bounced_at is not None
    assert _suppression(db, A).reason == "hard_bounce"
    assert _subscriber(db, a).status == "bounced"

    soft = _only_event(db, b)
    assert soft.data["bounce"] == "soft" and b.bounced_at is not None
    assert _suppression(db, B) is None, "one soft bounce does not suppress"
    assert _subscriber(db, b).status == "subscribed"

    assert _only_event(db, c).type == "complaint" and c.complained_at is not None
    assert _suppression(db, C).reason == "complaint"
    assert _subscriber(db, c).status == "complained"

    assert _types(db, d) == ["click", "delivery", "open"]
    assert d.delivered_at is not None and d.opened_at is not None and d.clicked_at is not None
    assert next(x for x in _events(db, d) if x.type == "click").data["url"] == (
        "https://shop.example.com/spring"
    )

    assert _only_event(db, e).type == "deferred", "a delay is recorded; Send is ignored"
    assert e.bounced_at is None and _suppression(db, E) is None
    payloads = db.session.scalars(db.select(FeedbackPayload)).all()
    assert {p.status for p in payloads} == {"processed"}
    assert db.session.get(type(channel), channel.id).last_feedback_at is not None


def test_ses_identity_notifications_match_by_message_id(app, client, db, channels, aws, sns_signer):
    """notificationType format: no tags, so the send is found by mail.messageId."""
    channel = channels["ses"]
    sent = make_sent_campaign(db, channel, [A, B])
    bounce = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Undetermined",
            "bounceSubType": "Undetermined",
            "bouncedRecipients": [{"emailAddress": A}],
            "timestamp": "2024-05-01T10:05:00.000Z",
            "feedbackId": "0100-undetermined",
        },
        "mail": _ses_mail(sent, A, tags=False),
    }
    delivery = {
        "notificationType": "Delivery",
        "delivery": {"timestamp": "2024-05-01T10:05:00.000Z", "recipients": [B]},
        "mail": _ses_mail(sent, B, tags=False),
    }
    _post_ses(client, channel, sns_signer, bounce)
    _post_ses(client, channel, sns_signer, delivery)
    drain(app, db)
    assert _only_event(db, sent.sends[A]).data["bounce"] == "soft", "Undetermined counts as soft"
    assert _fresh(db, sent.sends[B]).delivered_at is not None


def test_ses_topic_validation_message_is_accepted_and_ignored(
    app, client, db, channels, aws, sns_signer
):
    message = sns_signer.notification(
        "Successfully validated SNS topic for Amazon SES event publishing."
    )
    assert (
        client.post(
            url(channels["ses"]), data=json.dumps(message), headers=sns_headers(message)
        ).status_code
        == 200
    )
    drain(app, db)
    payload = db.session.scalar(db.select(FeedbackPayload))
    assert payload.status == "processed" and payload.events == 0


# ------------------------------------------------------------------------------ SendGrid


def test_sendgrid_event_types(app, client, db, channels, sendgrid_key):
    channel = channels["sendgrid"]
    # SendGrid's X-Message-Id is the first part of sg_message_id.
    sent = make_sent_campaign(
        db, channel, [A, B, C, D, E], pmid=lambda i: f"14c5d75ce93.dfd.64b469{i}"
    )

    def ev(email, name, n, **extra):
        return {
            "email": email,
            "timestamp": NOW,
            "event": name,
            "sg_event_id": f"sg-{name}-{n}",
            "sg_message_id": f"{sent.pmid(email)}.filter0001.16648.5515E0B88.0",
            "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
            "category": ["news"],
            **extra,
        }

    events = [
        ev(A, "processed", 1),
        ev(
            A,
            "bounce",
            2,
            type="bounce",
            status="5.1.1",
            reason="550 5.1.1 unknown user",
            bounce_classification="Invalid Address",
        ),
        ev(B, "bounce", 3, type="blocked", status="4.0.0", reason="blocked for reputation"),
        ev(C, "spamreport", 4),
        ev(D, "delivered", 5, response="250 OK"),
        ev(D, "open", 6, useragent="Mozilla/5.0 (Macintosh) AppleWebKit/605", ip="192.0.2.1"),
        ev(
            D,
            "click",
            7,
            useragent="Mozilla/5.0 (Macintosh) AppleWebKit/605",
            url="https://shop.example.com/spring",
        ),
        ev(E, "deferred", 8, response="400 try again later", attempt="1"),
        ev(E, "dropped", 9, reason="Bounced Address"),
    ]
    # The token in custom_args finds the send too (here for D's events only).
    for e in events:
        if e["email"] == D:
            e["token"] = sent.token(D)
            e["sg_message_id"] = "unrelated.filter0001"
    body = json.dumps(events).encode()
    assert (
        client.post(
            url(channel), data=body, headers=sendgrid_headers(sendgrid_key[0], body)
        ).status_code
        == 200
    )
    drain(app, db)

    a, b, c, d, e = (_fresh(db, sent.sends[x]) for x in (A, B, C, D, E))
    assert (
        _only_event(db, a).data["bounce"] == "hard" and _suppression(db, A).reason == "hard_bounce"
    )
    assert _only_event(db, a).provider_event_id == f"sendgrid:{channel.id}:sg-bounce-2"
    assert _only_event(db, b).data["bounce"] == "soft" and _suppression(db, B) is None
    assert c.complained_at and _suppression(db, C).reason == "complaint"
    assert _types(db, d) == ["click", "delivery", "open"]
    assert d.delivered_at and d.opened_at and d.clicked_at
    assert _types(db, e) == ["deferred", "reject"]
    assert _suppression(db, E).reason == "hard_bounce", "dropped as a known bounced address"
    assert _subscriber(db, e).status == "bounced"


# ------------------------------------------------------------------------------ Mailgun


def _mg(sent, email, event, n, *, token=True, **extra) -> dict:
    data = {
        "event": event,
        "id": f"mg-{event}-{n}",
        "timestamp": NOW + n / 10,
        "recipient": email,
        "message": {
            "headers": {
                "message-id": sent.pmid(email).strip("<>"),
                "to": email,
                "from": "news@example.com",
                "subject": "Hi",
            }
        },
        "user-variables": {"campaign": str(sent.campaign_id)},
        **extra,
    }
    if token:
        data["user-variables"]["token"] = sent.token(email)
    return data


def test_mailgun_event_types(app, client, db, channels):
    channel = channels["mailgun"]
    # Mailgun's send API answers the id in angle brackets; its webhooks give it bare.
    sent = make_sent_campaign(
        db, channel, [A, B, C, D, E], pmid=lambda i: f"<20240501.{i}@mg.example.com>"
    )
    events = [
        _mg(
            sent,
            A,
            "failed",
            1,
            token=False,
            severity="permanent",
            reason="bounce",
            **{
                "delivery-status": {
                    "code": 550,
                    "message": "5.1.1 no such user",
                    "description": "",
                    "attempt-no": 1,
                }
            },
        ),
        _mg(
            sent,
            B,
            "failed",
            2,
            severity="temporary",
            reason="generic",
            **{"delivery-status": {"code": 452, "message": "4.2.2 mailbox full"}},
        ),
        _mg(
            sent,
            B,
            "failed",
            3,
            severity="permanent",
            reason="old",
            **{"delivery-status": {"code": 452, "message": "4.2.2 mailbox full"}},
        ),
        _mg(sent, C, "complained", 4),
        _mg(sent, D, "delivered", 5, **{"delivery-status": {"code": 250, "message": "OK"}}),
        _mg(
            sent,
            D,
            "opened",
            6,
            **{"client-info": {"user-agent": "Mozilla/5.0 (X11; Linux) Firefox/125.0"}},
        ),
        _mg(sent, D, "clicked", 7, url="https://shop.example.com/spring"),
        _mg(sent, E, "unsubscribed", 8),
    ]
    for event in events:
        assert (
            client.post(
                url(channel), data=mailgun_body(event), content_type="application/json"
            ).status_code
            == 200
        )
    drain(app, db)

    a, b, c, d, e = (_fresh(db, sent.sends[x]) for x in (A, B, C, D, E))
    assert _only_event(db, a).data["bounce"] == "hard", "found by message-id, without a token"
    assert _suppression(db, A).reason == "hard_bounce"
    assert sorted((x.type, x.data.get("bounce", "")) for x in _events(db, b)) == [
        ("bounce", "soft"),
        ("deferred", ""),
    ]
    assert _suppression(db, B) is None
    assert c.complained_at and _subscriber(db, c).status == "complained"
    assert _types(db, d) == ["click", "delivery", "open"]
    assert e.unsubscribed_at and _subscriber(db, e).status == "unsubscribed"
    assert _suppression(db, E).reason == "unsubscribed", "scope global by default"


# ------------------------------------------------------------------------------ Mailjet


def test_mailjet_single_and_grouped_events(app, client, db, channels):
    channel = channels["mailjet"]
    sent = make_sent_campaign(
        db, channel, [A, B, C, D, E], pmid=lambda i: f"5b1c2e7a-0000-4000-8000-00000000000{i}"
    )

    def ev(email, name, **extra):
        i = list(sent.sends).index(email)
        return {
            "event": name,
            "time": NOW,
            "MessageID": 19421777835146490 + i,
            "Message_GUID": sent.pmid(email),
            "email": email,
            "mj_campaign_id": 0,
            "mj_contact_id": 123,
            "customcampaign": "",
            "CustomID": str(sent.sends[email].id),
            "Payload": json.dumps({"campaign": str(sent.campaign_id), "token": sent.token(email)}),
            **extra,
        }

    auth = basic("mj", "mj-pass")
    single = ev(
        A,
        "bounce",
        blocked=False,
        hard_bounce=True,
        error_related_to="recipient",
        error="user unknown",
        comment="550 unknown",
    )
    assert client.post(url(channel), data=json.dumps(single), headers=auth).status_code == 200
    grouped = [
        ev(
            B,
            "bounce",
            blocked=False,
            hard_bounce=False,
            error_related_to="recipient",
            error="quota exceeded",
        ),
        ev(C, "spam", source="JMRPP"),
        ev(D, "sent", smtp_reply="sent (250 2.0.0 OK)"),
        ev(
            D, "open", ip="192.0.2.1", geo="PT", agent="Mozilla/5.0 (Windows NT 10.0) Firefox/125.0"
        ),
        ev(
            D,
            "click",
            url="https://shop.example.com/spring",
            ip="192.0.2.1",
            agent="Mozilla/5.0 (Windows NT 10.0)",
        ),
        ev(E, "blocked", error_related_to="recipient", error="preblocked"),
    ]
    assert client.post(url(channel), data=json.dumps(grouped), headers=auth).status_code == 200
    drain(app, db)

    a, b, c, d, e = (_fresh(db, sent.sends[x]) for x in (A, B, C, D, E))
    assert (
        _only_event(db, a).data["bounce"] == "hard" and _suppression(db, A).reason == "hard_bounce"
    )
    assert _only_event(db, b).data["bounce"] == "soft" and _suppression(db, B) is None
    assert c.complained_at and _suppression(db, C).reason == "complaint"
    assert _types(db, d) == ["click", "delivery", "open"]
    assert _only_event(db, e).type == "reject" and _suppression(db, E).reason == "hard_bounce"


# ------------------------------------------------------------------------------ Brevo


def test_brevo_events_and_one_first_open(app, client, db, channels):
    channel = channels["brevo"]
    sent = make_sent_campaign(
        db, channel, [A, B, C, D, E], pmid=lambda i: f"<20240501{i}.5787683@smtp-relay.mailin.fr>"
    )
    headers = {"Authorization": "Bearer brevo-token", "Content-Type": "application/json"}

    def ev(email, name, ms, **extra):
        return {
            "event": name,
            "email": email,
            "id": 12345,
            "date": "2024-05-01 12:00:00",
            "ts": NOW,
            "message-id": sent.pmid(email),
            "ts_event": NOW,
            "subject": "Hi",
            "X-Mailin-custom": json.dumps({"token": sent.token(email)}) if email != A else None,
            "sending_ip": "185.41.28.109",
            "ts_epoch": NOW * 1000 + ms,
            "template_id": 0,
            "tags": [],
            **extra,
        }

    events = [
        ev(A, "hard_bounce", 1, reason="550 5.1.1 unknown"),
        ev(B, "soft_bounce", 2, reason="452 mailbox full"),
        ev(C, "spam", 3),
        ev(D, "delivered", 4),
        ev(D, "unique_opened", 5),
        ev(D, "opened", 5),  # Brevo reports the first open twice
        ev(D, "click", 6, link="https://shop.example.com/spring"),
        ev(E, "unsubscribed", 7),
    ]
    for event in events:
        event = {k: v for k, v in event.items() if v is not None}
        assert client.post(url(channel), data=json.dumps(event), headers=headers).status_code == 200
    drain(app, db)

    a, b, c, d, e = (_fresh(db, sent.sends[x]) for x in (A, B, C, D, E))
    assert _only_event(db, a).data["bounce"] == "hard", "matched by message-id without a token"
    assert _suppression(db, A).reason == "hard_bounce"
    assert _only_event(db, b).data["bounce"] == "soft"
    assert _suppression(db, C).reason == "complaint"
    assert _types(db, d) == ["click", "delivery", "open"], "one open, not two"
    assert e.unsubscribed_at is not None


# ------------------------------------------------------------------------------ unmatched


def test_events_for_unknown_messages_go_to_the_unmatched_log(app, client, db, channels):
    channel = channels["mailgun"]
    make_sent_campaign(db, channel, [A])
    stranger = {
        "event": "failed",
        "id": "x1",
        "timestamp": NOW,
        "recipient": "who@example.com",
        "severity": "permanent",
        "reason": "bounce",
        "message": {"headers": {"message-id": "not-ours@mg.example.com"}},
        "delivery-status": {"code": 550},
    }
    assert (
        client.post(
            url(channel), data=mailgun_body(stranger), content_type="application/json"
        ).status_code
        == 200
    )
    drain(app, db)
    payload = db.session.scalar(db.select(FeedbackPayload))
    assert payload.status == "processed" and payload.events == 0
    assert payload.unmatched == [
        {
            "type": "bounce",
            "email": "who@example.com",
            "message_id": "not-ours@mg.example.com",
            "at": payload.unmatched[0]["at"],
            "bounce": "hard",
        }
    ]
    assert count(db, Event) == 0 and count(db, Suppression) == 0, "nothing acted on"


def test_a_forged_token_finds_nothing(app, client, db, channels):
    channel = channels["mailgun"]
    sent = make_sent_campaign(db, channel, [A])
    forged = _mg(sent, A, "complained", 1)
    forged["user-variables"]["token"] = sent.token(A)[:-2] + "xx"
    forged["message"]["headers"]["message-id"] = "other@mg.example.com"
    assert (
        client.post(
            url(channel), data=mailgun_body(forged), content_type="application/json"
        ).status_code
        == 200
    )
    drain(app, db)
    assert count(db, Event) == 0 and _suppression(db, A) is None


def test_provider_opens_from_image_proxies_are_flagged_as_machine(
    app, client, db, channels, sendgrid_key
):
    channel = channels["sendgrid"]
    sent = make_sent_campaign(db, channel, [A])
    proxy = (
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
    )
    events = [
        {
            "email": A,
            "timestamp": NOW,
            "event": "open",
            "sg_event_id": "o-proxy",
            "sg_message_id": f"{sent.pmid(A)}.filter1",
            "useragent": proxy,
        },
    ]
    body = json.dumps(events).encode()
    assert (
        client.post(
            url(channel), data=body, headers=sendgrid_headers(sendgrid_key[0], body)
        ).status_code
        == 200
    )
    drain(app, db)
    event = _only_event(db, sent.sends[A])
    assert event.machine and event.data["machine"] == "gmail image proxy"
    assert _fresh(db, sent.sends[A]).opened_at is None, "only human opens count as opened"
