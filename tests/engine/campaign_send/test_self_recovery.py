"""Self-recovery with real worker processes: a row paused by a burst of provider errors is
tried again by the minute tick and resumes by itself once the provider recovered; a loop whose
job child was killed is taken over at once, not after its row lock's TTL."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from mailer.campaigns import lifecycle
from mailer.engine.campaign_send.loop import ChannelLoop
from mailer.engine.campaign_send.state import holder_is_dead, lock_value
from mailer.models import Campaign, CampaignChannel, Send
from mailer.queue import TICKS, enqueue, get_redis
from tests.factories import brevo_channel, launch_now, make_campaign, make_list
from tests.fixtures.workers import wait_for
from tests.servers.brevo import BrevoServer

FINAL = {"sent", "failed", "suppressed", "in_doubt"}


class CountingBrevo(BrevoServer):
    """Records whom it accepted a message for (failed requests are recorded too, as sent)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.delivered: list[str] = []

    def handle(self, req):
        reply = super().handle(req)
        if reply.status == 201:
            self.delivered.append(req.json["to"][0]["email"])
        return reply


def fresh_row(db, row_id: int) -> CampaignChannel:
    db.session.commit()
    return db.session.get(CampaignChannel, row_id)


def completed(db, campaign_id: int) -> bool:
    db.session.commit()
    return db.session.get(Campaign, campaign_id).status == "completed"


def sends_of(db, campaign_id: int) -> list[Send]:
    db.session.commit()
    return db.session.scalars(db.select(Send).filter_by(campaign_id=campaign_id)).all()


@pytest.mark.slow
def test_a_row_paused_by_provider_errors_resumes_by_itself(app, db, spawn_worker, client, as_role):
    emails = [f"p{i}@example.com" for i in range(150)]
    with CountingBrevo() as server:
        server.fail(500, times=None)
        channel = brevo_channel(db, server, rate_per_second=200)
        campaign = make_campaign(db, [make_list(db, "L", emails)], [channel])
        row_id = campaign.channels[0].id
        spawn_worker(MAILER_ROW_PROBE_COOLDOWN="1", MAILER_ROW_PROBE_SENDS="3")
        lifecycle.schedule(campaign)
        wait_for(lambda: fresh_row(db, row_id).paused_reason is not None, timeout=90)
        row = fresh_row(db, row_id)
        assert row.paused_reason.startswith("Paused after ")
        assert "failed sends in a row" in row.paused_reason
        assert row.retry_at is not None and row.self_pauses == 1

        as_role("admin")
        page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
        assert "failed sends in a row" in page and "Trying again at" in page

        # Still failing: the tick's probe (a few sends) pauses it again, for longer.
        def tick_until(predicate):
            def check():
                if predicate():
                    return True
                enqueue(TICKS, "jobs.ticks.campaigns_tick")
                time.sleep(0.5)
                return False

            wait_for(check, timeout=90)

        tick_until(lambda: fresh_row(db, row_id).self_pauses >= 2)
        assert fresh_row(db, row_id).paused_reason is not None
        assert db.session.get(Campaign, campaign.id).status == "running"

        server.clear_faults()  # the provider recovered
        tick_until(lambda: fresh_row(db, row_id).resumed_at is not None)
        row = fresh_row(db, row_id)
        assert row.paused_reason is None and row.retry_at is None and row.self_pauses == 0

        # The sends that failed wait for their retry time (30 s), then go.
        wait_for(lambda: completed(db, campaign.id), timeout=180, step=0.5)
        sends = sends_of(db, campaign.id)
        assert {s.status for s in sends} == {"sent"}
        assert collections.Counter(server.delivered) == collections.Counter(emails)
        page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
        assert "Resumed by itself at" in page and "after the provider recovered" in page


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_a_killed_job_child_is_taken_over_before_the_lock_expires(app, db, spawn_worker):
    ttl = 120  # the row lock would outlive the test's deadline below
    emails = [f"k{i}@example.com" for i in range(300)]
    with BrevoServer(latency=0.2) as server:
        channel = brevo_channel(db, server, rate_per_second=50)
        campaign = make_campaign(db, [make_list(db, "L", emails)], [channel])
        worker = spawn_worker("send", MAILER_ROW_LOCK_TTL=str(ttl))
        lifecycle.schedule(campaign)
        wait_for(lambda: len(server.requests) >= 60 and children(worker.pid))
        (horse,) = children(worker.pid)  # the job child running the channel loop
        os.kill(horse, signal.SIGKILL)
        killed_at, before = time.monotonic(), len(server.requests)
        assert before < 300, "killed before the end"

        # No tick: RQ enqueues the job again, and its loop takes over the dead one's row.
        wait_for(lambda: completed(db, campaign.id), timeout=ttl / 2, step=0.25)
        assert worker.poll() is None, "the worker itself lives on"
        resumed = [r.received_at for r in server.requests[before:]]
        assert resumed, "sending resumed"
        assert min(resumed) < killed_at + ttl / 2, "while the old lock was still alive"

        sends = sends_of(db, campaign.id)
        received = collections.Counter(r.json["to"][0]["email"] for r in server.requests)
        assert {s.status for s in sends} <= FINAL
        assert {e: n for e, n in received.items() if n > 1} == {}, "mailed twice"
        in_doubt = [s for s in sends if s.status == "in_doubt"]
        sent = [s for s in sends if s.status == "sent"]
        assert all(received[s.email] == 1 for s in sent)
        assert len(sent) + len(in_doubt) == 300
        assert len(in_doubt) <= 50  # at most the one chunk that was with the provider


def test_a_lock_held_by_a_dead_process_of_this_host_is_taken_over(app, db, brevo):
    gone = subprocess.Popen(["true"])
    gone.wait()
    alive = lock_value()
    dead = alive.replace(f" {os.getpid()} ", f" {gone.pid} ")
    assert holder_is_dead(dead.encode())
    assert not holder_is_dead(alive.encode()), "this process"
    assert not holder_is_dead(b"0123456789abcdef"), "an older value tells nothing"
    assert not holder_is_dead(dead.replace(dead.split()[0], "elsewhere", 1))

    campaign = make_campaign(
        db, [make_list(db, "L", ["a@example.com", "b@example.com"])], [brevo_channel(db, brevo)]
    )
    launch_now(db, campaign)
    row_id = campaign.channels[0].id
    get_redis().set(f"mailer:lock:cc:{row_id}", dead, ex=600)
    assert ChannelLoop(row_id).run().state == "done"
    assert sorted(r.json["to"][0]["email"] for r in brevo.requests) == [
        "a@example.com",
        "b@example.com",
    ]
    get_redis().set(f"mailer:lock:cc:{row_id}", alive, ex=600)
    assert ChannelLoop(row_id).run().state == "busy", "a live holder keeps its row"


def test_a_person_resuming_a_self_paused_row_resumes_it_fully(app, db, brevo, client, as_role):
    from mailer.models.base import utcnow

    campaign = make_campaign(
        db, [make_list(db, "L", ["ann@example.com"])], [brevo_channel(db, brevo)]
    )
    launch_now(db, campaign)
    row = campaign.channels[0]
    row.paused_reason = "Paused after 50 failed sends in a row: HTTP 500"
    row.retry_at, row.self_pauses = utcnow(), 3
    db.session.commit()
    as_role("admin")
    french = client.get(f"/campaigns/{campaign.id}", headers={"Accept-Language": "fr"})
    assert "Arrêté après 50 envois échoués d’affilée\u00a0: HTTP 500" in french.text

    lifecycle.resume(db.session.get(Campaign, campaign.id))

    row = fresh_row(db, row.id)
    assert row.paused_reason is None and row.retry_at is None and row.self_pauses == 0
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Trying again at" not in page and "testing" not in page.lower()
