"""A campaign that has started keeps its history: the API refuses to delete it (409) until
retention archived its figures."""

from __future__ import annotations

from mailer.campaigns import retention
from mailer.models import Campaign, Send
from mailer.models.base import utcnow
from tests.factories import make_sent_campaign


def _completed(db, channel) -> Campaign:
    sent = make_sent_campaign(db, channel, ["a@example.com", "b@example.com"])
    campaign = db.session.get(Campaign, sent.campaign_id)
    campaign.started_at = campaign.finished_at = utcnow()
    db.session.commit()
    return campaign


def test_a_completed_campaign_is_not_deleted_until_its_figures_are_archived(api, db, channel):
    campaign = _completed(db, channel)

    refused = api.delete(f"/api/v1/campaigns/{campaign.id}")
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "conflict"
    assert "has started" in refused.json["error"]["message"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Send)) == 2, "history kept"

    assert retention.archive_campaign(campaign.id) == 1
    assert api.delete(f"/api/v1/campaigns/{campaign.id}").status_code == 204
    assert db.session.get(Campaign, campaign.id) is None
