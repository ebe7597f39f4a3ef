"""Factories and helpers for the campaign pages: a marketer, a sender, a channel, forms."""

from __future__ import annotations

import pytest
from rq import SimpleWorker

from mailer.models import Campaign, Channel, Identity, Template
from mailer.queue import get_redis, set_worker_app
from tests.campaigns.conftest import brevo, make_list  # noqa: F401 - fixture and factory

GOOD_HTML = '<p>Hi {{ first_name }}!</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>'


@pytest.fixture
def marketer(as_role):
    return as_role("marketer")


@pytest.fixture
def identity(db) -> Identity:
    identity = Identity(name="News", from_email="news@example.com", from_name="Newsroom")
    db.session.add(identity)
    db.session.commit()
    return identity


@pytest.fixture
def sandbox(db) -> Channel:
    channel = Channel(name="Sandbox", provider="sandbox", settings={}, rate_per_second=1000)
    db.session.add(channel)
    db.session.commit()
    return channel


def make_template(db, name="Newsletter", html=GOOD_HTML, subject="") -> Template:
    template = Template(name=name, subject=subject, html=html)
    db.session.add(template)
    db.session.commit()
    return template


def draft(db, name="Spring sale", html=GOOD_HTML, **fields) -> Campaign:
    campaign = Campaign(
        name=name, subject=fields.pop("subject", "Hello {{ first_name }}"), html=html, **fields
    )
    db.session.add(campaign)
    db.session.commit()
    return campaign


def row_data(identity, channel, key="a", **fields) -> dict[str, str]:
    data = {
        "row": key,
        f"row-{key}-identity_id": str(identity.id),
        f"row-{key}-channel_id": str(channel.id),
    }
    data.update({f"row-{key}-{k}": v for k, v in fields.items()})
    return data


def setup_data(identity, channel, action="save", **extra) -> dict[str, str]:
    data = {
        "action": action,
        "track_opens": "on",
        "track_clicks": "on",
        **row_data(identity, channel),
    }
    data.update(extra)
    return data


def reload(db, campaign: Campaign) -> Campaign:
    """Fresh from the database: end the test's transaction (its MariaDB snapshot) first."""
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Campaign, campaign.id)


def work(app, *queues: str) -> None:
    from mailer.extensions import db

    db.session.commit()  # jobs run in their own app context and session
    set_worker_app(app)
    for queue in queues:
        SimpleWorker([queue], connection=get_redis()).work(burst=True)


HX = {"HX-Request": "true"}
