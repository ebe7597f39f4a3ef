"""Login, logout, throttling and safe redirects."""

from __future__ import annotations

from mailer.models import Role
from tests.conftest import make_user


def _login(client, email, password, **extra):
    return client.post("/login", data={"email": email, "password": password}, **extra)


def test_login_page_and_successful_login(client, app):
    user = make_user(Role.MARKETER, email="ann@example.com", password="s3cret-pass")
    page = client.get("/login")
    assert page.status_code == 200 and b"Log in" in page.data

    response = _login(client, "ANN@example.com ", "s3cret-pass")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and b"ann@example.com" in home.data
    from mailer.extensions import db

    db.session.refresh(user)
    assert user.last_login_at is not None


def test_wrong_password_is_refused_with_a_message(client):
    make_user(Role.VIEWER, email="bob@example.com", password="right-password")
    response = _login(client, "bob@example.com", "wrong-password")
    assert response.status_code == 200
    assert b"Wrong email or password" in response.data
    assert client.get("/").status_code == 302  # still anonymous


def test_unknown_and_inactive_users_cannot_log_in(client, db):
    user = make_user(Role.ADMIN, email="gone@example.com", password="pw-123456")
    user.active = False
    db.session.commit()
    assert b"Wrong email or password" in _login(client, "gone@example.com", "pw-123456").data
    assert b"Wrong email or password" in _login(client, "nobody@example.com", "x").data


def test_logout_needs_post_and_ends_the_session(client):
    make_user(Role.VIEWER, email="c@example.com", password="pw-123456")
    _login(client, "c@example.com", "pw-123456")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").headers["Location"].startswith("/login")


def test_repeated_failures_for_one_account_get_429_even_with_the_right_password(client, app):
    make_user(Role.VIEWER, email="d@example.com", password="good-password")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert _login(client, "d@example.com", "bad").status_code == 200
    blocked = _login(client, "d@example.com", "good-password")
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= app.config["LOGIN_FAILURE_WINDOW"]
    assert b"Too many failed logins" in blocked.data
    # Another account from another address is not affected.
    make_user(Role.VIEWER, email="e@example.com", password="good-password")
    other = _login(
        client, "e@example.com", "good-password", environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert other.status_code == 302


def test_repeated_failures_from_one_ip_get_429_across_accounts(client, app):
    from mailer.services.throttle import IP_FACTOR

    limit = app.config["LOGIN_MAX_FAILURES"] * IP_FACTOR
    for i in range(limit):
        _login(client, f"user{i}@example.com", "bad", environ_base={"REMOTE_ADDR": "10.1.1.1"})
    make_user(Role.VIEWER, email="f@example.com", password="good-password")
    assert (
        _login(
            client, "f@example.com", "good-password", environ_base={"REMOTE_ADDR": "10.1.1.1"}
        ).status_code
        == 429
    )
    assert (
        _login(
            client, "f@example.com", "good-password", environ_base={"REMOTE_ADDR": "10.2.2.2"}
        ).status_code
        == 302
    )


def test_login_redirects_only_to_local_paths(client):
    make_user(Role.VIEWER, email="g@example.com", password="pw-123456")
    for evil in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
    ):
        response = client.post(
            f"/login?next={evil}", data={"email": "g@example.com", "password": "pw-123456"}
        )
        assert response.headers["Location"] == "/", evil
        client.post("/logout")
    response = client.post(
        "/login?next=/users/", data={"email": "g@example.com", "password": "pw-123456"}
    )
    assert response.headers["Location"] == "/users/"


def test_passwords_are_hashed(db):
    from mailer.services.users import create_user

    user, password = create_user("h@example.com", "viewer")
    assert password not in user.password_hash
    assert user.check_password(password) and not user.check_password(password + "x")
