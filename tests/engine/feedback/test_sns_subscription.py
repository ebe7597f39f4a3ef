"""SNS subscription confirmation: the SubscribeURL is visited only after the signature verified
and the topic matched the channel's, by the job (not the request), and only on an SNS host."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from mailer.engine.feedback import intake
from mailer.models import Channel, FeedbackPayload, Role
from tests.factories import make_channel
from tests.fixtures.feedback import (
    CERT_URL,
    REGION,
    TOPIC,
    SnsSigner,
    count,
    drain,
    sns_headers,
    url,
)

OTHER_TOPIC = f"arn:aws:sns:{REGION}:123456789012:ses-identity"


def _post(client, channel, message):
    return client.post(url(channel), data=json.dumps(message), headers=sns_headers(message))


def test_a_verified_confirmation_for_the_configured_topic_is_confirmed_by_the_job(
    app, client, db, channels, aws, sns_signer
):
    message = sns_signer.confirmation()
    assert _post(client, channels["ses"], message).status_code == 200
    assert aws.fetched == [CERT_URL], "the request only verified; the job confirms"
    drain(app, db)
    assert aws.fetched == [CERT_URL, message["SubscribeURL"]]
    payload = db.session.scalar(db.select(FeedbackPayload))
    assert payload.status == "processed" and payload.meta["confirmed"] is True
    drain(app, db)
    assert aws.fetched.count(message["SubscribeURL"]) == 1, "confirmed once"


def test_a_confirmation_with_a_bad_signature_is_never_confirmed(
    app, client, db, channels, aws, sns_signer, sns_keys
):
    message = sns_signer.confirmation()
    message["SubscribeURL"] += "&x=1"  # not what was signed
    assert _post(client, channels["ses"], message).status_code == 403
    _, (other_key, _) = sns_keys
    forged = SnsSigner(other_key).confirmation()
    assert _post(client, channels["ses"], forged).status_code == 403
    drain(app, db)
    assert all("ConfirmSubscription" not in u for u in aws.fetched)
    assert count(db, FeedbackPayload) == 0


def test_a_confirmation_for_another_topic_is_refused(app, client, db, channels, aws, sns_signer):
    message = sns_signer.confirmation(topic=f"arn:aws:sns:{REGION}:999999999999:someone-else")
    assert _post(client, channels["ses"], message).status_code == 403
    drain(app, db)
    assert all("ConfirmSubscription" not in u for u in aws.fetched)


def test_without_a_configured_topic_nothing_is_confirmed(
    app, client, db, channels, aws, sns_signer
):
    channel = channels["ses"]
    channel.settings = {k: v for k, v in channel.settings.items() if k != "sns_topic_arns"}
    db.session.commit()
    assert _post(client, channel, sns_signer.confirmation()).status_code == 403
    assert intake.rejections(channel.id)[1]["reason"].startswith("no SNS topic ARN configured")
    drain(app, db)
    assert all("ConfirmSubscription" not in u for u in aws.fetched)


def test_a_signed_confirmation_pointing_elsewhere_is_not_fetched(
    app, client, db, channels, aws, sns_signer
):
    """Even genuinely signed, a SubscribeURL off the SNS hosts is never visited."""
    evil = f"https://sns.{REGION}.amazonaws.com.evil.example/?Action=ConfirmSubscription&Token=t"
    message = sns_signer.confirmation(url=evil)
    assert _post(client, channels["ses"], message).status_code == 200
    drain(app, db)
    assert evil not in aws.fetched
    payload = db.session.scalar(db.select(FeedbackPayload))
    assert payload.status == "failed" and "SubscribeURL" in payload.error


def test_unsubscribe_confirmation_is_kept_and_changes_nothing(
    app, client, db, channels, aws, sns_signer
):
    message = sns_signer.confirmation(kind="UnsubscribeConfirmation")
    assert _post(client, channels["ses"], message).status_code == 200
    drain(app, db)
    payload = db.session.scalar(db.select(FeedbackPayload))
    assert payload.status == "processed" and payload.meta["sns_type"] == "UnsubscribeConfirmation"
    assert message["SubscribeURL"] not in aws.fetched
    assert payload.meta.get("confirmed") is None


# ------------------------------------------------------------------------------ pinned topics

DELIVERY = {
    "eventType": "Delivery",
    "mail": {"messageId": "0100-abc", "destination": ["a@example.com"]},
    "delivery": {"timestamp": "2024-05-01T10:00:01.000Z", "recipients": ["a@example.com"]},
}


def _unpinned(db, channel, topics: str = TOPIC):
    channel.settings = dict(channel.settings, sns_topic_arns=topics)
    channel.settings.pop("sns_confirmed_topics")
    db.session.commit()
    return channel


def test_without_a_configured_topic_no_notification_is_accepted(
    client, db, channels, aws, sns_signer
):
    """Anyone's SNS topic signs as genuinely as ours: with nothing configured, refuse all."""
    channel = channels["ses"]
    channel.settings = {"region": REGION}
    db.session.commit()
    for topic in (TOPIC, f"arn:aws:sns:{REGION}:999999999999:attacker"):
        message = sns_signer.notification(DELIVERY, topic=topic)
        assert _post(client, channel, message).status_code == 403
    assert count(db, FeedbackPayload) == 0


def test_notifications_are_accepted_only_once_the_topic_was_confirmed_here(
    app, client, db, channels, aws, sns_signer
):
    channel = _unpinned(db, channels["ses"], f"{TOPIC} {OTHER_TOPIC}")
    assert _post(client, channel, sns_signer.notification(DELIVERY)).status_code == 403
    assert "confirmed" in intake.rejections(channel.id)[1]["reason"]

    assert _post(client, channel, sns_signer.confirmation()).status_code == 200
    drain(app, db)
    db.session.refresh(channel)
    assert channel.settings["sns_confirmed_topics"] == [TOPIC]

    assert _post(client, channel, sns_signer.notification(DELIVERY)).status_code == 200
    # Configured but never confirmed through this endpoint: still refused.
    other = sns_signer.notification(DELIVERY, topic=OTHER_TOPIC)
    assert _post(client, channel, other).status_code == 403
    # Removed from the configuration: refused again.
    channel.settings = dict(channel.settings, sns_topic_arns=OTHER_TOPIC)
    db.session.commit()
    assert _post(client, channel, sns_signer.notification(DELIVERY)).status_code == 403


def test_saving_the_channel_form_keeps_the_confirmed_topics(client, db, channels, as_role):
    as_role(Role.ADMIN)
    channel = channels["ses"]
    form = {
        "name": channel.name,
        "provider": "ses",
        "cfg-region": REGION,
        "cfg-access_key_id": "AKIDTEST",
        "cfg-secret_access_key": "",
        "cfg-sns_topic_arns": TOPIC,
        "endpoint_url": "",
        "rate_per_second": "20",
        "daily_quota": "",
        "active": "on",
    }
    assert client.post(f"/channels/{channel.id}", data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Channel, channel.id).settings["sns_confirmed_topics"] == [TOPIC]


def test_upgrade_pins_the_topics_existing_channels_had_configured(db, channels):
    path = (
        Path(__file__).resolve().parents[3] / "migrations" / "versions" / "0009_pin_sns_topics.py"
    )
    spec = importlib.util.spec_from_file_location("pin_sns_topics", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    configured = _unpinned(db, channels["ses"], f"{TOPIC}, {OTHER_TOPIC}")
    bare = make_channel(db, "ses", {"region": REGION})
    assert migration.pin_configured_topics(db.session.connection()) == 1
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Channel, configured.id).settings["sns_confirmed_topics"] == sorted(
        [TOPIC, OTHER_TOPIC]
    )
    assert "sns_confirmed_topics" not in db.session.get(Channel, bare.id).settings
