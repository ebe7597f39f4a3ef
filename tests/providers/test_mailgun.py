"""Mailgun: multipart form fields, h: headers, v: variables, basic auth, regions."""

from __future__ import annotations

import base64
import email.policy

import pytest

from mailer.providers import ProviderError, make_provider
from tests.fixtures.providers import message
from tests.servers.mailgun import MailgunServer


@pytest.fixture
def server():
    with MailgunServer(api_key="key-abc", domain="mg.shop.example.com") as srv:
        yield srv


@pytest.fixture
def mailgun(server):
    with make_provider(
        "mailgun",
        {"domain": "mg.shop.example.com"},
        {"api_key": "key-abc"},
        endpoint_url=server.endpoint_url,
    ) as provider:
        yield provider


def test_form_fields_and_message_id(mailgun, server):
    [result] = mailgun.send_batch([message(2)])
    assert result.ok and result.status_code == 200
    assert result.provider_message_id.endswith("@mg.shop.example.com>")
    [req] = server.requests
    assert req.path == "/v3/mg.shop.example.com/messages"
    assert req.headers["Content-Type"].startswith("multipart/form-data")
    assert req.headers["Authorization"] == "Basic " + base64.b64encode(b"api:key-abc").decode()
    sender = email.policy.default.header_factory("From", req.field("from")).addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Café Zürich", "news@shop.example.com")
    to = email.policy.default.header_factory("To", req.field("to")).addresses[0]
    assert (to.display_name, to.addr_spec) == ("Jörg Müller 2", "user2@example.com")
    assert req.field("subject") == "Grüße, Jörg 2 – 10 % off"
    assert req.field("text") == "Hallo Jörg 2"
    assert req.field("html") == "<p>Hallo Jörg 2</p>"
    assert req.field("h:Reply-To") == "help@shop.example.com"
    assert req.field("h:List-Unsubscribe") == "<https://t.example.com/u/tok2>"
    assert req.field("h:List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert req.field("v:campaign") == "12"
    assert req.field("v:token") == "tok2"


def test_wrong_domain_is_permanent(server):
    with make_provider(
        "mailgun",
        {"domain": "other.example.com"},
        {"api_key": "key-abc"},
        endpoint_url=server.endpoint_url,
    ) as provider:
        [result] = provider.send_batch([message()])
    assert not result.ok and not result.transient
    assert result.status_code == 404
    assert "Domain not found" in result.error


def test_regions_and_required_domain():
    with make_provider("mailgun", {"domain": "d.example", "region": "eu"}, {"api_key": "k"}) as p:
        assert p.url == "https://api.eu.mailgun.net/v3/d.example/messages"
    with make_provider("mailgun", {"domain": "d.example"}, {"api_key": "k"}) as p:
        assert p.url == "https://api.mailgun.net/v3/d.example/messages"
    with pytest.raises(ProviderError, match="Sending domain is required"):
        make_provider("mailgun", {}, {"api_key": "k"})
