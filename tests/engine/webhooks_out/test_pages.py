"""The admin pages: admins only, the secret shown once, health, test events, the delivery log
with its filter, paging and resend."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace

import pytest

from mailer.engine.webhooks_out import delivery as webhook_delivery
from mailer.engine.webhooks_out import events as webhook_events
from mailer.engine.webhooks_out import signing
from mailer.engine.webhooks_out.signing import verify_signature
from mailer.models import Role, WebhookDelivery, WebhookEndpoint
from tests.fixtures.webhooks_out import deliveries, endpoint, opened

BASE = "/outbound-webhooks"


@pytest.fixture
def admin(as_role):
    return as_role(Role.ADMIN)


def _form(url, types=("opened", "bounced"), description="Billing app"):
    return {"url": url, "description": description, "event_types": list(types)}


def _secret_in(page: str) -> str:
    match = re.search(r'<code class="secret">(whsec_[^<]+)</code>', page)
    assert match, "no secret on the page"
    return html.unescape(match.group(1))


def _only_endpoint(db) -> WebhookEndpoint:
    db.session.commit()
    return db.session.scalars(db.select(WebhookEndpoint)).one()


def test_marketers_and_viewers_get_403_and_no_menu_entry(client, db, as_role, make_endpoint):
    hook, _ = make_endpoint()
    for role in (Role.VIEWER, Role.MARKETER):
        client.post("/logout")
        as_role(role)
        for path in (f"{BASE}/", f"{BASE}/new", f"{BASE}/{hook.id}", f"{BASE}/{hook.id}/edit"):
            assert client.get(path).status_code == 403, (role, path)
        assert client.post(f"{BASE}/", data=_form("https://a.example/h")).status_code == 403
        for action in ("test", "rotate", "disable", "delete"):
            assert client.post(f"{BASE}/{hook.id}/{action}").status_code == 403, (role, action)
        assert f'href="{BASE}/"' not in client.get("/").get_data(as_text=True)
    assert endpoint(db, hook.id).enabled
    client.post("/logout")
    assert client.get(f"{BASE}/").status_code in (302, 401), "anonymous: to the login page"


def test_create_shows_the_secret_once_and_stores_it_encrypted(client, db, admin, receiver):
    assert f'href="{BASE}/"' in client.get("/").get_data(as_text=True), "in the admin's menu"
    response = client.post(f"{BASE}/", data=_form(receiver.hook_url))
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    secret = _secret_in(page)
    assert "shown only this once" in page
    hook = _only_endpoint(db)
    assert hook.url == receiver.hook_url and hook.description == "Billing app"
    assert hook.event_types == ["opened", "bounced"] and hook.enabled
    assert secret not in hook.secret_encrypted
    assert signing.endpoint_secret(hook) == secret
    for path in (f"{BASE}/", f"{BASE}/{hook.id}", f"{BASE}/{hook.id}/edit"):
        assert secret not in client.get(path).get_data(as_text=True), path

    # The receiving app checks what it gets with that secret.
    webhook_events.emit([opened()])
    db.session.commit()
    webhook_delivery.deliver_due()
    [req] = receiver.requests
    assert verify_signature(secret, req.headers["Mailer-Signature"], req.body)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (_form("ftp://files.example.com/x"), "url", "http:// or https://"),
        (_form("not a url"), "url", "spaces"),
        (_form("https://"), "url", "with a host name"),
        (_form(""), "url", "Enter the URL"),
        (_form("https://a.example:99999/x"), "url", "port"),
        (_form("https://a.example/x", types=()), "event_types", "at least one event type"),
        (_form("https://a.example/x", types=("opened", "read")), "event_types", "Unknown"),
        (_form("https://a.example/x", description="x" * 201), "description", "Use at most 200"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_created(
    client, db, admin, form, field, message
):
    response = client.post(f"{BASE}/", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    assert db.session.scalar(db.select(db.func.count()).select_from(WebhookEndpoint)) == 0


def test_edit_types_and_description_then_disable_enable_and_delete(
    client, db, admin, make_endpoint
):
    hook, _ = make_endpoint(["opened"])
    response = client.post(
        f"{BASE}/{hook.id}", data=_form(hook.url, types=("clicked", "failed"), description="CRM")
    )
    assert response.status_code == 302
    saved = endpoint(db, hook.id)
    assert (saved.event_types, saved.description) == (["clicked", "failed"], "CRM")
    assert webhook_events.emit([opened()]) == 0, "no longer subscribed to opens"
    assert webhook_events.emit([replace(opened(), kind="failed")]) == 1

    client.post(f"{BASE}/{hook.id}/disable")
    assert not endpoint(db, hook.id).enabled
    assert webhook_events.emit([replace(opened(key="2"), kind="failed")]) == 0
    assert "Disabled by an administrator." in client.get(f"{BASE}/").get_data(as_text=True)
    client.post(f"{BASE}/{hook.id}/enable")
    saved = endpoint(db, hook.id)
    assert saved.enabled and saved.disabled_reason is None

    db.session.commit()
    assert client.post(f"{BASE}/{hook.id}/delete").status_code == 302
    assert endpoint(db, hook.id) is None
    assert deliveries(db) == []
    assert client.get(f"{BASE}/{hook.id}").status_code == 404


def test_rotating_shows_a_new_secret_once_and_signs_with_it(
    client, db, admin, receiver, make_endpoint
):
    hook, old = make_endpoint(["opened"])
    response = client.post(f"{BASE}/{hook.id}/rotate")
    new = _secret_in(response.get_data(as_text=True))
    assert new != old
    assert new not in client.get(f"{BASE}/{hook.id}").get_data(as_text=True)
    webhook_events.emit([opened()])
    db.session.commit()
    webhook_delivery.deliver_due()
    [req] = receiver.requests
    assert verify_signature(new, req.headers["Mailer-Signature"], req.body)
    assert not verify_signature(old, req.headers["Mailer-Signature"], req.body)


def test_send_test_event_posts_now_and_reports_the_outcome(
    client, db, admin, receiver, make_endpoint
):
    hook, secret = make_endpoint(["opened"])
    response = client.post(f"{BASE}/{hook.id}/test", follow_redirects=True)
    assert "Test event delivered (HTTP 200)." in response.get_data(as_text=True)
    [req] = receiver.requests
    assert req.headers["Mailer-Event"] == "test" and json.loads(req.body)["type"] == "test"
    assert verify_signature(secret, req.headers["Mailer-Signature"], req.body)

    receiver.fail(500)
    response = client.post(f"{BASE}/{hook.id}/test", follow_redirects=True)
    assert "Test event not delivered: HTTP 500" in response.get_data(as_text=True)
    failed = deliveries(db, event_type="test", status="failed")
    assert len(failed) == 1, "a test event is tried once, not retried for a day"
    assert endpoint(db, hook.id).failing_since is None, "nor does it count against the endpoint"


def test_the_list_shows_health_and_the_disabled_reason(client, db, admin, make_endpoint):
    healthy, _ = make_endpoint(["opened"], description="Healthy app")
    broken, _ = make_endpoint(["opened"], description="Broken app")
    broken.enabled = False
    broken.disabled_reason = "Disabled automatically: every delivery failed for more than 24 hours"
    db.session.commit()
    page = client.get(f"{BASE}/").get_data(as_text=True)
    assert "Healthy app" in page and "Broken app" in page
    assert "every delivery failed for more than 24 hours" in page
    assert "disabled" in page and "enabled" in page
    show = client.get(f"{BASE}/{broken.id}").get_data(as_text=True)
    assert "every delivery failed for more than 24 hours" in show
    assert f'action="/outbound-webhooks/{broken.id}/enable"' in show


def test_delivery_log_filters_pages_and_resends(client, db, admin, receiver, make_endpoint):
    hook, _ = make_endpoint(["opened"])
    webhook_events.emit([opened(key=f"hit:{n}", email=f"r{n}@example.com") for n in range(55)])
    db.session.commit()
    receiver.fail(500, times=3)
    webhook_delivery.deliver_due(max_seconds=30)
    assert len(deliveries(db, status="pending")) == 3
    assert len(deliveries(db, status="delivered")) == 52

    page = client.get(f"{BASE}/{hook.id}").get_data(as_text=True)
    assert "55 deliveries, newest first." in page and "Page 1 of 2" in page
    assert "r54@example.com" in page, "the payload is shown"

    fragment = client.get(f"{BASE}/{hook.id}?status=pending", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and "3 deliveries" in text
    assert "HTTP 500" in text and "receiver is broken" in text
    assert client.get(f"{BASE}/{hook.id}?status=pending").get_data(as_text=True).count("<html") == 1
    page2 = client.get(f"{BASE}/{hook.id}?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in page2 and "r0@example.com" in page2
    assert client.get(f"{BASE}/{hook.id}?status=bogus").status_code == 404

    # Resend a delivered one: queued again, and posted again by the next run.
    delivered = deliveries(db, status="delivered")[0]
    response = client.post(f"{BASE}/{hook.id}/deliveries/{delivered.id}/resend")
    assert response.status_code == 302
    db.session.commit()
    again = db.session.get(WebhookDelivery, delivered.id)
    assert again.status == "pending"
    before = len(receiver.requests)
    webhook_delivery.deliver_due()
    assert db.session.get(WebhookDelivery, delivered.id).status == "delivered"
    resent = [json.loads(r.body)["id"] for r in receiver.requests[before:]]
    assert delivered.event_id in resent

    other, _ = make_endpoint(["opened"])
    assert client.post(f"{BASE}/{other.id}/deliveries/{delivered.id}/resend").status_code == 404
