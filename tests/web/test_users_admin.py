"""The users admin page and the users CLI."""

from __future__ import annotations

import re

from mailer.models import Role, User
from tests.factories import make_user
from tests.fixtures.app import login_as


def test_admin_adds_a_user_and_sees_the_password_once(client, db, as_role):
    as_role(Role.ADMIN)
    response = client.post(
        "/users/", data={"email": "new@example.com", "role": "marketer", "name": "New"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    password = re.search(r'<code class="secret">([^<]+)</code>', html).group(1)
    user = db.session.scalar(db.select(User).filter_by(email="new@example.com"))
    assert user.role == "marketer" and user.check_password(password)
    assert password not in client.get("/users/").get_data(as_text=True)


def test_add_user_form_explains_its_errors(client, as_role):
    admin = as_role(Role.ADMIN)
    response = client.post("/users/", data={"email": admin.email, "role": "boss"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "already exists" in html and "Choose admin, marketer or viewer" in html


def test_admin_changes_a_role_but_cannot_demote_or_delete_themselves(client, db, as_role):
    admin = as_role(Role.ADMIN)
    other = make_user(Role.VIEWER)
    client.post(f"/users/{other.id}", data={"role": "marketer", "active": "on", "name": "O"})
    db.session.refresh(other)
    assert other.role == "marketer"
    page = client.post(
        f"/users/{admin.id}", data={"role": "viewer", "active": "on"}, follow_redirects=True
    )
    assert b"cannot remove your own admin role" in page.data
    client.post(f"/users/{admin.id}/delete")
    assert db.session.get(User, admin.id) is not None
    client.post(f"/users/{other.id}/delete")
    assert db.session.get(User, other.id) is None


def test_deactivated_user_is_logged_out(client, db):
    user = login_as(client, make_user(Role.MARKETER))
    assert client.get("/").status_code == 200
    user.active = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_cli_creates_users_and_prints_the_password(runner, db):
    result = runner.invoke(args=["users", "create", "cli@example.com", "--role", "admin"])
    assert result.exit_code == 0, result.output
    password = re.search(r"Password: (\S+)", result.output).group(1)
    user = db.session.scalar(db.select(User).filter_by(email="cli@example.com"))
    assert user.role == "admin" and user.check_password(password)
    again = runner.invoke(args=["users", "create", "cli@example.com"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_bootstrap_creates_the_first_admin_only_once(runner, db):
    first = runner.invoke(args=["bootstrap"])
    assert first.exit_code == 0, first.output
    assert "password:" in first.output
    second = runner.invoke(args=["bootstrap"])
    assert "password:" not in second.output
