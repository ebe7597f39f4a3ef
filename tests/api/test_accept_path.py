"""The hot path of POST /api/v1/messages: what its speed work must not change."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mailer.lib import dbutil
from mailer.models import Identity
from mailer.models.campaigns import Message
from tests.factories import brevo_channel

pytestmark = pytest.mark.usefixtures("quick_drain")

MESSAGE = {
    "to": "jane@example.com",
    "subject": "Your receipt #7",
    "html": "<p>100% thanks for order <b>#7</b></p>",
    "tags": ["receipt"],
    "metadata": {"order": 7, "note": "50% off"},
}


@pytest.fixture
def channel(db, brevo):
    db.session.add(Identity(name="App", from_email="app@example.com", from_name="The App"))
    db.session.commit()
    return brevo_channel(db, brevo)


def test_a_key_call_without_cookies_gets_no_session_cookie_nor_vary(api, channel):
    response = api.post("/api/v1/messages", json=MESSAGE)
    assert response.status_code == 202, response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    assert response.headers["X-Request-ID"]


def test_pages_still_get_their_session(client, as_role):
    as_role("marketer")
    response = client.get("/lists/")
    assert response.status_code == 200
    assert "Cookie" in response.headers.get("Vary", "")


def test_the_api_reference_opens_in_a_browser_without_a_key(client):
    assert client.get("/api/v1/docs").status_code == 200


def test_the_stored_message_is_exactly_what_was_sent(app, db, api, channel):
    response = api.post("/api/v1/messages", json=MESSAGE)
    assert response.status_code == 202, response.get_data(as_text=True)
    db.session.commit()
    message = db.session.get(Message, response.json["id"])
    assert message.to_email == "jane@example.com"
    assert message.subject == "Your receipt #7"
    assert message.payload == {"html": MESSAGE["html"], "text": None}
    assert message.tags == ["receipt"]
    assert message.meta == {"order": 7, "note": "50% off"}
    assert message.status == "queued" and message.attempts == 0
    assert message.channel_id == channel.id and message.created_at is not None


def test_messages_are_still_accepted_after_the_database_dropped_connections(
    app, db, api, channel, monkeypatch
):
    """Like a database restart: every connection of this app is killed between requests."""
    if db.engine.dialect.name != "mysql":
        pytest.skip("kills MySQL connections")
    assert api.post("/api/v1/messages", json=MESSAGE).status_code == 202
    monkeypatch.setattr(dbutil.OwnPoolStatement, "PING_IDLE", 0.0)
    with db.engine.connect() as conn:
        mine = conn.scalar(sa.text("SELECT CONNECTION_ID()"))
        others = conn.scalars(
            sa.text(
                "SELECT id FROM information_schema.processlist "
                "WHERE db = DATABASE() AND id != :mine"
            ).bindparams(mine=mine)
        ).all()
        for other in others:
            conn.execute(sa.text(f"KILL {int(other)}"))
    assert others, "the accept path kept a pooled connection"
    response = api.post("/api/v1/messages", json={**MESSAGE, "to": "second@example.com"})
    assert response.status_code == 202, response.get_data(as_text=True)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 2
