"""Brevo: request shape, messageVersions batching, Brevo's rate-limit header."""

from __future__ import annotations

import json

import pytest

from mailer.providers import make_provider
from tests.fixtures.providers import message
from tests.servers.brevo import BrevoServer


@pytest.fixture
def server():
    with BrevoServer(api_key="xkeysib-abc") as srv:
        yield srv


@pytest.fixture
def brevo(server):
    with make_provider(
        "brevo", {}, {"api_key": "xkeysib-abc"}, endpoint_url=server.endpoint_url
    ) as provider:
        yield provider


def test_single_message_payload(brevo, server):
    [result] = brevo.send_batch([message(3)])
    assert result.ok and result.status_code == 201
    [req] = server.requests
    assert req.path == "/v3/smtp/email"
    assert req.headers["api-key"] == "xkeysib-abc"
    assert result.provider_message_id.endswith("@smtp-relay.mailin.fr>")
    body = req.json
    assert body["sender"] == {"email": "news@shop.example.com", "name": "Café Zürich"}
    assert body["to"] == [{"email": "user3@example.com", "name": "Jörg Müller 3"}]
    assert body["replyTo"] == {"email": "help@shop.example.com"}
    assert body["subject"] == "Grüße, Jörg 3 – 10 % off"
    assert body["htmlContent"] == "<p>Hallo Jörg 3</p>"
    assert body["textContent"] == "Hallo Jörg 3"
    assert body["headers"]["List-Unsubscribe"] == "<https://t.example.com/u/tok3>"
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert json.loads(body["headers"]["X-Mailin-custom"]) == {"campaign": "12", "token": "tok3"}
    assert "messageVersions" not in body


def test_messages_sharing_headers_go_out_as_message_versions(brevo, server):
    shared = {"headers": {"Feedback-ID": "12:campaign:mailer"}, "tags": {"campaign": "12"}}
    messages = [message(i, **shared) for i in range(5)] + [message(9)]
    results = brevo.send_batch(messages)
    assert all(r.ok for r in results)
    assert len(server.requests) == 2  # one call for the five, one for the odd one out
    batch = next(r.json for r in server.requests if "messageVersions" in r.json)
    versions = batch["messageVersions"]
    assert [v["to"][0]["email"] for v in versions] == [f"user{i}@example.com" for i in range(5)]
    assert [v["subject"] for v in versions] == [f"Grüße, Jörg {i} – 10 % off" for i in range(5)]
    assert versions[2]["htmlContent"] == "<p>Hallo Jörg 2</p>"
    assert versions[2]["textContent"] == "Hallo Jörg 2"
    assert batch["headers"]["Feedback-ID"] == "12:campaign:mailer"
    assert "to" not in batch
    ids = [r.provider_message_id for r in results[:5]]
    assert len(set(ids)) == 5 and all(ids)
    assert server.accepted == 6


def test_a_failed_version_call_fails_its_messages_only(brevo, server):
    shared = {"headers": {}, "tags": {}}
    server.reject("user1@example.com")
    results = brevo.send_batch([message(0, **shared), message(1, **shared), message(7)])
    assert [r.ok for r in results] == [False, False, True]
    assert results[0].error == results[1].error
    assert "email is not valid" in results[0].error


def test_text_only_message_gets_a_minimal_html_part(brevo, server):
    [result] = brevo.send_batch([message(0, html=None, text="a < b")])
    assert result.ok
    assert server.requests[0].json["htmlContent"] == "<pre>a &lt; b</pre>"
    assert server.requests[0].json["textContent"] == "a < b"


def test_rate_limit_reset_header_without_retry_after(brevo, server):
    server.fail(429)  # Brevo's documented x-sib-ratelimit-* headers only, no Retry-After
    [result] = brevo.send_batch([message()])
    assert result.transient and result.retry_after == 1
