"""Sessions and remember cookies end with logout, a new password or role, and the user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from config import TestConfig
from mailer import create_app
from mailer.extensions import db as _db
from mailer.models import Role
from tests.factories import make_user
from tests.fixtures.app import login_as

REMEMBER = "remember_token"


def _login(browser, email, password="right-password", remember=True):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return browser.post("/login", data=data)


def _logged_in(browser) -> bool:
    return browser.get("/").status_code == 200


def _with_cookie(app, name, value):
    """A new browser holding only a copy of one cookie (a stolen or kept one)."""
    browser = app.test_client()
    browser.set_cookie(name, value)
    return browser


def _set_cookie_header(response, name):
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no {name} cookie set")


@pytest.fixture
def two_browsers(app, client):
    """`client` and a second browser, both logged in to one marketer by the login form."""
    user = make_user(Role.MARKETER, email="two@example.com", password="right-password")
    other = app.test_client()
    for browser in (client, other):
        assert _login(browser, "two@example.com").status_code == 302
    assert _logged_in(client) and _logged_in(other)
    return user, client, other


def test_logout_ends_the_users_other_sessions_and_remember_cookies(app, two_browsers):
    user, browser, other = two_browsers
    kept_session = browser.get_cookie("session").value
    kept_remember = other.get_cookie(REMEMBER).value
    assert _logged_in(_with_cookie(app, REMEMBER, kept_remember)), "the cookie works before"

    assert browser.post("/logout").status_code == 302

    assert not _logged_in(browser)
    assert not _logged_in(other)
    assert not _logged_in(_with_cookie(app, REMEMBER, kept_remember))
    assert not _logged_in(_with_cookie(app, "session", kept_session))


def test_the_remember_cookie_differs_at_each_login(app, client):
    make_user(Role.VIEWER, email="again@example.com", password="right-password")
    values = []
    for _ in range(2):
        _login(client, "again@example.com")
        values.append(client.get_cookie(REMEMBER).value)
        client.post("/logout")
    assert values[0] != values[1]
    assert not _logged_in(_with_cookie(app, REMEMBER, values[0]))


ACTIVE = {"role": "marketer", "active": "on", "name": "Two"}


@pytest.mark.parametrize(
    "posts",
    [
        [("/password", {})],
        [("", {**ACTIVE, "role": "viewer"})],
        [("", {**ACTIVE, "active": ""}), ("", ACTIVE)],  # deactivated, then active again
        [("/delete", {})],
    ],
    ids=["password reset", "role change", "deactivation", "deletion"],
)
def test_an_admin_change_ends_the_users_sessions(app, two_browsers, posts):
    user, browser, other = two_browsers
    kept_remember = other.get_cookie(REMEMBER).value
    admin = app.test_client()
    login_as(admin, make_user(Role.ADMIN))
    for suffix, data in posts:
        assert admin.post(f"/users/{user.id}{suffix}", data=data).status_code in (200, 302)

    for stale in (browser, other, _with_cookie(app, REMEMBER, kept_remember)):
        assert not _logged_in(stale)


def test_a_deleted_users_session_never_reaches_a_later_user(app, db, client):
    """Even where the database hands the same id to the next user (SQLite without
    AUTOINCREMENT), the old session carries the old user's token."""
    gone = login_as(client, make_user(Role.ADMIN, email="gone@example.com"))
    assert _logged_in(client)
    gone_id = gone.id
    db.session.delete(gone)
    db.session.commit()
    later = make_user(Role.ADMIN, email="later@example.com")
    assert not _logged_in(client), f"session of user {gone_id} let in user {later.id}"


def test_an_admin_resetting_their_own_password_stays_logged_in_here_only(app, client):
    admin = make_user(Role.ADMIN, email="self@example.com", password="right-password")
    elsewhere = app.test_client()
    for browser in (client, elsewhere):
        _login(browser, "self@example.com")
    before = client.get_cookie(REMEMBER).value
    assert client.post(f"/users/{admin.id}/password").status_code == 200
    assert client.get("/users/").status_code == 200
    assert not _logged_in(elsewhere)
    renewed = client.get_cookie(REMEMBER).value
    assert renewed != before
    assert _logged_in(_with_cookie(app, REMEMBER, renewed))
    assert not _logged_in(_with_cookie(app, REMEMBER, before))


def test_sessions_from_before_the_upgrade_are_refused(client):
    user = make_user(Role.VIEWER)
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)  # no session token: a cookie from before 0009
        session["_fresh"] = True
    assert not _logged_in(client)
    login_as(client, user)
    assert _logged_in(client)


@pytest.fixture
def secure_app(app, migrated, redis_url, tmp_path):
    other = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=migrated,
        REDIS_URL=redis_url,
        INSTANCE_PATH=str(tmp_path / "secure"),
        SESSION_COOKIE_SECURE=True,
    )
    yield other
    with other.app_context():
        _db.engine.dispose()


@pytest.mark.parametrize("secure", [False, True], ids=["http", "behind TLS"])
def test_the_remember_cookie_is_lax_bounded_and_secure_behind_tls(app, secure_app, secure):
    target = secure_app if secure else app
    make_user(Role.VIEWER, email="cookie@example.com", password="right-password")
    browser = target.test_client()
    header = _set_cookie_header(_login(browser, "cookie@example.com"), REMEMBER)
    attributes = {part.strip().split("=")[0].lower(): part for part in header.split(";")}
    assert "samesite" in attributes and attributes["samesite"].strip() == "SameSite=Lax"
    assert "httponly" in attributes
    assert ("secure" in attributes) is secure
    expires = parsedate_to_datetime(attributes["expires"].split("=", 1)[1])
    assert expires - datetime.now(UTC) <= timedelta(days=14, minutes=1)
    assert expires - datetime.now(UTC) >= timedelta(days=13)
