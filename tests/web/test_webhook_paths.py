"""Providers' feedback webhook paths answer in JSON, never an HTML page: an unknown provider,
channel token or method gets a JSON 404/405 a provider's log can show."""

from __future__ import annotations

import pytest

from mailer.models import Channel


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/webhooks/nosuchprovider/sometoken", 404),
        ("POST", "/webhooks/brevo/no-such-token", 404),
        ("POST", "/webhooks/brevo", 404),
        ("GET", "/webhooks/brevo/no-such-token", 405),
    ],
)
def test_unknown_webhooks_answer_json(client, db, method, path, status):
    answer = client.open(path, method=method, data=b"{}", content_type="application/json")
    assert answer.status_code == status
    assert answer.mimetype == "application/json"
    assert "<html" not in answer.get_data(as_text=True)
    assert answer.json["error"]["code"] in ("not_found", "method_not_allowed")


def test_another_providers_token_is_a_json_404_naming_the_cause(client, db):
    channel = Channel(name="Brevo", provider="brevo", settings={}, rate_per_second=10)
    db.session.add(channel)
    db.session.commit()
    answer = client.post(f"/webhooks/mailgun/{channel.webhook_token}", json={})
    assert answer.status_code == 404 and answer.mimetype == "application/json"
    assert "No feedback webhook for this provider and channel" in answer.json["error"]["message"]
