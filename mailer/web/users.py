"""Users admin: who can log in and with which role."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mailer.extensions import db
from mailer.lib.errors import NotAllowed, ValidationError
from mailer.models import Role, User
from mailer.services import users as users_service
from mailer.web.auth import guard_blueprint, keep_current_session
from mailer.web.htmx import render

bp = Blueprint("users", __name__, url_prefix="/users")
guard_blueprint(bp, read=Role.ADMIN, write=Role.ADMIN)


def _get_user(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


def _page(errors=None, form=None, status=200, **extra):
    people = db.session.scalars(db.select(User).order_by(User.email)).all()
    return render(
        "users/index.html",
        block="page",
        status=status,
        users=people,
        roles=list(Role),
        errors=errors or {},
        form=form or {},
        **extra,
    )


@bp.get("/")
def index():
    return _page()


@bp.post("/")
def create():
    form = request.form
    try:
        user, password = users_service.create_user(
            form.get("email", ""),
            form.get("role", ""),
            form.get("name", ""),
        )
    except ValidationError as exc:
        return _page(errors=exc.errors, form=form, status=422)
    return _page(created=user, password=password)


@bp.post("/<int:user_id>")
def update(user_id: int):
    user = _get_user(user_id)
    try:
        users_service.update_user(
            user,
            acting=current_user,
            role=request.form.get("role", ""),
            active=request.form.get("active") == "on",
            name=request.form.get("name", user.name),
        )
        flash(_("%(email)s is saved.", email=user.email), "success")
    except (ValidationError, NotAllowed) as exc:
        flash(str(exc), "error")
    return redirect(url_for(".index"))


@bp.post("/<int:user_id>/password")
def reset_password(user_id: int):
    user = _get_user(user_id)
    password = users_service.reset_password(user)
    if user.id == current_user.id:
        keep_current_session(user)  # the admin's other sessions end, not this one
    return _page(reset=user, password=password)


@bp.post("/<int:user_id>/delete")
def delete(user_id: int):
    user = _get_user(user_id)
    try:
        users_service.delete_user(user, acting=current_user)
        flash(_("%(email)s is deleted.", email=user.email), "success")
    except NotAllowed as exc:
        flash(str(exc), "error")
    return redirect(url_for(".index"))
