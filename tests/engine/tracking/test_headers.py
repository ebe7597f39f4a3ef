"""Deliverability headers on the messages as providers receive them (JSON API and MIME)."""

from __future__ import annotations

import email.utils

import pytest

from mailer.campaigns import launch as campaign_launch
from mailer.engine import campaign_state
from mailer.engine.campaign_send.loop import ChannelLoop
from mailer.lib import tokens
from mailer.models import Send
from tests.factories import make_campaign, make_list, smtp_channel


def test_brevo_messages_carry_one_click_unsubscribe_and_feedback_id(db, send_campaign):
    sent = send_campaign(["ann@example.com", "bob@example.com"])
    for delivered in sent.received.values():
        headers = delivered.headers
        assert headers["List-Unsubscribe"] == f"<http://mailer.test/u/{delivered.token}>"
        assert tokens.parse(delivered.token) == ("c", delivered.send.id)
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        row = sent.campaign.channels[0]
        assert headers["Feedback-ID"] == (
            f"{sent.campaign.id}:{row.channel_id}:{row.identity_id}:mailer"
        )


def test_list_unsubscribe_adds_a_mailto_when_a_mailbox_is_configured(app, db, send_campaign):
    app.config["MAILER_UNSUBSCRIBE_MAILTO"] = "unsubscribe@news.example.com"
    sent = send_campaign(["cy@example.com"])
    [delivered] = sent.received.values()
    assert delivered.headers["List-Unsubscribe"] == (
        f"<http://mailer.test/u/{delivered.token}>, "
        f"<mailto:unsubscribe@news.example.com?subject=unsubscribe%20{delivered.token}>"
    )


@pytest.fixture
def smtp_sent(db, smtp_sink):  # noqa: F811
    campaign = make_campaign(
        db,
        [make_list(db, "L", ["ann@example.com"])],
        [smtp_channel(db, smtp_sink)],
        html='<p>Hi</p><a href="https://shop.example.com/">Shop</a>',
    )
    campaign_state.transition(campaign, "scheduled")
    campaign_launch.orchestrate(campaign.id)
    assert ChannelLoop(campaign.channels[0].id).run().state == "done"
    [mail] = smtp_sink.messages
    return campaign, mail.message()


def test_mime_headers_on_the_wire(db, smtp_sent):
    campaign, message = smtp_sent
    send = db.session.scalar(db.select(Send))
    token = tokens.make(tokens.CAMPAIGN_SEND, send.id)
    assert message["List-Unsubscribe"] == f"<http://mailer.test/u/{token}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Feedback-ID"].startswith(f"{campaign.id}:")
    _, address = email.utils.parseaddr(message["Message-ID"])
    assert address.endswith("@example.com"), "Message-ID on the sending domain"
    html = message.get_body(("html",)).get_content()
    assert f"http://mailer.test/t/o/{token}.gif" in html
    assert f"http://mailer.test/t/c/{token}/" in html
    assert "https://shop.example.com/" not in html
    assert f"http://mailer.test/u/{token}" in html, "footer link added"
    assert f"http://mailer.test/u/{token}" in message.get_body(("plain",)).get_content()
