"""Login and logout."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import TooManyRequests
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email

from mailer.services import login as login_service
from mailer.services import users as users_service
from mailer.web.auth import redirect_back

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
