"""The sandbox provider, the Outbox pages and the quick start."""

from __future__ import annotations

import email
import email.policy
import html
import re
from datetime import timedelta

from mailer.engine.delivery import build_provider
from mailer.models import Campaign, Channel, Identity, OutboxMessage, Role
from mailer.models.base import utcnow
from mailer.providers import OutboundMessage, make_provider, registry
from mailer.services import channels as channels_service


def _message(i: int, **kw) -> OutboundMessage:
    values = {
        "ref": f"r{i}",
        "to": f"user{i}@example.com",
        "subject": f"Hello {i}",
        "from_email": "news@example.com",
        "from_name": "News",
        "html": f"<p>Hi <b>{i}</b></p>",
        "text": f"Hi {i}",
    }
    values.update(kw)
    return OutboundMessage(**values)


def _outbox_row(channel_id: int | None, i: int, minutes_ago: int = 0) -> OutboxMessage:
    return OutboxMessage(
        channel_id=channel_id,
        to_email=f"user{i}@example.com",
        subject=f"Subject {i}",
        message_id=f"<{i}@example.com>",
        raw=f"Subject: Subject {i}\r\nTo: user{i}@example.com\r\n\r\nbody {i}\r\n",
        created_at=utcnow() - timedelta(minutes=minutes_ago),
    )


def test_the_sandbox_stores_each_message_whole(db):
    assert registry["sandbox"].name == "sandbox"
    channel = Channel(name="Sandbox", provider="sandbox", settings={})
    campaign = Campaign(name="Spring", subject="Hello")
    db.session.add_all([channel, campaign])
    db.session.commit()

    provider = build_provider(channel)
    batch = [
        _message(1, tags={"campaign": str(campaign.id)}),
        _message(2, html=None, text=None),  # no body: refused, nothing stored
        _message(3, subject="Grüße ✓", to_name="Zoë"),
    ]
    results = provider.send_batch(batch)
    provider.close()
    assert [r.ref for r in results] == ["r1", "r2", "r3"]
    assert [r.ok for r in results] == [True, False, True]
    assert "neither a text nor an HTML body" in results[1].error and not results[1].transient
    db.session.rollback()  # a new transaction sees what the sandbox committed on its own

    rows = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [r.to_email for r in rows] == ["user1@example.com", "user3@example.com"]
    assert [r.provider_message_id for r in results if r.ok] == [r.message_id for r in rows]
    assert rows[0].campaign_id == campaign.id and rows[1].campaign_id is None
    assert {r.channel_id for r in rows} == {channel.id}
    parsed = email.message_from_string(rows[1].raw, policy=email.policy.default)
    assert parsed["Subject"] == "Grüße ✓" and rows[1].subject == "Grüße ✓"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Hi <b>3</b></p>"


def test_make_provider_knows_the_sandbox_without_a_channel_id(db):
    with make_provider("sandbox", {}, {}) as provider:
        [result] = provider.send_batch([_message(1)])
    assert result.ok
    db.session.rollback()
    assert db.session.scalars(db.select(OutboxMessage)).one().channel_id is None


def test_outbox_lists_newest_first_with_pages(client, db, as_role):
    channel = Channel(name="Sandbox", provider="sandbox", settings={})
    db.session.add(channel)
    db.session.flush()
    db.session.add_all(_outbox_row(channel.id, i, minutes_ago=100 - i) for i in range(60))
    db.session.commit()
    as_role(Role.VIEWER)

    first = client.get("/outbox/").get_data(as_text=True)
    assert "60 emails, newest first." in first
    subjects = re.findall(r">Subject (\d+)</a>", first)
    assert subjects[:3] == ["59", "58", "57"] and len(subjects) == 50
    assert "Page 1 of 2" in first and "Clear outbox" not in first  # viewers do not clear

    second = client.get("/outbox/?page=2", headers={"HX-Request": "true"})
    fragment = second.get_data(as_text=True)
    assert "<html" not in fragment
    assert re.findall(r">Subject (\d+)</a>", fragment) == [str(i) for i in range(9, -1, -1)]
    assert "<html" in client.get("/outbox/?page=2").get_data(as_text=True)
    assert client.post("/outbox/clear").status_code == 403


def test_outbox_message_view_shows_html_text_and_raw_source(client, db, as_role):
    channel = Channel(name="Sandbox", provider="sandbox", settings={})
    db.session.add(channel)
    db.session.commit()
    provider = build_provider(channel)
    provider.send_batch(
        [_message(1, html='<p onclick="x()">Hi <script>alert(1)</script></p>', text="Hi text")]
    )
    db.session.rollback()
    row = db.session.scalars(db.select(OutboxMessage)).one()
    as_role(Role.VIEWER)
    page = client.get(f"/outbox/{row.id}").get_data(as_text=True)
    iframe = re.search(r"<iframe[^>]*>", page).group(0)
    assert 'sandbox=""' in iframe and "allow-scripts" not in iframe
    srcdoc = re.search(r'srcdoc="([^"]*)"', iframe).group(1)
    assert "<script>" in html.unescape(srcdoc) and "<script>" not in page
    assert "Hi text" in page
    assert "MIME-Version: 1.0" in page and "multipart/alternative" in page  # raw source
    assert "News &lt;news@example.com&gt;" in page
    assert client.get("/outbox/999999").status_code == 404


def test_marketers_clear_the_outbox(client, db, as_role):
    db.session.add_all(_outbox_row(None, i) for i in range(3))
    db.session.commit()
    as_role(Role.MARKETER)
    assert "Clear outbox" in client.get("/outbox/").get_data(as_text=True)
    response = client.post("/outbox/clear")
    assert response.status_code == 302
    page = client.get("/outbox/").get_data(as_text=True)
    assert "Outbox cleared (3 emails deleted)." in page
    assert "The Outbox is empty" in page


def test_quick_start_creates_the_sandbox_channel_and_a_sender_once(db):
    channel = channels_service.ensure_sandbox_setup()
    assert channel is not None and channel.provider == "sandbox"
    assert channel.name == "Sandbox (local outbox)"
    identity = db.session.scalars(db.select(Identity)).one()
    assert (identity.name, identity.from_email) == ("Mailer Sandbox", "mailer@example.com")
    assert channels_service.ensure_sandbox_setup() is None
    assert db.session.scalar(db.select(db.func.count()).select_from(Channel)) == 1


def test_bootstrap_command_reports_the_sandbox_channel(runner, db):
    result = runner.invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output
    assert "Created the sandbox channel" in result.output
    again = runner.invoke(args=["bootstrap"])
    assert "sandbox" not in again.output
    assert db.session.scalar(db.select(db.func.count()).select_from(Channel)) == 1
