"""Small factories: rows the tests need (people, lists, channels, campaigns, templates), written
to the database and committed. Fixtures are in tests/fixtures/; these are plain functions."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import timedelta

from werkzeug.security import generate_password_hash

from mailer.campaigns import launch as campaign_launch
from mailer.campaigns import stats
from mailer.engine import campaign_state
from mailer.extensions import db as _db
from mailer.lib import tokens
from mailer.lib.crypto import encrypt_json
from mailer.models import (
    Campaign,
    CampaignAudience,
    CampaignChannel,
    Channel,
    Identity,
    MailingList,
    Role,
    Send,
    SendStatus,
    Subscriber,
    Template,
    User,
)
from mailer.models.base import utcnow
from tests.servers.brevo import BrevoServer
from tests.servers.smtp import SmtpSink

# ------------------------------------------------------------------ people

FAST_HASH = "pbkdf2:sha256:1000"  # tests only: the real default is deliberately slow


def make_user(
    role: Role | str = Role.ADMIN, email: str | None = None, password: str = "correct horse"
) -> User:
    role = Role(role)
    email = email or f"{role.value}-{os.urandom(3).hex()}@example.com"
    user = User(
        email=email,
        role=role.value,
        name=role.value.title(),
        password_hash=generate_password_hash(password, method=FAST_HASH),
    )
    _db.session.add(user)
    _db.session.commit()
    return user


# ------------------------------------------------------------------ lists and channels


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


def make_channel(db, provider: str, settings: dict | None = None, secrets=None) -> Channel:
    """A channel of any provider, pointed nowhere (feedback tests only receive webhooks)."""
    channel = Channel(
        name=f"{provider} {uuid.uuid4().hex[:6]}",
        provider=provider,
        settings=settings or {},
        secrets_encrypted=encrypt_json(secrets or {}),
        rate_per_second=1000,
    )
    db.session.add(channel)
    db.session.commit()
    return channel


# ------------------------------------------------------------------ campaigns and templates

GOOD_HTML = '<p>Hi {{ first_name }}!</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>'


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


def draft(db, name="Spring sale", html=GOOD_HTML, **fields) -> Campaign:
    """A bare draft, as the campaign pages' first step leaves it: no audience, no channel."""
    campaign = Campaign(
        name=name, subject=fields.pop("subject", "Hello {{ first_name }}"), html=html, **fields
    )
    db.session.add(campaign)
    db.session.commit()
    return campaign


def make_template(db, name="Newsletter", html=GOOD_HTML, subject="") -> Template:
    template = Template(name=name, subject=subject, html=html)
    db.session.add(template)
    db.session.commit()
    return template


@dataclass
class Sent:
    """A campaign sent through a channel: one send per address, each with a provider id."""

    campaign_id: int
    sends: dict[str, Send]  # by email

    def token(self, email: str) -> str:
        return tokens.make(tokens.CAMPAIGN_SEND, self.sends[email].id)

    def pmid(self, email: str) -> str:
        return self.sends[email].provider_message_id


def make_sent_campaign(db, channel: Channel, emails: list[str], pmid=None) -> Sent:
    """A completed campaign's send rows written directly (nothing is sent): status sent, half an
    hour ago, with provider message ids `pmid(i)`, for tests of what providers report back.
    Its own open and click tracking is off, so providers' opens and clicks count (with it on,
    ours count and theirs are ignored). The `send_campaign` fixture (tests/fixtures/tracking.py)
    sends through the real worker."""
    mailing_list = make_list(db, f"List {uuid.uuid4().hex[:6]}", emails)
    campaign = make_campaign(db, [mailing_list], [channel], status="completed")
    campaign.track_opens = campaign.track_clicks = False
    row_id = campaign.channels[0].id
    subscribers = db.session.scalars(
        db.select(Subscriber).filter_by(list_id=mailing_list.id).order_by(Subscriber.id)
    ).all()
    sent_at = utcnow() - timedelta(minutes=30)
    prefix = uuid.uuid4().hex[:10]
    pmid = pmid or (lambda i: f"{prefix}-{i}")
    sends = {}
    for i, sub in enumerate(subscribers):
        send = Send(
            campaign_id=campaign.id,
            subscriber_id=sub.id,
            campaign_channel_id=row_id,
            email=sub.email,
            status=SendStatus.SENT.value,
            provider_message_id=pmid(i),
            sent_at=sent_at,
        )
        db.session.add(send)
        sends[sub.email] = send
    db.session.commit()
    return Sent(campaign.id, sends)


def statuses(db, campaign_id) -> dict[str, int]:
    db.session.expire_all()
    return {k: v for k, v in stats.status_counts(campaign_id).items() if v}


def launch_now(db, campaign):
    campaign_state.transition(campaign, "scheduled")
    return campaign_launch.orchestrate(campaign.id)


def launched_on_brevo(db, brevo, recipients: int) -> Campaign:
    """A running campaign to u0..u{recipients-1}@example.com on one Brevo-like channel."""
    campaign = make_campaign(
        db,
        [make_list(db, "L", [f"u{i}@example.com" for i in range(recipients)])],
        [brevo_channel(db, brevo)],
    )
    launch_now(db, campaign)
    return campaign


# ------------------------------------------------------------------ images (issue 18)


def image_bytes(fmt: str = "PNG", size=(30, 20), color="red", **save_options) -> bytes:
    """A small image file in ``fmt`` (a Pillow format name), e.g. with ``exif=`` metadata."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, **save_options)
    return out.getvalue()


def make_asset(db, fmt: str = "PNG", name: str = "picture.png", color="red"):
    """An image stored in the library, as an upload would store it."""
    import io

    from mailer.services import assets

    return assets.add_image(io.BytesIO(image_bytes(fmt, color=color)), name)
