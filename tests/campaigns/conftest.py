"""Fixtures for the campaign pages: a marketer, a sender, a channel."""

from __future__ import annotations

import pytest

from mailer.models import Channel, Identity


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
