"""Outbound webhook endpoints for the settings pages: list, create, edit, enable, rotate the
secret, delete; the delivery log of one endpoint, resending a delivery, and the test event.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from mailer.engine.webhooks_out import delivery as webhook_delivery
from mailer.engine.webhooks_out.events import (
    RETRY_WINDOW,
    delivery_of_test_event,
    invalidate_cache,
)
from mailer.engine.webhooks_out.signing import new_secret
from mailer.extensions import db
from mailer.lib import netguard
from mailer.lib.crypto import encrypt_json
from mailer.lib.errors import ValidationError
from mailer.lib.i18n import N_
from mailer.models.base import utcnow
from mailer.models.webhooks import (
    TEST_EVENT,
    WEBHOOK_EVENT_TYPES,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

URL_MAX = 2000
DESCRIPTION_MAX = 200
PAGE_SIZE = 50
DISABLED_BY_ADMIN = N_("Disabled by an administrator.")


def reason_text(reason: str | None) -> str:
    """Why an endpoint is disabled, in the reader's language where Mailer wrote it in words
    it translates (an automatic disable names its figures in English)."""
    if not reason:
        return ""
    return _(DISABLED_BY_ADMIN) if reason == DISABLED_BY_ADMIN else reason


def list_endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(endpoint_id: int) -> WebhookEndpoint | None:
    return db.session.get(WebhookEndpoint, endpoint_id)


def pending_counts() -> dict[int, int]:
    """Deliveries waiting per endpoint (the due index makes this cheap)."""
    rows = db.session.execute(
        select(WebhookDelivery.endpoint_id, func.count())
        .where(WebhookDelivery.status == DeliveryStatus.PENDING.value)
        .group_by(WebhookDelivery.endpoint_id)
    )
    return dict(rows.all())


def _clean(url: str, description: str, event_types: Iterable[str]) -> tuple[str, str, list[str]]:
    errors: dict[str, str] = {}
    url = (url or "").strip()
    parts = urlsplit(url) if url else None
    if not url:
        errors["url"] = _("Enter the URL that receives the events.")
    elif len(url) > URL_MAX:
        errors["url"] = _("Use at most %(num)s characters.", num=URL_MAX)
    elif any(c.isspace() or ord(c) < 32 for c in url):
        errors["url"] = _("A URL cannot contain spaces or control characters.")
    elif parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        errors["url"] = _("Enter an http:// or https:// URL with a host name.")
    else:
        try:
            # Also checked for the address connected to at each delivery (DNS may change).
            refused = netguard.check_url(parts, webhook_delivery.allow_private())
        except ValueError:
            errors["url"] = _("The port in this URL is not a number between 0 and 65535.")
        else:
            if refused:
                errors["url"] = refused
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _("Use at most %(num)s characters.", num=DESCRIPTION_MAX)
    chosen = [t for t in WEBHOOK_EVENT_TYPES if t in set(event_types)]
    unknown = sorted(set(event_types) - set(WEBHOOK_EVENT_TYPES))
    if unknown:
        errors["event_types"] = _("Unknown event type: %(types)s.", types=", ".join(unknown))
    elif not chosen:
        errors["event_types"] = _("Choose at least one event type.")
    if errors:
        raise ValidationError(errors)
    return url, description, chosen


def create_endpoint(
    url: str, description: str, event_types: Iterable[str], created_by_id: int | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint and its secret (in full: the only time it is available)."""
    url, description, types = _clean(url, description, list(event_types))
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=url,
        description=description,
        event_types=types,
        secret_encrypted=encrypt_json({"secret": secret}),
        enabled=True,
        created_by_id=created_by_id,
    )
    db.session.add(endpoint)
    db.session.commit()
    invalidate_cache()
    return endpoint, secret


def update_endpoint(
    endpoint: WebhookEndpoint, url: str, description: str, event_types: Iterable[str]
) -> None:
    endpoint.url, endpoint.description, endpoint.event_types = _clean(
        url, description, list(event_types)
    )
    db.session.commit()
    invalidate_cache()


def set_enabled(endpoint: WebhookEndpoint, enabled: bool) -> None:
    """Enabling clears the failure record: the endpoint starts with a clean slate."""
    endpoint.enabled = enabled
    if enabled:
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    else:
        endpoint.disabled_reason = DISABLED_BY_ADMIN
    db.session.commit()
    invalidate_cache()


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """A new secret, used from the next attempt on; the old one stops working at once."""
    secret = new_secret()
    endpoint.secret_encrypted = encrypt_json({"secret": secret})
    db.session.commit()
    return secret


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """Deletes its deliveries too (the foreign key cascades)."""
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.commit()
    invalidate_cache()


@dataclass(frozen=True)
class DeliveryPage:
    """One page of an endpoint's delivery log."""

    deliveries: list[WebhookDelivery]
    page: int
    pages: int
    total: int
    status: str


def deliveries_page(
    endpoint: WebhookEndpoint, status: str = "", page: int = 1, per_page: int = PAGE_SIZE
) -> DeliveryPage:
    """Newest first; ``status`` one of DeliveryStatus or "" for all."""
    if status and status not in {s.value for s in DeliveryStatus}:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    where = [WebhookDelivery.endpoint_id == endpoint.id]
    if status:
        where.append(WebhookDelivery.status == status)
    total = db.session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where))
    total = total or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = db.session.scalars(
        select(WebhookDelivery)
        .where(*where)
        .order_by(WebhookDelivery.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return DeliveryPage(list(rows), page, pages, total, status)


def get_delivery(endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery | None:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    return delivery if delivery is not None and delivery.endpoint_id == endpoint.id else None


def resend(delivery: WebhookDelivery) -> None:
    """Due now, with a fresh retry window (a test event still gets one attempt)."""
    now = utcnow()
    delivery.status = DeliveryStatus.PENDING.value
    delivery.next_attempt_at = now
    delivery.claim_token = None
    delivery.expires_at = now if delivery.event_type == TEST_EVENT else now + RETRY_WINDOW
    db.session.commit()


def send_test_event(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Post a ``test`` event to the endpoint now (even a disabled one), once, and return the
    delivery with its outcome. It does not count towards the endpoint's health."""
    delivery = WebhookDelivery(**delivery_of_test_event(endpoint.id))
    db.session.add(delivery)
    db.session.commit()
    webhook_delivery.deliver_now(delivery.id)
    db.session.refresh(delivery)
    return delivery
