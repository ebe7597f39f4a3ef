"""Real worker processes: shared rate limits, kill -9 and SIGTERM mid-campaign.

The promise checked here: a campaign completes after its worker died; no recipient receives two
messages; every send ends in exactly one of sent / failed / suppressed / in doubt; at most one
chunk is in doubt per killed worker, and none after a polite stop.
"""

from __future__ import annotations

import collections
import os
import signal
import time

import pytest

from mailer.campaigns import lifecycle
from mailer.models import Campaign, Send
from mailer.queue import TICKS, enqueue
from tests.factories import brevo_channel, make_campaign, make_list, smtp_channel
from tests.fixtures.workers import wait_for
from tests.servers.brevo import BrevoServer
from tests.servers.smtp import SmtpSink

pytestmark = pytest.mark.slow
FINAL = {"sent", "failed", "suppressed", "in_doubt"}


def sent_count(db, campaign_id) -> int:
    db.session.commit()
    return db.session.scalar(
        db.select(db.func.count())
        .select_from(Send)
        .where(Send.campaign_id == campaign_id, Send.status == "sent")
    )


def recipients(server: BrevoServer | SmtpSink) -> list[str]:
    """Whom the local provider received a message for, one entry per message."""
    if isinstance(server, SmtpSink):
        return [m.rcpt_tos[0] for m in server.messages]
    return [r.json["to"][0]["email"] for r in server.requests]


def final_and_received(db, campaign, server):
    db.session.commit()
    sends = db.session.scalars(db.select(Send).filter_by(campaign_id=campaign.id)).all()
    return sends, collections.Counter(recipients(server))


TRANSPORTS = {
    "brevo": (lambda: BrevoServer(latency=0.05), brevo_channel),
    "smtp": (lambda: SmtpSink(latency=0.05), smtp_channel),
}


def check_promise(sends, received, max_in_doubt):
    assert {s.status for s in sends} <= FINAL, collections.Counter(s.status for s in sends)
    duplicates = {email: n for email, n in received.items() if n > 1}
    assert duplicates == {}, f"recipients mailed twice: {duplicates}"
    for send in sends:
        if send.status == "sent":
            assert received[send.email] == 1, send.email
    in_doubt = [s for s in sends if s.status == "in_doubt"]
    assert len(in_doubt) <= max_in_doubt
    return in_doubt


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_kill_9_mid_campaign_then_another_worker_finishes(app, db, spawn_worker, transport):
    start_server, make_channel = TRANSPORTS[transport]
    with start_server() as server:
        channel = make_channel(db, server, rate_per_second=100)
        campaign = make_campaign(
            db, [make_list(db, "L", [f"k{i}@example.com" for i in range(300)])], [channel]
        )
        first = spawn_worker()
        lifecycle.schedule(campaign)
        wait_for(lambda: sent_count(db, campaign.id) >= 60)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        assert len(recipients(server)) < 300, "killed before the end"

        spawn_worker()
        time.sleep(2.5)  # the dead loop's row lock expires (MAILER_ROW_LOCK_TTL=2)
        enqueue(TICKS, "jobs.ticks.campaigns_tick")  # the minute tick wakes orphaned rows
        wait_for(
            lambda: (
                db.session.get(Campaign, campaign.id).status == "completed" or db.session.commit()
            )
        )
        sends, received = final_and_received(db, campaign, server)
        in_doubt = check_promise(sends, received, max_in_doubt=100)  # one chunk at 100/s
        assert len(sends) == 300
        assert sum(1 for s in sends if s.status == "sent") + len(in_doubt) == 300


def test_sigterm_finishes_the_chunk_and_leaves_nothing_in_doubt(app, db, spawn_worker):
    with BrevoServer(latency=0.05) as server:
        channel = brevo_channel(db, server, rate_per_second=100)
        campaign = make_campaign(
            db, [make_list(db, "L", [f"t{i}@example.com" for i in range(250)])], [channel]
        )
        first = spawn_worker()
        lifecycle.schedule(campaign)
        wait_for(lambda: sent_count(db, campaign.id) >= 50)
        os.killpg(first.pid, signal.SIGTERM)  # a deploy: the worker and its job child
        assert first.wait(timeout=30) is not None
        spawn_worker()
        wait_for(
            lambda: (
                db.session.get(Campaign, campaign.id).status == "completed" or db.session.commit()
            )
        )
        sends, received = final_and_received(db, campaign, server)
        check_promise(sends, received, max_in_doubt=0)
        assert all(s.status == "sent" for s in sends) and len(received) == 250


def test_two_worker_processes_share_the_channel_rate_limit(app, db, spawn_worker):
    rate = 20
    with BrevoServer() as server:
        channel = brevo_channel(db, server, rate_per_second=rate)
        mailing_list = make_list(db, "L", [f"r{i}@example.com" for i in range(120)])
        campaign = make_campaign(db, [mailing_list], [channel, channel])  # two rows, one channel
        spawn_worker()
        spawn_worker()
        lifecycle.schedule(campaign)
        wait_for(
            lambda: (
                db.session.get(Campaign, campaign.id).status == "completed" or db.session.commit()
            ),
            timeout=60,
        )
        assert server.accepted == 120
        rows = {r.id: r.sent_count for r in db.session.get(Campaign, campaign.id).channels}
        assert all(n > 0 for n in rows.values()), f"both rows sent: {rows}"
        times = sorted(r.received_at for r in server.requests)
        # Token bucket: in any window of w seconds at most rate*w + its burst (a quarter of the
        # rate), with room left for delivery jitter between the workers and this server.
        for i, start in enumerate(times):
            for w in (1.0, 2.0, 3.0):
                inside = sum(1 for t in times[i:] if t - start < w)
                assert inside <= rate * w + rate, (w, inside)
        elapsed = times[-1] - times[0]
        assert elapsed >= (120 - rate) / rate * 0.9, "sent no faster than the limit allows"
