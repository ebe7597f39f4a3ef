"""The typed Python client generated from the OpenAPI document (clients/python, made by
scripts/generate-client.sh) against a running Mailer: what a client developer does first."""

from __future__ import annotations

from mailer_client import AuthenticatedClient
from mailer_client.api.messages import get_message, list_messages, send_messages
from mailer_client.api.webhooks import create_webhook_endpoint, list_webhook_endpoints
from mailer_client.models import (
    Error,
    MessageIn,
    MessageQueued,
    WebhookEndpointInput,
    WebhookEventType,
)

from mailer.lib.crypto import encrypt_json
from mailer.models import Channel, Identity
from mailer.services import api_keys
from tests.fixtures.workers import wait_for


def test_a_client_app_sends_a_message_and_reads_it_back(db, mailer_server):
    db.session.add(Identity(name="Shop", from_email="shop@example.com"))
    db.session.add(
        Channel(
            name="Sandbox",
            provider="sandbox",
            settings={},
            secrets_encrypted=encrypt_json({}),
            rate_per_second=100,
        )
    )
    db.session.commit()
    key = api_keys.create("Shop backend", ["send", "read"], None).plaintext
    client = AuthenticatedClient(base_url=mailer_server, token=key)

    queued = send_messages.sync(
        client=client,
        body=MessageIn(
            to="Jane@Example.com", subject="Your receipt", html="<p>Thanks!</p>", tags=["receipt"]
        ),
    )

    assert isinstance(queued, MessageQueued)
    assert queued.to == "jane@example.com"

    def sent() -> bool:
        message = get_message.sync(client=client, message_id=queued.id)
        return message.delivery_status.value == "sent"

    wait_for(sent, timeout=60, step=0.2)  # the worker process sent it (sandbox channel)
    page = list_messages.sync(client=client, tag="receipt")
    assert [(m.id, m.subject, m.tags) for m in page.data] == [
        (queued.id, "Your receipt", ["receipt"])
    ]
    assert page.next_cursor is None

    refused = send_messages.sync_detailed(
        client=client, body=MessageIn(to="not an address", subject="Hi", text="Hi")
    )
    assert refused.status_code == 422
    assert isinstance(refused.parsed, Error)
    assert [f.path for f in refused.parsed.error.details.fields] == ["$.to"]


def test_an_admin_script_registers_a_webhook_endpoint(db, mailer_server):
    key = api_keys.create("Provisioning", ["admin"], None).plaintext
    client = AuthenticatedClient(base_url=mailer_server, token=key)

    created = create_webhook_endpoint.sync(
        client=client,
        body=WebhookEndpointInput(
            url="https://crm.example.com/hooks/mailer",
            event_types=[WebhookEventType.DELIVERED, WebhookEventType.BOUNCED],
        ),
    )

    assert created.secret.startswith("whsec_")
    listed = list_webhook_endpoints.sync(client=client)
    assert [(e.id, e.url, sorted(t.value for t in e.event_types)) for e in listed.data] == [
        (created.id, "https://crm.example.com/hooks/mailer", ["bounced", "delivered"])
    ]
