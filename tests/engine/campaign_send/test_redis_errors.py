"""A channel loop and Redis trouble: an error mid-send or a vanished row lock ends the loop
cleanly (nothing in doubt, nothing claimed twice), and the next loop finishes the campaign."""

from __future__ import annotations

import collections

import redis

from mailer.engine.campaign_send.loop import ChannelLoop
from mailer.engine.campaign_send.state import Clock
from mailer.queue import get_redis
from tests.factories import brevo_channel, launch_now, make_campaign, make_list, statuses

ADDRESSES = [f"r{i}@example.com" for i in range(30)]


def running_campaign(db, brevo):
    channel = brevo_channel(db, brevo, rate_per_second=10)  # a chunk, then a wait for tokens
    campaign = make_campaign(db, [make_list(db, "L", ADDRESSES)], [channel])
    launch_now(db, campaign)
    return campaign, campaign.channels[0].id


def each_once(brevo) -> bool:
    counts = collections.Counter(r.json["to"][0]["email"] for r in brevo.requests)
    return set(counts) == set(ADDRESSES) and set(counts.values()) == {1}


def test_a_redis_error_mid_send_ends_the_loop_cleanly(app, db, brevo, monkeypatch):
    campaign, row_id = running_campaign(db, brevo)
    conn = get_redis()
    calls = {"n": 0}
    expire = conn.expire

    def flaky_expire(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] >= 3:
            raise redis.exceptions.ConnectionError("Redis went away")
        return expire(*args, **kwargs)

    monkeypatch.setattr(conn, "expire", flaky_expire)
    outcome = ChannelLoop(row_id).run()
    assert outcome.state == "redis_down"
    assert 0 < len(brevo.requests) < len(ADDRESSES)
    left = statuses(db, campaign.id)
    assert "in_doubt" not in left and left["sent"] == len(brevo.requests), left

    monkeypatch.undo()
    conn.delete(f"mailer:lock:cc:{row_id}")  # Redis came back empty
    assert ChannelLoop(row_id).run().state == "done"
    assert statuses(db, campaign.id) == {"sent": len(ADDRESSES)}
    assert each_once(brevo)


def test_a_loop_whose_row_lock_vanished_leaves(app, db, brevo):
    campaign, row_id = running_campaign(db, brevo)

    def sleep_while_redis_restarts(seconds):
        get_redis().delete(f"mailer:lock:cc:{row_id}")

    outcome = ChannelLoop(row_id, clock=Clock(sleep=sleep_while_redis_restarts)).run()
    assert outcome.state == "lost_lock"
    assert "in_doubt" not in statuses(db, campaign.id)
    assert ChannelLoop(row_id).run().state == "done"
    assert statuses(db, campaign.id) == {"sent": len(ADDRESSES)}
    assert each_once(brevo)
