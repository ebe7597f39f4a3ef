"""Redis restarted empty mid-campaign (a crash without persistence): the worker and the
scheduler ride it out, the scheduler registers its ticks again, and the campaign completes by
itself with every recipient mailed exactly once."""

from __future__ import annotations

import collections
import time

import pytest

from mailer.campaigns import lifecycle
from mailer.models import Campaign, Send
from tests.factories import brevo_channel, make_campaign, make_list
from tests.fixtures.workers import wait_for
from tests.servers.brevo import BrevoServer

pytestmark = pytest.mark.slow


def sent_count(db, campaign_id) -> int:
    db.session.commit()
    return db.session.scalar(
        db.select(db.func.count())
        .select_from(Send)
        .where(Send.campaign_id == campaign_id, Send.status == "sent")
    )


def received(server: BrevoServer) -> collections.Counter:
    return collections.Counter(r.json["to"][0]["email"] for r in server.requests)


def quiet_for(server: BrevoServer, seconds: float):
    """A condition: the provider received nothing new for ``seconds``."""
    seen = {"n": -1, "since": time.monotonic()}

    def check() -> bool:
        n = len(server.requests)
        if n != seen["n"]:
            seen["n"], seen["since"] = n, time.monotonic()
        return time.monotonic() - seen["since"] >= seconds

    return check


def completed(db, campaign_id) -> bool:
    db.session.commit()
    return db.session.get(Campaign, campaign_id).status == "completed"


def test_redis_restarted_empty_mid_campaign_sending_resumes(
    app, db, own_redis, spawn_worker, spawn_scheduler
):
    addresses = [f"o{i}@example.com" for i in range(200)]
    with BrevoServer(latency=0.02) as server:
        channel = brevo_channel(db, server, rate_per_second=10)
        campaign = make_campaign(db, [make_list(db, "L", addresses)], [channel])
        worker = spawn_worker("send,ticks")
        scheduler = spawn_scheduler()
        lifecycle.schedule(campaign)
        wait_for(lambda: sent_count(db, campaign.id) >= 30, timeout=120)

        own_redis.stop()
        wait_for(quiet_for(server, 3.0), timeout=60)  # the loop noticed and stopped sending
        assert len(server.requests) < len(addresses), "stopped before the end"
        own_redis.start()  # empty: no queues, no locks, no tick schedule

        wait_for(lambda: completed(db, campaign.id), timeout=120)
        assert worker.poll() is None and scheduler.poll() is None, "both rode it out"
        counts = received(server)
        assert {a for a, n in counts.items() if n > 1} == set(), "mailed twice"
        assert set(counts) == set(addresses)
        db.session.commit()
        statuses = collections.Counter(
            db.session.scalars(db.select(Send.status).filter_by(campaign_id=campaign.id))
        )
        assert statuses == {"sent": len(addresses)}
