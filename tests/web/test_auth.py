"""Login, logout, throttling and safe redirects."""

from __future__ import annotations

import threading

import pytest
from werkzeug.security import generate_password_hash

from config import TestConfig
from mailer import create_app
from mailer.extensions import db as _db
from mailer.lib.throttle import IP_FACTOR
from mailer.models import Role, User
from tests.factories import make_user


def _login(client, email, password, **extra):
    return client.post("/login", data={"email": email, "password": password}, **extra)


def _from(ip):
    return {"environ_base": {"REMOTE_ADDR": ip}}


@pytest.fixture
def app_with(app, migrated, redis_url, tmp_path):
    """Another app on the suite's database and Redis, built with other settings."""
    made = []

    def build(**settings):
        other = create_app(
            TestConfig,
            SQLALCHEMY_DATABASE_URI=migrated,
            REDIS_URL=redis_url,
            INSTANCE_PATH=str(tmp_path / f"other-{len(made)}"),
            **settings,
        )
        made.append(other)
        return other

    yield build
    for other in made:
        with other.app_context():
            _db.engine.dispose()


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
    from mailer.lib.throttle import IP_FACTOR

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


def test_parallel_wrong_passwords_check_at_most_the_limit(app, client):
    """Each attempt takes its unit before the password is checked: 30 at once for one account
    verify at most the limit; the others are refused unchecked (check-then-record let all 30
    through, with a real password hash slow enough for them to overlap)."""
    user = User(
        email="par@example.com",
        role="viewer",
        password_hash=generate_password_hash("right-password"),  # the real, slow default
    )
    _db.session.add(user)
    _db.session.commit()
    attempts = 30
    start = threading.Barrier(attempts)
    statuses = []

    def attempt():
        browser = app.test_client()
        start.wait()
        response = _login(browser, "par@example.com", "wrong-password", **_from("10.7.0.1"))
        statuses.append((response.status_code, b"Wrong email or password" in response.data))

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checked = [s for s in statuses if s == (200, True)]
    refused = [s for s in statuses if s[0] == 429]
    assert len(checked) + len(refused) == attempts
    assert 0 < len(checked) <= app.config["LOGIN_MAX_FAILURES"]
    assert _login(client, "par@example.com", "right-password").status_code == 429


ACCENTED = ("amélie@example.com", "AMÉLIE@EXAMPLE.COM", "Ámelie@example.com", "ámélïe@example.com")


def test_accent_and_case_variants_share_the_throttle_and_never_log_in(app, client):
    """MariaDB's collation finds `amelie@…` for `amélie@…`: a variant is a wrong address (it
    does not log in even with the right password) and counts on the same throttle."""
    make_user(Role.VIEWER, email="amelie@example.com", password="right-password")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for variant in ACCENTED[:limit]:
        response = _login(client, variant, "right-password")
        assert response.status_code == 200, variant
        assert b"Wrong email or password" in response.data
    assert client.get("/").status_code == 302  # never logged in
    for variant in ("amelie@example.com", "AMELIE@example.com", ACCENTED[-1]):
        assert _login(client, variant, "right-password").status_code == 429, variant


def test_a_case_variant_of_the_address_logs_in_and_counts_on_the_account(app, client):
    make_user(Role.VIEWER, email="hugo@example.com", password="right-password")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for i in range(limit):
        _login(client, "HUGO@example.com" if i % 2 else "hugo@EXAMPLE.com", "bad")
    assert _login(client, "hugo@example.com", "right-password").status_code == 429


def test_a_locked_account_does_not_lock_another_on_the_same_address(app, client):
    make_user(Role.VIEWER, email="locked@example.com", password="right-password")
    make_user(Role.VIEWER, email="free@example.com", password="right-password")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _login(client, "locked@example.com", "bad", **_from("10.3.3.3"))
    assert (
        _login(client, "locked@example.com", "right-password", **_from("10.3.3.3")).status_code
        == 429
    )
    assert (
        _login(client, "free@example.com", "right-password", **_from("10.3.3.3")).status_code == 302
    )


def test_successful_logins_do_not_count_against_the_address(app, client):
    """An office behind one NAT: many people logging in are not failures."""
    make_user(Role.VIEWER, email="office@example.com", password="right-password")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] * IP_FACTOR + 2):
        browser = app.test_client()
        response = _login(browser, "office@example.com", "right-password", **_from("10.4.4.4"))
        assert response.status_code == 302


def _lock_address(app, client, ip):
    for i in range(app.config["LOGIN_MAX_FAILURES"] * IP_FACTOR):
        _login(client, f"nobody{i}@example.com", "bad", **_from(ip))


def test_a_known_browser_logs_in_from_a_locked_address_and_others_wait(app, client):
    """The per-address limit slows guessing across accounts; a browser that already logged in to
    an account (device cookie) still logs in to it from behind the same NAT."""
    make_user(Role.VIEWER, email="known@example.com", password="right-password")
    make_user(Role.VIEWER, email="newcomer@example.com", password="right-password")
    known = app.test_client()
    assert (
        _login(known, "known@example.com", "right-password", **_from("10.5.5.5")).status_code == 302
    )
    known.post("/logout", **_from("10.5.5.5"))
    _lock_address(app, client, "10.5.5.5")

    assert (
        _login(known, "known@example.com", "right-password", **_from("10.5.5.5")).status_code == 302
    )
    known.post("/logout")
    # Its device cookie is for its account only, and a fresh browser waits.
    assert (
        _login(known, "newcomer@example.com", "right-password", **_from("10.5.5.5")).status_code
        == 429
    )
    fresh = app.test_client()
    assert (
        _login(fresh, "known@example.com", "right-password", **_from("10.5.5.5")).status_code == 429
    )


def test_an_attacker_locking_an_account_does_not_lock_out_its_owner(app, client):
    make_user(Role.VIEWER, email="owner@example.com", password="right-password")
    owner = app.test_client()
    assert _login(owner, "owner@example.com", "right-password").status_code == 302
    owner.post("/logout")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _login(client, "owner@example.com", "guess", **_from("198.51.100.7"))
    assert (
        _login(client, "owner@example.com", "right-password", **_from("198.51.100.7")).status_code
        == 429
    )
    assert _login(owner, "owner@example.com", "right-password").status_code == 302


def test_a_known_browser_has_its_own_limit(app, client):
    make_user(Role.VIEWER, email="dev@example.com", password="right-password")
    browser = app.test_client()
    _login(browser, "dev@example.com", "right-password")
    browser.post("/logout")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert _login(browser, "dev@example.com", "bad").status_code == 200
    assert _login(browser, "dev@example.com", "right-password").status_code == 429


def test_behind_one_trusted_proxy_each_client_address_is_throttled_apart(app_with):
    proxied = app_with(MAILER_TRUSTED_PROXIES=1)
    with proxied.app_context():
        make_user(Role.VIEWER, email="p@example.com", password="right-password")
    browser = proxied.test_client()
    a, b = {"X-Forwarded-For": "203.0.113.1"}, {"X-Forwarded-For": "203.0.113.2"}
    for i in range(TestConfig.LOGIN_MAX_FAILURES * IP_FACTOR):
        _login(browser, f"nobody{i}@example.com", "bad", headers=a)
    assert _login(browser, "p@example.com", "right-password", headers=a).status_code == 429
    # A client cannot pick its address: the proxy appends the real one, which is what counts.
    spoofed = {"X-Forwarded-For": "192.0.2.99, 203.0.113.1"}
    assert _login(browser, "p@example.com", "right-password", headers=spoofed).status_code == 429
    assert _login(browser, "p@example.com", "right-password", headers=b).status_code == 302


def test_without_trusted_proxies_forwarded_headers_are_ignored(app, client):
    """Anyone can send X-Forwarded-For: unless a proxy is trusted, the connection's address
    counts, so a new header value does not buy fresh tries."""
    make_user(Role.VIEWER, email="q@example.com", password="right-password")
    a, b = {"X-Forwarded-For": "203.0.113.1"}, {"X-Forwarded-For": "203.0.113.2"}
    for i in range(app.config["LOGIN_MAX_FAILURES"] * IP_FACTOR):
        _login(client, f"nobody{i}@example.com", "bad", headers=a)
    assert _login(client, "q@example.com", "right-password", headers=b).status_code == 429
