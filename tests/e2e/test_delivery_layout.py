"""The channel page, the Outbox and the unsubscribe page in French, at 1400 px and 390 px:
nothing wider than the screen, nothing broken. MAILER_E2E_SHOTS=<dir> keeps screenshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailer.lib import tokens
from mailer.models import Identity, OutboxMessage, Subscriber
from mailer.models.base import utcnow
from tests.e2e.conftest import log_in
from tests.factories import make_channel, make_sent_campaign, make_user

WIDTHS = (1400, 390)
NO_OVERFLOW = "el => el.scrollWidth <= el.clientWidth + 1"


@pytest.fixture
def delivery(db):
    channel = make_channel(db, "sandbox")
    channel.daily_quota = 250000
    db.session.add(Identity(name="Newsletter", from_email="news@example.com", from_name="News"))
    for i in range(3):
        db.session.add(
            OutboxMessage(
                channel_id=channel.id,
                to_email=f"a.very.long.address.number.{i}@subdomain.example.com",
                subject=f"Nos nouveautés de printemps, avec un objet assez long, numéro {i}",
                message_id=f"<{i}@example.com>",
                raw="Subject: Hello\r\n\r\nbody\r\n",
                created_at=utcnow(),
            )
        )
    db.session.commit()
    sent = make_sent_campaign(db, channel, ["camille.durand@example.com"])
    send = sent.sends["camille.durand@example.com"]
    db.session.get(Subscriber, send.subscriber_id).attributes = {"locale": "fr-CA"}
    db.session.commit()
    return channel, tokens.make(tokens.CAMPAIGN_SEND, send.id)


def _shot(page, name: str) -> None:
    folder = os.environ.get("MAILER_E2E_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_delivery_pages_fit_the_screen_in_french(db, page, watch, delivery):
    channel, token = delivery
    admin = make_user("admin")
    admin.locale = "fr"
    db.session.commit()
    log_in(page, admin.email)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in (("channel", f"/channels/{channel.id}"), ("outbox", "/outbox/")):
            page.goto(path)
            assert page.locator("html").get_attribute("lang") == "fr"
            assert page.locator("main").evaluate(NO_OVERFLOW), f"{path} at {width} px"
            _shot(page, f"{name}-{width}")
        assert "<dd>1 campagne</dd>" in page.goto(f"/channels/{channel.id}").text()
    watch.assert_quiet()


def test_the_unsubscribe_page_fits_the_screen_in_the_subscribers_language(page, watch, delivery):
    _, token = delivery
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"/u/{token}")
        assert page.get_by_role("heading", name="Se désinscrire").is_visible()
        assert page.locator("html").evaluate(NO_OVERFLOW), f"unsubscribe at {width} px"
        _shot(page, f"unsubscribe-{width}")
    page.get_by_role("button", name="Se désinscrire").click()
    page.wait_for_url(f"**/u/{token}")
    assert page.get_by_role("heading", name="Vous êtes désinscrit").is_visible()
    _shot(page, "unsubscribed-390")
    watch.assert_quiet()
