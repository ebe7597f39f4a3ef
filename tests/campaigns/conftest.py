"""Factories for campaign tests: lists, a channel pointed at a local provider server, a row."""

from __future__ import annotations

import pytest

from mailer.lib.crypto import encrypt_json
from mailer.models import (
    Campaign,
    CampaignAudience,
    CampaignChannel,
    Channel,
    Identity,
    MailingList,
    Subscriber,
)
from tests.servers.brevo import BrevoServer
from tests.servers.smtp import SmtpSink


@pytest.fixture
def brevo():
    with BrevoServer() as server:
        yield server


@pytest.fixture
def smtp_sink():
    with SmtpSink() as sink:
        yield sink


def make_list(db, name: str, emails: list[str], **fields) -> MailingList:
    mailing_list = MailingList(name=name)
    db.session.add(mailing_list)
    db.session.flush()
    for email in emails:
        db.session.add(
            Subscriber(
                list_id=mailing_list.id,
                email=email,
                first_name=email.split("@")[0].title(),
                **fields,
            )
        )
    db.session.commit()
    return mailing_list


def brevo_channel(db, server: BrevoServer, **fields) -> Channel:
    channel = Channel(
        name=f"Brevo {server.port}",
        provider="brevo",
        endpoint_url=server.endpoint_url,
        settings={},
        secrets_encrypted=encrypt_json({"api_key": server.api_key}),
        rate_per_second=fields.pop("rate_per_second", 1000),
        **fields,
    )
    db.session.add(channel)
    db.session.commit()
    return channel


def smtp_channel(db, sink: SmtpSink, **fields) -> Channel:
    channel = Channel(
        name=f"SMTP {sink.port}",
        provider="smtp",
        endpoint_url=None,
        settings={"host": "127.0.0.1", "port": sink.port, "security": "none"},
        secrets_encrypted=encrypt_json({}),
        rate_per_second=fields.pop("rate_per_second", 1000),
        **fields,
    )
    db.session.add(channel)
    db.session.commit()
    return channel


def make_campaign(
    db,
    lists: list[MailingList],
    channels: list[Channel],
    *,
    html=None,
    subject="Hello {{ first_name }}",
    rows: list[dict] | None = None,
    status="draft",
) -> Campaign:
    identity = db.session.scalar(db.select(Identity).filter_by(name="News"))
    if identity is None:
        identity = Identity(name="News", from_email="news@example.com", from_name="Newsroom")
        db.session.add(identity)
        db.session.flush()
    campaign = Campaign(
        name="Spring sale",
        subject=subject,
        status=status,
        html=html or '<p>Hi {{ first_name }}!</p><a href="{{ unsubscribe_url }}">unsubscribe</a>',
    )
    db.session.add(campaign)
    db.session.flush()
    for mailing_list in lists:
        db.session.add(CampaignAudience(campaign_id=campaign.id, list_id=mailing_list.id))
    for i, channel in enumerate(channels):
        extra = (rows or [{}] * len(channels))[i]
        db.session.add(
            CampaignChannel(
                campaign_id=campaign.id,
                channel_id=channel.id,
                identity_id=identity.id,
                position=i,
                **extra,
            )
        )
    db.session.commit()
    return campaign
