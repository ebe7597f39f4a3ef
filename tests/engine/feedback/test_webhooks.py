"""The webhook endpoint: real signature checks per provider; what is stored, refused, counted."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from mailer.engine.feedback import intake, sns
from mailer.models import FeedbackPayload
from tests.fixtures.feedback import (
    CERT_URL,
    MAILGUN_KEY,
    REGION,
    SnsSigner,
    basic,
    count,
    mailgun_body,
    sendgrid_headers,
    sns_headers,
    url,
)

SES_DELIVERY = {
    "eventType": "Delivery",
    "mail": {
        "messageId": "0100-abc",
        "destination": ["a@example.com"],
        "timestamp": "2024-05-01T10:00:00.000Z",
    },
    "delivery": {"timestamp": "2024-05-01T10:00:01.000Z", "recipients": ["a@example.com"]},
}


def _post(client, path, body, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, data=data, headers=headers or {"Content-Type": "application/json"})


def _refused(client, db, channel, response, before=0):
    assert response.status_code == 403
    assert count(db, FeedbackPayload) == before, "a refused request stores nothing"
    assert intake.rejections(channel.id)[0] >= 1, "…but bumps the channel's counter"


# ------------------------------------------------------------------------------ SNS


@pytest.mark.parametrize("version", ["1", "2"])
def test_sns_signed_notification_is_stored_and_answered_200(
    client, db, channels, aws, sns_signer, version
):
    message = sns_signer.notification(SES_DELIVERY, version=version)
    response = _post(client, url(channels["ses"]), message, sns_headers(message))
    assert response.status_code == 200, response.data
    payload = db.session.scalar(db.select(FeedbackPayload))
    assert payload.status == "received" and payload.provider == "ses"
    assert payload.channel_id == channels["ses"].id
    assert json.loads(payload.body) == message, "the raw body is kept as it came"
    assert payload.meta["sns_type"] == "Notification"
    assert aws.fetched == [CERT_URL]


def test_sns_certificate_is_fetched_once_then_cached(client, db, channels, aws, sns_signer):
    for _ in range(3):
        message = sns_signer.notification(SES_DELIVERY, version="2")
        assert _post(client, url(channels["ses"]), message, sns_headers(message)).status_code == 200
    assert aws.fetched == [CERT_URL]


def test_sns_tampered_message_is_refused(client, db, channels, aws, sns_signer):
    message = sns_signer.notification(SES_DELIVERY)
    message["Message"] = message["Message"].replace("Delivery", "Bounce")
    _refused(
        client,
        db,
        channels["ses"],
        _post(client, url(channels["ses"]), message, sns_headers(message)),
    )


def test_sns_signed_with_another_key_is_refused(client, db, channels, aws, sns_keys):
    _, (other_key, _) = sns_keys
    message = SnsSigner(other_key).notification(SES_DELIVERY, version="2")
    _refused(
        client,
        db,
        channels["ses"],
        _post(client, url(channels["ses"]), message, sns_headers(message)),
    )


@pytest.mark.parametrize(
    "cert_url",
    [
        f"http://sns.{REGION}.amazonaws.com/SimpleNotificationService-1.pem",  # not https
        f"https://sns.{REGION}.amazonaws.com.evil.example/SimpleNotificationService-1.pem",
        "https://evil.example/sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        f"https://s3.{REGION}.amazonaws.com/SimpleNotificationService-1.pem",  # not sns.
        f"https://sns.{REGION}.amazonaws.com:8443/SimpleNotificationService-1.pem",
        f"https://user@sns.{REGION}.amazonaws.com/SimpleNotificationService-1.pem",
        f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-1.txt",
        f"https://SNS.{REGION}.AMAZONAWS.COM/SimpleNotificationService-1.pem",
    ],
)
def test_sns_certificate_from_a_wrong_host_is_refused_before_any_fetch(
    client, db, channels, aws, sns_signer, sns_keys, cert_url
):
    (_, pem), _ = sns_keys
    aws.served[cert_url] = pem  # even if it would serve the right certificate
    message = sns_signer.notification(SES_DELIVERY, cert_url=cert_url)
    _refused(
        client,
        db,
        channels["ses"],
        _post(client, url(channels["ses"]), message, sns_headers(message)),
    )
    assert aws.fetched == [], "nothing was fetched"


def test_sns_host_pattern():
    assert sns.is_sns_url("https://sns.us-east-1.amazonaws.com/x.pem", path_suffix=".pem")
    assert sns.is_sns_url("https://sns.us-gov-west-1.amazonaws.com/x.pem", path_suffix=".pem")
    for bad in (
        "https://sns.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com./x.pem",
        "https://xsns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com@evil.example/x.pem",
        "ftp://sns.us-east-1.amazonaws.com/x.pem",
        None,
        42,
    ):
        assert not sns.is_sns_url(bad, path_suffix=".pem"), bad


def test_sns_notification_from_another_topic_is_refused(client, db, channels, aws, sns_signer):
    message = sns_signer.notification(
        SES_DELIVERY, topic=f"arn:aws:sns:{REGION}:999999999999:other"
    )
    _refused(
        client,
        db,
        channels["ses"],
        _post(client, url(channels["ses"]), message, sns_headers(message)),
    )


@pytest.mark.parametrize("off", [-600, 600])
def test_sns_message_dated_over_five_minutes_away_is_refused(
    client, db, channels, aws, sns_signer, off
):
    message = sns_signer.notification(SES_DELIVERY)
    when = datetime.now(UTC) + timedelta(seconds=off)
    message = sns_signer.sign(dict(message, Timestamp=when.isoformat(timespec="milliseconds")))
    _refused(
        client,
        db,
        channels["ses"],
        _post(client, url(channels["ses"]), message, sns_headers(message)),
    )
    assert intake.rejections(channels["ses"].id)[1]["reason"] == "stale timestamp"


def test_sns_type_header_must_match_the_body(client, db, channels, aws, sns_signer):
    message = sns_signer.notification(SES_DELIVERY)
    headers = dict(sns_headers(message), **{"x-amz-sns-message-type": "SubscriptionConfirmation"})
    _refused(client, db, channels["ses"], _post(client, url(channels["ses"]), message, headers))


# ------------------------------------------------------------------------------ SendGrid

SG_EVENTS = [
    {
        "email": "a@example.com",
        "timestamp": 1714557600,
        "event": "delivered",
        "sg_event_id": "ZGVsaXZlcmVk",
        "sg_message_id": "abc.filter0001.1.2.0",
    },
]


def test_sendgrid_signed_events_are_stored(client, db, channels, sendgrid_key):
    body = json.dumps(SG_EVENTS).encode()
    response = _post(
        client, url(channels["sendgrid"]), body, sendgrid_headers(sendgrid_key[0], body)
    )
    assert response.status_code == 200
    assert count(db, FeedbackPayload, provider="sendgrid") == 1


def test_sendgrid_tampered_body_is_refused(client, db, channels, sendgrid_key):
    body = json.dumps(SG_EVENTS).encode()
    headers = sendgrid_headers(sendgrid_key[0], body)
    tampered = body.replace(b"delivered", b"spamreport")
    _refused(
        client,
        db,
        channels["sendgrid"],
        _post(client, url(channels["sendgrid"]), tampered, headers),
    )


def test_sendgrid_wrong_key_and_missing_headers_are_refused(client, db, channels):
    from cryptography.hazmat.primitives.asymmetric import ec

    body = json.dumps(SG_EVENTS).encode()
    other = ec.generate_private_key(ec.SECP256R1())
    _refused(
        client,
        db,
        channels["sendgrid"],
        _post(client, url(channels["sendgrid"]), body, sendgrid_headers(other, body)),
    )
    _refused(client, db, channels["sendgrid"], _post(client, url(channels["sendgrid"]), body))


@pytest.mark.parametrize("off", [-2 * 86400, -600, 600])
def test_sendgrid_signature_dated_over_five_minutes_away_is_refused(
    client, db, channels, sendgrid_key, off
):
    body = json.dumps(SG_EVENTS).encode()
    headers = sendgrid_headers(sendgrid_key[0], body, stamp=int(time.time()) + off)
    _refused(
        client, db, channels["sendgrid"], _post(client, url(channels["sendgrid"]), body, headers)
    )
    assert intake.rejections(channels["sendgrid"].id)[1]["reason"] == "stale timestamp"


def test_the_signature_window_is_a_setting(app, client, db, channels, sendgrid_key):
    body = json.dumps(SG_EVENTS).encode()
    headers = sendgrid_headers(sendgrid_key[0], body, stamp=int(time.time()) - 240)
    assert _post(client, url(channels["sendgrid"]), body, headers).status_code == 200
    app.config["MAILER_FEEDBACK_SIGNATURE_MAX_AGE"] = 60
    headers = sendgrid_headers(sendgrid_key[0], body, stamp=int(time.time()) - 240)
    _refused(
        client,
        db,
        channels["sendgrid"],
        _post(client, url(channels["sendgrid"]), body, headers),
        before=1,
    )


def test_sendgrid_replayed_request_is_refused(client, db, channels, sendgrid_key):
    body = json.dumps(SG_EVENTS).encode()
    headers = sendgrid_headers(sendgrid_key[0], body)
    assert _post(client, url(channels["sendgrid"]), body, headers).status_code == 200
    _refused(
        client,
        db,
        channels["sendgrid"],
        _post(client, url(channels["sendgrid"]), body, headers),
        before=1,
    )
    fresh = sendgrid_headers(sendgrid_key[0], body)  # SendGrid's own retry: signed anew
    assert _post(client, url(channels["sendgrid"]), body, fresh).status_code == 200


def test_sendgrid_without_a_configured_key_refuses_everything(client, db, channels, sendgrid_key):
    channel = channels["sendgrid"]
    channel.settings = {}
    db.session.commit()
    body = json.dumps(SG_EVENTS).encode()
    _refused(
        client,
        db,
        channel,
        _post(client, url(channel), body, sendgrid_headers(sendgrid_key[0], body)),
    )


# ------------------------------------------------------------------------------ Mailgun

MG_EVENT = {
    "event": "delivered",
    "id": "CPgfbmQMTCKtHW6uIWtuVe",
    "timestamp": 1714557600.5,
    "recipient": "a@example.com",
    "message": {"headers": {"message-id": "20240501.1@mg.example.com"}},
}


def test_mailgun_signed_event_is_stored(client, db, channels):
    assert _post(client, url(channels["mailgun"]), mailgun_body(MG_EVENT)).status_code == 200
    assert count(db, FeedbackPayload, provider="mailgun") == 1


def test_mailgun_wrong_key_tampered_and_stale_are_refused(client, db, channels):
    path = url(channels["mailgun"])
    _refused(
        client, db, channels["mailgun"], _post(client, path, mailgun_body(MG_EVENT, "key-wrong"))
    )
    body = json.loads(mailgun_body(MG_EVENT))
    body["signature"]["token"] = "x" * 50  # signature no longer covers it
    _refused(client, db, channels["mailgun"], _post(client, path, body))
    stale = mailgun_body(MG_EVENT, stamp=int(time.time()) - 3600)
    _refused(client, db, channels["mailgun"], _post(client, path, stale))


@pytest.mark.parametrize("off", [-600, 600])
def test_mailgun_timestamp_over_five_minutes_away_is_refused(client, db, channels, off):
    body = mailgun_body(MG_EVENT, stamp=int(time.time()) + off)
    _refused(client, db, channels["mailgun"], _post(client, url(channels["mailgun"]), body))


def test_mailgun_replayed_token_is_refused(client, db, channels):
    path = url(channels["mailgun"])
    body = mailgun_body(MG_EVENT)
    assert _post(client, path, body).status_code == 200
    _refused(client, db, channels["mailgun"], _post(client, path, body), before=1)


# ------------------------------------------------------------------------------ Mailjet, Brevo

MJ_EVENT = {
    "event": "sent",
    "time": 1714557600,
    "MessageID": 19421777835146490,
    "email": "a@example.com",
}
BREVO_EVENT = {
    "event": "delivered",
    "email": "a@example.com",
    "message-id": "<1@smtp-relay.mailin.fr>",
    "ts_epoch": 1714557600000,
}


def test_mailjet_needs_the_configured_basic_credentials(client, db, channels):
    path = url(channels["mailjet"])
    assert _post(client, path, MJ_EVENT, basic("mj", "mj-pass")).status_code == 200
    assert _post(client, path, [MJ_EVENT, MJ_EVENT], basic("mj", "mj-pass")).status_code == 200
    _refused(
        client,
        db,
        channels["mailjet"],
        _post(client, path, MJ_EVENT, basic("mj", "wrong")),
        before=2,
    )
    _refused(client, db, channels["mailjet"], _post(client, path, MJ_EVENT), before=2)


def test_brevo_accepts_its_bearer_token_only(client, db, channels):
    path = url(channels["brevo"])
    good = {"Authorization": "Bearer brevo-token", "Content-Type": "application/json"}
    assert _post(client, path, BREVO_EVENT, good).status_code == 200
    bad = {"Authorization": "Bearer nope", "Content-Type": "application/json"}
    _refused(client, db, channels["brevo"], _post(client, path, BREVO_EVENT, bad), before=1)
    _refused(
        client, db, channels["brevo"], _post(client, path, BREVO_EVENT, basic("u", "p")), before=1
    )


# ------------------------------------------------------------------------------ HTTP behaviour


def test_unknown_token_or_provider_is_404(client, db, channels):
    assert (
        _post(client, "/webhooks/mailgun/no-such-token", mailgun_body(MG_EVENT)).status_code == 404
    )
    wrong_provider = f"/webhooks/sendgrid/{channels['mailgun'].webhook_token}"
    assert _post(client, wrong_provider, mailgun_body(MG_EVENT)).status_code == 404
    assert (
        _post(client, f"/webhooks/smtp/{channels['mailgun'].webhook_token}", {}).status_code == 404
    )
    assert count(db, FeedbackPayload) == 0


def test_malformed_json_is_400(client, db, channels):
    assert _post(client, url(channels["mailgun"]), b"{not json").status_code == 400
    assert _post(client, url(channels["ses"]), b"\xff\xfe").status_code == 400
    assert count(db, FeedbackPayload) == 0


def test_oversized_body_is_refused(client, db, channels, app):
    app.config["MAILER_WEBHOOK_MAX_BYTES"] = 1000
    response = _post(
        client, url(channels["mailjet"]), b"[" + b" " * 2000 + b"]", basic("mj", "mj-pass")
    )
    assert response.status_code == 413
    assert count(db, FeedbackPayload) == 0


def test_webhooks_need_no_login_and_no_csrf_token(client, app, db, channels):
    app.config["WTF_CSRF_ENABLED"] = True
    assert _post(client, url(channels["mailgun"]), mailgun_body(MG_EVENT)).status_code == 200


def test_a_burst_of_webhooks_enqueues_one_processing_job(client, db, channels):
    from mailer.queue import FEEDBACK, get_queue

    for _ in range(5):
        assert _post(client, url(channels["mailgun"]), mailgun_body(MG_EVENT)).status_code == 200
    assert get_queue(FEEDBACK).count == 1
    assert count(db, FeedbackPayload, status="received") == 5


def test_the_mailgun_signing_key_is_a_secret_field(app):
    from mailer.providers import registry

    fields = {f.name: f for f in registry["mailgun"].FIELDS}
    assert fields["webhook_signing_key"].secret
    assert MAILGUN_KEY not in repr(fields)
