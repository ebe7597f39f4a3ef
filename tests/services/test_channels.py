"""Channels: admin-only, provider-driven forms, secrets encrypted and never shown, test sends."""

from __future__ import annotations

import email
import email.policy
import html
import logging

import pytest

from mailer.lib.crypto import decrypt_json
from mailer.models import Campaign, CampaignChannel, Channel, Identity, OutboxMessage, Role
from tests.servers.brevo import BrevoServer
from tests.servers.smtp import SmtpSink

SECRET = "S3cret-Pa55-do-not-leak"


def _smtp_form(port: int = 2525, **overrides) -> dict[str, str]:
    form = {
        "name": "Relay",
        "provider": "smtp",
        "cfg-host": "127.0.0.1",
        "cfg-port": str(port),
        "cfg-security": "none",
        "cfg-username": "mailer",
        "cfg-password": SECRET,
        "endpoint_url": "",
        "rate_per_second": "20",
        "daily_quota": "",
        "active": "on",
    }
    form.update(overrides)
    return form


def _channel(db, name: str = "Relay") -> Channel:
    db.session.expire_all()
    return db.session.scalars(db.select(Channel).filter_by(name=name)).one()


def _identity(db) -> Identity:
    identity = Identity(name="Team", from_email="team@example.com", from_name="The Team")
    db.session.add(identity)
    db.session.commit()
    return identity


@pytest.fixture
def admin(as_role):
    return as_role(Role.ADMIN)


def test_viewers_and_marketers_cannot_see_channels(client, db, as_role):
    db.session.add(Channel(name="Sandbox", provider="sandbox", settings={}))
    db.session.commit()
    channel = _channel(db, "Sandbox")
    for role in (Role.VIEWER, Role.MARKETER):
        client.post("/logout")
        as_role(role)
        for url in ("/channels/", "/channels/new", f"/channels/{channel.id}"):
            assert client.get(url).status_code == 403, (role, url)
        assert client.post("/channels/", data=_smtp_form()).status_code == 403
        assert client.post(f"/channels/{channel.id}/test", data={}).status_code == 403
        assert 'href="/channels/"' not in client.get("/").get_data(as_text=True)


def test_choosing_a_provider_swaps_in_its_fields(client, admin):
    page = client.get("/channels/new").get_data(as_text=True)
    assert "Choose a provider to see its settings." in page
    fragment = client.get("/channels/new?provider=smtp", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text
    assert 'name="cfg-host"' in text and 'name="cfg-password"' in text
    assert 'type="password"' in text
    assert 'placeholder="empty: the server and port below' in text
    brevo = client.get("/channels/new?provider=brevo", headers={"HX-Request": "true"})
    assert 'name="cfg-api_key"' in brevo.get_data(as_text=True)
    assert 'placeholder="empty: https://api.brevo.com/v3"' in brevo.get_data(as_text=True)
    full = client.get("/channels/new?provider=smtp").get_data(as_text=True)
    assert "<html" in full and 'name="cfg-host"' in full
    assert client.get("/channels/new?provider=nope").status_code == 404


def test_secrets_are_encrypted_at_rest_and_never_shown(client, db, admin):
    response = client.post("/channels/", data=_smtp_form())
    assert response.status_code == 302
    channel = _channel(db)
    assert channel.settings == {
        "host": "127.0.0.1",
        "port": 2525,
        "security": "none",
        "username": "mailer",
        "verify_tls": False,
    }
    assert SECRET not in (channel.secrets_encrypted or "")
    assert SECRET not in repr(channel)
    assert decrypt_json(channel.secrets_encrypted) == {"password": SECRET}
    assert (channel.rate_per_second, channel.daily_quota, channel.active) == (20.0, None, True)

    pages = {
        "show": client.get(response.headers["Location"]),
        "list": client.get("/channels/"),
        "edit": client.get(f"/channels/{channel.id}/edit"),
    }
    for name, page in pages.items():
        assert page.status_code == 200, name
        assert SECRET not in page.get_data(as_text=True), name
    assert "•••• stored — leave blank to keep" in pages["edit"].get_data(as_text=True)
    assert "•••• stored (encrypted)" in pages["show"].get_data(as_text=True)


def test_a_blank_secret_on_edit_keeps_the_stored_one(client, db, admin):
    client.post("/channels/", data=_smtp_form())
    channel = _channel(db)
    saved = client.post(
        f"/channels/{channel.id}",
        data=_smtp_form(**{"cfg-password": "", "name": "Relay", "daily_quota": "5000"}),
    )
    assert saved.status_code == 302
    channel = _channel(db)
    assert decrypt_json(channel.secrets_encrypted) == {"password": SECRET}
    assert channel.daily_quota == 5000

    client.post(f"/channels/{channel.id}", data=_smtp_form(**{"cfg-password": "new-one-123"}))
    assert decrypt_json(_channel(db).secrets_encrypted) == {"password": "new-one-123"}

    # Removing the optional password needs the username gone too (the provider says so).
    both = client.post(
        f"/channels/{channel.id}",
        data=_smtp_form(**{"cfg-password": "", "cfg-password-clear": "on"}),
    )
    assert both.status_code == 422
    assert "give both username and password" in both.get_data(as_text=True)
    cleared = client.post(
        f"/channels/{channel.id}",
        data=_smtp_form(**{"cfg-password": "", "cfg-password-clear": "on", "cfg-username": ""}),
    )
    assert cleared.status_code == 302
    assert _channel(db).secrets_encrypted is None


def test_form_errors_are_shown_next_to_fields_and_typed_secrets_are_not_echoed(client, db, admin):
    response = client.post(
        "/channels/",
        data=_smtp_form(**{"cfg-host": "", "rate_per_second": "0", "daily_quota": "-3"}),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="cfg-host-error">Required.' in page
    assert 'id="rate_per_second-error">' in page and 'id="daily_quota-error">' in page
    assert SECRET not in page
    assert "Not saved yet: enter it again" in page
    assert db.session.scalar(db.select(db.func.count()).select_from(Channel)) == 0

    no_provider = client.post("/channels/", data={"name": "X", "provider": ""})
    assert "Choose a provider." in no_provider.get_data(as_text=True)

    client.post("/channels/", data=_smtp_form())
    duplicate = client.post("/channels/", data=_smtp_form())
    assert "Another channel already has this name." in duplicate.get_data(as_text=True)


def test_an_smtp_channel_sets_how_many_connections_it_opens(client, db, admin):
    page = client.get("/channels/new?provider=smtp").get_data(as_text=True)
    assert 'name="cfg-connections"' in page and "Microsoft 365 allows 3" in page
    refused = client.post("/channels/", data=_smtp_form(**{"cfg-connections": "0"}))
    assert refused.status_code == 422
    assert 'id="cfg-connections-error">Enter a number from 1 to 100.' in refused.get_data(
        as_text=True
    )
    assert db.session.scalar(db.select(db.func.count()).select_from(Channel)) == 0
    client.post("/channels/", data=_smtp_form(**{"cfg-connections": "3"}))
    channel = db.session.scalar(db.select(Channel))
    assert channel.settings["connections"] == 3


def test_webhook_url_is_shown_on_the_channel_page(client, db, admin):
    client.post("/channels/", data=_smtp_form())
    channel = _channel(db)
    page = client.get(f"/channels/{channel.id}").get_data(as_text=True)
    assert f"http://mailer.test/webhooks/smtp/{channel.webhook_token}" in page


def test_test_send_through_a_sandbox_channel_lands_in_the_outbox(client, db, admin):
    identity = _identity(db)
    client.post("/channels/", data={"name": "Try", "provider": "sandbox", "rate_per_second": "14"})
    channel = _channel(db, "Try")
    response = client.post(
        f"/channels/{channel.id}/test",
        data={"to": "Someone@Example.com", "identity_id": str(identity.id)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment
    assert "Sandbox (local outbox) accepted the email for someone@example.com." in fragment

    stored = db.session.scalars(db.select(OutboxMessage)).one()
    assert stored.channel_id == channel.id and stored.to_email == "someone@example.com"
    assert html.escape(stored.message_id) in fragment  # the provider message id is shown

    outbox = client.get("/outbox/").get_data(as_text=True)
    assert "someone@example.com" in outbox
    assert "Test email from Mailer channel “Try”" in outbox
    view = client.get(f"/outbox/{stored.id}").get_data(as_text=True)
    assert "The Team &lt;team@example.com&gt;" in view
    assert "If you can read it, the channel works." in view

    parsed = email.message_from_string(stored.raw, policy=email.policy.default)
    assert parsed["To"] == "someone@example.com"
    assert parsed["From"].addresses[0].addr_spec == "team@example.com"
    assert parsed["Message-ID"] == stored.message_id
    assert parsed.get_content_type() == "multipart/alternative"
    assert "channel works" in parsed.get_body(("plain",)).get_content()
    assert not parsed.defects


def test_test_send_through_smtp_shows_the_servers_answer(client, db, admin):
    identity = _identity(db)
    with SmtpSink(username="mailer", password=SECRET) as sink:
        client.post("/channels/", data=_smtp_form(port=sink.port))
        channel = _channel(db)
        response = client.post(
            f"/channels/{channel.id}/test",
            data={"to": "rcpt@example.com", "identity_id": str(identity.id)},
            headers={"HX-Request": "true"},
        )
    fragment = response.get_data(as_text=True)
    assert "SMTP server accepted the email for rcpt@example.com." in fragment
    [mail] = sink.messages
    assert mail.login == "mailer" and mail.rcpt_tos == ["rcpt@example.com"]
    assert html.escape(mail.message()["Message-ID"]) in fragment
    assert SECRET not in fragment


def test_a_failing_provider_is_explained_in_plain_words_and_no_secret_is_logged(
    client, db, admin, caplog
):
    identity = _identity(db)
    caplog.set_level(logging.DEBUG)
    with SmtpSink(username="mailer", password="the-right-one") as sink:
        client.post("/channels/", data=_smtp_form(port=sink.port))
        channel = _channel(db)
        refused = client.post(
            f"/channels/{channel.id}/test",
            data={"to": "rcpt@example.com", "identity_id": str(identity.id)},
            headers={"HX-Request": "true"},
        ).get_data(as_text=True)
        assert "Not sent." in refused
        assert "refused the username or password" in refused
        assert "permanent refusal" in refused

        client.post(
            f"/channels/{channel.id}",
            data=_smtp_form(port=sink.port, **{"cfg-password": "the-right-one"}),
        )
        sink.fail(451, stage="rcpt")
        later = client.post(
            f"/channels/{channel.id}/test",
            data={"to": "rcpt@example.com", "identity_id": str(identity.id)},
            headers={"HX-Request": "true"},
        ).get_data(as_text=True)
        assert "Not sent (temporary problem: try again in a moment)." in later
        assert "451" in later and "trying again later may work" in later

    with BrevoServer(api_key="xkeysib-right") as server:
        client.post(
            "/channels/",
            data={
                "name": "Brevo",
                "provider": "brevo",
                "cfg-api_key": SECRET,
                "endpoint_url": server.endpoint_url,
                "rate_per_second": "10",
                "active": "on",
            },
        )
        brevo = _channel(db, "Brevo")
        answer = client.post(
            f"/channels/{brevo.id}/test",
            data={"to": "rcpt@example.com", "identity_id": str(identity.id)},
            headers={"HX-Request": "true"},
        ).get_data(as_text=True)
    assert "Brevo refused the channel&#39;s credentials (HTTP 401)" in answer
    assert SECRET not in answer and SECRET not in caplog.text
    assert "the-right-one" not in caplog.text
    assert any("Test send through channel" in r.getMessage() for r in caplog.records)


def test_a_channel_that_cannot_be_built_says_why(client, db, admin):
    identity = _identity(db)
    db.session.add(Channel(name="Broken", provider="brevo", settings={}))
    db.session.commit()
    channel = _channel(db, "Broken")
    answer = client.post(
        f"/channels/{channel.id}/test",
        data={"to": "rcpt@example.com", "identity_id": str(identity.id)},
    ).get_data(as_text=True)
    assert "The channel is not set up correctly: Brevo channel settings: API key is required." in (
        answer
    )


def test_test_send_form_validation(client, db, admin):
    client.post("/channels/", data={"name": "Try", "provider": "sandbox"})
    channel = _channel(db, "Try")
    page = client.get(f"/channels/{channel.id}").get_data(as_text=True)
    assert "Add a <a" in page and "sender</a> first" in page
    identity = _identity(db)
    response = client.post(
        f"/channels/{channel.id}/test",
        data={"to": "nope", "identity_id": str(identity.id + 99)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    fragment = response.get_data(as_text=True)
    assert 'id="to-error">Enter a valid email address' in fragment
    assert 'id="identity_id-error">Choose a sender.' in fragment
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0


def test_a_channel_used_by_a_campaign_cannot_be_deleted(client, db, admin):
    identity = _identity(db)
    client.post("/channels/", data={"name": "Used", "provider": "sandbox"})
    client.post("/channels/", data={"name": "Spare", "provider": "sandbox"})
    used, spare = _channel(db, "Used"), _channel(db, "Spare")
    campaign = Campaign(name="Spring", subject="Hi")
    db.session.add(campaign)
    db.session.flush()
    db.session.add(
        CampaignChannel(campaign_id=campaign.id, channel_id=used.id, identity_id=identity.id)
    )
    db.session.commit()
    client.post(
        f"/channels/{spare.id}/test",
        data={"to": "a@example.com", "identity_id": str(identity.id)},
    )

    refused = client.post(f"/channels/{used.id}/delete")
    assert refused.headers["Location"] == f"/channels/{used.id}"
    assert "“Used” is used by 1 campaign." in client.get(refused.headers["Location"]).get_data(
        as_text=True
    )
    assert _channel(db, "Used")

    done = client.post(f"/channels/{spare.id}/delete")
    assert done.headers["Location"] == "/channels/"
    db.session.expire_all()
    assert db.session.get(Channel, spare.id) is None
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0
