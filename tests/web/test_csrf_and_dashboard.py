"""CSRF protection and the rq-dashboard guard."""

from __future__ import annotations

import pytest

from config import TestConfig
from mailer import create_app
from mailer.models import Role
from tests.factories import make_user
from tests.fixtures.app import csrf_token_from, login_as


@pytest.fixture
def csrf_client(app, redis_url, migrated, tmp_path):
    class WithCsrf(TestConfig):
        WTF_CSRF_ENABLED = True

    strict = create_app(
        WithCsrf,
        SQLALCHEMY_DATABASE_URI=migrated,
        REDIS_URL=redis_url,
        INSTANCE_PATH=str(tmp_path / "strict"),
    )
    return strict.test_client()


def test_forms_without_a_csrf_token_are_rejected(csrf_client):
    make_user(Role.VIEWER, email="v@example.com", password="pw-123456")
    response = csrf_client.post("/login", data={"email": "v@example.com", "password": "pw-123456"})
    assert response.status_code == 400
    assert b"CSRF" in response.data


def test_forms_with_the_page_token_are_accepted(csrf_client):
    make_user(Role.VIEWER, email="w@example.com", password="pw-123456")
    token = csrf_token_from(csrf_client.get("/login").get_data(as_text=True))
    response = csrf_client.post(
        "/login", data={"email": "w@example.com", "password": "pw-123456", "csrf_token": token}
    )
    assert response.status_code == 302


def test_htmx_requests_carry_the_token_in_a_header(csrf_client):
    admin = make_user(Role.ADMIN)
    login_as(csrf_client, admin)
    page = csrf_client.get("/users/").get_data(as_text=True)
    assert '"X-CSRFToken"' in page
    token = csrf_token_from(page)
    ok = csrf_client.post(
        "/users/",
        data={"email": "new@example.com", "role": "viewer"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert ok.status_code == 200
    refused = csrf_client.post(
        "/users/",
        data={"email": "new2@example.com", "role": "viewer"},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 400


def test_rq_dashboard_is_for_admins_only(client):
    anonymous = client.get("/admin/rq/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login_as(client, make_user(Role.MARKETER))
    assert client.get("/admin/rq/").status_code == 403
    client.post("/logout")
    login_as(client, make_user(Role.ADMIN))
    page = client.get("/admin/rq/")
    assert page.status_code == 200 and b"RQ" in page.data
    assert client.get("/admin/rq/0/data/queues.json").status_code == 200
    # Its forms have no CSRF token: state changes only from our own pages, never by GET.
    assert client.get("/admin/rq/requeue/send").status_code == 405
    assert (
        client.post(
            "/admin/rq/requeue/send", headers={"Origin": "https://evil.example"}
        ).status_code
        == 403
    )
    assert (
        client.post("/admin/rq/requeue/send", headers={"Origin": "http://localhost"}).status_code
        == 200
    )
