"""Admins export or erase one person's data (GDPR), and see the erasure log (who, when)."""

from __future__ import annotations

import json

from flask import Blueprint, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from mailer.extensions import db
from mailer.lib.errors import ValidationError
from mailer.models import Erasure, Role, User
from mailer.services import privacy
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import render

bp = Blueprint("privacy", __name__, url_prefix="/privacy")
guard_blueprint(bp, read=Role.ADMIN, write=Role.ADMIN)
LOG_SIZE = 50


def _page(errors: dict | None = None, email: str = "", status: int = 200):
    rows = db.session.execute(
        select(Erasure, User.email)
        .outerjoin(User, User.id == Erasure.actor_user_id)
        .order_by(Erasure.id.desc())
        .limit(LOG_SIZE)
    ).all()
    return render(
        "privacy/index.html", status=status, erasures=rows, errors=errors or {}, email=email
    )


@bp.get("")
def index():
    return _page(email=request.args.get("email", ""))


@bp.post("/export")
def export():
    email = request.form.get("email", "")
    try:
        data = privacy.export(email)
    except ValidationError as exc:
        return _page(exc.errors, email, 422)
    response = make_response(json.dumps(data, indent=2, ensure_ascii=False))
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="personal-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/erase")
def erase():
    email = request.form.get("email", "")
    errors: dict[str, str] = {}
    if request.form.get("confirm") != "1":
        errors["confirm"] = _("Tick the box to confirm: an erasure cannot be undone.")
    try:
        privacy.clean_address(email)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        return _page(errors, email, 422)
    privacy.erase(email, privacy.Actor("user", user_id=current_user.id))
    flash(
        _("Erased. Only a keyed hash of the address is kept, so imports cannot add it back."),
        "success",
    )
    return redirect(url_for(".index"))
