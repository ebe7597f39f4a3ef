"""Login and logout."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import TooManyRequests
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email

from mailer.auth import redirect_back
from mailer.extensions import db
from mailer.models import User
from mailer.models.base import utcnow
from mailer.services import throttle
from mailer.services import users as users_service

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
        email = form.email.data.strip().lower()
        ip = request.remote_addr or "unknown"
        verdict = throttle.check(email, ip)
        if verdict.blocked:
            raise TooManyRequests(
                f"Too many failed logins. Try again in {verdict.retry_after} seconds.",
                retry_after=verdict.retry_after,
            )
        user = db.session.scalar(db.select(User).filter_by(email=email))
        if user and user.active and user.check_password(form.password.data):
            throttle.reset_account(email, ip)
            user.last_login_at = utcnow()
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect_back()
        throttle.record_failure(email, ip)
        form.password.errors.append("Wrong email or password.")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        users_service.end_sessions(current_user)  # every browser of this user, not only this one
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
