"""The pages around everything else: dashboard, error pages, favicon, users and API keys, in
English and French, showing each role only what it may do."""

from __future__ import annotations

from datetime import datetime

import pytest

from mailer.models import Role
from tests.factories import draft, make_list, make_user


def test_the_favicon_answers_and_every_page_links_it(client, as_role):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301 and icon.location.endswith("/static/favicon.svg")
    svg = client.get(icon.location)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.data
    svg.close()
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/login").text
    as_role(Role.VIEWER)
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/").text


def test_pages_follow_the_systems_light_or_dark_setting(client):
    page = client.get("/login").text
    assert "data-theme" not in page  # Pico picks light or dark from prefers-color-scheme
    assert '<meta name="color-scheme" content="light dark">' in page


def test_the_dashboard_formats_numbers_and_dates_for_the_reader(client, db, as_role):
    make_list(db, "Customers", [f"c{i}@example.com" for i in range(1234)])
    campaign = draft(db, name="Winter news")
    campaign.created_at = datetime(2026, 12, 6, 14, 5)
    db.session.commit()
    as_role(Role.VIEWER)

    english = client.get("/", headers={"Accept-Language": "en"}).text
    assert "1,234" in english and ">subscribers<" in english
    assert "Dec 6, 2026, 14:05" in english and ">draft<" in english

    french = client.get("/", headers={"Accept-Language": "fr"}).text
    assert "1\u202f234" in french and ">abonnés<" in french
    assert "6 déc. 2026, 14:05" in french and ">brouillon<" in french
    assert "Campagnes récentes" in french


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        (Role.VIEWER, "Your role lets you look at everything", "Start by importing"),
        (Role.MARKETER, "Start by importing", "Your role lets you look at everything"),
    ],
)
def test_the_empty_dashboard_suggests_only_what_the_role_can_do(
    client, as_role, role, shown, hidden
):
    as_role(role)
    page = client.get("/").text
    assert shown in page and hidden not in page


def test_a_missing_page_is_explained_in_french(client, as_role):
    as_role(Role.MARKETER)
    page = client.get("/no/such/page", headers={"Accept-Language": "fr"})
    assert page.status_code == 404
    assert "Page introuvable" in page.text and "le lien est peut-être ancien" in page.text
    assert "Not Found" not in page.text


def test_api_errors_stay_english_json(client):
    answer = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "fr"})
    assert answer.status_code in (401, 404)
    assert answer.get_json()["error"]["message"].isascii()


def test_the_users_page_answers_in_french(client, as_role):
    admin = as_role(Role.ADMIN)
    refused = client.post(
        "/users/",
        data={"email": admin.email, "role": "boss"},
        headers={"Accept-Language": "fr"},
    )
    assert refused.status_code == 422
    assert "Un utilisateur a déjà cette adresse e-mail." in refused.text
    assert "Choisissez administrateur, marketing ou lecture seule." in refused.text
    saved = client.post(
        f"/users/{admin.id}",
        data={"role": "admin", "active": "on", "name": "Boss"},
        headers={"Accept-Language": "fr"},
        follow_redirects=True,
    )
    assert f"{admin.email} est enregistré." in saved.text
    assert '<option value="marketer" >marketing</option>' in saved.text


def test_the_api_keys_page_answers_in_french(client, as_role):
    as_role(Role.ADMIN)
    refused = client.post(
        "/settings/api-keys/",
        data={"name": "Boutique", "rate_limit": "vite"},
        headers={"Accept-Language": "fr"},
    )
    assert refused.status_code == 422
    assert "Saisissez un nombre entier de requêtes par minute." in refused.text
    assert "Créer une clé" in refused.text


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MARKETER])
def test_admin_pages_and_their_links_stay_out_of_reach_below_admin(client, as_role, role):
    as_role(role)
    page = client.get("/").text
    for url in ("/users/", "/settings/api-keys/", "/queues/"):
        assert f'href="{url}"' not in page
        assert client.get(url).status_code == 403


def test_an_admin_is_not_offered_to_demote_or_deactivate_themselves(client, as_role):
    admin = as_role(Role.ADMIN)
    other = make_user(Role.VIEWER)
    page = client.get("/users/").text
    assert f'aria-label="Role of {other.email}"' in page
    assert f'aria-label="{other.email} can log in"' in page
    assert f'aria-label="Role of {admin.email}"' not in page
    assert f'aria-label="{admin.email} can log in"' not in page
    saved = client.post(
        f"/users/{admin.id}",
        data={"role": "admin", "active": "on", "name": "Me"},
        follow_redirects=True,
    )
    assert f"{admin.email} is saved." in saved.text
