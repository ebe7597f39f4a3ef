"""Who may do what: login, roles, and the guards blueprints install."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_user

from mailer.extensions import db, login_manager
from mailer.lib.i18n import N_
from mailer.models import Role, User

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Endpoints with their own protection: login itself, the admin-only rq-dashboard (guarded
# below), recipient-facing tracking links, key-authenticated API and signed provider webhooks.
PUBLIC_ENDPOINT_PREFIXES = (
    "auth.",
    "rq_dashboard.",
    "tracking.",
    "api.",
    "webhooks.",
    "health.",
    "subscribe.",  # signup pages and confirmation links (issue 20)
)
# Issue 20: the preference centre (signed send tokens) and the public archive; the archive's
# publish switch checks its role itself (role_required).
PUBLIC_ENDPOINT_PREFIXES += ("preferences.", "archive.")
PUBLIC_ENDPOINT_PREFIXES += ("asset_files.",)  # issue 18: hosted images, loaded by mail clients


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("Please log in to continue.")  # shown through gettext
    login_manager.localize_callback = gettext
    login_manager.login_message_category = "info"
    # The remember cookie follows the session cookie: Secure behind TLS, same SameSite.
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    app.config["REMEMBER_COOKIE_SAMESITE"] = app.config["SESSION_COOKIE_SAMESITE"]

    @app.before_request
    def _guard_rq_dashboard():
        if request.blueprint != "rq_dashboard":
            return None
        refused = _require(Role.ADMIN)
        if refused is None and request.method not in READ_METHODS:
            _require_same_origin()
        elif request.endpoint == "rq_dashboard.requeue_all" and request.method == "GET":
            abort(405)  # a state change behind a GET link could be triggered cross-site
        return refused


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The user of a session or remember cookie, unless its token was rotated since (logout,
    password, role): then the cookie ends here and the browser is anonymous."""
    user_id, _, token = session_id.partition(":")
    token = token.encode()
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not token or not hmac.compare_digest(user.session_token.encode(), token):
        session.pop("_user_id", None)
        session["_remember"] = "clear"  # Flask-Login deletes the stale remember cookie
        return None
    return user


def keep_current_session(user: User) -> None:
    """After rotating the current user's token: this browser stays logged in (with a new
    remember cookie if it had one); every other session of the user has ended."""
    cookie_name = current_app.config["REMEMBER_COOKIE_NAME"]
    login_user(user, remember=cookie_name in request.cookies, fresh=bool(session.get("_fresh")))


def _require_same_origin() -> None:
    """rq-dashboard's forms carry no CSRF token; accept its POSTs only from our own pages."""
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if origin is None or urlsplit(origin).netloc != request.host:
        abort(403, gettext("Refused: this request did not come from Mailer's own pages."))


def _require(role: Role):
    """None when the current user has `role`; otherwise the login redirect or a 403."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.can(role):
        abort(403)
    return None


def guard_blueprint(bp: Blueprint, *, read: Role = Role.VIEWER, write: Role = Role.MARKETER):
    """Every route of `bp` needs login; reads need `read`, anything else needs `write`.

    One rule per blueprint instead of a decorator per view, so a new route cannot forget it.
    """

    @bp.before_request
    def _guard():
        return _require(read if request.method in READ_METHODS else write)


def role_required(role: Role) -> Callable:
    """For the odd view that needs more than its blueprint's rule."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            return _require(role) or view(*args, **kwargs)

        return wrapped

    return decorator


def safe_next_url(target: str | None, default_endpoint: str = "dashboard.index") -> str:
    """Only local paths: never redirect to another host after login."""
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
        ):
            return target
    return url_for(default_endpoint)


def redirect_back(default_endpoint: str = "dashboard.index"):
    return redirect(safe_next_url(request.args.get("next"), default_endpoint))
