"""The UI speaks the reader's language: English or French."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.factories import make_user
from tests.fixtures.app import login_as

ROOT = Path(__file__).resolve().parents[2]


def test_login_page_answers_in_the_browsers_language(client):
    french = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr"' in french.text
    assert "Se connecter" in french.text and "Mot de passe" in french.text

    english = client.get("/login", headers={"Accept-Language": "de-DE,en;q=0.8"})
    assert '<html lang="en"' in english.text
    assert "Log in" in english.text and "Password" in english.text


def test_a_wrong_password_is_explained_in_french(client):
    page = client.post(
        "/login",
        data={"email": "nobody@example.com", "password": "nope"},
        headers={"Accept-Language": "fr"},
    )
    assert "E-mail ou mot de passe incorrect." in page.text


def test_the_language_picked_in_the_profile_wins_over_the_browsers(client, db):
    user = login_as(client, make_user(role="viewer"))
    user.locale = "fr"
    db.session.commit()
    page = client.get("/", headers={"Accept-Language": "en-US"})
    assert '<html lang="fr"' in page.text and "Se déconnecter" in page.text


def test_the_api_answers_in_english_whatever_the_browser_says(client):
    answer = client.get("/api/v1/lists", headers={"Accept-Language": "fr"})
    assert answer.status_code == 401
    assert answer.get_json()["error"]["message"].isascii()


def test_the_french_catalogue_is_complete_and_templates_have_no_untranslated_text():
    """scripts/translations.py check: every string in French, the .mo compiled from the .po,
    and no visible template text outside {{ _() }} or {% trans %}."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "translations.py"), "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
