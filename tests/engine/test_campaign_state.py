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
