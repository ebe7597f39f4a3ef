"""A deleted campaign leaves nothing behind for the next one: ids are never reused."""

from __future__ import annotations

import sqlalchemy as sa

from mailer.models import CampaignAudience, CampaignChannel, Send
from mailer.queue import SEND
from tests.factories import brevo_channel, draft, make_list
from tests.fixtures.app import work
from tests.fixtures.campaign_pages import reload, setup_data


def test_a_deleted_campaigns_lists_and_channels_never_reach_the_next_campaign(
    app, client, db, marketer, identity, sandbox, brevo
):
    old = draft(db, name="Old")
    for mailing_list in (
        make_list(db, "Old A", ["a1@example.com", "a2@example.com", "a3@example.com"]),
        make_list(db, "Old B", ["b1@example.com"]),
    ):
        db.session.add(CampaignAudience(campaign_id=old.id, list_id=mailing_list.id))
    db.session.add(
        CampaignChannel(
            campaign_id=old.id, channel_id=brevo_channel(db, brevo).id, identity_id=identity.id
        )
    )
    db.session.commit()
    old_id = old.id

    assert client.post(f"/campaigns/{old_id}/delete").status_code == 302
    for model in (CampaignAudience, CampaignChannel):
        left = db.session.scalar(sa.select(sa.func.count()).where(model.campaign_id == old_id))
        assert left == 0, f"{model.__tablename__} of the deleted campaign are gone"

    new = draft(db, name="New")
    assert new.id > old_id, "a new campaign never takes a deleted campaign's id"
    mine = [f"n{i}@example.com" for i in range(4)]
    db.session.add(CampaignAudience(campaign_id=new.id, list_id=make_list(db, "New", mine).id))
    db.session.commit()
    response = client.post(
        f"/campaigns/{new.id}/setup", data=setup_data(identity, sandbox, action="launch")
    )
    assert response.status_code == 302
    work(app, SEND)

    assert reload(db, new).status == "completed"
    mailed = db.session.scalars(sa.select(Send.email).where(Send.campaign_id == new.id)).all()
    assert sorted(mailed) == mine, "only the new campaign's own list was mailed"
    assert brevo.accepted == 0, "the deleted campaign's channel sent nothing"


def test_ids_of_deleted_rows_are_not_given_again(db, identity):
    """Tracking tokens in sent emails are signed from ids: a new row must never take one."""
    first = draft(db, name="First")
    last = draft(db, name="Last")
    last_id = last.id
    db.session.delete(last)
    db.session.delete(first)
    db.session.commit()
    db.engine.dispose()  # a new connection, as after a restart
    assert draft(db, name="Next").id > last_id
