"""Crafted values for the browser tests, and rows that carry them (:func:`plant`)."""

from __future__ import annotations

from dataclasses import dataclass

from tests.factories import make_user

# Valid addresses that break out of a JavaScript string: the first one is the address that ran
# script from an inline confirm() handler; the second calls the canary instead of alert().
EVIL_EMAIL = "x'-alert`1`-'x@example.com"
EVIL_EMAIL2 = "y'-__xss`2`-'y@example.com"
# A name that breaks out of HTML, of attributes, of a JavaScript string and of a <script>.
EVIL_NAME = "Acme \"><img src=x onerror=__xss(1)> '-__xss(2)-' </script><script>__xss(3)</script>"
EVIL_URL = 'https://example.com/?q="><img src=x onerror=__xss(4)>'


@dataclass
class Planted:
    """Ids of rows whose addresses and names are the crafted values above."""

    list_id: int
    subscriber_id: int
    segment_id: int
    import_id: int
    suppression_id: int
    user_id: int
    identity_id: int
    channel_id: int
    endpoint_id: int
    key_id: int
    outbox_id: int
    template_id: int
    scheduled_id: int  # a scheduled campaign (it can be cancelled)
    sent_id: int  # a completed campaign with opens and clicks (it has a report)
    send_id: int  # the crafted subscriber's email of that campaign


def plant(db) -> Planted:
    """Rows of every kind a page shows, named and addressed with the crafted values."""
    from datetime import timedelta
    from email.message import EmailMessage

    from mailer.lib.crypto import encrypt_json
    from mailer.models import (
        Campaign,
        CampaignAudience,
        CampaignChannel,
        Channel,
        Event,
        Identity,
        Import,
        Link,
        MailingList,
        OutboxMessage,
        Segment,
        Send,
        Subscriber,
        Suppression,
        Template,
        WebhookEndpoint,
    )
    from mailer.models.base import utcnow
    from mailer.services import api_keys

    now = utcnow()
    add = db.session.add_all
    mailing_list = MailingList(name=EVIL_NAME, description=EVIL_NAME)
    db.session.add(mailing_list)
    db.session.flush()
    evil = Subscriber(
        list_id=mailing_list.id,
        email=EVIL_EMAIL,
        first_name=EVIL_NAME,
        name=EVIL_NAME,
        attributes={"city": EVIL_NAME},
    )
    other = Subscriber(list_id=mailing_list.id, email=EVIL_EMAIL2, first_name="Yan")
    segment = Segment(
        list_id=mailing_list.id,
        name=EVIL_NAME,
        conditions=[{"field": "name", "op": "contains", "value": EVIL_NAME, "attribute": ""}],
    )
    failed_import = Import(
        list_id=mailing_list.id,
        filename=EVIL_NAME,
        path="/nonexistent",
        status="failed",
        error=f"Invalid JSON near {EVIL_NAME}",
    )
    suppression = Suppression(email=EVIL_EMAIL, reason="manual", source=EVIL_NAME)
    identity = Identity(name=EVIL_NAME, from_email=EVIL_EMAIL, from_name=EVIL_NAME)
    channel = Channel(name=EVIL_NAME, provider="sandbox", settings={}, paused_reason=EVIL_NAME)
    # The campaigns use plain ones, so that the crafted sender and channel can be deleted.
    plain_identity = Identity(name="News", from_email="news@example.com", from_name="News")
    plain_channel = Channel(name="Sandbox", provider="sandbox", settings={})
    endpoint = WebhookEndpoint(
        url=EVIL_URL,
        description=EVIL_NAME,
        event_types=["sent"],
        secret_encrypted=encrypt_json({"secret": "s"}),
        disabled_reason=EVIL_NAME,
    )
    template = Template(name=EVIL_NAME, subject=EVIL_NAME, html=f"<p>{EVIL_NAME}</p>")
    add([evil, other, segment, failed_import, suppression, identity, channel])
    add([plain_identity, plain_channel, endpoint, template])
    db.session.flush()

    message = EmailMessage()
    message["Subject"] = EVIL_NAME
    message["From"] = "News <news@example.com>"
    message["To"] = EVIL_EMAIL
    message.set_content(EVIL_NAME)
    message.add_alternative(f"<p>{EVIL_NAME}</p><script>__xss(5)</script>", subtype="html")
    outbox = OutboxMessage(
        channel_id=plain_channel.id,
        to_email=EVIL_EMAIL,
        subject=EVIL_NAME,
        message_id="<1@example.com>",
        raw=message.as_string(),
    )

    campaigns = []
    for status in ("scheduled", "completed"):
        campaign = Campaign(
            name=EVIL_NAME,
            subject=EVIL_NAME,
            html=f"<p>{EVIL_NAME}</p>",
            status=status,
            scheduled_at=now + timedelta(days=30) if status == "scheduled" else None,
            started_at=None if status == "scheduled" else now - timedelta(hours=5),
            finished_at=None if status == "scheduled" else now - timedelta(hours=4),
            error=EVIL_NAME,
        )
        db.session.add(campaign)
        db.session.flush()
        campaign.audiences.append(CampaignAudience(list_id=mailing_list.id))
        campaign.channels.append(
            CampaignChannel(channel_id=plain_channel.id, identity_id=plain_identity.id)
        )
        campaigns.append(campaign)
    db.session.add(outbox)
    db.session.flush()

    sent = campaigns[1]
    sent.audience_size = 2
    link = Link(campaign_id=sent.id, url=EVIL_URL, url_hash="0" * 64)
    db.session.add(link)
    db.session.flush()
    sends = []
    for n, subscriber in enumerate((evil, other)):
        send = Send(
            campaign_id=sent.id,
            subscriber_id=subscriber.id,
            campaign_channel_id=sent.channels[0].id,
            email=subscriber.email,
            status="sent",
            sent_at=now - timedelta(hours=5),
            opened_at=now - timedelta(hours=4 - n),
            clicked_at=now - timedelta(hours=3 - n),
        )
        db.session.add(send)
        db.session.flush()
        sends.append(send)
        add(
            [
                Event(
                    type="open", campaign_id=sent.id, send_id=send.id, occurred_at=send.opened_at
                ),
                Event(
                    type="click",
                    campaign_id=sent.id,
                    send_id=send.id,
                    link_id=link.id,
                    occurred_at=send.clicked_at,
                ),
            ]
        )
    db.session.commit()
    user = make_user("viewer", email=EVIL_EMAIL)
    user.name = EVIL_NAME
    key = api_keys.create(EVIL_NAME, ["send"], created_by=None).key
    db.session.commit()
    return Planted(
        list_id=mailing_list.id,
        subscriber_id=evil.id,
        segment_id=segment.id,
        import_id=failed_import.id,
        suppression_id=suppression.id,
        user_id=user.id,
        identity_id=identity.id,
        channel_id=channel.id,
        endpoint_id=endpoint.id,
        key_id=key.id,
        outbox_id=outbox.id,
        template_id=template.id,
        scheduled_id=campaigns[0].id,
        sent_id=sent.id,
        send_id=sends[0].id,
    )
