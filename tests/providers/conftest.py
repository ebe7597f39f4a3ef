"""Fixtures: each provider adapter wired to its local protocol server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mailer.providers import OutboundMessage, Provider, make_provider
from tests.fixtures.providers import CASES, Case, message
from tests.servers.http_base import ProviderServer


@pytest.fixture
def make_message() -> Callable[..., OutboundMessage]:
    return message


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
