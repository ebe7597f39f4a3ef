"""SendGrid: one request per message, custom_args, X-Message-Id, X-RateLimit-Reset."""

from __future__ import annotations

import pytest

from mailer.providers import make_provider
from tests.fixtures.providers import message
from tests.servers.sendgrid import SendGridServer


@pytest.fixture
def server():
    with SendGridServer(api_key="SG.abc") as srv:
        yield srv


@pytest.fixture
def sendgrid(server):
    with make_provider(
        "sendgrid", {}, {"api_key": "SG.abc"}, endpoint_url=server.endpoint_url
    ) as provider:
        yield provider


def test_payload_and_message_id(sendgrid, server):
    results = sendgrid.send_batch([message(0), message(1)])
    assert all(r.ok and r.status_code == 202 for r in results)
    assert len(server.requests) == 2  # content is per request: no batching
    req = next(r for r in server.requests if r.json["subject"].endswith("1 – 10 % off"))
    assert req.path == "/v3/mail/send"
    assert req.headers["Authorization"] == "Bearer SG.abc"
    body = req.json
    [p] = body["personalizations"]
    assert p["to"] == [{"email": "user1@example.com", "name": "Jörg Müller 1"}]
    assert p["custom_args"] == {"campaign": "12", "token": "tok1"}
    assert body["from"] == {"email": "news@shop.example.com", "name": "Café Zürich"}
    assert body["reply_to"] == {"email": "help@shop.example.com"}
    assert body["content"] == [
        {"type": "text/plain", "value": "Hallo Jörg 1"},
        {"type": "text/html", "value": "<p>Hallo Jörg 1</p>"},
    ]
    assert body["headers"] == {
        "List-Unsubscribe": "<https://t.example.com/u/tok1>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert all(r.provider_message_id for r in results)


def test_html_only(sendgrid, server):
    [result] = sendgrid.send_batch([message(0, text=None)])
    assert result.ok
    assert server.requests[0].json["content"] == [
        {"type": "text/html", "value": "<p>Hallo Jörg 0</p>"}
    ]


def test_rate_limit_reset_time_without_retry_after(sendgrid, server):
    server.fail(429)  # only X-RateLimit-Reset (a Unix time), as documented
    [result] = sendgrid.send_batch([message()])
    assert result.transient
    assert 0 <= result.retry_after <= 2


def test_error_detail_names_the_field(sendgrid, server):
    server.reject("user0@example.com")
    [result] = sendgrid.send_batch([message(0)])
    assert not result.transient
    assert "Does not contain a valid address. (personalizations.0.to.0.email)" in result.error


def test_eu_region_endpoint():
    with make_provider("sendgrid", {"region": "eu"}, {"api_key": "SG.x"}) as provider:
        assert provider.url == "https://api.eu.sendgrid.com/v3/mail/send"
    with make_provider("sendgrid", {}, {"api_key": "SG.x"}) as provider:
        assert provider.url == "https://api.sendgrid.com/v3/mail/send"
