"""Sender identities (/senders): the From name, address and Reply-To of outgoing mail."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from mailer.lib.errors import NotAllowed, ValidationError
from mailer.models import Identity, Role
from mailer.services import identities as identities_service
from mailer.web.auth import guard_blueprint, role_required
from mailer.web.htmx import render

bp = Blueprint("identities", __name__, url_prefix="/senders")
guard_blueprint(bp)  # viewers read, marketers write


def _get_identity(identity_id: int) -> Identity:
    return identities_service.get_identity(identity_id) or abort(404)


def _page(errors=None, form=None, status=200, **extra):
    return render(
        "identities/index.html",
        block="page",
        status=status,
        identities=identities_service.list_identities(),
        errors=errors or {},
        form=form or {},
        **extra,
    )


@bp.get("/")
def index():
    return _page()


@bp.post("/")
def create():
    try:
        identity = identities_service.create_identity(request.form)
    except ValidationError as exc:
        return _page(errors=exc.errors, form=request.form, status=422)
    return _page(created=identity)


@bp.get("/<int:identity_id>")
@role_required(Role.MARKETER)
def edit(identity_id: int):
    identity = _get_identity(identity_id)
    form = {
        "name": identity.name,
        "from_email": identity.from_email,
        "from_name": identity.from_name,
        "reply_to": identity.reply_to or "",
    }
    return render("identities/edit.html", identity=identity, form=form, errors={})


@bp.post("/<int:identity_id>")
def update(identity_id: int):
    identity = _get_identity(identity_id)
    try:
        identities_service.update_identity(identity, request.form)
    except ValidationError as exc:
        return render(
            "identities/edit.html",
            status=422,
            identity=identity,
            form=request.form,
            errors=exc.errors,
        )
    flash(_("Sender “%(name)s” saved.", name=identity.name), "success")
    return redirect(url_for(".index"))


@bp.post("/<int:identity_id>/delete")
def delete(identity_id: int):
    identity = _get_identity(identity_id)
    name = identity.name
    try:
        identities_service.delete_identity(identity)
    except NotAllowed as exc:
        flash(str(exc), "error")
    else:
        flash(_("Sender “%(name)s” deleted.", name=name), "success")
    return redirect(url_for(".index"))
