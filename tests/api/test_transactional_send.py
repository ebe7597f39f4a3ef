"""Transactional sending beyond the happy path: provider feedback and the open pixel move a
message's status, retries and refusals, the tick, the rate share a running campaign leaves
transactional mail, and two drain jobs at once."""

from __future__ import annotations

import collections
import json
import time
from datetime import timedelta

import pytest
from rq import Worker

from mailer.campaigns import lifecycle
from mailer.engine.transactional import accept
from mailer.lib import ratelimit, tokens
from mailer.lib.crypto import encrypt_json
from mailer.models import Channel, Identity, Suppression, Template
from mailer.models.base import utcnow
from mailer.models.campaigns import Message
from mailer.queue import FEEDBACK, TICKS, TRANSACTIONAL, enqueue, get_redis
from tests.factories import make_campaign, make_list
from tests.fixtures.api import BROWSER, run, send, shown
from tests.fixtures.workers import wait_for
from tests.servers.brevo import BrevoServer

pytestmark = pytest.mark.usefixtures("quick_drain")


def brevo_webhook(client, channel, event: str, message: dict, **fields):
    body = {
        "event": event,
        "email": message["to"],
        "message-id": message["provider_message_id"],
        "ts_epoch": int(time.time() * 1000),
        "X-Mailin-custom": json.dumps({"token": tokens.make(tokens.MESSAGE, message["id"])}),
        **fields,
    }
    answer = client.post(
        f"/webhooks/brevo/{channel.webhook_token}",
        data=json.dumps(body),
        headers={"Authorization": "Bearer hook", "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)


# ------------------------------------------------------------------ status from feedback


def test_provider_feedback_moves_the_status(app, db, client, api, channel):
    message_id = send(api)
    run(app, db)
    message = shown(api, message_id)
    assert message["status"] == "sent"

    brevo_webhook(client, channel, "delivered", message)
    run(app, db, FEEDBACK)
    message = shown(api, message_id)
    assert message["status"] == "delivered" and message["delivered_at"]
    assert [e["type"] for e in message["events"]] == ["delivery"]

    brevo_webhook(client, channel, "hard_bounce", message, reason="550 mailbox unknown")
    run(app, db, FEEDBACK)
    message = shown(api, message_id)
    assert message["status"] == "bounced" and message["bounced_at"]
    assert message["error"] == "550 mailbox unknown"
    assert [e["type"] for e in message["events"]] == ["delivery", "bounce"]
    assert db.session.scalar(db.select(Suppression.reason).filter_by(email="jane@example.com"))

    brevo_webhook(client, channel, "delivered", message, ts_epoch=int(time.time() * 1000) + 1)
    run(app, db, FEEDBACK)
    assert shown(api, message_id)["status"] == "bounced", "a late delivery does not undo it"


def test_a_complaint_wins_over_delivery(app, db, client, api, channel):
    message_id = send(api)
    run(app, db)
    message = shown(api, message_id)
    brevo_webhook(client, channel, "delivered", message)
    brevo_webhook(client, channel, "spam", message)
    run(app, db, FEEDBACK)
    message = shown(api, message_id)
    assert message["status"] == "complained" and message["complained_at"]


def test_the_open_pixel_marks_a_message_opened(app, db, client, api, brevo, channel):
    message_id = send(api)
    run(app, db)
    html = brevo.requests[0].json["htmlContent"]
    token = tokens.make(tokens.MESSAGE, message_id)
    assert f"/t/o/{token}.gif" in html
    # People open later than the security gateways that fetch everything on arrival.
    db.session.execute(
        db.update(Message).values(sent_at=utcnow() - timedelta(minutes=5)).filter_by(id=message_id)
    )
    db.session.commit()

    proxy = client.get(f"/t/o/{token}.gif", headers={"User-Agent": "GoogleImageProxy"})
    assert proxy.status_code == 200 and proxy.mimetype == "image/gif"
    message = shown(api, message_id)
    assert message["status"] == "sent" and message["opened_at"] is None
    assert [(e["type"], e["machine"]) for e in message["events"]] == [("open", True)]

    client.get(f"/t/o/{token}.gif", headers={"User-Agent": BROWSER})
    message = shown(api, message_id)
    assert message["status"] == "opened" and message["delivery_status"] == "sent"
    assert message["opened_at"]
    listed = api.get("/api/v1/messages?status=opened").json["data"]
    assert [m["id"] for m in listed] == [message_id]


def test_opens_are_not_tracked_when_asked(app, db, api, brevo, channel):
    send(api, track_opens=False)
    run(app, db)
    assert "/t/o/" not in brevo.requests[0].json["htmlContent"]


# ------------------------------------------------------------------ failures and retries


def test_a_transient_error_retries_with_backoff_then_sends(app, db, api, brevo, channel):
    brevo.fail(503)
    message_id = send(api)
    run(app, db)
    message = shown(api, message_id)
    assert message["status"] == "queued" and message["attempts"] == 1
    assert message["error"] and message["next_attempt_at"]
    db.session.execute(db.update(Message).values(next_attempt_at=utcnow()).filter_by(id=message_id))
    db.session.commit()
    enqueue(TICKS, "jobs.ticks.transactional_tick")  # the safety-net tick finds it due
    run(app, db, TICKS, TRANSACTIONAL)
    message = shown(api, message_id)
    assert message["status"] == "sent" and message["attempts"] == 2 and message["error"] is None


def test_a_permanent_refusal_fails_with_the_reason(app, db, api, brevo, channel):
    brevo.reject("bad@example.com", 400)
    bad, good = send(api, to="bad@example.com"), send(api, to="good@example.com")
    run(app, db)
    failed = shown(api, bad)
    assert failed["status"] == "failed" and "bad@example.com" in failed["error"]
    assert shown(api, good)["status"] == "sent"


# Issue 16: string work on a 100k string in nested loops (13-22 s a render), and a list of
# lists sharing one string, printed (hundreds of MB); here only for the message whose
# variables say "heavy".
SLOW = (
    '{% set a = "x" * 100000 %}{% for i in range(1000 if heavy else 0) %}'
    "{% for j in range(99) %}{{ a.upper()|length }}{% endfor %}{% endfor %}"
)
HUGE = '{% set b = ["x" * 1000] * 1000 %}{{ [b] * (1000 if heavy else 0) }}'


@pytest.mark.parametrize(
    ("attack", "reason"),
    [
        (SLOW, "rendering took longer than 300 ms and was stopped"),
        (HUGE, "a value the template builds would be longer than 2,000,000 characters"),
    ],
)
def test_a_message_over_the_render_budget_fails_with_the_reason(
    app, db, api, brevo, channel, attack, reason
):
    template = Template(name="Receipt", subject="Your receipt", html=f"<p>Thanks!</p>{attack}")
    db.session.add(template)
    db.session.commit()
    ids = {}
    for heavy in (True, False):
        body = {"to": f"{heavy}@example.com", "template_id": template.id}
        answer = api.post("/api/v1/messages", json={**body, "variables": {"heavy": heavy}})
        assert answer.status_code == 202, answer.json
        ids[heavy] = answer.json["id"]
    run(app, db)
    failed = shown(api, ids[True])
    assert failed["status"] == "failed"
    assert failed["error"].startswith(f"template: HTML body of “Receipt”: {reason}")
    assert shown(api, ids[False])["status"] == "sent"
    assert [r.json["to"][0]["email"] for r in brevo.requests] == ["false@example.com"]


def test_a_malformed_address_in_the_messages_table_fails_and_never_reaches_the_provider(
    app, db, api, brevo, channel
):
    bad, good = send(api, to="bad@example.com"), send(api, to="good@example.com")
    malformed = "bad@example.com\r\nBcc: victim@example.com"  # written by another tool
    db.session.execute(db.update(Message).filter_by(id=bad).values(to_email=malformed))
    run(app, db)
    failed = shown(api, bad)
    assert (failed["status"], failed["error"]) == ("failed", "invalid address: contains spaces")
    assert shown(api, good)["status"] == "sent"
    assert [r.json["to"][0]["email"] for r in brevo.requests] == ["good@example.com"]


def test_the_tick_fails_messages_a_dead_worker_left_sending(app, db, api, channel):
    message_id = send(api)
    db.session.execute(
        db.update(Message)
        .values(status="sending", claimed_at=utcnow() - timedelta(hours=1))
        .filter_by(id=message_id)
    )
    db.session.commit()
    get_redis().delete(accept.FLAG_KEY.format(channel.id))
    enqueue(TICKS, "jobs.ticks.transactional_tick")
    run(app, db, TICKS, TRANSACTIONAL)
    message = shown(api, message_id)
    assert message["status"] == "failed" and message["error"].startswith("in doubt")


def test_many_requests_enqueue_one_drain_job(app, db, api, channel):
    for i in range(20):
        send(api, to=f"n{i}@example.com")
    queue = get_redis().llen(f"rq:queue:{TRANSACTIONAL}")
    assert queue == 1
    run(app, db)
    assert not get_redis().exists(accept.FLAG_KEY.format(channel.id)), "flag released"
    send(api, to="later@example.com")
    assert get_redis().llen(f"rq:queue:{TRANSACTIONAL}") == 1, "the next request wakes it"


# ------------------------------------------------------------------ the rate share


def test_campaigns_leave_transactional_mail_its_share_of_the_rate(app):
    """Campaign workers take first at every refill, greedily; transactional mail still gets
    its share of the channel's rate, and alone each side may use all of it."""
    rate, channel_id = 200.0, 990001

    def contend(seconds: float, with_transactional: bool) -> tuple[int, int]:
        campaign = transactional_count = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            campaign += ratelimit.take_rate(channel_id, rate, 1000)[0]
            if with_transactional:
                transactional_count += ratelimit.take_rate_transactional(channel_id, rate, 1000)[0]
            time.sleep(0.005)
        return campaign, transactional_count

    campaign, tx = contend(2.0, with_transactional=True)
    assert tx >= 0.5 * rate * 2 * 0.85, (campaign, tx)
    assert campaign <= 0.5 * rate * 2 * 1.15 + rate / 4, (campaign, tx)
    assert campaign + tx <= rate * 2 + rate / 2
    time.sleep(ratelimit.TX_ACTIVE_MS / 1000 + 0.3)  # no transactional mail any more
    campaign, _ = contend(1.0, with_transactional=False)
    assert campaign >= rate * 0.85, "alone, a campaign uses the whole rate"


@pytest.mark.slow
def test_a_running_campaign_does_not_starve_transactional_mail(
    app,
    db,
    api,
    spawn_worker,
):
    """Real worker processes: a campaign saturates a 20/s channel; 20 transactional messages
    sent meanwhile arrive within about 2 s (half the rate), long before the campaign ends.
    Two drain jobs run at once for the channel and nobody gets a message twice."""
    rate = 20
    with BrevoServer() as server:
        db.session.add(Identity(name="App", from_email="app@example.com"))
        channel = Channel(
            name="Shared",
            provider="brevo",
            endpoint_url=server.endpoint_url,
            settings={},
            secrets_encrypted=encrypt_json({"api_key": server.api_key}),
            rate_per_second=rate,
        )
        db.session.add(channel)
        db.session.commit()
        people = make_list(db, "L", [f"c{i}@example.com" for i in range(240)])
        campaign = make_campaign(db, [people], [channel])
        spawn_worker("send")
        spawn_worker("transactional")
        spawn_worker("transactional")
        # Start-up is not what this test measures: on a loaded machine three worker
        # processes can take half a minute to import everything and register.
        wait_for(lambda: len(Worker.all(connection=get_redis())) >= 3, timeout=180)
        lifecycle.schedule(campaign)
        wait_for(lambda: server.accepted >= 40, timeout=60)

        started = time.monotonic()
        ids = [send(api, to=f"t{i}@example.com") for i in range(20)]
        enqueue(TRANSACTIONAL, "jobs.transactional.drain", channel.id)  # a second one at once

        def tx_received():
            return sum(1 for r in server.requests if r.json["to"][0]["email"].startswith("t"))

        wait_for(lambda: tx_received() >= 20, timeout=30)
        took = time.monotonic() - started
        campaign_sent = server.accepted - 20
        assert took < 5.0, f"20 transactional messages took {took:.1f}s"
        assert campaign_sent < 240, "the campaign was still running meanwhile"

        wait_for(
            lambda: (
                db.session.commit() or all(db.session.get(Message, i).status == "sent" for i in ids)
            )
        )
        counts = collections.Counter(r.json["to"][0]["email"] for r in server.requests)
        assert max(counts.values()) == 1, "nobody received a message twice"
