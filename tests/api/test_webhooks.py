"""Outbound webhook endpoints through the API: an endpoint created with a key receives
deliveries from a local server, verified with the standardwebhooks package's own verifier;
rotating the secret, deleting, the delivery log and its pages, scopes and bad input."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from mailer.api.spec import document, validator_for
from mailer.engine.webhooks_out import events as webhook_events
from mailer.models.webhooks import TEST_EVENT, WEBHOOK_EVENT_TYPES
from mailer.services import webhook_endpoints
from tests.fixtures.api import error_paths, run, send
from tests.fixtures.webhooks_out import opened, run_tick

pytestmark = pytest.mark.usefixtures("quick_drain")

BASE = "/api/v1/webhook-endpoints"


def create(api, receiver, types=("sent",), **extra) -> dict:
    body = {"url": receiver.hook_url, "event_types": list(types), **extra}
    answer = api.post(BASE, json=body)
    assert answer.status_code == 201, answer.json
    return answer.json


def sent_event(app, db, api, receiver, **message) -> tuple[bytes, dict]:
    """Send one transactional message, run the drain and the delivery tick: the one request
    the receiver got for it."""
    before = len(receiver.requests)
    send(api, **message)
    run(app, db)
    run_tick(app)
    assert len(receiver.requests) == before + 1
    request = receiver.requests[-1]
    return request.body, dict(request.headers)


def test_an_endpoint_made_through_the_api_gets_signed_events_with_tags_and_metadata(
    app, db, api, channel, receiver
):
    hook = create(api, receiver, description="Order app")
    assert hook["secret"].startswith("whsec_")
    assert hook["url"] == receiver.hook_url and hook["event_types"] == ["sent"]
    assert (hook["enabled"], hook["description"]) == (True, "Order app")

    body, headers = sent_event(
        app, db, api, receiver, tags=["welcome"], metadata={"order": 42, "plan": "pro"}
    )
    event = Webhook(hook["secret"]).verify(body, headers)
    assert event["type"] == "sent" and event["email"] == "jane@example.com"
    assert event["tags"] == ["welcome"]
    assert event["metadata"] == {"order": 42, "plan": "pro"}
    assert event["message_id"] and event["campaign_id"] is None
    assert headers["webhook-id"] == event["id"]
    validator_for("WebhookEvent").validate(event)  # the body is the one documented

    log = api.get(f"{BASE}/{hook['id']}/deliveries")
    assert log.status_code == 200
    [delivery] = log.json["data"]
    assert delivery["event_id"] == event["id"] and delivery["payload"] == event
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "delivered",
        1,
        200,
    )
    assert delivery["delivered_at"] and delivery["next_attempt_at"] is None
    assert log.json["next_cursor"] is None


def test_rotating_makes_the_old_secret_fail_and_the_new_one_pass(app, db, api, channel, receiver):
    hook = create(api, receiver)
    old = hook["secret"]
    rotated = api.post(f"{BASE}/{hook['id']}/rotate-secret")
    assert rotated.status_code == 200
    new = rotated.json["secret"]
    assert new.startswith("whsec_") and new != old and rotated.json["id"] == hook["id"]

    body, headers = sent_event(app, db, api, receiver)
    assert Webhook(new).verify(body, headers)["type"] == "sent"
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, headers)
    assert "secret" not in api.get(f"{BASE}/{hook['id']}").json, "shown only when made"


def test_a_deleted_endpoint_gets_nothing_more(app, db, api, channel, receiver):
    hook = create(api, receiver)
    sent_event(app, db, api, receiver)
    assert api.delete(f"{BASE}/{hook['id']}").status_code == 204

    send(api)
    run(app, db)
    assert run_tick(app)["attempted"] == 0
    assert len(receiver.requests) == 1, "only the event from before the delete"
    assert api.get(f"{BASE}/{hook['id']}").status_code == 404
    assert api.get(f"{BASE}/{hook['id']}/deliveries").status_code == 404
    assert api.delete(f"{BASE}/{hook['id']}").status_code == 404
    assert api.get(BASE).json["data"] == []


def test_the_delivery_log_pages_with_cursors_and_filters_by_status(app, db, api, receiver):
    hook = create(api, receiver, types=["opened"])
    webhook_events.invalidate_cache()
    webhook_events.emit([opened(key=f"hit:{n}") for n in range(5)])
    db.session.commit()
    receiver.fail(500, times=2)
    run_tick(app)  # two answered 500 (pending, to retry), three delivered

    url = f"{BASE}/{hook['id']}/deliveries"
    seen, cursor = [], None
    while True:
        page = api.get(url, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200 and len(page.json["data"]) <= 2
        seen += page.json["data"]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and len({d["id"] for d in seen}) == 5
    assert [d["id"] for d in seen] == sorted((d["id"] for d in seen), reverse=True)

    pending = api.get(url, query_string={"status": "pending"}).json["data"]
    assert len(pending) == 2
    for d in pending:
        assert (d["last_status_code"], d["last_error"]) == (500, "HTTP 500: receiver is broken")
        assert d["next_attempt_at"] and d["attempts"] == 1
    assert len(api.get(url, query_string={"status": "delivered"}).json["data"]) == 3
    assert api.get(f"{BASE}/{hook['id']}").json["pending_deliveries"] == 2
    assert error_paths(api.get(url, query_string={"status": "lost"})) == ["status"]
    assert error_paths(api.get(url, query_string={"cursor": "nope"})) == ["cursor"]


def test_endpoints_list_newest_first_without_secrets(api, receiver):
    first = create(api, receiver)
    second = create(api, receiver, types=["opened", "clicked"])
    page = api.get(BASE).json
    assert [e["id"] for e in page["data"]] == [second["id"], first["id"]]
    assert page["data"][0]["event_types"] == ["opened", "clicked"]
    assert all("secret" not in e for e in page["data"])


def test_reading_needs_read_and_changing_needs_admin(api, api_as, receiver):
    hook = create(api, receiver)
    reader, campaigns = api_as("read"), api_as("campaigns", "send")
    assert reader.get(BASE).status_code == 200
    assert reader.get(f"{BASE}/{hook['id']}/deliveries").status_code == 200
    assert campaigns.get(BASE).status_code == 403
    body = {"url": receiver.hook_url, "event_types": ["sent"]}
    for client in (reader, campaigns):
        refused = client.post(BASE, json=body)
        assert refused.status_code == 403
        assert "'admin'" in refused.json["error"]["message"]
        assert client.post(f"{BASE}/{hook['id']}/rotate-secret").status_code == 403
        assert client.delete(f"{BASE}/{hook['id']}").status_code == 403
    assert len(api.get(BASE).json["data"]) == 1, "nothing was created or deleted"


def test_bad_input_is_refused_with_each_problem_named(api, app):
    bad = {"url": "ftp://files.example.com/in", "event_types": ["opened"]}
    assert error_paths(api.post(BASE, json=bad)) == ["$.url"]
    assert error_paths(api.post(BASE, json={"url": "https://a.example.com", "event_types": []}))
    paths = error_paths(
        api.post(BASE, json={"url": "https://a.example.com", "event_types": ["eaten"], "x": 1})
    )
    assert sorted(paths) == ["$.event_types[0]", "$.x"]
    app.config["MAILER_WEBHOOK_ALLOW_PRIVATE"] = False
    private = api.post(BASE, json={"url": "http://127.0.0.1:8080/", "event_types": ["sent"]})
    assert error_paths(private) == ["$.url"]
    assert "loopback" in private.json["error"]["details"]["fields"][0]["message"]
    assert api.get(BASE).json["data"] == []


def test_the_document_describes_every_event_type_a_receiver_can_get(app, db, receiver):
    doc = document()
    assert set(doc["webhooks"]) == {*WEBHOOK_EVENT_TYPES, TEST_EVENT}
    for name, item in doc["webhooks"].items():
        headers = {p["$ref"].rsplit("/", 1)[-1] for p in item["post"]["parameters"]}
        assert headers == {"WebhookId", "WebhookTimestamp", "WebhookSignature"}, name
    schema = doc["components"]["schemas"]["WebhookEvent"]
    assert schema["properties"]["type"]["enum"] == [*WEBHOOK_EVENT_TYPES, TEST_EVENT]
    hook, _ = webhook_endpoints.create_endpoint(receiver.hook_url, "", ["clicked"])
    test_event = webhook_endpoints.send_test_event(hook)
    validator_for("WebhookEvent").validate(test_event.payload)
    assert set(test_event.payload) == set(schema["required"]), "every field is documented"
