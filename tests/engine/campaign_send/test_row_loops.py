"""Several loops sending one campaign channel row at once (``CampaignChannel.loops``): each
loop (slot) has its own lock and its own claims, so a dead loop's successor recovers that
loop's chunks only, while the others go on; nobody is mailed twice, nobody is lost."""

from __future__ import annotations

import collections
import os
import signal
import time
from pathlib import Path

import pytest
from rq import Queue

from mailer.campaigns import lifecycle
from mailer.engine.campaign_send.loop import ChannelLoop
from mailer.engine.campaign_send.state import lock_key, lock_value
from mailer.models import Campaign, CampaignChannel, CampaignChannelSlot, Send
from mailer.models.base import utcnow
from mailer.queue import SEND, TICKS, enqueue, get_redis
from tests.factories import brevo_channel, launch_now, make_campaign, make_list, statuses
from tests.fixtures.workers import wait_for
from tests.servers.brevo import BrevoServer

FINAL = {"sent", "failed", "suppressed", "in_doubt"}
CONCURRENCY = "20"  # MAILER_HTTP_CONCURRENCY for the workers below: 20 requests in flight
RATE = 150  # emails/s: a chunk is at most a quarter second's worth (the rate bucket), 37


def sends_of(db, campaign_id: int) -> list[Send]:
    db.session.commit()
    return db.session.scalars(db.select(Send).filter_by(campaign_id=campaign_id)).all()


def status_of(db, campaign_id: int) -> str:
    db.session.commit()
    return db.session.get(Campaign, campaign_id).status


def sent_count(db, campaign_id: int) -> int:
    return sum(1 for s in sends_of(db, campaign_id) if s.status == "sent")


def received(server: BrevoServer) -> collections.Counter:
    """Whom the local provider received a message for, and how many times."""
    return collections.Counter(r.json["to"][0]["email"] for r in server.requests)


def check_exactly_once(sends: list[Send], server: BrevoServer, max_in_doubt: int) -> list[Send]:
    """Every send final; nobody received two messages; each one sent was received; at most
    ``max_in_doubt`` in doubt (maybe received, never sent again). The ones in doubt."""
    got = received(server)
    assert {s.status for s in sends} <= FINAL, collections.Counter(s.status for s in sends)
    assert {e: n for e, n in got.items() if n > 1} == {}, "recipients mailed twice"
    in_doubt = [s for s in sends if s.status == "in_doubt"]
    assert all(got[s.email] == 1 for s in sends if s.status == "sent")
    assert len(in_doubt) <= max_in_doubt, collections.Counter(s.slot for s in in_doubt)
    assert set(got) <= {s.email for s in sends}
    return in_doubt


def loops_on(db, campaign: Campaign, loops: int) -> int:
    row = campaign.channels[0]
    row.loops = loops
    db.session.commit()
    return row.id


def test_a_dead_loops_successor_recovers_its_slot_only(app, db, brevo):
    """Slot 1 died with a chunk claimed and one handed over; slot 0 lives, with a chunk of
    its own out: slot 1's next loop puts back its claims and marks its chunk in doubt, and
    leaves slot 0's chunk alone (never resent, never put back)."""
    emails = [f"s{i}@example.com" for i in range(8)]
    campaign = make_campaign(db, [make_list(db, "L", emails)], [brevo_channel(db, brevo)])
    launch_now(db, campaign)
    row_id = loops_on(db, campaign, 2)
    ids = sorted(db.session.scalars(db.select(Send.id).filter_by(campaign_id=campaign.id)))
    live, handed, claimed = ids[:2], ids[2:3], ids[3:5]

    def claim(send_ids, slot):
        db.session.execute(
            db.update(Send)
            .where(Send.id.in_(send_ids))
            .values(status="claimed", campaign_channel_id=row_id, slot=slot, attempts=1)
        )

    claim(live, 0)
    claim(handed + claimed, 1)
    db.session.execute(
        db.update(CampaignChannel).where(CampaignChannel.id == row_id).values(handed=str(live))
    )
    db.session.add(CampaignChannelSlot(campaign_channel_id=row_id, slot=1, handed=str(handed)))
    db.session.commit()
    get_redis().set(lock_key(row_id, 0), lock_value(), ex=60)  # slot 0's loop runs (here)

    outcome = ChannelLoop(row_id, slot=1).run()

    assert outcome.state == "done"  # slot 0 holds the rest: it finishes the campaign
    assert {s.id: s.status for s in sends_of(db, campaign.id) if s.id in live} == {
        live[0]: "claimed",
        live[1]: "claimed",
    }
    assert db.session.get(Send, handed[0]).status == "in_doubt"
    assert statuses(db, campaign.id) == {"claimed": 2, "in_doubt": 1, "sent": 5}
    assert received(brevo) == collections.Counter(emails[3:])
    assert db.session.get(CampaignChannel, row_id).handed == str(live), "slot 0's record kept"
    assert db.session.get(Campaign, campaign.id).status == "running"


def queued_slots(row_id: int) -> list[int]:
    """The slots of the row whose loop is queued (0: the row's first)."""
    queue = Queue(SEND, connection=get_redis())
    jobs = [j for j in queue.get_jobs() if j.func_name == "jobs.campaigns.run_channel"]
    return sorted(j.args[1] if len(j.args) > 1 else 0 for j in jobs if j.args[0] == row_id)


def test_one_loop_per_row_by_default_and_more_when_the_row_asks(app, db, brevo):
    emails = [f"d{i}@example.com" for i in range(3)]
    channel = brevo_channel(db, brevo)
    campaign = make_campaign(db, [make_list(db, "L", emails)], [channel])
    launch_now(db, campaign)
    row_id = campaign.channels[0].id
    Queue(SEND, connection=get_redis()).empty()
    assert ChannelLoop(row_id).run().state == "done"
    assert queued_slots(row_id) == [], "no other loop started"
    assert received(brevo) == collections.Counter(emails)

    campaign = make_campaign(db, [make_list(db, "M", emails)], [channel])
    launch_now(db, campaign)
    row_id = loops_on(db, campaign, 3)
    Queue(SEND, connection=get_redis()).empty()
    assert ChannelLoop(row_id).run().state == "done"
    assert queued_slots(row_id) == [1, 2], "the first loop started two more"


def test_extra_loops_leave_while_a_frequency_paces_the_row(app, db, brevo):
    campaign = make_campaign(
        db,
        [make_list(db, "L", ["a@example.com", "b@example.com"])],
        [brevo_channel(db, brevo)],
        rows=[{"frequency_minutes": 10.0}],
    )
    launch_now(db, campaign)
    row_id = loops_on(db, campaign, 4)
    assert ChannelLoop(row_id, slot=2).run().state == "done", "one message at a time"
    assert brevo.accepted == 0
    assert ChannelLoop(row_id).run().state == "waiting"
    assert brevo.accepted == 1


# ------------------------------------------------------------------ real worker processes


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def holder_pid(row_id: int, slot: int) -> int | None:
    value = get_redis().get(lock_key(row_id, slot))
    return int(value.split()[1]) if value and len(value.split()) == 3 else None


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_several_loops_on_a_row_one_killed_mail_everyone_once(app, db, spawn_worker):
    total = 900
    emails = [f"m{i}@example.com" for i in range(total)]
    with BrevoServer(latency=0.05) as server:
        channel = brevo_channel(db, server, rate_per_second=RATE)
        campaign = make_campaign(db, [make_list(db, "L", emails)], [channel])
        row_id = loops_on(db, campaign, 3)
        workers = [spawn_worker("send", MAILER_HTTP_CONCURRENCY=CONCURRENCY) for _ in range(3)]
        lifecycle.schedule(campaign)

        # Every loop sends: wait for slot 2's loop to send, then kill its whole worker.
        def slot_2_sent() -> bool:
            return any(s.slot == 2 and s.status == "sent" for s in sends_of(db, campaign.id))

        wait_for(lambda: holder_pid(row_id, 2) is not None and slot_2_sent())
        horse = holder_pid(row_id, 2)
        (victim,) = [w for w in workers if w.pid == parent_of(horse)]
        os.killpg(victim.pid, signal.SIGKILL)
        with_horse = [horse] if Path(f"/proc/{horse}").exists() else []
        for pid in with_horse:  # the job child, if RQ put it in a group of its own
            os.kill(pid, signal.SIGKILL)
        victim.wait()
        assert len(server.requests) < total, "killed before the end"

        spawn_worker(MAILER_HTTP_CONCURRENCY=CONCURRENCY)  # a replacement, also running ticks

        def completed_with_ticks() -> bool:  # as the scheduler would run the minute tick
            if status_of(db, campaign.id) == "completed":
                return True
            enqueue(TICKS, "jobs.ticks.campaigns_tick")
            time.sleep(1)
            return False

        wait_for(completed_with_ticks, timeout=180)

        sends = sends_of(db, campaign.id)
        in_doubt = check_exactly_once(sends, server, max_in_doubt=RATE // 4)  # one chunk
        assert {s.slot for s in in_doubt} <= {2}, "only the dead loop's chunk is in doubt"
        assert sum(1 for s in sends if s.status == "sent") + len(in_doubt) == total
        slots = collections.Counter(s.slot for s in sends if s.status == "sent")
        assert len(slots) == 3, f"three loops sent the row: {slots}"


@pytest.mark.slow
def test_pause_and_resume_with_several_loops(app, db, spawn_worker):
    total = 600
    emails = [f"p{i}@example.com" for i in range(total)]
    with BrevoServer(latency=0.05) as server:
        channel = brevo_channel(db, server, rate_per_second=100)
        campaign = make_campaign(db, [make_list(db, "L", emails)], [channel])
        row_id = loops_on(db, campaign, 3)
        for _ in range(3):
            spawn_worker("send", MAILER_HTTP_CONCURRENCY=CONCURRENCY)
        lifecycle.schedule(campaign)
        wait_for(lambda: sent_count(db, campaign.id) >= 100)

        lifecycle.pause(db.session.get(Campaign, campaign.id))
        redis = get_redis()
        wait_for(lambda: not any(redis.exists(lock_key(row_id, k)) for k in range(3)))
        paused_at = len(server.requests)
        sends = sends_of(db, campaign.id)
        assert paused_at < total, "paused before the end"
        assert collections.Counter(s.status for s in sends)["sent"] == paused_at
        assert {s.status for s in sends} == {"sent", "pending"}, "claims given back"
        assert status_of(db, campaign.id) == "paused"

        lifecycle.resume(db.session.get(Campaign, campaign.id))
        wait_for(lambda: status_of(db, campaign.id) == "completed", timeout=120, step=0.5)
        sends = sends_of(db, campaign.id)
        check_exactly_once(sends, server, max_in_doubt=0)
        assert received(server) == collections.Counter(emails)
        assert len({s.slot for s in sends}) > 1, "several loops sent after the resume too"


def test_a_probing_row_tests_the_provider_with_one_loop_then_starts_the_others(app, db, brevo):
    emails = [f"t{i}@example.com" for i in range(12)]
    campaign = make_campaign(db, [make_list(db, "L", emails)], [brevo_channel(db, brevo)])
    launch_now(db, campaign)
    row_id = loops_on(db, campaign, 3)
    row = db.session.get(CampaignChannel, row_id)
    row.retry_at, row.self_pauses = utcnow(), 1  # the tick un-paused it: probing
    db.session.commit()
    Queue(SEND, connection=get_redis()).empty()

    assert ChannelLoop(row_id, slot=1).run().state == "done", "not while probing"
    assert brevo.accepted == 0
    assert ChannelLoop(row_id).run().state == "done"
    assert db.session.get(CampaignChannel, row_id).resumed_at is not None
    assert queued_slots(row_id) == [1, 2], "the others started once the provider answered"
    assert received(brevo) == collections.Counter(emails)
