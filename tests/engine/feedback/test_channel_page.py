"""The channel page shows feedback health: last feedback, 7-day bounce and complaint rates with
the Gmail/Yahoo complaint thresholds, refused requests, and the provider's setup steps."""

from __future__ import annotations

import re
from datetime import timedelta

from mailer.engine.feedback import apply, intake, processing
from mailer.engine.feedback.base import FeedbackEvent
from mailer.engine.feedback.health import Health
from mailer.models import Role
from mailer.models.base import utcnow
from tests.factories import make_sent_campaign, make_user
from tests.fixtures.app import login_as
from tests.fixtures.feedback import mailgun_body, url


def _page(client, channel) -> str:
    login_as(client, make_user(Role.ADMIN))
    response = client.get(f"/channels/{channel.id}")
    assert response.status_code == 200
    return " ".join(response.get_data(as_text=True).split())


def test_health_numbers_and_complaint_alert(app, client, db, channels):
    channel = channels["mailgun"]
    emails = [f"r{i}@example.com" for i in range(200)]
    sent = make_sent_campaign(db, channel, emails)
    now = utcnow()
    events = [
        FeedbackEvent("mailgun", "bounce", f"h{i}", now, token=sent.token(emails[i]), bounce="hard")
        for i in range(12)
    ]
    events += [
        FeedbackEvent("mailgun", "bounce", "s1", now, token=sent.token(emails[50]), bounce="soft"),
        FeedbackEvent("mailgun", "complaint", "c1", now, token=sent.token(emails[60])),
        FeedbackEvent("mailgun", "delivery", "d1", now, token=sent.token(emails[70])),
        # Older than the window: not counted.
        FeedbackEvent(
            "mailgun", "complaint", "c0", now - timedelta(days=9), token=sent.token(emails[61])
        ),
    ]
    for e in events:
        e.channel_id = channel.id
    apply.apply_events(events)
    channel.last_feedback_at = now.replace(microsecond=0)
    db.session.commit()
    intake.count_rejection(channel.id, "signature does not verify")

    page = _page(client, channel)
    assert f"{now:%b} {now.day}, {now.year}, {now:%H:%M}" in page  # |when, in English
    assert "Sent, last 7 days</dt><dd>200" in page
    assert "6.00%" in page and "5% or more" in page, "12 hard bounces of 200"
    assert "12 hard, 1 soft" in page
    assert "0.500%" in page and "0.3% or more" in page, "1 complaint of 200: above 0.3%"
    assert re.search(r"Refused webhook requests</dt> ?<dd>1 ", page)
    assert "signature does not verify" in page
    assert "HTTP webhook signing key" in page and url(channel) in page


def test_unmatched_events_are_listed_for_the_operator(app, client, db, channels):
    channel = channels["mailgun"]
    body = mailgun_body(
        {
            "event": "complained",
            "id": "z",
            "timestamp": 1714557600,
            "recipient": "who@example.com",
            "message": {"headers": {"message-id": "stranger@mg.example.com"}},
        }
    )
    assert client.post(url(channel), data=body, content_type="application/json").status_code == 200
    processing.process_pending()
    db.session.commit()
    page = _page(client, channel)
    assert "matched no email sent by Mailer" in page
    assert "who@example.com" in page and "stranger@mg.example.com" in page


def test_thresholds():
    assert Health(True, sent=10_000, complaints=9).complaint_level == "ok"
    assert Health(True, sent=10_000, complaints=10).complaint_level == "warn"  # 0.1%
    assert Health(True, sent=10_000, complaints=30).complaint_level == "alert"  # 0.3%
    assert Health(True, sent=0).complaint_level == "none"
    assert Health(True, sent=100, hard_bounces=5).bounce_level == "warn"
    assert Health(True, sent=100, hard_bounces=10).bounce_level == "alert"


def test_setup_steps_per_provider(client, db, channels):
    ses = _page(client, channels["ses"])
    assert "Subscribe this HTTPS endpoint" in ses and url(channels["ses"]) in ses
    assert "SQS queue URL" in ses
    sendgrid = _page(client, channels["sendgrid"])
    assert "Signed Event Webhook Requests" in sendgrid
    mailjet = _page(client, channels["mailjet"])
    assert f"://mj:PASSWORD@mailer.test{url(channels['mailjet'])}" in mailjet
    brevo = _page(client, channels["brevo"])
    assert "bearer" in brevo


def test_no_feedback_yet_is_said_plainly(client, db, channels):
    page = _page(client, channels["brevo"])
    assert "none yet" in page
