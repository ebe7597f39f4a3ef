"""/metrics: the numbers an operator graphs, in a format Prometheus parses, behind its rule."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rq import SimpleWorker, Worker

from mailer.lib.crypto import encrypt_json
from mailer.models import (
    Channel,
    Event,
    Message,
    Send,
    SendStatus,
)
from mailer.models.base import utcnow
from mailer.models.webhooks import WebhookDelivery, WebhookEndpoint
from mailer.queue import IMPORTS, TICKS, enqueue, get_redis
from tests.factories import make_campaign, make_list
from tests.jobs_for_tests import create_list, fail_loudly


def scrape(client, **kwargs) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples, f"duplicate sample {key}"
            samples[key] = sample.value
    return samples


def value(samples, name: str, **labels) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def _channel(db, name: str, **fields) -> Channel:
    channel = Channel(name=name, provider=fields.pop("provider", "sandbox"), **fields)
    db.session.add(channel)
    db.session.commit()
    return channel


def _sends(db, campaign, row, status: str, count: int, start: int) -> None:
    for i in range(start, start + count):
        db.session.add(
            Send(
                campaign_id=campaign.id,
                subscriber_id=i,
                email=f"r{i}@example.com",
                status=status,
                campaign_channel_id=row.id if row is not None else None,
            )
        )
    db.session.commit()


def test_campaign_sends_are_counted_by_channel_and_status(app, db, client):
    alpha, beta = _channel(db, "Alpha"), _channel(db, "Beta")
    audience = make_list(db, "Readers", ["a@example.com"])
    campaign = make_campaign(db, [audience], [alpha, beta], status="running")
    row_alpha, row_beta = campaign.channels
    _sends(db, campaign, row_alpha, SendStatus.SENT, 3, 1)
    _sends(db, campaign, row_alpha, SendStatus.FAILED, 1, 10)
    _sends(db, campaign, row_beta, SendStatus.SENT, 2, 20)
    _sends(db, campaign, None, SendStatus.PENDING, 4, 30)

    samples = scrape(client)
    sends = {k: v for k, v in samples.items() if k[0] == "mailer_campaign_sends"}
    assert sends == {
        ("mailer_campaign_sends", frozenset({("channel", "Alpha"), ("status", "sent")})): 3,
        ("mailer_campaign_sends", frozenset({("channel", "Alpha"), ("status", "failed")})): 1,
        ("mailer_campaign_sends", frozenset({("channel", "Beta"), ("status", "sent")})): 2,
        ("mailer_campaign_sends", frozenset({("channel", "unassigned"), ("status", "pending")})): 4,
    }
    assert value(samples, "mailer_metrics_source_up", source="database") == 1
    assert value(samples, "mailer_metrics_source_up", source="redis") == 1


def test_messages_events_and_webhook_deliveries_are_counted(app, db, client):
    alpha = _channel(db, "Alpha")
    for status, channel_id in (("queued", None), ("sent", alpha.id), ("sent", alpha.id)):
        db.session.add(
            Message(to_email="t@example.com", subject="Hi", status=status, channel_id=channel_id)
        )
    for kind, machine, count in (
        ("open", False, 2),
        ("open", True, 1),
        ("click", False, 1),
        ("unsubscribe", False, 1),
        ("bounce", False, 2),
        ("delivery", False, 3),
    ):
        for _ in range(count):
            db.session.add(Event(type=kind, machine=machine))
    endpoint = WebhookEndpoint(url="https://app.example.com/hook", secret_encrypted="x")
    db.session.add(endpoint)
    db.session.flush()
    for i, status in enumerate(("delivered", "delivered", "pending", "failed")):
        db.session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_id=f"ev{i}",
                event_type="sent",
                payload={},
                status=status,
                expires_at=utcnow() + timedelta(days=1),
            )
        )
    db.session.commit()

    samples = scrape(client)
    messages = "mailer_transactional_messages"
    assert value(samples, messages, channel="default", status="queued") == 1
    assert value(samples, messages, channel="Alpha", status="sent") == 2
    tracked = "mailer_tracking_events_total"
    assert value(samples, tracked, type="open", machine="false") == 2
    assert value(samples, tracked, type="open", machine="true") == 1
    assert value(samples, tracked, type="click", machine="false") == 1
    assert value(samples, tracked, type="click", machine="true") == 0
    assert value(samples, tracked, type="unsubscribe", machine="false") == 1
    feedback = "mailer_feedback_events_total"
    assert value(samples, feedback, type="bounce") == 2
    assert value(samples, feedback, type="delivery") == 3
    assert value(samples, feedback, type="complaint") == 0
    assert value(samples, "mailer_webhook_deliveries", status="delivered") == 2
    assert value(samples, "mailer_webhook_deliveries", status="pending") == 1
    assert value(samples, "mailer_webhook_deliveries", status="failed") == 1


BREVO_EVENT = {"event": "delivered", "email": "a@example.com", "message-id": "<1@x>"}


def test_inbound_webhooks_and_queues_are_counted(app, db, client):
    brevo = _channel(
        db,
        "Brevo",
        provider="brevo",
        secrets_encrypted=encrypt_json({"api_key": "k", "webhook_bearer_token": "brevo-token"}),
    )
    path = f"/webhooks/brevo/{brevo.webhook_token}"
    body = json.dumps(BREVO_EVENT)
    for bearer, expected in (("brevo-token", 200), ("wrong", 403), ("wrong-again", 403)):
        headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
        assert client.post(path, data=body, headers=headers).status_code == expected
    enqueue(IMPORTS, create_list, "waiting")
    enqueue(IMPORTS, create_list, "waiting too")
    enqueue(TICKS, fail_loudly)
    SimpleWorker([TICKS], connection=get_redis()).work(burst=True)
    idle = Worker([TICKS], connection=get_redis(), name="metrics-test-worker")
    idle.register_birth()
    try:
        samples = scrape(client)
    finally:
        idle.register_death()

    payloads = "mailer_feedback_payloads"
    assert value(samples, payloads, provider="brevo", source="webhook", status="received") == 1
    assert value(samples, "mailer_feedback_webhook_rejected_total", channel="Brevo") == 2
    assert value(samples, "mailer_queue_jobs", queue="imports") == 2
    assert value(samples, "mailer_queue_jobs", queue="feedback") == 1  # the webhook's kick
    assert value(samples, "mailer_queue_failed_jobs", queue="ticks") == 1
    assert value(samples, "mailer_queue_failed_jobs", queue="imports") == 0
    assert value(samples, "mailer_workers") == 1
    assert value(samples, "mailer_tracking_buffer_pending") == 0


def test_without_the_outbound_webhook_tables_the_scrape_still_answers(make_app, database_at_0003):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_at_0003)
    samples = scrape(app.test_client())
    assert value(samples, "mailer_metrics_source_up", source="database") == 1
    assert not any(name == "mailer_webhook_deliveries" for name, _ in samples)
    assert value(samples, "mailer_queue_jobs", queue="send") == 0


def test_with_the_database_down_redis_metrics_still_answer(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/mailer.db")
    samples = scrape(app.test_client())
    assert value(samples, "mailer_metrics_source_up", source="database") == 0
    assert value(samples, "mailer_metrics_source_up", source="redis") == 1
    assert not any(name == "mailer_campaign_sends" for name, _ in samples)
    assert value(samples, "mailer_queue_jobs", queue="send") == 0


# ---------------------------------------------------------------- who may read /metrics


@pytest.mark.parametrize(
    ("remote", "headers", "status"),
    [
        ("127.0.0.1", {}, 200),
        ("::1", {}, 200),
        ("10.0.0.5", {}, 403),
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, 403),
        ("127.0.0.1", {"Forwarded": "for=203.0.113.9"}, 403),
    ],
)
def test_without_a_token_only_direct_local_requests_may_read(app, client, remote, headers, status):
    response = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": remote})
    assert response.status_code == status
    if status == 403:
        assert b"MAILER_METRICS_TOKEN" in response.data
        assert b"mailer_" not in response.data


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer wrong", 401),
        ("Basic czNjcmV0LXRva2Vu", 401),
        ("Bearer s3cret-token", 200),
        ("bearer s3cret-token", 200),
    ],
)
def test_with_a_token_every_request_must_carry_it(app, client, authorization, status):
    app.config["MAILER_METRICS_TOKEN"] = "s3cret-token"
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    else:
        assert b"mailer_queue_jobs" in response.data


def test_database_figures_are_reused_for_the_cache_period(app, db, client):
    app.config["MAILER_METRICS_CACHE_SECONDS"] = 60
    db.session.add(Message(to_email="t@example.com", subject="Hi", status="queued"))
    db.session.commit()
    first = scrape(client)
    db.session.add(Message(to_email="u@example.com", subject="Hi", status="queued"))
    db.session.commit()
    second = scrape(client)
    messages = "mailer_transactional_messages"
    assert value(first, messages, channel="default", status="queued") == 1
    assert value(second, messages, channel="default", status="queued") == 1, "cached"
    assert 0 <= value(second, "mailer_metrics_database_age_seconds") < 60

    app.config["MAILER_METRICS_CACHE_SECONDS"] = 0
    assert value(scrape(client), messages, channel="default", status="queued") == 2
