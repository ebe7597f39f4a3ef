"""Login, logout, and each person's own profile (language, password); the favicon, which
browsers ask for on the login page too."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import TooManyRequests
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email

from mailer.lib.errors import ValidationError
from mailer.services import login as login_service
from mailer.services import users as users_service
from mailer.web.auth import keep_current_session, redirect_back
from mailer.web.htmx import render
from mailer.web.i18n import LANGUAGE_NAMES, LANGUAGES

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired(), Email()], filters=[lambda v: (v or "").strip()]
    )
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me logged in")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect_back()
    form = LoginForm()
    if form.validate_on_submit():
        result = login_service.authenticate(
            form.email.data,
            form.password.data,
            ip=request.remote_addr or "unknown",  # the client's, through MAILER_TRUSTED_PROXIES
            device_cookie=request.cookies.get(login_service.DEVICE_COOKIE),
        )
        if result.retry_after:
            raise TooManyRequests(
                _(
                    "Too many failed logins. Try again in %(seconds)s seconds.",
                    seconds=result.retry_after,
                ),
                retry_after=result.retry_after,
            )
        if result.user is not None:
            login_user(result.user, remember=form.remember.data)
            response = redirect_back()
            response.set_cookie(
                login_service.DEVICE_COOKIE,
                result.device_cookie,
                max_age=login_service.device_cookie_max_age(),
                path=url_for("auth.login"),
                secure=current_app.config["SESSION_COOKIE_SECURE"],
                httponly=True,
                samesite="Lax",
            )
            return response
        form.password.errors.append(_("Wrong email or password."))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        users_service.end_sessions(current_user)  # every browser of this user, not only this one
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


def _profile(errors=None, status=200):
    return render(
        "auth/profile.html",
        block="page",
        status=status,
        errors=errors or {},
        languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        min_password=users_service.MIN_PASSWORD,
    )


@bp.get("/profile")
@login_required
def profile():
    return _profile()


@bp.post("/profile/language")
@login_required
def language():
    try:
        users_service.set_language(current_user, request.form.get("language", ""), LANGUAGES)
    except ValidationError as exc:
        return _profile(errors=exc.errors, status=422)
    refresh()  # this very answer already speaks the new language
    flash(_("Mailer now speaks to you in this language."), "success")
    return redirect(url_for(".profile"))


@bp.post("/profile/password")
@login_required
def password():
    form = request.form
    user = current_user._get_current_object()  # login_user() needs the user, not the proxy
    try:
        users_service.change_password(
            user, form.get("current", ""), form.get("new", ""), form.get("repeat", "")
        )
    except ValidationError as exc:
        return _profile(errors=exc.errors, status=422)
    keep_current_session(user)  # this browser stays logged in; every other one ends
    flash(
        _("Your password is changed. You stay logged in here; other browsers must log in again."),
        "success",
    )
    return redirect(url_for(".profile"))


@bp.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), 301)
