"""Jobs are found by their dotted names (mailer/dispatch.py names them all); a job queued by
the previous release under an older name still runs after an upgrade."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from mailer import dispatch
from mailer.engine import campaign_state
from mailer.models import Campaign
from mailer.queue import SEND, enqueue
from tests.factories import brevo_channel, make_campaign, make_list
from tests.fixtures.app import work


def test_every_job_and_tick_named_by_dispatch_exists():
    names = set(re.findall(r'"(jobs\.[a-z_]+\.[a-z_]+)"', Path(dispatch.__file__).read_text()))
    assert {tick.func for tick in dispatch.TICKS_REGISTRY} < names, "and the on-demand jobs"
    for name in sorted(names):
        module, _, function = name.rpartition(".")
        assert callable(getattr(importlib.import_module(module), function, None)), name


def test_a_launch_queued_under_its_old_name_still_sends_the_campaign(app, db, brevo):
    campaign = make_campaign(
        db, [make_list(db, "L", ["ann@example.com", "bob@example.com"])], [brevo_channel(db, brevo)]
    )
    campaign_state.transition(campaign, "scheduled")
    enqueue(SEND, "jobs.campaigns.launch", campaign.id)  # as the previous release named it

    work(app, SEND)

    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).status == "completed"
    assert brevo.accepted == 2
