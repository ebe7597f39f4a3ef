"""Delivery to a real local HTTP server: signed body, retries with backoff, give-up, resend,
endpoints disabled after failing too long, only subscribed types, one post per attempt."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import replace
from datetime import timedelta

from standardwebhooks import Webhook

from mailer.dispatch import TICKS_REGISTRY
from mailer.engine.webhooks_out import delivery as webhook_delivery
from mailer.engine.webhooks_out import events as webhook_events
from mailer.engine.webhooks_out.signing import verify_signature
from mailer.models.base import utcnow
from mailer.services import webhook_endpoints
from tests.fixtures.webhooks_out import deliveries, endpoint, opened, run_tick, time_passes
from tests.servers.http_base import Reply


def test_the_delivery_tick_is_registered_every_5_seconds():
    tick = next(t for t in TICKS_REGISTRY if t.name == "webhooks-deliver")
    assert (tick.func, tick.interval) == ("jobs.webhooks_out.deliver_webhooks", 5)


def test_the_tick_posts_the_exact_signed_body_with_event_headers(app, db, receiver, make_endpoint):
    hook, secret = make_endpoint(["opened"])
    at = utcnow().replace(microsecond=0)
    assert webhook_events.emit([opened(occurred_at=at, campaign_id=None, send_id=None)]) == 1
    db.session.commit()

    summary = run_tick(app)
    assert summary["delivered"] == 1

    [req] = receiver.requests
    assert req.method == "POST" and req.path == "/hooks/mailer"
    assert req.headers["Content-Type"] == "application/json"
    # Standard Webhooks, checked by the package's own verifier; the older header still works.
    body = Webhook(secret).verify(req.body, req.headers)
    assert verify_signature(secret, req.headers["Mailer-Signature"], req.body)
    assert not verify_signature("whsec_wrong", req.headers["Mailer-Signature"], req.body)
    assert body == {
        "id": body["id"],
        "type": "opened",
        "occurred_at": at.isoformat() + "Z",
        "email": "ann@example.com",
        "campaign_id": None,
        "campaign_name": None,
        "campaign_external_id": None,
        "send_id": None,
        "message_id": None,
        "tags": [],
        "metadata": {},
        "machine": False,
        "data": {"ua": "Mozilla/5.0"},
    }
    assert body["id"].startswith("evt_")
    assert req.headers["webhook-id"] == body["id"]
    assert req.headers["webhook-signature"].startswith("v1,")
    [delivery] = deliveries(db)
    assert req.headers["Mailer-Event"] == "opened"
    assert req.headers["Mailer-Delivery"] == str(delivery.id)
    assert req.headers["Mailer-Event-Id"] == body["id"] == delivery.event_id
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.delivered_at is not None and delivery.last_error is None
    assert endpoint(db, hook.id).last_success_at is not None


def test_a_500_is_retried_with_doubling_backoff_then_delivered(db, receiver, make_endpoint):
    hook, secret = make_endpoint(["opened"])
    webhook_events.emit([opened()])
    db.session.commit()
    receiver.fail(500, times=2)

    # MariaDB's DATETIME keeps whole seconds: measure from the second the clock was in.
    before = utcnow().replace(microsecond=0)
    assert webhook_delivery.deliver_due().retrying == 1
    [d] = deliveries(db)
    assert (d.status, d.attempts, d.last_status_code) == ("pending", 1, 500)
    assert d.last_error == "HTTP 500: receiver is broken"
    wait = (d.next_attempt_at - before).total_seconds()
    assert 24 <= wait <= 37, f"first retry after ~30 s (±20 %), got {wait}"
    assert endpoint(db, hook.id).failing_since is not None

    assert webhook_delivery.deliver_due().attempted == 0, "not due yet: nothing posted"
    assert len(receiver.requests) == 1

    time_passes(db)
    before = utcnow().replace(microsecond=0)
    webhook_delivery.deliver_due()
    [d] = deliveries(db)
    wait = (d.next_attempt_at - before).total_seconds()
    assert (d.status, d.attempts) == ("pending", 2)
    assert 48 <= wait <= 73, f"second retry after ~60 s, got {wait}"

    time_passes(db)
    assert webhook_delivery.deliver_due().delivered == 1
    [d] = deliveries(db)
    assert (d.status, d.attempts, d.last_status_code, d.last_error) == ("delivered", 3, 200, None)
    bodies = {r.body for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(bodies) == 1, "every retry carries the same body"
    for r in receiver.requests:
        assert verify_signature(secret, r.headers["Mailer-Signature"], r.body)
    assert endpoint(db, hook.id).failing_since is None, "a success clears the failure record"


def test_backoff_doubles_and_caps_at_an_hour():
    for attempts, base in ((1, 30), (2, 60), (3, 120), (5, 480), (7, 1920)):
        for _ in range(20):
            assert base * 0.8 <= webhook_delivery.backoff(attempts) <= base * 1.2
    assert all(webhook_delivery.backoff(n) <= 3600 for n in (8, 12, 40, 1000))
    assert webhook_delivery.backoff(40) >= 3600 * 0.8


def test_given_up_after_the_window_then_resent_and_delivered(db, receiver, make_endpoint):
    make_endpoint(["opened"])
    webhook_events.emit([opened()])
    db.session.commit()
    [d] = deliveries(db)
    assert d.expires_at - d.created_at == timedelta(hours=24)

    receiver.fail(503, times=None)
    webhook_delivery.deliver_due()
    # A day later: the last attempt fails too, and the delivery is given up.
    db.session.execute(
        db.update(type(d)).values(
            expires_at=utcnow() - timedelta(seconds=1),
            next_attempt_at=utcnow() - timedelta(seconds=1),
        )
    )
    db.session.commit()
    assert webhook_delivery.deliver_due().failed == 1
    [d] = deliveries(db)
    assert (d.status, d.attempts, d.last_status_code, d.next_attempt_at) == ("failed", 2, 503, None)
    time_passes(db)
    assert webhook_delivery.deliver_due().attempted == 0, "a failed delivery is not retried"

    receiver.clear_faults()
    webhook_endpoints.resend(d)
    assert webhook_delivery.deliver_due().delivered == 1
    [d] = deliveries(db)
    assert (d.status, d.attempts, d.last_status_code) == ("delivered", 3, 200)
    assert len(receiver.requests) == 3


def test_an_endpoint_failing_for_longer_than_the_setting_is_disabled(
    app, db, receiver, make_endpoint
):
    hook, _ = make_endpoint(["opened"])
    other, _ = make_endpoint(["opened"], url=receiver.hook_url + "/other")
    receiver.fail(500, times=None)
    webhook_events.emit([opened()])
    db.session.commit()
    webhook_delivery.deliver_due()
    assert endpoint(db, hook.id).enabled, "one failure does not disable"
    since = endpoint(db, hook.id).failing_since
    assert since is not None

    # 23 hours of failures: still enabled.
    hook.failing_since = utcnow() - timedelta(hours=23)
    db.session.commit()
    time_passes(db)
    webhook_delivery.deliver_due()
    assert endpoint(db, hook.id).enabled

    # Past MAILER_WEBHOOK_DISABLE_AFTER_HOURS (24): the next failure disables it.
    assert app.config["MAILER_WEBHOOK_DISABLE_AFTER_HOURS"] == 24
    hook.failing_since = utcnow() - timedelta(hours=25)
    db.session.commit()
    time_passes(db)
    result = webhook_delivery.deliver_due()
    assert result.disabled == [hook.id]
    disabled = endpoint(db, hook.id)
    assert not disabled.enabled
    assert "failed for more than 24 hours" in disabled.disabled_reason
    assert "HTTP 500" in disabled.disabled_reason
    assert endpoint(db, other.id).enabled, "the other endpoint has not failed for as long"

    # Disabled: new events are not queued for it, its pending deliveries wait.
    requests_before = len(receiver.requests)
    webhook_events.emit([opened(key="hit:2")])
    db.session.commit()
    assert [d.event_type for d in deliveries(db, endpoint_id=hook.id)] == ["opened"]
    assert len(deliveries(db, endpoint_id=other.id)) == 2
    time_passes(db)
    webhook_delivery.deliver_due()
    later = receiver.requests[requests_before:]
    assert later and all(r.path == "/hooks/mailer/other" for r in later)
    assert deliveries(db, endpoint_id=hook.id)[0].status == "pending"


def test_a_shorter_setting_disables_sooner(app, db, receiver, make_endpoint):
    app.config["MAILER_WEBHOOK_DISABLE_AFTER_HOURS"] = 1
    hook, _ = make_endpoint(["opened"])
    receiver.fail(500, times=None)
    webhook_events.emit([opened()])
    db.session.commit()
    hook.failing_since = utcnow() - timedelta(minutes=61)
    db.session.commit()
    assert webhook_delivery.deliver_due().disabled == [hook.id]
    assert "more than 1 hours" in endpoint(db, hook.id).disabled_reason


def test_only_subscribed_types_are_queued_and_delivered(db, receiver, make_endpoint):
    opens, _ = make_endpoint(["opened"], url=receiver.hook_url + "/opens")
    others, _ = make_endpoint(["clicked", "bounced"], url=receiver.hook_url + "/others")
    queued = webhook_events.emit(
        [
            opened(key="a"),
            replace(opened(key="b"), kind="click"),  # an Event row's type name works too
            replace(opened(key="c"), kind="delivered"),  # nobody subscribed
            replace(opened(key="d"), kind="deferred"),  # not a webhook event type
        ]
    )
    db.session.commit()
    assert queued == 2
    webhook_delivery.deliver_due()
    got = {(r.path, json.loads(r.body)["type"]) for r in receiver.requests}
    assert got == {("/hooks/mailer/opens", "opened"), ("/hooks/mailer/others", "clicked")}


def test_the_same_event_emitted_twice_is_queued_once_with_one_event_id(db, make_endpoint):
    a, _ = make_endpoint(["opened"])
    b, _ = make_endpoint(["opened"])
    webhook_events.emit([opened(key="hit:42")])
    webhook_events.emit([opened(key="hit:42")])  # e.g. a tracking batch written again
    db.session.commit()
    rows = deliveries(db)
    assert len(rows) == 2 and {r.endpoint_id for r in rows} == {a.id, b.id}
    assert len({r.event_id for r in rows}) == 1, "receivers dedupe on the event id"


def test_nothing_is_queued_and_nothing_queried_when_no_endpoint_subscribes(db, make_endpoint):
    from sqlalchemy import event

    make_endpoint(["bounced"])
    webhook_events.emit([opened(key="warm")])  # fills the per-process cache
    statements = []

    def spy(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", spy)
    try:
        for n in range(100):
            assert webhook_events.emit([opened(key=f"x{n}")]) == 0
    finally:
        event.remove(db.engine, "before_cursor_execute", spy)
    assert statements == []


def test_redirects_are_not_followed(db, receiver, make_endpoint):
    make_endpoint(["opened"])
    receiver.reply = Reply(302, "", {"Location": "http://elsewhere.example/hook"})
    webhook_events.emit([opened()])
    db.session.commit()
    webhook_delivery.deliver_due()
    [d] = deliveries(db)
    assert (d.status, d.last_status_code) == ("pending", 302)
    assert "redirect to http://elsewhere.example/hook (not followed)" in d.last_error
    assert len(receiver.requests) == 1


def test_an_unreachable_endpoint_is_retried_with_a_clear_error(db, make_endpoint):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    make_endpoint(["opened"], url=f"http://127.0.0.1:{port}/hook")
    webhook_events.emit([opened(key="1"), opened(key="2")])
    db.session.commit()
    assert webhook_delivery.deliver_due().retrying == 2
    errors = {d.last_error for d in deliveries(db)}
    assert any(e.startswith("Connection failed:") and "refused" in e for e in errors), errors


def test_two_delivery_runs_at_once_post_each_delivery_once(app, db, receiver, make_endpoint):
    make_endpoint(["opened"])
    receiver.latency = 0.02
    webhook_events.emit([opened(key=f"hit:{n}") for n in range(40)])
    db.session.commit()
    errors = []

    def run():
        with app.app_context():
            try:
                webhook_delivery.deliver_due(batch_size=5)
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    ids = [json.loads(r.body)["id"] for r in receiver.requests]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert {d.status for d in deliveries(db)} == {"delivered"}


def test_old_finished_deliveries_are_pruned_and_pending_ones_kept(db, make_endpoint):
    make_endpoint(["opened"])
    webhook_events.emit([opened(key=f"hit:{n}") for n in range(4)])
    db.session.commit()
    rows = deliveries(db)
    month_ago = utcnow() - timedelta(days=31)
    for row, status in zip(rows, ("delivered", "failed", "pending", "delivered"), strict=True):
        row.status = status
        row.created_at = month_ago if row is not rows[-1] else utcnow()
    db.session.commit()
    assert webhook_delivery.prune() == 2
    assert [d.status for d in deliveries(db)] == ["pending", "delivered"]
