"""A campaign's status machine explains a refused move in its reader's language."""

from __future__ import annotations

import pytest

from mailer.engine.campaign_state import transition
from mailer.lib.errors import NotAllowed
from mailer.models import CampaignStatus
from tests.factories import draft


def test_a_refused_move_is_explained_in_the_readers_language(app, db):
    campaign = draft(db)
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        with pytest.raises(NotAllowed) as refused:
            transition(campaign, CampaignStatus.PAUSED)
        assert str(refused.value) == (
            "Une campagne «\u00a0brouillon\u00a0» ne peut pas devenir «\u00a0en pause\u00a0»."
        )
    with app.app_context(), pytest.raises(NotAllowed) as english:  # a job: English
        transition(campaign, CampaignStatus.PAUSED)
    assert str(english.value) == "A draft campaign cannot become paused."
    assert db.session.get(type(campaign), campaign.id).status == "draft"


def test_a_completed_campaign_runs_again_for_retried_sends_unless_archived(app, db):
    campaign = draft(db)
    for status in ("scheduled", "running", "completed"):
        transition(campaign, CampaignStatus(status))
    assert campaign.finished_at is not None
    transition(campaign, CampaignStatus.RUNNING)
    assert (campaign.status, campaign.finished_at) == ("running", None)
    transition(campaign, CampaignStatus.COMPLETED)
    campaign.archived_at = campaign.finished_at
    db.session.commit()
    with pytest.raises(NotAllowed):
        transition(campaign, CampaignStatus.RUNNING)
    assert db.session.get(type(campaign), campaign.id).status == "completed"
