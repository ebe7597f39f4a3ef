"""The channel loop prepares chunk N+1 while chunk N is with the provider: pause and cancel
still take effect within one chunk, and a prepared chunk that is not sent goes back untouched."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from mailer.campaigns import lifecycle
from mailer.engine import campaign_state, delivery
from mailer.engine.campaign_send import claims
from mailer.engine.campaign_send.loop import ChannelLoop
from mailer.models import Campaign, CampaignChannel, Channel, Send
from tests.factories import launched_on_brevo, statuses


class OperatorActs:
    """The real channel adapter; the operator clicks (pause or cancel) while the first
    chunk is with the provider, after the loop has claimed and rendered the next one."""

    def __init__(self, provider, campaign_id: int, action) -> None:
        self.inner = provider
        self.campaign_id = campaign_id
        self.action = action
        self.max_batch = provider.max_batch
        self.concurrency = provider.concurrency
        self.handed_over: list[int] = []

    def submit_batch(self, messages):
        self.handed_over.append(len(messages))
        future = self.inner.submit_batch(messages)
        if len(self.handed_over) > 1:
            return future
        outer = self

        class Clicked:
            def result(self, timeout=None):
                from mailer.extensions import db

                outer.action(db.session.get(Campaign, outer.campaign_id))
                return future.result(timeout)

        return Clicked()

    def close(self):
        self.inner.close()


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(claims, "MAX_CHUNK", 5)


def _run(db, brevo, action):
    campaign = launched_on_brevo(db, brevo, 15)
    row = campaign.channels[0]
    provider = OperatorActs(
        delivery.channel_provider(db.session.get(Channel, row.channel_id)), campaign.id, action
    )
    outcome = ChannelLoop(row.id, provider=provider).run()
    return campaign, outcome, provider


def test_pause_while_a_chunk_is_with_the_provider_gives_the_next_one_back(
    app, db, brevo, small_chunks
):
    campaign, outcome, provider = _run(db, brevo, lifecycle.pause)
    assert outcome.state == "not_running"
    assert provider.handed_over == [5], "the prepared second chunk never left"
    assert brevo.accepted == 5
    assert statuses(db, campaign.id) == {"sent": 5, "pending": 10}
    unsent = db.session.scalars(db.select(Send).where(Send.status == "pending")).all()
    assert all(s.attempts == 0 for s in unsent), "a given-back send keeps its attempts"

    campaign_state.transition(db.session.get(Campaign, campaign.id), "running")  # resume
    assert ChannelLoop(campaign.channels[0].id).run().state == "done"
    assert statuses(db, campaign.id) == {"sent": 15}
    assert brevo.accepted == 15


def test_cancel_while_a_chunk_is_with_the_provider_cancels_the_prepared_one(
    app, db, brevo, small_chunks
):
    campaign, outcome, provider = _run(db, brevo, lifecycle.cancel)
    assert outcome.state == "not_running"
    assert provider.handed_over == [5]
    assert brevo.accepted == 5
    assert statuses(db, campaign.id) == {"sent": 5, "cancelled": 10}


def test_chunks_follow_the_provider_parallelism(app, db, brevo):
    campaign = launched_on_brevo(db, brevo, 40)
    row = campaign.channels[0]
    provider = delivery.channel_provider(db.session.get(Channel, row.channel_id))
    provider.max_batch, provider.concurrency = 4, 6  # 6 messages a chunk, all in flight at once
    runner = ChannelLoop(row.id, provider=provider)
    assert runner.run().state == "done"
    assert statuses(db, campaign.id) == {"sent": 40}
    assert brevo.max_in_flight <= 6


def test_results_journaled_before_a_crash_are_written_by_the_rows_next_loop(
    app, db, brevo, small_chunks
):
    """A chunk's results are journaled on its row when the next chunk goes out, and written
    to its sends just after. The database fails that write once (a dropped connection): the
    loop stops, and the row's next loop writes them first; nobody is mailed twice, nothing is
    left in doubt."""
    campaign = launched_on_brevo(db, brevo, 15)
    row_id = campaign.channels[0].id
    failures = [RuntimeError("the database connection dropped")]

    def fail_once(conn, cursor, statement, *args):
        if "journal = NULL" in statement and failures:
            raise failures.pop()

    event.listen(db.engine, "before_cursor_execute", fail_once)
    try:
        with pytest.raises(RuntimeError, match="dropped"):
            ChannelLoop(row_id).run()
    finally:
        event.remove(db.engine, "before_cursor_execute", fail_once)
    assert brevo.accepted == 10, "the first two chunks went out"
    assert statuses(db, campaign.id) == {"claimed": 5, "sent": 5, "pending": 5}
    row = db.session.get(CampaignChannel, row_id)
    assert row.journal and row.handed is None, "the second chunk's results were recorded"

    assert ChannelLoop(row_id).run().state == "done"
    assert statuses(db, campaign.id) == {"sent": 15}
    assert brevo.accepted == 15
    row = db.session.get(CampaignChannel, row_id)
    assert (row.sent_count, row.journal) == (15, None)
    sends = db.session.scalars(db.select(Send).filter_by(campaign_id=campaign.id)).all()
    ids = {s.provider_message_id for s in sends}
    assert None not in ids and len(ids) == 15, "each send keeps its provider message id"
