"""The sending engine against local provider servers."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from rq import SimpleWorker

from mailer.campaigns import audience, lifecycle
from mailer.campaigns import launch as campaign_launch
from mailer.engine import campaign_state
from mailer.engine.campaign_send.loop import ChannelLoop
from mailer.engine.campaign_send.state import Clock
from mailer.lib import tokens
from mailer.lib.errors import NotAllowed
from mailer.models import Campaign, CampaignChannel, Send, Subscriber, Suppression
from mailer.models.base import utcnow
from mailer.queue import SEND, get_redis, set_worker_app
from tests.factories import (
    brevo_channel,
    launch_now,
    launched_on_brevo,
    make_campaign,
    make_list,
    smtp_channel,
    statuses,
)


def work(app):
    set_worker_app(app)
    SimpleWorker([SEND], connection=get_redis()).work(burst=True)


def tick(app, db):
    """One campaigns tick, and the jobs it enqueued, run to the end."""
    from jobs.ticks import campaigns_tick
    from mailer.queue import TICKS, enqueue

    enqueue(TICKS, campaigns_tick)
    set_worker_app(app)
    SimpleWorker([TICKS, SEND], connection=get_redis()).work(burst=True)
    db.session.expire_all()


# ------------------------------------------------------------------ lifecycle and audience


def test_lifecycle_allows_only_the_documented_moves(db):
    campaign = make_campaign(db, [], [])
    for refused in ("running", "paused", "completed"):
        with pytest.raises(NotAllowed):
            campaign_state.transition(campaign, refused)
    campaign_state.transition(campaign, "scheduled")
    campaign_state.transition(campaign, "running")
    campaign_state.transition(campaign, "paused")
    with pytest.raises(NotAllowed):
        campaign_state.transition(campaign, "scheduled")
    campaign_state.transition(campaign, "running")
    campaign_state.transition(campaign, "completed")
    for refused in ("paused", "cancelled", "draft"):  # running: retried failed sends
        with pytest.raises(NotAllowed):
            campaign_state.transition(campaign, refused)


def test_a_stale_status_cannot_win_a_race(db):
    campaign = make_campaign(db, [], [], status="scheduled")
    with db.engine.begin() as other_process:  # another worker launched it meanwhile
        other_process.execute(db.update(Campaign).values(status="running"))
    with pytest.raises(NotAllowed, match="is sending now"):
        campaign_state.transition(campaign, "running", expect="scheduled")


def test_audience_dedupes_across_lists_and_excludes_unsubscribed_and_suppressed(db):
    a = make_list(db, "A", ["x@example.com", "y@example.com", "z@example.com"])
    b = make_list(db, "B", ["y@example.com", "w@example.com"])
    c = make_list(db, "C", ["gone@example.com"], status="unsubscribed")
    db.session.add(Suppression(email="z@example.com", reason="complaint"))
    db.session.commit()
    campaign = make_campaign(db, [a, b, c], [])
    estimate = audience.estimate(campaign)
    assert (estimate.recipients, estimate.excluded) == (3, 2)
    assert campaign_launch.materialise(campaign) == 3
    assert campaign_launch.materialise(campaign) == 3, "launch twice creates nothing twice"
    sends = db.session.scalars(db.select(Send.email).filter_by(campaign_id=campaign.id))
    assert sorted(sends) == ["w@example.com", "x@example.com", "y@example.com"]


def test_launch_records_the_audience_and_the_addresses_left_out(app, db, brevo):
    a = make_list(db, "A", ["x@example.com", "y@example.com", "z@example.com"])
    b = make_list(db, "B", ["y@example.com", "gone@example.com"])
    db.session.add(Suppression(email="z@example.com", reason="complaint"))
    db.session.execute(
        db.update(Subscriber)
        .where(Subscriber.email == "gone@example.com")
        .values(status="unsubscribed")
    )
    db.session.commit()
    campaign = make_campaign(db, [a, b], [brevo_channel(db, brevo)])
    lifecycle.schedule(campaign)
    work(app)
    db.session.refresh(campaign)
    assert (campaign.status, campaign.audience_size, campaign.excluded_count) == ("completed", 2, 2)
    assert sorted(r.json["to"][0]["email"] for r in brevo.requests) == [
        "x@example.com",
        "y@example.com",
    ]


def test_audience_narrowed_by_a_segment(db):
    from mailer.models import Segment

    people = make_list(db, "P", [])
    for address, city in [("a@example.com", "Oslo"), ("b@example.com", "Rome")]:
        db.session.add(Subscriber(list_id=people.id, email=address, attributes={"city": city}))
    segment = Segment(
        list_id=people.id,
        name="Oslo",
        match="all",
        conditions=[
            {
                "field": "attribute",
                "attribute": "city",
                "op": "eq",
                "value": "Oslo",
            }
        ],
    )
    db.session.add(segment)
    db.session.commit()
    campaign = make_campaign(db, [], [])
    audience.add_audience(campaign, people.id, segment.id)
    assert audience.estimate(campaign).recipients == 1


# ------------------------------------------------------------------ sending


def test_campaign_runs_through_a_real_worker_to_the_provider(app, db, brevo):
    emails = [f"user{i}@example.com" for i in range(30)]
    campaign = make_campaign(db, [make_list(db, "L", emails)], [brevo_channel(db, brevo)])
    lifecycle.schedule(campaign)  # enqueues the orchestrator
    work(app)
    db.session.refresh(campaign)
    assert campaign.status == "completed"
    assert campaign.audience_size == 30
    assert statuses(db, campaign.id) == {"sent": 30}
    assert brevo.accepted == 30
    bodies = [r.json for r in brevo.requests]
    first = next(b for b in bodies if b["to"][0]["email"] == "user3@example.com")
    assert first["subject"] == "Hello User3"
    unsubscribe = first["headers"]["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://mailer.test/u/c")
    assert first["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    send = db.session.scalar(db.select(Send).filter_by(email="user3@example.com"))
    assert tokens.parse(unsubscribe[len("<http://mailer.test/u/") : -1]) == ("c", send.id)
    assert send.provider_message_id and send.sent_at
    row = db.session.scalar(db.select(CampaignChannel))
    assert row.sent_count == 30


def test_smtp_channel_sends_well_formed_messages(app, db, smtp_sink):
    campaign = make_campaign(
        db,
        [make_list(db, "L", ["ann@example.com", "bob@example.com"])],
        [smtp_channel(db, smtp_sink)],
        subject="Grüße, {{ first_name }}",
    )
    launch_now(db, campaign)
    outcome = ChannelLoop(campaign.channels[0].id).run()
    assert outcome.state == "done" and outcome.sent == 2
    messages = {m.rcpt_tos[0]: m.message() for m in smtp_sink.messages}
    ann = messages["ann@example.com"]
    assert ann["Subject"] == "Grüße, Ann"
    assert ann["From"] == "Newsroom <news@example.com>"
    assert ann["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert ann["Feedback-ID"].endswith(":mailer")
    assert ann.get_content_type() == "multipart/alternative"


def test_transient_errors_retry_with_backoff_then_succeed(app, db, brevo):
    campaign = make_campaign(
        db, [make_list(db, "L", ["a@example.com"])], [brevo_channel(db, brevo)]
    )
    launch_now(db, campaign)
    brevo.fail(503, times=1, retry_after=120)
    now = [utcnow()]
    clock = Clock(now=lambda: now[0], sleep=lambda s: None)
    runner = ChannelLoop(campaign.channels[0].id, clock=clock, slice_seconds=0.5)
    runner.run()
    send = db.session.scalar(db.select(Send))
    assert (send.status, send.attempts) == ("pending", 1)
    assert "503" in send.error or "unavailable" in send.error.lower()
    assert send.next_attempt_at >= now[0] + timedelta(seconds=119), "Retry-After honoured"
    now[0] = send.next_attempt_at + timedelta(seconds=1)
    assert ChannelLoop(campaign.channels[0].id, clock=clock).run().state == "done"
    db.session.refresh(send)
    assert (send.status, send.attempts) == ("sent", 2)
    assert brevo.accepted == 1


def test_permanent_errors_fail_the_send_with_the_reason(app, db, brevo):
    campaign = make_campaign(
        db, [make_list(db, "L", ["ok@example.com", "bad@example.com"])], [brevo_channel(db, brevo)]
    )
    launch_now(db, campaign)
    brevo.reject("bad@example.com", 400)
    assert ChannelLoop(campaign.channels[0].id).run().state == "done"
    assert statuses(db, campaign.id) == {"sent": 1, "failed": 1}
    bad = db.session.scalar(db.select(Send).filter_by(email="bad@example.com"))
    assert bad.error and bad.attempts == 1
    assert db.session.get(Campaign, campaign.id).status == "completed"


# Issue 16: string work on a 100k string in nested loops (13-22 s a render), and a list of
# lists sharing one string, printed (hundreds of MB).
SLOW = (
    '{% set a = "x" * 100000 %}{% for i in range(1000) %}{% for j in range(99) %}'
    "{{ a.upper()|length }}{% endfor %}{% endfor %}"
)
HUGE = '{% set b = ["x" * 1000] * 1000 %}{% set c = [b] * 1000 %}{{ c }}'


@pytest.mark.parametrize(
    ("attack", "reason"),
    [
        (SLOW, "rendering took longer than 300 ms and was stopped"),
        (HUGE, "a value the template builds would be longer than 2,000,000 characters"),
    ],
)
def test_a_recipient_over_the_render_budget_fails_with_the_reason_and_the_rest_is_sent(
    app, db, brevo, attack, reason
):
    html = (
        "<p>Hi {{ first_name }}!</p>{% if attributes.vip %}" + attack + "{% endif %}"
        '<a href="{{ unsubscribe_url }}">unsubscribe</a>'
    )
    emails = ["a@example.com", "vip@example.com", "c@example.com"]
    campaign = make_campaign(
        db, [make_list(db, "L", emails)], [brevo_channel(db, brevo)], html=html
    )
    vip = db.session.scalar(db.select(Subscriber).filter_by(email="vip@example.com"))
    vip.attributes = {"vip": True}
    db.session.commit()
    lifecycle.schedule(campaign)
    work(app)
    assert statuses(db, campaign.id) == {"sent": 2, "failed": 1}
    assert sorted(r.json["to"][0]["email"] for r in brevo.requests) == [
        "a@example.com",
        "c@example.com",
    ]
    failed = db.session.scalar(db.select(Send).filter_by(email="vip@example.com"))
    assert failed.error.startswith(f"template: HTML body of “Spring sale”: {reason}")
    assert db.session.get(Campaign, campaign.id).status == "completed"


def test_a_burst_of_errors_pauses_the_row_and_says_why(app, db, brevo, monkeypatch):
    from mailer.engine.campaign_send import chunks

    monkeypatch.setattr(chunks, "ERROR_BURST", 3)
    campaign = make_campaign(
        db,
        [make_list(db, "L", [f"u{i}@example.com" for i in range(9)])],
        [brevo_channel(db, brevo, rate_per_second=3)],
    )
    launch_now(db, campaign)
    brevo.fail(401, times=None)
    outcome = ChannelLoop(campaign.channels[0].id).run()
    assert outcome.state == "paused"
    row = db.session.get(CampaignChannel, campaign.channels[0].id)
    assert "failed sends in a row" in row.paused_reason
    assert ChannelLoop(row.id).run().state == "paused", "stays stopped until resumed"

    brevo.clear_faults()
    lifecycle.resume(db.session.get(Campaign, campaign.id))  # the operator fixed the key
    work(app)
    assert db.session.get(CampaignChannel, row.id).paused_reason is None
    assert statuses(db, campaign.id) == {"sent": 6, "failed": 3}


def test_sends_suppressed_after_launch_are_skipped(app, db, brevo):
    campaign = make_campaign(
        db, [make_list(db, "L", ["a@example.com", "b@example.com"])], [brevo_channel(db, brevo)]
    )
    launch_now(db, campaign)
    db.session.add(Suppression(email="b@example.com", reason="complaint"))
    db.session.commit()
    ChannelLoop(campaign.channels[0].id).run()
    assert statuses(db, campaign.id) == {"sent": 1, "suppressed": 1}
    assert brevo.accepted == 1


def test_pause_resume_and_cancel_take_effect_within_a_chunk(app, db, brevo):
    campaign = make_campaign(
        db,
        [make_list(db, "L", [f"u{i}@example.com" for i in range(10)])],
        [brevo_channel(db, brevo, rate_per_second=2)],
    )
    launch_now(db, campaign)
    row_id = campaign.channels[0].id
    lifecycle.pause(campaign)
    assert ChannelLoop(row_id).run().state == "not_running"
    assert brevo.accepted == 0
    campaign_state.transition(campaign, "running")
    ChannelLoop(row_id, slice_seconds=0.6).run()
    sent = brevo.accepted
    assert 1 <= sent < 10
    lifecycle.cancel(campaign)
    assert ChannelLoop(row_id).run().state == "not_running"
    counts = statuses(db, campaign.id)
    assert counts == {"sent": sent, "cancelled": 10 - sent}


def test_daily_maximum_and_start_date_make_the_row_wait_with_a_reason(app, db, brevo):
    campaign = make_campaign(
        db,
        [make_list(db, "L", [f"u{i}@example.com" for i in range(5)])],
        [brevo_channel(db, brevo)],
        rows=[{"daily_max": 2}],
    )
    launch_now(db, campaign)
    row_id = campaign.channels[0].id
    outcome = ChannelLoop(row_id).run()
    assert outcome.state == "waiting" and "daily maximum reached until" in outcome.reason
    assert brevo.accepted == 2
    row = db.session.get(CampaignChannel, row_id)
    assert row.waiting_reason.startswith("daily maximum")
    db.session.execute(
        db.update(CampaignChannel)
        .where(CampaignChannel.id == row_id)
        .values(daily_max=None, start_at=datetime(2999, 1, 1))
    )
    db.session.commit()
    outcome = ChannelLoop(row_id).run()
    assert outcome.state == "waiting" and outcome.reason.startswith("starts at 2999-01-01")


def test_frequency_spaces_messages_on_a_row(app, db, brevo):
    campaign = make_campaign(
        db,
        [make_list(db, "L", [f"u{i}@example.com" for i in range(3)])],
        [brevo_channel(db, brevo)],
        rows=[{"frequency_minutes": 10}],
    )
    launch_now(db, campaign)
    outcome = ChannelLoop(campaign.channels[0].id).run()
    assert brevo.accepted == 1
    assert outcome.state == "waiting" and outcome.reason.startswith("frequency: next message")


def test_schedule_in_the_future_is_launched_by_the_tick(app, db, brevo):
    campaign = make_campaign(
        db, [make_list(db, "L", ["a@example.com"])], [brevo_channel(db, brevo)]
    )
    lifecycle.schedule(campaign, utcnow() + timedelta(hours=1))
    tick(app, db)
    assert db.session.get(Campaign, campaign.id).status == "scheduled"
    db.session.execute(
        db.update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(scheduled_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    tick(app, db)
    assert db.session.get(Campaign, campaign.id).status == "completed"
    assert brevo.accepted == 1


@pytest.mark.parametrize("left_by", ["this version", "a version before migration 0007"])
def test_a_dead_loops_claims_are_recovered_and_handed_over_sends_are_in_doubt(
    app, db, brevo, left_by
):
    campaign = launched_on_brevo(db, brevo, 4)
    row_id = campaign.channels[0].id
    ids = sorted(db.session.scalars(db.select(Send.id)))
    # A loop that died: two sends claimed (not yet sent), one handed to the provider.
    db.session.execute(
        db.update(Send)
        .where(Send.id.in_(ids[:3]))
        .values(status="claimed", campaign_channel_id=row_id)
    )
    if left_by == "this version":
        db.session.execute(
            db.update(CampaignChannel)
            .where(CampaignChannel.id == row_id)
            .values(handed=f"[{ids[2]}]")
        )
    else:  # it marked the sends it handed over
        db.session.execute(db.update(Send).where(Send.id == ids[2]).values(status="sending"))
    db.session.commit()
    assert ChannelLoop(row_id).run().state == "done"
    assert db.session.get(Send, ids[2]).status == "in_doubt"
    assert statuses(db, campaign.id) == {"sent": 3, "in_doubt": 1}
    assert brevo.accepted == 3
    assert lifecycle.retry_in_doubt(db.session.get(Campaign, campaign.id)) == 1


def test_only_one_loop_per_row_at_a_time(app, db, brevo):
    campaign = make_campaign(
        db, [make_list(db, "L", ["a@example.com"])], [brevo_channel(db, brevo)]
    )
    launch_now(db, campaign)
    row_id = campaign.channels[0].id
    get_redis().set(f"mailer:lock:cc:{row_id}", "someone-else", ex=30)
    assert ChannelLoop(row_id).run().state == "busy"
    assert brevo.accepted == 0


def test_rendered_messages_carry_tokens_that_verify(app, db):
    assert tokens.parse(tokens.make("c", 12345)) == ("c", 12345)
    forged = tokens.make("c", 12345)[:-2] + "AA"
    assert tokens.parse(forged) is None
    assert tokens.parse("c9ix.whatever") is None
    assert tokens.parse("") is None


def test_two_rows_share_one_pool(app, db, brevo, smtp_sink):
    campaign = make_campaign(
        db,
        [make_list(db, "L", [f"u{i}@example.com" for i in range(40)])],
        [brevo_channel(db, brevo, rate_per_second=10), smtp_channel(db, smtp_sink)],
    )
    launch_now(db, campaign)
    first, second = (r.id for r in campaign.channels)
    ChannelLoop(first, slice_seconds=0).run()  # one chunk, then hands over
    ChannelLoop(second).run()
    ChannelLoop(first).run()
    assert statuses(db, campaign.id) == {"sent": 40}
    assert brevo.accepted + len(smtp_sink.messages) == 40
    assert len(smtp_sink.messages) > 0 and brevo.accepted > 0


class SteppedClock(Clock):
    """A clock whose sleeps only move it on."""

    def __init__(self) -> None:
        self.t = 0.0
        self.now = utcnow
        self.monotonic = lambda: self.t
        self.sleep = self._sleep

    def _sleep(self, seconds: float) -> None:
        self.t += seconds


class OrchestratorKilled(Exception):
    pass


FIVE = [f"u{i}@example.com" for i in range(5)]


def on_brevo(db, brevo, addresses: list[str] = FIVE) -> Campaign:
    return make_campaign(db, [make_list(db, "L", addresses)], [brevo_channel(db, brevo)])


def running_to(db, brevo, addresses: list[str] = FIVE) -> Campaign:
    """A campaign that has just turned running, its sends not written yet."""
    campaign = on_brevo(db, brevo, addresses)
    campaign_state.transition(campaign, "scheduled")
    campaign_state.transition(campaign, "running")
    return campaign


def mailed(brevo) -> list[str]:
    return [r.json["to"][0]["email"] for r in brevo.requests]


def assert_everyone_mailed_once(db, brevo, campaign: Campaign) -> None:
    db.session.rollback()  # a fresh read: the jobs committed in sessions of their own
    done = db.session.get(Campaign, campaign.id)
    assert (done.status, done.audience_size) == ("completed", len(FIVE))
    assert sorted(mailed(brevo)) == FIVE


def test_rows_mail_the_first_addresses_while_the_launch_writes_the_rest(
    app, db, brevo, monkeypatch
):
    monkeypatch.setattr(campaign_launch, "HEAD", 2)
    addresses = [f"u{i}@example.com" for i in (3, 0, 4, 1, 2)]
    campaign = running_to(db, brevo, addresses)
    row_id = campaign.channels[0].id
    seen = []

    def a_worker_runs_the_row():  # what the launch does once the first addresses are written
        seen.append(ChannelLoop(row_id, clock=SteppedClock()).run())
        seen.append(db.session.get(CampaignChannel, row_id).waiting_reason)

    assert campaign_launch.materialise(campaign, then=a_worker_runs_the_row) == 5
    outcome, shown = seen
    assert sorted(mailed(brevo)) == ["u0@example.com", "u3@example.com"], "the list's first two"
    # With nothing more to send it waited for the launch, then left: the campaign was not
    # completed, and the page says why the row waits.
    assert (outcome.state, outcome.sent) == ("waiting", 2)
    assert shown == "the launch is still writing the audience"
    assert db.session.get(Campaign, campaign.id).status == "running"


def test_a_launch_mails_everyone_once_whatever_its_first_step_wrote(app, db, brevo, monkeypatch):
    monkeypatch.setattr(campaign_launch, "HEAD", 2)
    campaign = on_brevo(db, brevo)
    launch_now(db, campaign)
    assert get_redis().llen(f"rq:queue:{SEND}") >= 1, "the rows started with the first step"
    work(app)
    assert_everyone_mailed_once(db, brevo, campaign)


def test_a_launch_that_cannot_start_its_rows_early_starts_them_once_all_is_written(
    app, db, brevo, monkeypatch
):
    from redis.exceptions import ConnectionError as RedisDown
    from rq import Queue

    monkeypatch.setattr(campaign_launch, "HEAD", 2)
    campaign = on_brevo(db, brevo)
    enqueue, calls = Queue.enqueue, []

    def redis_restarting_once(queue, *args, **kwargs):
        calls.append(args[0])
        if len(calls) == 1:  # the rows' early start, between the launch's two steps
            raise RedisDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return enqueue(queue, *args, **kwargs)

    monkeypatch.setattr(Queue, "enqueue", redis_restarting_once)
    launch_now(db, campaign)
    assert db.session.get(Campaign, campaign.id).status == "running", "the launch went on"
    work(app)
    assert_everyone_mailed_once(db, brevo, campaign)


def test_no_row_completes_a_launch_in_progress_and_the_tick_resumes_one_that_died(
    app, db, brevo, monkeypatch
):
    monkeypatch.setattr(campaign_launch, "HEAD", 2)
    campaign = running_to(db, brevo)
    # A row started before the launch wrote anything (a launch can outlast the minute tick)
    # finds nothing to send: it waits, then leaves, and nobody completes the campaign.
    assert ChannelLoop(campaign.channels[0].id, clock=SteppedClock()).run().state == "waiting"
    assert db.session.get(Campaign, campaign.id).status == "running"

    def killed():
        raise OrchestratorKilled

    # The orchestrator dies after its first step (kill -9 between its two transactions).
    with pytest.raises(OrchestratorKilled):
        campaign_launch.materialise(campaign, then=killed)
    tick(app, db)  # the launch may still be at work: left alone
    assert brevo.accepted == 0
    assert db.session.get(Campaign, campaign.id).status == "running"
    # Once the grace period is over, the tick writes the rest of the sends and starts the
    # rows: everyone is mailed once.
    db.session.execute(
        db.update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(started_at=utcnow() - campaign_launch.LAUNCH_GRACE - timedelta(minutes=1))
    )
    db.session.commit()
    tick(app, db)
    assert_everyone_mailed_once(db, brevo, campaign)


def test_a_launch_resumes_one_that_died_whatever_order_it_wrote_in(app, db, brevo):
    """An older version wrote sends in address order; resumed by this one (an upgrade in the
    middle of a launch), each member still gets one send."""
    addresses = [f"u{i}@example.com" for i in (3, 0, 4, 1, 2)]
    campaign = running_to(db, brevo, addresses)
    members = {s.email: s.id for s in db.session.scalars(db.select(Subscriber))}
    for email in ("u0@example.com", "u1@example.com"):  # the first two by address
        db.session.add(Send(campaign_id=campaign.id, subscriber_id=members[email], email=email))
    db.session.commit()

    assert campaign_launch.materialise(campaign) == 5
    written = db.session.scalars(db.select(Send.email).filter_by(campaign_id=campaign.id))
    assert sorted(written) == sorted(addresses)


MALFORMED = {  # as another tool might write them to the sends or messages table
    "nobody.example.com": "invalid address: missing @",
    "two@@example.com": "invalid address: more than one @",
    "x@example.com\r\nBcc: victim@example.com": "invalid address: contains spaces",
    "padded@example.com\n": "invalid address: surrounding whitespace or line break",
}


def test_a_malformed_address_in_the_sends_table_fails_and_never_reaches_the_provider(
    app, db, brevo
):
    campaign = launched_on_brevo(db, brevo, len(MALFORMED) + 2)
    ids = sorted(db.session.scalars(db.select(Send.id).filter_by(campaign_id=campaign.id)))
    for send_id, address in zip(ids, MALFORMED, strict=False):
        db.session.execute(db.update(Send).where(Send.id == send_id).values(email=address))
    db.session.commit()

    assert ChannelLoop(campaign.channels[0].id).run().state == "done"

    received = [r.json["to"][0]["email"] for r in brevo.requests]
    assert sorted(received) == sorted(
        db.session.scalars(db.select(Send.email).where(Send.id.in_(ids[len(MALFORMED) :])))
    )
    db.session.expire_all()
    for send_id, address in zip(ids, MALFORMED, strict=False):
        send = db.session.get(Send, send_id)
        assert (send.status, send.error) == ("failed", MALFORMED[address])
    assert statuses(db, campaign.id) == {"sent": 2, "failed": len(MALFORMED)}
