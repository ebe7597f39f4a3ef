"""Sending channels (admins only): provider accounts, their encrypted secrets, test sends."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from mailer.engine.delivery import provider_class
from mailer.lib.errors import NotAllowed, ValidationError
from mailer.models import Channel, Role
from mailer.services import channels as channels_service
from mailer.services import identities as identities_service
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import render

bp = Blueprint("channels", __name__, url_prefix="/channels")
guard_blueprint(bp, read=Role.ADMIN, write=Role.ADMIN)


def _get_channel(channel_id: int) -> Channel:
    return channels_service.get_channel(channel_id) or abort(404)


def _form_page(channel: Channel | None, provider: str, submitted=None, errors=None, status=200):
    """The create/edit form (re-filled from `submitted` after an error); only the provider's
    fields for an htmx provider switch."""
    return render(
        "channels/form.html",
        block="provider_fields",
        status=status,
        channel=channel,
        provider=provider,
        providers=channels_service.providers(),
        provider_label=channels_service.provider_label(provider),
        fields=channels_service.field_views(provider, channel, submitted),
        endpoint_placeholder=channels_service.endpoint_placeholder(provider),
        form=submitted if submitted is not None else _form_of(channel),
        errors=errors or {},
    )


def _form_of(channel: Channel | None) -> dict[str, str]:
    if channel is None:
        return {"rate_per_second": f"{channels_service.DEFAULT_RATE:g}", "active": "on"}
    return {
        "name": channel.name,
        "endpoint_url": channel.endpoint_url or "",
        "rate_per_second": f"{channel.rate_per_second:g}",
        "daily_quota": str(channel.daily_quota or ""),
        "active": "on" if channel.active else "",
    }


def _show(channel: Channel, status=200, **extra):
    return render(
        "channels/show.html",
        block="test_send" if "outcome" in extra or "errors" in extra else None,
        status=status,
        channel=channel,
        provider_label=channels_service.provider_label(channel.provider),
        fields=channels_service.field_views(channel.provider, channel),
        webhook_url=channels_service.webhook_url(channel),
        identities=identities_service.list_identities(),
        used_by=channels_service.usage_count(channel),
        **{"errors": {}, "form": {}, "outcome": None, **extra},
    )


@bp.get("/")
def index():
    return render(
        "channels/index.html",
        channels=channels_service.list_channels(),
        label=channels_service.provider_label,
    )


@bp.get("/new")
def new():
    provider = request.args.get("provider", "")
    if provider and provider_class(provider) is None:
        abort(404)
    return _form_page(None, provider)


@bp.post("/")
def create():
    provider = request.form.get("provider", "")
    try:
        channel = channels_service.save_channel(request.form)
    except ValidationError as exc:
        return _form_page(None, provider, request.form, errors=exc.errors, status=422)
    flash(
        _("Channel “%(name)s” created. Send a test email to check it.", name=channel.name),
        "success",
    )
    return redirect(url_for(".show", channel_id=channel.id))


@bp.get("/<int:channel_id>")
def show(channel_id: int):
    return _show(_get_channel(channel_id))


@bp.get("/<int:channel_id>/edit")
def edit(channel_id: int):
    channel = _get_channel(channel_id)
    return _form_page(channel, channel.provider)


@bp.post("/<int:channel_id>")
def update(channel_id: int):
    channel = _get_channel(channel_id)
    try:
        channels_service.save_channel(request.form, channel)
    except ValidationError as exc:
        return _form_page(channel, channel.provider, request.form, exc.errors, status=422)
    flash(_("Channel “%(name)s” saved.", name=channel.name), "success")
    return redirect(url_for(".show", channel_id=channel.id))


@bp.post("/<int:channel_id>/delete")
def delete(channel_id: int):
    channel = _get_channel(channel_id)
    name = channel.name
    try:
        channels_service.delete_channel(channel)
    except NotAllowed as exc:
        flash(str(exc), "error")
        return redirect(url_for(".show", channel_id=channel_id))
    flash(_("Channel “%(name)s” deleted.", name=name), "success")
    return redirect(url_for(".index"))


@bp.post("/<int:channel_id>/test")
def send_test(channel_id: int):
    channel = _get_channel(channel_id)
    form = request.form
    try:
        outcome = channels_service.send_test_email(
            channel, form.get("to", ""), form.get("identity_id"), language=str(get_locale() or "en")
        )
    except ValidationError as exc:
        return _show(channel, status=422, errors=exc.errors, form=form)
    return _show(channel, outcome=outcome, form=form)
