"""The campaign pages refuse to delete a campaign that has started, with a clear message and
no delete button, until retention archived its figures."""

from __future__ import annotations

from mailer.campaigns import retention
from mailer.models import Campaign, Channel
from mailer.models.base import utcnow
from tests.factories import make_sent_campaign


def test_a_started_campaign_cannot_be_deleted_from_its_pages(client, db, marketer, sandbox):
    sent = make_sent_campaign(db, db.session.get(Channel, sandbox.id), ["a@example.com"])
    campaign = db.session.get(Campaign, sent.campaign_id)
    campaign.started_at = campaign.finished_at = utcnow()
    db.session.commit()

    show = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert f'href="/campaigns/{campaign.id}/delete"' not in show
    page = client.get(f"/campaigns/{campaign.id}/delete").get_data(as_text=True)
    assert "has started: deleting it would erase who received it" in page
    assert "Delete campaign</button>" not in page
    refused = client.post(f"/campaigns/{campaign.id}/delete", follow_redirects=True)
    assert "It can be deleted once retention has archived its figures." in refused.get_data(
        as_text=True
    )
    assert db.session.get(Campaign, campaign.id) is not None

    french = client.get(
        f"/campaigns/{campaign.id}/delete", headers={"Accept-Language": "fr"}
    ).get_data(as_text=True)
    assert "a commencé" in french

    retention.archive_campaign(campaign.id)
    client.post(f"/campaigns/{campaign.id}/delete")
    assert db.session.get(Campaign, campaign.id) is None
