"""API keys admin: create (shown once), see when each was last used, revoke."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mailer.extensions import db
from mailer.lib.errors import ValidationError
from mailer.models import ApiKey, Role
from mailer.services import api_keys
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import render

bp = Blueprint("api_keys", __name__, url_prefix="/settings/api-keys")
guard_blueprint(bp, read=Role.ADMIN, write=Role.ADMIN)


def _page(errors=None, form=None, status=200, **extra):
    return render(
        "api_keys/index.html",
        block="page",
        status=status,
        keys=api_keys.all_keys(),
        scopes=api_keys.SCOPES,
        errors=errors or {},
        form=form,
        **extra,
    )


@bp.get("/")
def index():
    return _page()


@bp.post("/")
def create():
    form = request.form
    rate = form.get("rate_limit", "").strip()
    try:
        if rate and not (rate.isascii() and rate.isdigit() and len(rate) <= 10):
            raise ValidationError({"rate_limit": _("Enter a whole number of requests per minute.")})
        created = api_keys.create(
            form.get("name", ""),
            form.getlist("scopes"),
            current_user,
            int(rate) if rate else None,
        )
    except ValidationError as exc:
        return _page(errors=exc.errors, form=form, status=422)
    return _page(created=created)


@bp.post("/<int:key_id>/revoke")
def revoke(key_id: int):
    key = db.session.get(ApiKey, key_id) or abort(404)
    api_keys.revoke(key)
    flash(
        _(
            "The key “%(name)s” (%(prefix)s…) is revoked: apps using it are now refused.",
            name=key.name,
            prefix=key.prefix,
        ),
        "success",
    )
    return redirect(url_for(".index"))
