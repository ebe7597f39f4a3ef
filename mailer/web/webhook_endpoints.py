"""Outbound webhook endpoints (admins only): client apps' URLs, secrets, health, delivery log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from mailer.engine.webhooks_out.signing import SIGNATURE_HEADER
from mailer.lib.errors import ValidationError
from mailer.models import WEBHOOK_EVENT_TYPES, DeliveryStatus, Role, WebhookEndpoint
from mailer.services import webhook_endpoints
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import render

bp = Blueprint("webhook_endpoints", __name__, url_prefix="/outbound-webhooks")
guard_blueprint(bp, read=Role.ADMIN, write=Role.ADMIN)

# The API's names stay in payloads and checkboxes' values; people read these.
EVENT_LABELS = {
    "sent": _l("Sent"),
    "delivered": _l("Delivered"),
    "opened": _l("Opened"),
    "clicked": _l("Clicked"),
    "bounced": _l("Bounced"),
    "complained": _l("Marked as spam"),
    "unsubscribed": _l("Unsubscribed"),
    "failed": _l("Failed"),
}
STATUS_LABELS = {
    DeliveryStatus.PENDING.value: _l("waiting"),
    DeliveryStatus.DELIVERED.value: _l("delivered"),
    DeliveryStatus.FAILED.value: _l("failed"),
}


@bp.context_processor
def _labels():
    return {
        "event_label": lambda t: str(EVENT_LABELS.get(t, t)),
        "status_label": lambda s: str(STATUS_LABELS.get(s, s)),
        "reason_text": webhook_endpoints.reason_text,
    }


def _get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    return webhook_endpoints.get_endpoint(endpoint_id) or abort(404)


def _fields() -> tuple[str, str, list[str]]:
    form = request.form
    return form.get("url", ""), form.get("description", ""), form.getlist("event_types")


def _form_page(endpoint: WebhookEndpoint | None, form=None, errors=None, status=200):
    if form is None:
        form = {
            "url": endpoint.url if endpoint else "",
            "description": endpoint.description if endpoint else "",
            "event_types": list(endpoint.event_types) if endpoint else list(WEBHOOK_EVENT_TYPES),
        }
    return render(
        "webhook_endpoints/form.html",
        status=status,
        endpoint=endpoint,
        form=form,
        types=WEBHOOK_EVENT_TYPES,
        errors=errors or {},
    )


def _show(endpoint: WebhookEndpoint, *, new_secret: str | None = None, status: int = 200):
    """The endpoint page; only its delivery log for htmx filter and paging requests."""
    try:
        log = webhook_endpoints.deliveries_page(
            endpoint,
            request.args.get("status", ""),
            request.args.get("page", 1, type=int) or 1,
        )
    except ValidationError:
        abort(404)
    return render(
        "webhook_endpoints/show.html",
        block="log",
        status=status,
        endpoint=endpoint,
        log=log,
        statuses=[s.value for s in DeliveryStatus],
        pending=webhook_endpoints.pending_counts().get(endpoint.id, 0),
        new_secret=new_secret,
        signature_header=SIGNATURE_HEADER,
    )


@bp.get("/")
def index():
    return render(
        "webhook_endpoints/index.html",
        endpoints=webhook_endpoints.list_endpoints(),
        pending=webhook_endpoints.pending_counts(),
    )


@bp.get("/new")
def new():
    return _form_page(None)


@bp.post("/")
def create():
    url, description, types = _fields()
    try:
        endpoint, secret = webhook_endpoints.create_endpoint(
            url, description, types, current_user.id
        )
    except ValidationError as exc:
        form = {"url": url, "description": description, "event_types": types}
        return _form_page(None, form, exc.errors, status=422)
    # Rendered, not redirected: the secret must not travel in a URL or a cookie.
    return _show(endpoint, new_secret=secret, status=201)


@bp.get("/<int:endpoint_id>")
def show(endpoint_id: int):
    return _show(_get_endpoint(endpoint_id))


@bp.get("/<int:endpoint_id>/edit")
def edit(endpoint_id: int):
    return _form_page(_get_endpoint(endpoint_id))


@bp.post("/<int:endpoint_id>")
def update(endpoint_id: int):
    endpoint = _get_endpoint(endpoint_id)
    url, description, types = _fields()
    try:
        webhook_endpoints.update_endpoint(endpoint, url, description, types)
    except ValidationError as exc:
        form = {"url": url, "description": description, "event_types": types}
        return _form_page(endpoint, form, exc.errors, status=422)
    flash(_("Endpoint saved."), "success")
    return redirect(url_for(".show", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/enable")
def enable(endpoint_id: int):
    webhook_endpoints.set_enabled(_get_endpoint(endpoint_id), True)
    flash(_("Endpoint enabled: waiting deliveries are sent again."), "success")
    return redirect(url_for(".show", endpoint_id=endpoint_id))


@bp.post("/<int:endpoint_id>/disable")
def disable(endpoint_id: int):
    webhook_endpoints.set_enabled(_get_endpoint(endpoint_id), False)
    flash(_("Endpoint disabled: new events are not queued for it."), "success")
    return redirect(url_for(".show", endpoint_id=endpoint_id))


@bp.post("/<int:endpoint_id>/rotate")
def rotate(endpoint_id: int):
    endpoint = _get_endpoint(endpoint_id)
    secret = webhook_endpoints.rotate_secret(endpoint)
    return _show(endpoint, new_secret=secret)


@bp.post("/<int:endpoint_id>/delete")
def delete(endpoint_id: int):
    webhook_endpoints.delete_endpoint(_get_endpoint(endpoint_id))
    flash(_("Endpoint deleted, with its delivery log."), "success")
    return redirect(url_for(".index"))


@bp.post("/<int:endpoint_id>/test")
def send_test(endpoint_id: int):
    delivery = webhook_endpoints.send_test_event(_get_endpoint(endpoint_id))
    if delivery.status == DeliveryStatus.DELIVERED.value:
        flash(_("Test event delivered (HTTP %(code)s).", code=delivery.last_status_code), "success")
    else:
        flash(_("Test event not delivered: %(error)s", error=delivery.last_error), "error")
    return redirect(url_for(".show", endpoint_id=endpoint_id))


@bp.post("/<int:endpoint_id>/deliveries/<int:delivery_id>/resend")
def resend(endpoint_id: int, delivery_id: int):
    endpoint = _get_endpoint(endpoint_id)
    delivery = webhook_endpoints.get_delivery(endpoint, delivery_id) or abort(404)
    webhook_endpoints.resend(delivery)
    if endpoint.enabled:
        flash(_("Delivery %(id)s will be sent again within seconds.", id=delivery_id), "success")
    else:
        note = _(
            "Delivery %(id)s will be sent again once the endpoint is enabled again.",
            id=delivery_id,
        )
        flash(note, "success")
    return redirect(url_for(".show", endpoint_id=endpoint_id, status=request.args.get("status")))
