"""People waiting for confirmation are never mailed; the default footer carries the postal
address from the branding settings."""

from __future__ import annotations

from mailer.campaigns import launch as campaign_launch
from mailer.engine import campaign_state
from mailer.engine.campaign_send.loop import ChannelLoop
from mailer.lib import branding
from mailer.models import OutboxMessage, Send, Subscriber
from mailer.services.channels import parse_stored_message
from tests.factories import make_campaign, make_list


def test_a_campaign_never_mails_an_unconfirmed_person(db, sandbox):
    branding.store(branding.Branding(name="Shop", address="12 Example Street\n75001 Paris"))
    mailing_list = make_list(db, "Newsletter", ["yes@example.com"])
    db.session.add(
        Subscriber(list_id=mailing_list.id, email="maybe@example.com", status="unconfirmed")
    )
    db.session.commit()
    campaign = make_campaign(db, [mailing_list], [sandbox], html="<p>Hi {{ first_name }}</p>")
    campaign_state.transition(campaign, "scheduled")
    campaign_launch.orchestrate(campaign.id)
    assert ChannelLoop(campaign.channels[0].id).run().state == "done"

    db.session.commit()
    assert db.session.scalars(db.select(Send.subscriber_id)).all() == [
        db.session.scalar(db.select(Subscriber.id).filter_by(email="yes@example.com"))
    ]
    [message] = db.session.scalars(db.select(OutboxMessage)).all()
    assert message.to_email == "yes@example.com"
    parsed = parse_stored_message(message.raw)
    assert "12 Example Street<br>75001 Paris<br>" in parsed.html  # in the default footer
    assert "75001 Paris\r\nUnsubscribe: " in parsed.text
