"""The feedback job: one job for a stream of webhooks, and no payload ever left behind."""

from __future__ import annotations

import time

from mailer.engine.feedback import intake, processing
from mailer.models import FeedbackPayload
from mailer.queue import FEEDBACK, get_queue, get_redis
from tests.factories import make_sent_campaign
from tests.fixtures.feedback import count, drain, mailgun_body, url

A = "ann@example.com"


def _delivered(sent, n: int) -> bytes:
    return mailgun_body(
        {
            "event": "delivered",
            "id": f"d{n}",
            "timestamp": time.time() + n,
            "recipient": A,
            "message": {"headers": {"message-id": sent.pmid(A)}},
        }
    )


def test_webhooks_arriving_while_the_job_lingers_need_no_new_job(
    app, client, db, channels, monkeypatch
):
    channel = channels["mailgun"]
    sent = make_sent_campaign(db, channel, [A])
    assert (
        client.post(
            url(channel), data=_delivered(sent, 1), content_type="application/json"
        ).status_code
        == 200
    )
    queue = get_queue(FEEDBACK)
    assert queue.count == 1
    queue.empty()  # run the job here instead

    arrivals = iter([2, 3])
    real_sleep = time.sleep

    def sleep_and_receive(seconds):
        n = next(arrivals, None)
        if n is not None:  # a webhook arrives while the job waits for more
            intake.receive("mailgun", channel.webhook_token, _delivered(sent, n), {})
        real_sleep(seconds)

    monkeypatch.setattr(processing, "IDLE_SLEEP", 0.05)
    monkeypatch.setattr(processing.time, "sleep", sleep_and_receive)
    result = processing.run_job(linger=0.3)
    assert result.payloads == 3
    assert queue.count == 0, "the running job held the flag: no job per webhook"
    assert count(db, FeedbackPayload, status="processed") == 3
    assert not get_redis().exists(intake.KICK_KEY), "cleared when the job ended"

    monkeypatch.undo()
    assert (
        client.post(
            url(channel), data=_delivered(sent, 4), content_type="application/json"
        ).status_code
        == 200
    )
    assert queue.count == 1, "after the job ended, the next webhook enqueues a new one"
    drain(app, db)
    assert count(db, FeedbackPayload, status="processed") == 4


def test_a_payload_stored_during_the_last_look_is_not_left_behind(app, db, channels, monkeypatch):
    """The race the protocol closes: a payload committed just before the flag is cleared is
    found by the job's last drain; one committed after it enqueues a new job."""
    channel = channels["mailgun"]
    sent = make_sent_campaign(db, channel, [A])
    real_delete = get_redis().delete
    stored = []

    def delete_then_store(*keys):
        if intake.KICK_KEY in keys and not stored:
            # committed while the flag is still set: no job is enqueued for it
            stored.append(intake.receive("mailgun", channel.webhook_token, _delivered(sent, 9), {}))
        return real_delete(*keys)

    monkeypatch.setattr(get_redis(), "delete", delete_then_store)
    processing.run_job(linger=0)
    assert get_queue(FEEDBACK).count == 0
    assert db.session.get(FeedbackPayload, stored[0]).status == "processed"
