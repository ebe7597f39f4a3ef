"""Recipient pages speak the subscriber's language: their ``locale`` attribute, else the
browser's; the RFC 8058 one-click POST is unchanged whatever the language."""

from __future__ import annotations

import pytest

from mailer.lib import tokens
from mailer.models import Subscriber
from tests.factories import make_channel, make_sent_campaign

ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}


@pytest.fixture
def unsubscribe_url(db):
    """unsubscribe_url(email, locale=None) → the /u/<token> path of a sent campaign's email."""

    def _url(email: str, locale: str | None = None) -> str:
        sent = make_sent_campaign(db, make_channel(db, "sandbox"), [email])
        if locale is not None:
            subscriber = db.session.get(Subscriber, sent.sends[email].subscriber_id)
            subscriber.attributes = {"locale": locale, "city": "Montréal"}
            db.session.commit()
        return f"/u/{tokens.make(tokens.CAMPAIGN_SEND, sent.sends[email].id)}"

    return _url


def test_a_subscriber_whose_locale_is_french_reads_french_whatever_the_browser_says(
    client, unsubscribe_url
):
    url = unsubscribe_url("camille@example.com", locale="fr-CA")
    page = client.get(url, headers=ENGLISH).get_data(as_text=True)
    assert '<html lang="fr"' in page
    assert "<h1>Se désinscrire</h1>" in page and "Pourquoi partez-vous\u00a0?" in page
    assert "Je reçois trop d’e-mails" in page  # the reasons too
    assert "ca•••@example.com" in page and "camille@example.com" not in page

    done = client.post(url, data={"reason": "too_many"}, headers=ENGLISH)
    assert done.status_code == 200
    assert "Vous êtes désinscrit" in done.get_data(as_text=True)
    again = client.post(f"{url}/resubscribe", headers=ENGLISH)
    assert "Bon retour parmi nous" in again.get_data(as_text=True)


def test_without_a_locale_the_browsers_language_decides(client, unsubscribe_url):
    url = unsubscribe_url("sam@example.com")
    french = client.get(url, headers=FRENCH).get_data(as_text=True)
    assert '<html lang="fr"' in french and "Se désinscrire" in french
    english = client.get(url, headers=ENGLISH).get_data(as_text=True)
    assert '<html lang="en"' in english and "Why are you leaving?" in english


def test_a_locale_mailer_does_not_speak_falls_back_to_the_browser(client, unsubscribe_url):
    url = unsubscribe_url("hans@example.com", locale="de-DE")
    page = client.get(url, headers=FRENCH).get_data(as_text=True)
    assert '<html lang="fr"' in page and "Se désinscrire" in page
    page = client.get(url, headers=ENGLISH).get_data(as_text=True)
    assert '<html lang="en"' in page and "Unsubscribe" in page


def test_one_click_post_still_unsubscribes_with_200_for_a_french_subscriber(
    app, db, client, unsubscribe_url
):
    app.config["WTF_CSRF_ENABLED"] = True  # as in production: the one-click POST is exempt
    url = unsubscribe_url("lea@example.com", locale="fr")
    response = client.post(
        url,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200 and "Location" not in response.headers
    db.session.expire_all()
    subscriber = db.session.scalar(db.select(Subscriber).filter_by(email="lea@example.com"))
    assert subscriber.status == "unsubscribed"


def test_an_invalid_link_is_explained_in_the_browsers_language(client):
    page = client.get("/u/not-a-token", headers=FRENCH)
    assert page.status_code == 404
    assert "Ce lien n’est pas valide" in page.get_data(as_text=True)
