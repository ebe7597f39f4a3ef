"""Mailjet: 50 messages per call, per-message results, CustomID and EventPayload."""

from __future__ import annotations

import base64
import json

import pytest

from mailer.providers import make_provider
from tests.fixtures.providers import message
from tests.servers.mailjet import MailjetServer


@pytest.fixture
def server():
    with MailjetServer(api_key="pub", secret_key="priv") as srv:
        yield srv


@pytest.fixture
def mailjet(server):
    with make_provider(
        "mailjet", {"api_key": "pub"}, {"secret_key": "priv"}, endpoint_url=server.endpoint_url
    ) as provider:
        yield provider


def test_payload_shape(mailjet, server):
    [result] = mailjet.send_batch([message(4)])
    assert result.ok
    [req] = server.requests
    assert req.path == "/v3.1/send"
    assert req.headers["Authorization"] == "Basic " + base64.b64encode(b"pub:priv").decode()
    [m] = req.json["Messages"]
    assert m["From"] == {"Email": "news@shop.example.com", "Name": "Café Zürich"}
    assert m["To"] == [{"Email": "user4@example.com", "Name": "Jörg Müller 4"}]
    assert m["ReplyTo"] == {"Email": "help@shop.example.com"}
    assert m["Subject"] == "Grüße, Jörg 4 – 10 % off"
    assert m["TextPart"] == "Hallo Jörg 4"
    assert m["HTMLPart"] == "<p>Hallo Jörg 4</p>"
    assert m["Headers"]["List-Unsubscribe"] == "<https://t.example.com/u/tok4>"
    assert m["CustomID"] == "tok4"
    assert json.loads(m["EventPayload"]) == {"campaign": "12", "token": "tok4"}


def test_batches_of_fifty_with_ids_per_message(mailjet, server):
    messages = [message(i) for i in range(120)]
    results = mailjet.send_batch(messages)
    assert [r.ref for r in results] == [m.ref for m in messages]
    assert all(r.ok for r in results)
    assert sorted(len(r.json["Messages"]) for r in server.requests) == [20, 50, 50]
    assert len({r.provider_message_id for r in results}) == 120


def test_per_message_errors_map_to_their_message(mailjet, server):
    server.reject("user1@example.com")
    server.reject("user3@example.com", status=503)
    results = mailjet.send_batch([message(i) for i in range(5)])
    assert len(server.requests) == 1
    assert [r.ok for r in results] == [True, False, True, False, True]
    assert not results[1].transient and results[1].status_code == 400
    assert '"user1@example.com" is an invalid email address. (mj-0013)' in results[1].error
    assert results[3].transient and results[3].status_code == 503
    assert results[0].provider_message_id and results[2].provider_message_id
