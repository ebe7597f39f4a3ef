"""Each person's profile: the UI language and their own password."""

from __future__ import annotations

import pytest

from mailer.models import Role
from tests.factories import make_user
from tests.fixtures.app import login_as

PASSWORD = "right-password"


def _login(browser, email, password=PASSWORD):
    return browser.post("/login", data={"email": email, "password": password, "remember": "y"})


def _logged_in(browser) -> bool:
    return browser.get("/").status_code == 200


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MARKETER, Role.ADMIN])
def test_everyone_reaches_their_profile_from_their_email_in_the_top_bar(client, as_role, role):
    user = as_role(role)
    page = client.get("/").text
    assert (
        f'<a href="/profile" title="Your profile: language and password">{user.email}</a>' in page
    )
    profile = client.get("/profile")
    assert profile.status_code == 200
    assert "Your browser’s language" in profile.text and "Français" in profile.text


def test_the_profile_needs_a_login(client):
    assert "/login" in client.get("/profile").headers["Location"]
    assert "/login" in client.post("/profile/language", data={"language": "fr"}).location


def test_a_viewer_picks_french_then_the_browsers_language_again(client, db, as_role):
    user = as_role(Role.VIEWER)
    english = {"Accept-Language": "en"}
    done = client.post("/profile/language", data={"language": "fr"}, headers=english)
    assert done.status_code == 302
    db.session.refresh(user)
    assert user.locale == "fr"
    page = client.get("/profile", headers=english).text
    assert '<html lang="fr"' in page
    assert "Mailer vous parle désormais dans cette langue." in page  # the flash, in French
    assert '<option value="fr" lang="fr" selected>' in page

    client.post("/profile/language", data={"language": ""}, headers=english)
    db.session.refresh(user)
    assert user.locale == ""
    assert '<html lang="en"' in client.get("/profile", headers=english).text
    assert '<html lang="fr"' in client.get("/profile", headers={"Accept-Language": "fr"}).text


def test_an_unknown_language_is_refused_next_to_the_field(client, db, as_role):
    user = as_role(Role.MARKETER)
    refused = client.post("/profile/language", data={"language": "de"})
    assert refused.status_code == 422
    assert "Choose one of the languages in the list." in refused.text
    db.session.refresh(user)
    assert user.locale == ""


def test_changing_ones_password_keeps_this_browser_and_ends_the_others(app, client, db):
    user = make_user(Role.VIEWER, email="me@example.com", password=PASSWORD)
    elsewhere = app.test_client()
    for browser in (client, elsewhere):
        assert _login(browser, "me@example.com").status_code == 302
    changed = client.post(
        "/profile/password",
        data={"current": PASSWORD, "new": "a-new-secret-1", "repeat": "a-new-secret-1"},
        follow_redirects=True,
    )
    assert changed.status_code == 200 and "Your password is changed." in changed.text
    assert _logged_in(client)
    assert not _logged_in(elsewhere)
    db.session.refresh(user)
    assert user.check_password("a-new-secret-1") and not user.check_password(PASSWORD)
    assert _login(app.test_client(), "me@example.com", "a-new-secret-1").status_code == 302


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"current": "wrong", "new": "long-enough-1", "repeat": "long-enough-1"},
            "current",
            "This is not your current password.",
        ),
        (
            {"current": PASSWORD, "new": "short", "repeat": "short"},
            "new",
            "Use at least 10 characters.",
        ),
        (
            {"current": PASSWORD, "new": "long-enough-1", "repeat": "long-enough-2"},
            "repeat",
            "The two new passwords are not the same.",
        ),
    ],
    ids=["wrong current", "too short", "not repeated"],
)
def test_a_refused_password_change_says_why_and_changes_nothing(client, db, data, field, message):
    user = login_as(client, make_user(Role.MARKETER, password=PASSWORD))
    refused = client.post("/profile/password", data=data)
    assert refused.status_code == 422
    assert f'<small class="field-error" id="{field}-error">{message}</small>' in refused.text
    db.session.refresh(user)
    assert user.check_password(PASSWORD)
    assert _logged_in(client)


def test_password_errors_come_in_french(client, as_role):
    as_role(Role.VIEWER)
    refused = client.post(
        "/profile/password",
        data={"current": "wrong", "new": "short", "repeat": "short"},
        headers={"Accept-Language": "fr"},
    )
    assert "Ce n’est pas votre mot de passe actuel." in refused.text
    assert "Utilisez au moins 10 caractères." in refused.text
