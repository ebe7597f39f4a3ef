"""Campaigns sent through the real channel worker, so tests track what recipients received."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from mailer.campaigns import launch as campaign_launch
from mailer.engine import campaign_state
from mailer.engine.campaign_send.loop import ChannelLoop
from mailer.models import Campaign, Send
from mailer.models.base import utcnow
from tests.campaigns.conftest import brevo, brevo_channel, make_campaign, make_list  # noqa: F401

NEWSLETTER = """<!doctype html><html><head><title>News</title></head><body>
<p>Hi {{ first_name }}!</p>
<p><a class="btn" href="https://shop.example.com/spring?utm_source=mail&amp;utm_campaign=spring">Spring</a></p>
<p><a href='https://shop.example.com/stores'>Stores</a> and again
   <a href="https://shop.example.com/spring?utm_source=mail&amp;utm_campaign=spring">Spring</a></p>
<p><a href="mailto:help@example.com">Write to us</a> · <a href="tel:+351210000000">Call</a>
   · <a href="#top">Top</a> · <a name="anchor">no href</a> · <a href="/relative">relative</a></p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a>
   · <a href="{{ view_online_url }}">View online</a></p>
</body></html>"""

BASE = "http://mailer.test"
TRACKED = re.compile(r'href="http://mailer\.test/t/c/([^/"]+)/(\d+)-[0-9a-f]{16}"')
SIGNED = re.compile(r'href="http://mailer\.test/t/c/([^/"]+/\d+-[0-9a-f]{16})"')
PIXEL = re.compile(r'src="http://mailer\.test/t/o/([^"]+)\.gif"')


@dataclass
class Delivered:
    """What one recipient received."""

    email: str
    html: str
    text: str
    headers: dict
    send: Send

    @property
    def token(self) -> str:
        first = self.headers["List-Unsubscribe"].split(",")[0].strip()  # the https entry
        return first[len(f"<{BASE}/u/") : -1]

    @property
    def clicks(self) -> list[tuple[str, int]]:
        return [(t, int(i)) for t, i in TRACKED.findall(self.html)]

    @property
    def pixel_path(self) -> str:
        return f"/t/o/{self.token}.gif"

    def click_path(self, n: int = 0) -> str:
        """The n-th click link as received: "/t/c/<token>/<link id>-<mac>"."""
        return f"/t/c/{SIGNED.findall(self.html)[n]}"


@dataclass
class SentCampaign:
    campaign: Campaign
    received: dict[str, Delivered] = field(default_factory=dict)

    def __getitem__(self, email: str) -> Delivered:
        return self.received[email]


@pytest.fixture
def send_campaign(db, brevo):  # noqa: F811
    """send_campaign(emails, html=..., sent_ago=timedelta, **campaign fields) → SentCampaign.

    Runs the real channel worker against the local Brevo server and reads back each message.
    `sent_ago` moves sent_at into the past, so hits are not taken for instant machine hits.
    `audience_html` gives the list's audience entry a template of its own (campaign documents).
    """
    channel = None

    def _send(
        emails,
        *,
        html=NEWSLETTER,
        sent_ago=timedelta(hours=1),
        list_name=None,
        audience_html=None,
        **fields,
    ) -> SentCampaign:
        nonlocal channel
        channel = channel or brevo_channel(db, brevo)
        mailing_list = make_list(db, list_name or f"List {len(brevo.requests)}", emails)
        campaign = make_campaign(db, [mailing_list], [channel], html=html)
        for name, value in fields.items():
            setattr(campaign, name, value)
        if audience_html is not None:
            campaign.audiences[0].html = audience_html
        db.session.commit()
        campaign_state.transition(campaign, "scheduled")
        campaign_launch.orchestrate(campaign.id)
        first = len(brevo.requests)
        outcome = ChannelLoop(campaign.channels[0].id).run()
        assert outcome.state == "done", outcome
        if sent_ago:
            db.session.execute(
                db.update(Send)
                .where(Send.campaign_id == campaign.id)
                .values(sent_at=utcnow() - sent_ago)
            )
            db.session.commit()
        result = SentCampaign(db.session.get(Campaign, campaign.id))
        for request in brevo.requests[first:]:
            body = request.json
            to = body["to"][0]["email"]
            send = db.session.scalar(db.select(Send).filter_by(campaign_id=campaign.id, email=to))
            result.received[to] = Delivered(
                to, body["htmlContent"], body.get("textContent", ""), body["headers"], send
            )
        return result

    return _send


@pytest.fixture
def buffered(app):
    """Production mode: hits go to Redis, the flush tick writes them."""
    app.config["MAILER_TRACKING_BUFFER"] = True
    return app


def events(db, **filters):
    from mailer.models import Event

    db.session.commit()  # end the read snapshot: see what other sessions committed (MariaDB)
    return db.session.scalars(db.select(Event).filter_by(**filters).order_by(Event.id)).all()
