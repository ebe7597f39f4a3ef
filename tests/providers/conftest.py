"""Fixtures: each provider adapter wired to its local protocol server."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mailer.providers import OutboundMessage, Provider, make_provider
from tests.servers.brevo import BrevoServer
from tests.servers.http_base import ProviderServer
from tests.servers.mailgun import MailgunServer
from tests.servers.mailjet import MailjetServer
from tests.servers.sendgrid import SendGridServer
from tests.servers.ses import SesServer


def message(i: int = 0, **overrides: Any) -> OutboundMessage:
    """A fully rendered campaign message, like the channel worker hands over."""
    fields: dict[str, Any] = {
        "ref": f"tok{i}",
        "to": f"user{i}@example.com",
        "to_name": f"Jörg Müller {i}",
        "subject": f"Grüße, Jörg {i} – 10 % off",
        "from_email": "news@shop.example.com",
        "from_name": "Café Zürich",
        "reply_to": "help@shop.example.com",
        "html": f"<p>Hallo Jörg {i}</p>",
        "text": f"Hallo Jörg {i}",
        "headers": {
            "List-Unsubscribe": f"<https://t.example.com/u/tok{i}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "tags": {"campaign": "12", "token": f"tok{i}"},
    }
    fields.update(overrides)
    return OutboundMessage(**fields)


@pytest.fixture
def make_message() -> Callable[..., OutboundMessage]:
    return message


@dataclass(frozen=True)
class Case:
    """How to build one HTTP provider against its local server."""

    name: str
    server_cls: type[ProviderServer]
    settings: dict[str, Any]
    secrets: dict[str, Any]


CASES = [
    Case("brevo", BrevoServer, {}, {"api_key": "xkeysib-test"}),
    Case("sendgrid", SendGridServer, {}, {"api_key": "SG.test-key"}),
    Case("mailgun", MailgunServer, {"domain": "mg.example.com"}, {"api_key": "key-test"}),
    Case("mailjet", MailjetServer, {"api_key": "mj-public"}, {"secret_key": "mj-secret"}),
    Case(
        "ses",
        SesServer,
        {"region": "eu-west-1", "access_key_id": "AKIDTESTTESTTEST"},
        {"secret_access_key": "not-a-real-secret"},
    ),
]


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


@pytest.fixture
def server(case: Case) -> Iterator[ProviderServer]:
    with case.server_cls() as srv:
        yield srv


@pytest.fixture
def connect(case: Case, server: ProviderServer) -> Iterator[Callable[..., Provider]]:
    """connect(**kw) -> a provider pointed at the server; closed after the test."""
    made: list[Provider] = []

    def _connect(**kw: Any) -> Provider:
        provider = make_provider(
            case.name, case.settings, case.secrets, endpoint_url=server.endpoint_url, **kw
        )
        made.append(provider)
        return provider

    yield _connect
    for provider in made:
        provider.close()


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
