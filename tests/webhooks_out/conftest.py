"""A local HTTP server standing in for a client app, endpoints pointed at it, and helpers to
run the delivery tick through a real RQ worker or to let time pass for retries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from rq import SimpleWorker

from mailer.engine.webhooks_out.events import WebhookEvent
from mailer.models import WebhookDelivery, WebhookEndpoint
from mailer.models.base import utcnow
from mailer.queue import TICKS, get_queue, get_redis, set_worker_app
from mailer.services import webhook_endpoints

# Other packages' fixtures (brevo, channels, ...) serve the hook tests in test_hooks.py.
from tests.campaigns.conftest import brevo  # noqa: F401
from tests.feedback.conftest import channels, no_linger, sendgrid_key  # noqa: F401
from tests.servers.http_base import ProviderServer, Received, Reply
from tests.tracking.conftest import buffered, send_campaign  # noqa: F401


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


def opened(key: str = "hit:1", email: str = "ann@example.com", **extra) -> WebhookEvent:
    fields = {
        "kind": "opened",
        "key": key,
        "occurred_at": utcnow(),
        "email": email,
        "campaign_id": None,
        "send_id": None,
        "message_id": None,
        "data": {"ua": "Mozilla/5.0"},
        **extra,
    }
    return WebhookEvent(**fields)


def deliveries(db, **where) -> list[WebhookDelivery]:
    db.session.commit()  # a fresh snapshot: the worker wrote through its own session
    query = db.select(WebhookDelivery).filter_by(**where).order_by(WebhookDelivery.id)
    return list(db.session.scalars(query))


def endpoint(db, endpoint_id: int) -> WebhookEndpoint:
    db.session.commit()
    return db.session.get(WebhookEndpoint, endpoint_id)


def time_passes(db, seconds: float = 3600) -> None:
    """Retries become due: every pending delivery's next attempt moves into the past."""
    db.session.execute(
        db.update(WebhookDelivery)
        .where(WebhookDelivery.status == "pending")
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def run_tick(app) -> dict:
    """The webhooks-deliver tick's job through a real RQ worker (burst), as scheduled."""
    from mailer.extensions import db

    db.session.commit()
    job = get_queue(TICKS).enqueue("jobs.webhooks_out.deliver_webhooks")
    set_worker_app(app)
    SimpleWorker([TICKS], connection=get_redis()).work(burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result().exc_string if job.latest_result() else job
    return job.return_value()
