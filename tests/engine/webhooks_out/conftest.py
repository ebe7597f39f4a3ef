"""A local HTTP server standing in for a client app, and endpoints pointed at it. Helpers to
run the delivery tick or let time pass are in tests/fixtures/webhooks_out.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mailer.services import webhook_endpoints
from tests.servers.http_base import ProviderServer, Received, Reply


@pytest.fixture(autouse=True)
def feedback_jobs_do_not_linger(no_linger):
    """The hook tests run feedback jobs: they end as soon as their queue is empty."""


class Receiver(ProviderServer):
    """A client app's webhook endpoint: answers 200 unless told otherwise (``fail``, ``hang``,
    or ``reply`` for any fixed answer such as a redirect); records every request."""

    name = "webhook-receiver"
    reply: Reply | None = None

    def handle(self, req: Received) -> Reply:
        return self.reply or Reply(200, {"ok": True})

    def error_reply(self, status: int, retry_after: str | None = None) -> Reply:
        return Reply(status, "receiver is broken")

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hooks/mailer"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def make_endpoint(db, receiver):
    """make_endpoint(types=[...], url=None) -> (endpoint, secret)."""

    def _make(types=("opened",), url=None, description=""):
        return webhook_endpoints.create_endpoint(url or receiver.hook_url, description, list(types))

    return _make
