"""SNS subscription confirmation: the SubscribeURL is visited only after the signature verified
and the topic matched the channel's, by the job (not the request), and only on an SNS host."""

from __future__ import annotations

import json

from mailer.models import FeedbackPayload
from mailer.services import feedback
from tests.feedback.conftest import (
    CERT_URL,
    REGION,
    SnsSigner,
    count,
    drain,
    sns_headers,
    url,
)


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
    assert feedback.rejections(channel.id)[1]["reason"].startswith("no SNS topic ARN configured")
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
