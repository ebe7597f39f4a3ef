"""The branding settings page (admins), and ``brand()`` for the pages recipients see."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mailer.lib import branding
from mailer.lib.errors import ValidationError
from mailer.models import Role
from mailer.services import branding as branding_service
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import render
from mailer.web.security_headers import APP_POLICY

bp = Blueprint("branding", __name__, url_prefix="/settings/branding")
guard_blueprint(bp, read=Role.ADMIN, write=Role.ADMIN)


@bp.app_template_global()
def brand() -> branding.Branding:
    """The sender's branding, for recipient pages (tracking/_layout.html)."""
    return branding.load()


# Blueprints whose pages recipients see, on the shared base (tracking/_layout.html).
RECIPIENT_BLUEPRINTS = {"tracking", "subscribe", "preferences", "archive"}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else ""


def recipient_policy(form_target: str | None = None) -> str:
    """The app's CSP, also allowing the logo's host and (a signup page) the one address the
    form may send people on to."""
    policy = dict(APP_POLICY)
    logo = _origin(branding.load().logo_url)
    if logo:
        policy["img-src"] = f"{policy['img-src']} {logo}"
    target = _origin(form_target or "")
    if target:
        policy["form-action"] = f"{policy['form-action']} {target}"
    return "; ".join(f"{name} {sources}" for name, sources in policy.items())


@bp.after_app_request
def _recipient_csp(response: Response) -> Response:
    if (
        request.blueprint in RECIPIENT_BLUEPRINTS
        and response.mimetype == "text/html"
        and "Content-Security-Policy" not in response.headers
    ):
        response.headers["Content-Security-Policy"] = recipient_policy()
    return response


@bp.route("/", methods=["GET", "POST"])
def edit():
    errors, status = {}, 200
    if request.method == "POST":
        try:
            branding_service.save(request.form, request.files.get("logo_file"), current_user)
        except ValidationError as exc:
            errors, status = exc.errors, 422
        else:
            flash(_("Branding saved: recipient pages and email footers now show it."), "success")
            return redirect(url_for(".edit"))
    response = render(
        "branding/edit.html",
        current=branding.load(),
        values=request.form if errors else None,
        default_color=branding.DEFAULT_COLOR,
        errors=errors,
        status=status,
    )
    response.headers["Content-Security-Policy"] = recipient_policy()  # the logo's preview
    return response
