"""Launching a campaign: the orchestrator job writes one send per recipient and starts the
channel rows; the minute tick launches due campaigns and repairs launches and rows whose job
died. See docs/architecture.md ("Launch") for the crash protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from redis.exceptions import RedisError
from sqlalchemy import func, insert, literal, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from mailer import dispatch
from mailer.campaigns import audience
from mailer.engine.campaign_send import messages as send_messages
from mailer.engine.campaign_state import transition
from mailer.extensions import db
from mailer.lib.errors import NotAllowed
from mailer.models import (
    Campaign,
    CampaignChannel,
    CampaignStatus,
    Send,
    SendStatus,
    Subscriber,
    SubscriberStatus,
)
from mailer.models.base import utcnow
from mailer.queue import get_redis

log = logging.getLogger(__name__)

S = CampaignStatus
# A launch writes 1M sends in about 10 s; one not done after this long has lost its orchestrator.
LAUNCH_GRACE = timedelta(minutes=15)
LAUNCH_LOCK_SECONDS = dispatch.LAUNCH_SECONDS  # the launch job's time limit
# Addresses a launch writes (and commits) first: its rows start mailing them at once while it
# writes the rest, instead of after the whole audience (about 10 s per million).
HEAD = 2000


def enqueue_launch(campaign: Campaign):
    return dispatch.launch_campaign(campaign.id)


def orchestrate(campaign_id: int) -> Campaign | None:
    """Orchestrator: claim the scheduled campaign, materialise its sends, start its rows. For
    a running campaign whose sends were never all written (the tick's repair when its first
    orchestrator died), write them: it is idempotent."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        return None
    if campaign.status == S.RUNNING.value and campaign.materialised_at is None:
        return _materialise_and_start(campaign)
    if campaign.status != S.SCHEDULED.value:
        return campaign
    if campaign.scheduled_at and campaign.scheduled_at > utcnow():
        return campaign
    try:
        transition(campaign, S.RUNNING)
    except NotAllowed:
        return campaign  # someone else launched it
    return _materialise_and_start(campaign)


def stranded_launches(now: datetime | None = None) -> list[int]:
    """Running campaigns whose launch started over LAUNCH_GRACE ago and never finished."""
    cutoff = (now or utcnow()) - LAUNCH_GRACE
    return list(
        db.session.scalars(
            select(Campaign.id).where(
                Campaign.status == S.RUNNING.value,
                Campaign.materialised_at.is_(None),
                Campaign.started_at < cutoff,
            )
        )
    )


def _materialise_and_start(campaign: Campaign) -> Campaign:
    """Write the campaign's sends (one orchestrator at a time), then start its rows."""
    lock = f"mailer:lock:launch:{campaign.id}"
    if not get_redis().set(lock, "1", nx=True, ex=LAUNCH_LOCK_SECONDS):
        return campaign  # its orchestrator is still at it
    try:
        size = materialise(campaign, then=partial(_start_rows_early, campaign))
        db.session.execute(
            update(Campaign)
            .where(Campaign.id == campaign.id)
            .values(audience_size=size, materialised_at=utcnow())
        )
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        db.session.execute(
            update(Campaign)
            .where(Campaign.id == campaign.id)
            .values(
                status=S.FAILED.value,
                error=send_messages.LAUNCH_FAILED % {"error": exc},
                finished_at=utcnow(),
            )
        )
        db.session.commit()
        raise
    finally:
        get_redis().delete(lock)
    db.session.refresh(campaign)
    if size:
        _wake(campaign.channels)  # rows that mailed the first addresses and left meanwhile
    _record_excluded(campaign, size)  # after the rows started: the first emails do not wait
    if not size:
        transition(campaign, S.COMPLETED)
    return campaign


def _start_rows_early(campaign: Campaign) -> None:
    """Start the rows on the first addresses written. Not worth failing the launch for: once
    it has written them all, it wakes the rows anyway."""
    try:
        start_channel_workers(campaign)
    except RedisError:
        log.warning("campaign %s: rows not started early (Redis unavailable)", campaign.id)


def _record_excluded(campaign: Campaign, size: int) -> None:
    """Count the audience's addresses left out at launch (unsubscribed or suppressed)."""
    try:
        everyone = audience.count_addresses(
            audience.audience_filter(campaign), lists=audience.list_ids(campaign)
        )
        db.session.execute(
            update(Campaign)
            .where(Campaign.id == campaign.id)
            .values(excluded_count=max(0, everyone - size))
        )
        db.session.commit()
    except SQLAlchemyError:  # a figure for the page; the campaign is running: do not fail it
        db.session.rollback()
        log.warning("campaign %s: could not count the excluded addresses", campaign.id)


def start_channel_workers(campaign: Campaign) -> list:
    """One long-running worker job per channel row (never one job per email)."""
    return [dispatch.run_channel(row.id) for row in campaign.channels]


def wake_rows() -> list[int]:
    """Enqueue a channel job for every row of a running campaign that has no live loop (once
    its launch has written its sends: the launch starts the rows itself)."""
    rows = db.session.scalars(
        select(CampaignChannel)
        .join(Campaign, Campaign.id == CampaignChannel.campaign_id)
        .where(
            Campaign.status == S.RUNNING.value,
            Campaign.materialised_at.is_not(None),
            CampaignChannel.paused_reason.is_(None),
        )
    ).all()
    return _wake(rows)


def wake(campaign: Campaign) -> list[int]:
    """Enqueue a channel job for each row of the campaign that has no live loop (sends put
    back to pending, e.g. retried failed ones)."""
    return _wake(campaign.channels)


def _wake(rows) -> list[int]:
    """Enqueue a channel job for each of ``rows`` that has no live loop."""
    woken = []
    for row in rows:
        if not get_redis().exists(f"mailer:lock:cc:{row.id}"):
            dispatch.run_channel(row.id)
            woken.append(row.id)
    return woken


def due_campaigns(now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Campaign.id).where(
                Campaign.status == S.SCHEDULED.value,
                or_(Campaign.scheduled_at.is_(None), Campaign.scheduled_at <= now),
            )
        )
    )


def start_due() -> list[int]:
    """The minute tick: enqueue the orchestrator of every campaign whose time has come."""
    due = due_campaigns()
    for campaign_id in due:
        dispatch.launch_campaign(campaign_id)
    return due


def restart_stranded() -> list[int]:
    """The minute tick: launch again the campaigns whose orchestrator died (idempotent)."""
    stranded = stranded_launches()
    for campaign_id in stranded:
        dispatch.launch_campaign(campaign_id)
    return stranded


# ------------------------------------------------------------------ writing the sends


def materialise(campaign: Campaign, then: Callable[[], object] | None = None) -> int:
    """Write one pending send per distinct recipient, the first HEAD first (then ``then()``),
    the rest after; a launch that died is resumed where it stopped. Returns the count."""
    write = _write_by_subscriber if audience.one_list(campaign) else _write_by_address
    if db.session.scalar(select(Send.id).where(Send.campaign_id == campaign.id).limit(1)):
        write(campaign, resume=True)  # a launch that died
        return _written(campaign.id)
    head = write(campaign, limit=HEAD)
    db.session.commit()
    if then is not None and head:
        then()
    return head + write(campaign, after_head=True)  # counting 10M rows again takes 12 s


def _written(campaign_id: int) -> int:
    return db.session.scalar(select(func.count()).where(Send.campaign_id == campaign_id)) or 0


def _insert(campaign: Campaign, subscriber_id, first_audience, chosen, few=False) -> int:
    """Insert the chosen members' sends; returns how many."""
    columns = [
        literal(campaign.id).label("campaign_id"),
        subscriber_id.label("subscriber_id"),
        Subscriber.email,
        literal(SendStatus.PENDING.value).label("status"),
        literal(0).label("attempts"),
    ]
    if first_audience is not None:
        columns.append(first_audience.label("audience_id"))
    chosen = chosen.with_only_columns(*columns).where(
        audience.audience_filter(campaign),
        Subscriber.status == SubscriberStatus.SUBSCRIBED.value,
        audience.not_suppressed(audience.list_ids(campaign), few=few),
    )
    return db.session.execute(insert(Send).from_select([c.name for c in columns], chosen)).rowcount


def _write_by_subscriber(campaign: Campaign, *, limit=None, after_head=False, resume=False) -> int:
    """One list, so a member is an address: no grouping. One INSERT … SELECT in subscriber
    order (the list's order, and the sends' unique index's): the first ``limit`` members,
    the members after those (``after_head``), or every member not written yet (``resume``:
    one index lookup each, whatever order the launch that died wrote in)."""
    chosen = select(Subscriber.id).order_by(Subscriber.id).limit(limit)
    if after_head:
        last = db.session.scalar(
            select(func.max(Send.subscriber_id)).where(Send.campaign_id == campaign.id)
        )
        chosen = chosen.where(Subscriber.id > (last or 0))
    if resume:  # MariaDB reads the rows into a temporary table first (same table): rare
        written = select(Send.id).where(
            Send.campaign_id == campaign.id, Send.subscriber_id == Subscriber.id
        )
        chosen = chosen.where(~written.exists())
    return _insert(
        campaign, Subscriber.id, audience.first_audience(campaign), chosen, limit is not None
    )


def _write_by_address(campaign: Campaign, *, limit=None, after_head=False, resume=False) -> int:
    """Several lists: one send per distinct address (its lowest subscriber id), in address
    order: the first ``limit`` addresses, or every address after the last written."""
    chosen = select(Subscriber.email).group_by(Subscriber.email)
    if limit is not None:
        chosen = chosen.order_by(Subscriber.email).limit(limit)
    last = db.session.scalar(select(func.max(Send.email)).where(Send.campaign_id == campaign.id))
    if (after_head or resume) and last is not None:
        chosen = chosen.where(Subscriber.email > last)
    first = audience.first_audience(campaign, grouped=True)
    return _insert(campaign, func.min(Subscriber.id), first, chosen)  # groups every member
