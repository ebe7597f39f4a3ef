"""The API adds people as declared consent, or asks them to confirm by email."""

from __future__ import annotations

from mailer.models import Consent, Subscriber
from mailer.queue import TRANSACTIONAL
from tests.fixtures.app import work
from tests.fixtures.signup import confirmation_path, outbox


def test_api_declares_consent_or_asks_for_confirmation(app, api, db, client, signup_setup):
    url = f"/api/v1/lists/{signup_setup.mailing_list.id}/subscribers"
    declared = api.post(url, json={"email": "dev@example.com"})
    assert declared.status_code == 201 and declared.json["status"] == "subscribed"
    consent = db.session.scalar(db.select(Consent).filter_by(subscriber_id=declared.json["id"]))
    assert consent.source == "api" and consent.confirmed_at is not None

    asked = api.post(url, json={"email": "new@example.com", "confirm": True})
    assert asked.status_code == 201 and asked.json["status"] == "unconfirmed"
    assert (
        api.get(f"/api/v1/lists/{signup_setup.mailing_list.id}").json["subscribers"]["unconfirmed"]
        == 1
    )
    work(app, TRANSACTIONAL)
    [message] = outbox(db, "new@example.com")
    assert outbox(db, "dev@example.com") == []
    client.post(confirmation_path(message))
    db.session.commit()
    assert db.session.get(Subscriber, asked.json["id"]).status == "subscribed"
