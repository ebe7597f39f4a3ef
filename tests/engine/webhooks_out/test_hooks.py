"""Events recorded by the rest of Mailer reach the endpoints: opens from the tracking flush,
bounces from provider feedback, sends from the channel worker, one-click unsubscribes."""

from __future__ import annotations

import json
import time

from mailer.engine.tracking import hits
from mailer.engine.webhooks_out import events as webhook_events
from mailer.engine.webhooks_out.signing import verify_signature
from mailer.queue import get_redis
from tests.factories import make_sent_campaign
from tests.fixtures.feedback import drain, mailgun_body, url
from tests.fixtures.tracking import get, run_flush_job
from tests.fixtures.webhooks_out import deliveries, run_tick

A = "ann@example.com"


def test_an_open_written_by_the_tracking_flush_is_delivered_once(
    app, buffered, db, client, send_campaign, receiver, make_endpoint
):
    sent = send_campaign([A, "bob@example.com"])
    _, secret = make_endpoint(["opened", "clicked"])
    ann = sent[A]
    assert get(client, ann.pixel_path).status_code == 200
    assert get(client, ann.click_path(1)).status_code == 302
    assert deliveries(db) == [], "buffered in Redis: nothing written yet"
    raw = [hits.Hit.from_json(x) for x in get_redis().lrange(hits.BUFFER_KEY, 0, -1)]

    assert run_flush_job(app).is_finished
    rows = deliveries(db)
    assert sorted(d.event_type for d in rows) == ["clicked", "opened"]
    # A flush that died after committing leaves its batch to be written again: no new delivery.
    hits.write_hits(raw)
    db.session.commit()
    assert len(deliveries(db)) == 2

    run_tick(app)
    bodies = {json.loads(r.body)["type"]: json.loads(r.body) for r in receiver.requests}
    assert set(bodies) == {"opened", "clicked"}
    opened = bodies["opened"]
    assert opened["email"] == A
    assert opened["campaign_id"] == sent.campaign.id and opened["send_id"] == ann.send.id
    assert opened["campaign_name"] == sent.campaign.name
    assert (opened["tags"], opened["metadata"]) == ([], {}), "a transactional message's own"
    assert opened["machine"] is False
    assert bodies["clicked"]["data"]["url"] == "https://shop.example.com/stores"
    for r in receiver.requests:
        assert verify_signature(secret, r.headers["Mailer-Signature"], r.body)


def test_a_bounce_from_provider_feedback_is_delivered(app, client, db, channels, make_endpoint):
    make_endpoint(["bounced"])
    channel = channels["mailgun"]
    sent = make_sent_campaign(db, channel, [A])
    event = {
        "event": "failed",
        "severity": "permanent",
        "reason": "bounce",
        "id": "mg-bounce-1",
        "timestamp": time.time(),
        "recipient": A,
        "message": {"headers": {"message-id": sent.pmid(A)}},
        "delivery-status": {"code": 550, "message": "5.1.1 no such user"},
    }
    for _ in range(2):  # the provider sends the event again: one event, one delivery
        body = mailgun_body(event)  # freshly signed each time
        response = client.post(url(channel), data=body, content_type="application/json")
        assert response.status_code == 200
        drain(app, db)
    [d] = deliveries(db)
    assert d.event_type == "bounced"
    assert d.payload["email"] == A
    assert d.payload["campaign_id"] == sent.campaign_id
    assert d.payload["send_id"] == sent.sends[A].id
    assert d.payload["data"]["bounce"] == "hard"


def test_sends_of_a_campaign_emit_sent_events(db, send_campaign, make_endpoint):
    make_endpoint(["sent"])
    sent = send_campaign([A, "bob@example.com"])
    rows = deliveries(db)
    assert sorted(d.payload["email"] for d in rows) == [A, "bob@example.com"]
    assert {d.event_type for d in rows} == {"sent"}
    assert {d.payload["campaign_id"] for d in rows} == {sent.campaign.id}


def test_a_one_click_unsubscribe_is_delivered(db, client, send_campaign, make_endpoint):
    ann = send_campaign([A])[A]
    make_endpoint(["unsubscribed"])
    for _ in range(2):
        client.post(f"/u/{ann.token}", data={"List-Unsubscribe": "One-Click"})
    [d] = deliveries(db)
    assert d.event_type == "unsubscribed"
    assert d.payload["email"] == A and d.payload["send_id"] == ann.send.id
    assert d.payload["data"]["one_click"] is True


def test_nothing_is_queued_for_unsubscribed_types(db, client, send_campaign, make_endpoint):
    make_endpoint(["complained"])
    ann = send_campaign([A])[A]
    get(client, ann.pixel_path)
    client.post(f"/u/{ann.token}", data={"List-Unsubscribe": "One-Click"})
    assert deliveries(db) == []
    assert webhook_events.subscribed("complaint") and not webhook_events.subscribed("open")
