"""Channels, senders, webhooks and the Outbox: in French, with numbers and dates for the
reader's language, and only the buttons the reader's role may use."""

from __future__ import annotations

from datetime import datetime

import pytest

from mailer.models import Identity, OutboxMessage, Role
from tests.factories import make_channel, make_user
from tests.fixtures.app import login_as

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}
NNBSP = "\u202f"  # French groups digits with a narrow no-break space


def _sender(db, name="Newsletter") -> Identity:
    identity = Identity(name=name, from_email="news@example.com", from_name="News")
    db.session.add(identity)
    db.session.commit()
    return identity


def _outbox_message(db, created_at: datetime) -> OutboxMessage:
    row = OutboxMessage(
        to_email="ann@example.com",
        subject="Hello",
        message_id="<1@example.com>",
        raw="Subject: Hello\r\nTo: ann@example.com\r\n\r\nbody\r\n",
        created_at=created_at,
    )
    db.session.add(row)
    db.session.commit()
    return row


# ------------------------------------------------------------------ French and formats


def test_the_channel_page_speaks_french_with_plain_words_and_french_numbers(client, db):
    login_as(client, make_user(Role.ADMIN))
    channel = make_channel(db, "sandbox")
    channel.daily_quota = 1234567
    channel.rate_per_second = 2.5
    db.session.commit()

    page = client.get(f"/channels/{channel.id}", headers=FRENCH).get_data(as_text=True)
    assert "Utilisé par aucune campagne" in page
    assert "campaign channel row" not in page
    assert f"1{NNBSP}234{NNBSP}567 e-mails par jour" in page
    assert "2,5 e-mails par seconde" in page

    english = client.get(f"/channels/{channel.id}", headers=ENGLISH).get_data(as_text=True)
    assert "Not used by any campaign" in english
    assert "1,234,567 emails per day" in english and "2.5 emails per second" in english
    listing = client.get("/channels/", headers=FRENCH).get_data(as_text=True)
    assert f"1{NNBSP}234{NNBSP}567" in listing and "2,5/s" in listing


def test_saving_a_channel_explains_errors_and_success_in_french(client, db):
    login_as(client, make_user(Role.ADMIN))
    refused = client.post(
        "/channels/",
        data={"name": "", "provider": "sandbox", "rate_per_second": "fast"},
        headers=FRENCH,
    )
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Donnez un nom au canal d’envoi" in text
    assert "Saisissez un nombre d’e-mails par seconde" in text

    created = client.post(
        "/channels/",
        data={"name": "Essai", "provider": "sandbox", "rate_per_second": "14"},
        headers=FRENCH,
        follow_redirects=True,
    )
    assert "Canal d’envoi «\u00a0Essai\u00a0» créé." in created.get_data(as_text=True)


def test_a_providers_settings_fields_read_in_french(client, db):
    login_as(client, make_user(Role.ADMIN))
    smtp = client.get("/channels/new?provider=smtp", headers=FRENCH).get_data(as_text=True)
    assert "Chiffrement" in smtp and "STARTTLS (en général le port 587)" in smtp
    assert "Laissez vide si le relais ne demande pas d’identifiant." in smtp
    mailgun = client.get("/channels/new?provider=mailgun", headers=FRENCH).get_data(as_text=True)
    assert "Domaine d’envoi" in mailgun and "UE (api.eu.mailgun.net)" in mailgun
    english = client.get("/channels/new?provider=smtp").get_data(as_text=True)
    assert "Encryption" in english and "Chiffrement" not in english


def test_the_test_email_is_written_in_the_senders_language(client, db):
    user = login_as(client, make_user(Role.ADMIN))
    user.locale = "fr"
    db.session.commit()
    identity = _sender(db)
    channel = make_channel(db, "sandbox")
    answer = client.post(
        f"/channels/{channel.id}/test",
        data={"to": "ann@example.com", "identity_id": str(identity.id)},
        headers=ENGLISH,  # the profile's language wins
    )
    assert "a accepté l’e-mail pour ann@example.com" in answer.get_data(as_text=True)
    stored = db.session.scalars(db.select(OutboxMessage)).one()
    assert stored.subject == f"E-mail de test du canal d’envoi Mailer «\u00a0{channel.name}\u00a0»"
    view = client.get(f"/outbox/{stored.id}").get_data(as_text=True)
    assert "Si vous pouvez le lire, le canal d’envoi fonctionne." in view


def test_the_outbox_shows_dates_and_counts_in_the_readers_language(client, db):
    login_as(client, make_user(Role.VIEWER))
    _outbox_message(db, datetime(2026, 3, 5, 14, 7, 9))

    french = client.get("/outbox/", headers=FRENCH).get_data(as_text=True)
    assert "5 mars 2026" in french and "14:07:09" in french
    assert "1 e-mail, le plus récent en premier." in french
    english = client.get("/outbox/", headers=ENGLISH).get_data(as_text=True)
    assert "Mar 5, 2026, 14:07:09" in english and "1 email, newest first." in english
    assert "2026-03-05" not in english


def test_a_senders_errors_are_next_to_the_field_in_french(client, db):
    login_as(client, make_user(Role.MARKETER))
    page = client.post(
        "/senders/",
        data={"name": "", "from_email": "not an address"},
        headers=FRENCH,
    )
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert 'id="name-error">Donnez un nom à l’expéditeur' in text
    assert 'id="from_email-error">Saisissez une adresse e-mail valide' in text


def test_a_webhook_endpoints_errors_are_in_french(client, db):
    login_as(client, make_user(Role.ADMIN))
    page = client.post("/outbound-webhooks/", data={"url": ""}, headers=FRENCH)
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "Saisissez l’URL qui reçoit les évènements." in text
    assert "Choisissez au moins un type d’évènement." in text


# ------------------------------------------------------------------ role-based buttons


def test_viewers_see_senders_without_forms_or_buttons(client, db):
    identity = _sender(db)
    login_as(client, make_user(Role.VIEWER))
    page = client.get("/senders/").get_data(as_text=True)
    assert "Newsletter" in page and "news@example.com" in page
    assert "Add a sender" not in page and "<form" not in page.split("<main")[1]
    assert f"/senders/{identity.id}/delete" not in page and ">Edit<" not in page
    assert client.get(f"/senders/{identity.id}").status_code == 403


def test_marketers_see_what_they_may_do_on_senders(client, db):
    identity = _sender(db)
    login_as(client, make_user(Role.MARKETER))
    page = client.get("/senders/").get_data(as_text=True)
    assert "Add a sender" in page
    assert f"/senders/{identity.id}/delete" in page and ">Edit<" in page


@pytest.mark.parametrize("role, can_clear", [(Role.VIEWER, False), (Role.MARKETER, True)])
def test_only_those_who_may_clear_the_outbox_see_the_button(client, db, role, can_clear):
    _outbox_message(db, datetime(2026, 3, 5, 14, 7, 9))
    login_as(client, make_user(role))
    page = client.get("/outbox/").get_data(as_text=True)
    assert ("Clear outbox" in page) is can_clear
    assert ("/outbox/clear" in page) is can_clear
    assert (client.post("/outbox/clear").status_code == 403) is not can_clear


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MARKETER])
def test_channels_and_webhooks_are_neither_linked_nor_open_below_admin(client, db, role):
    channel = make_channel(db, "sandbox")
    login_as(client, make_user(role))
    dashboard = client.get("/").get_data(as_text=True)
    assert 'href="/channels/"' not in dashboard and 'href="/outbound-webhooks/"' not in dashboard
    assert client.get("/channels/").status_code == 403
    assert client.get(f"/channels/{channel.id}").status_code == 403
    assert client.get("/outbound-webhooks/").status_code == 403


def test_admins_see_the_channel_actions(client, db):
    channel = make_channel(db, "sandbox")
    _sender(db)
    login_as(client, make_user(Role.ADMIN))
    page = client.get(f"/channels/{channel.id}").get_data(as_text=True)
    assert f"/channels/{channel.id}/edit" in page and f"/channels/{channel.id}/delete" in page
    assert "Send test email" in page


def test_a_channels_stored_settings_read_in_french(client, db):
    login_as(client, make_user(Role.ADMIN))
    channel = make_channel(
        db, "smtp", {"host": "smtp.example.com", "verify_tls": True}, {"password": "s3cret"}
    )
    page = client.get(f"/channels/{channel.id}", headers=FRENCH).get_data(as_text=True)
    assert "Serveur SMTP" in page
    assert "<dd>•••• enregistré (chiffré)</dd>" in page and "<dd>oui</dd>" in page
    assert "s3cret" not in page
    english = client.get(f"/channels/{channel.id}", headers=ENGLISH).get_data(as_text=True)
    assert "<dd>•••• stored (encrypted)</dd>" in english and "<dd>yes</dd>" in english


def test_webhook_events_are_named_in_the_readers_language(client, db):
    login_as(client, make_user(Role.ADMIN))
    client.post(
        "/outbound-webhooks/",
        data={"url": "https://93.184.215.14/hook", "event_types": ["opened", "complained"]},
    )
    page = client.get("/outbound-webhooks/", headers=FRENCH).get_data(as_text=True)
    assert "Ouvert, Signalé comme indésirable" in page
    english = client.get("/outbound-webhooks/", headers=ENGLISH).get_data(as_text=True)
    assert "Opened, Marked as spam" in english
