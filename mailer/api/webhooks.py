"""API: outbound webhook endpoints (create, list, describe, rotate the secret, delete) and
each endpoint's delivery log, through the service the settings pages use.

Reads need the ``read`` scope; writes ``admin``: an endpoint receives every subscribed
recipient's events, like the pages, which only admins reach.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import request

from mailer.api.core import bp, field_errors, get_or_404, json_body, paginate, scope
from mailer.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from mailer.services import webhook_endpoints

STATUSES = [s.value for s in DeliveryStatus]


def _time(value: datetime | None) -> str | None:
    """Naive UTC from the database as ISO 8601 with its zone."""
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def _endpoint_json(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description or "",
        "event_types": list(endpoint.event_types or []),
        "enabled": bool(endpoint.enabled),
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": _time(endpoint.failing_since),
        "last_success_at": _time(endpoint.last_success_at),
        "created_at": _time(endpoint.created_at),
    }


def _delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": _time(delivery.next_attempt_at)
        if delivery.status == DeliveryStatus.PENDING.value
        else None,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "created_at": _time(delivery.created_at),
        "delivered_at": _time(delivery.delivered_at),
        "payload": delivery.payload,
    }


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    return get_or_404(WebhookEndpoint, endpoint_id, "webhook endpoint")


@bp.get("/webhook-endpoints")
def list_webhook_endpoints():
    return paginate(sa.select(WebhookEndpoint), WebhookEndpoint.id, _endpoint_json)


@bp.post("/webhook-endpoints")
@scope("admin")
def create_webhook_endpoint():
    body = json_body("WebhookEndpointInput")
    endpoint, secret = webhook_endpoints.create_endpoint(
        body["url"], body.get("description") or "", body["event_types"]
    )
    return {**_endpoint_json(endpoint), "secret": secret}, 201


@bp.get("/webhook-endpoints/<int:endpoint_id>")
def get_webhook_endpoint(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    pending = webhook_endpoints.pending_counts().get(endpoint.id, 0)
    return {**_endpoint_json(endpoint), "pending_deliveries": pending}


@bp.post("/webhook-endpoints/<int:endpoint_id>/rotate-secret")
@scope("admin")
def rotate_webhook_secret(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    secret = webhook_endpoints.rotate_secret(endpoint)
    return {**_endpoint_json(endpoint), "secret": secret}


@bp.delete("/webhook-endpoints/<int:endpoint_id>")
@scope("admin")
def delete_webhook_endpoint(endpoint_id: int):
    webhook_endpoints.delete_endpoint(_endpoint_or_404(endpoint_id))
    return "", 204


@bp.get("/webhook-endpoints/<int:endpoint_id>/deliveries")
def list_webhook_deliveries(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    status = request.args.get("status")
    query = sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status is not None:
        if status not in STATUSES:
            raise field_errors(
                [{"path": "status", "message": f"Choose one of: {', '.join(STATUSES)}."}],
                "Invalid query parameter.",
            )
        query = query.where(WebhookDelivery.status == status)
    return paginate(query, WebhookDelivery.id, _delivery_json)
