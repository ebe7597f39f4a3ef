"""Campaign lifecycle, audience and launch.

Every status change goes through `transition`, which knows the allowed moves. Views and the
API only flip statuses; channel workers read the status between chunks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from redis.exceptions import RedisError
from sqlalchemy import and_, case, delete, func, insert, literal, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from mailer import dispatch
from mailer.extensions import db
from mailer.lib.errors import NotAllowed
from mailer.models import (
    Campaign,
    CampaignAudience,
    CampaignChannel,
    CampaignStatus,
    Segment,
    Send,
    SendStatus,
    Subscriber,
    SubscriberStatus,
    Suppression,
    Template,
)
from mailer.models.base import utcnow
from mailer.services import segments as segments_service

log = logging.getLogger(__name__)

S = CampaignStatus
TRANSITIONS: dict[CampaignStatus, set[CampaignStatus]] = {
    S.DRAFT: {S.PROCESSING, S.SCHEDULED, S.CANCELLED},
    S.PROCESSING: {S.SCHEDULED, S.DRAFT, S.FAILED, S.CANCELLED},
    S.SCHEDULED: {S.RUNNING, S.DRAFT, S.CANCELLED, S.FAILED},
    S.RUNNING: {S.PAUSED, S.COMPLETED, S.CANCELLED, S.FAILED},
    S.PAUSED: {S.RUNNING, S.CANCELLED},
    S.COMPLETED: set(),
    S.CANCELLED: set(),
    S.FAILED: {S.DRAFT},
}
EDITABLE = {S.DRAFT, S.PROCESSING, S.SCHEDULED}
# A launch writes 1M sends in about 10 s; one not done after this long has lost its orchestrator.
LAUNCH_GRACE = timedelta(minutes=15)
LAUNCH_LOCK_SECONDS = dispatch.LAUNCH_SECONDS  # the launch job's time limit
# Addresses a launch writes (and commits) first: its rows start mailing them at once while it
# writes the rest, instead of after the whole audience (about 10 s per million).
HEAD = 2000


def can_transition(campaign: Campaign, to: CampaignStatus) -> bool:
    return CampaignStatus(to) in TRANSITIONS[CampaignStatus(campaign.status)]


def transition(
    campaign: Campaign,
    to: CampaignStatus,
    *,
    expect: CampaignStatus | None = None,
    commit: bool = True,
) -> Campaign:
    """Move `campaign` to `to`, atomically against concurrent movers; NotAllowed otherwise."""
    current = CampaignStatus(expect or campaign.status)
    to = CampaignStatus(to)
    if to not in TRANSITIONS[current]:
        raise NotAllowed(f"A {current.value} campaign cannot become {to.value}.")
    values = {"status": to.value, "updated_at": utcnow()}
    if to == S.RUNNING and campaign.started_at is None:
        values["started_at"] = utcnow()
    if to in (S.COMPLETED, S.CANCELLED, S.FAILED):
        values["finished_at"] = utcnow()
    changed = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status == current.value)
        .values(**values)
    ).rowcount
    if not changed:
        db.session.rollback()
        now_status = db.session.scalar(select(Campaign.status).where(Campaign.id == campaign.id))
        raise NotAllowed(f"The campaign is {now_status} now; it cannot become {to.value}.")
    if commit:
        db.session.commit()
    db.session.refresh(campaign)
    return campaign


# ------------------------------------------------------------------ audience


def _audience_condition(audience: CampaignAudience):
    """Members of one audience entry: its list, narrowed by its segment."""
    condition = Subscriber.list_id == audience.list_id
    if audience.segment_id:
        segment = db.session.get(Segment, audience.segment_id)
        if segment is not None:
            condition = and_(
                condition, segments_service.expression(segment.conditions, segment.match)
            )
    return condition


def _audience_filter(campaign: Campaign):
    """Subscribed members of the campaign's lists, each list narrowed by its segment."""
    parts = [_audience_condition(audience) for audience in campaign.audiences]
    return or_(*parts) if parts else literal(False)


def _first_audience(campaign: Campaign):
    """Per address, the id of the first audience entry (lowest id) listing it; None when no
    entry has a template of its own (every send then renders the campaign's template)."""
    audiences = sorted(campaign.audiences, key=lambda a: a.id)
    if not any(a.template_id or a.html for a in audiences):
        return None
    return func.min(case(*[(_audience_condition(a), a.id) for a in audiences]))


def _not_suppressed():
    return ~select(Suppression.id).where(Suppression.email == Subscriber.email).exists()


@dataclass(frozen=True)
class AudienceEstimate:
    recipients: int  # distinct subscribed, unsuppressed addresses
    excluded: int  # distinct addresses left out: unsubscribed, bounced, complained, suppressed


def estimate(campaign: Campaign) -> AudienceEstimate:
    where = _audience_filter(campaign)
    everyone = _addresses(where)
    recipients = _addresses(
        where, Subscriber.status == SubscriberStatus.SUBSCRIBED.value, _not_suppressed()
    )
    return AudienceEstimate(recipients, everyone - recipients)


def _addresses(*where) -> int:
    """How many distinct addresses the subscribers matching ``where`` have."""
    return db.session.scalar(select(func.count(func.distinct(Subscriber.email))).where(*where)) or 0


def materialise(campaign: Campaign, then: Callable[[], object] | None = None) -> int:
    """Create one pending send per distinct recipient, set-based, in address order: the first
    HEAD addresses in one INSERT … SELECT, committed, then ``then()`` (the launch starts the
    rows, which mail them while the rest is written), then the rest in a second one.

    Idempotent and resumable: it writes only the addresses after the last one written (the
    same subscriber is chosen per address because MIN(id) is deterministic). When an audience
    entry has a template of its own, each send also records the first entry listing its address.
    """
    last = _last_written(campaign.id)
    if last is None:
        _write_sends(campaign, limit=HEAD)
        db.session.commit()
        last = _last_written(campaign.id)
        if last is not None and then is not None:
            then()
    if last is not None:
        _write_sends(campaign, after=last)
    return db.session.scalar(select(func.count()).where(Send.campaign_id == campaign.id)) or 0


def _last_written(campaign_id: int) -> str | None:
    return db.session.scalar(select(func.max(Send.email)).where(Send.campaign_id == campaign_id))


def _write_sends(campaign: Campaign, *, limit: int | None = None, after: str | None = None):
    """One INSERT … SELECT of the distinct recipients: the first ``limit`` addresses, or every
    address after ``after``."""
    columns = [
        literal(campaign.id).label("campaign_id"),
        func.min(Subscriber.id).label("subscriber_id"),
        Subscriber.email,
        literal(SendStatus.PENDING.value).label("status"),
        literal(0).label("attempts"),
    ]
    first_audience = _first_audience(campaign)
    if first_audience is not None:
        columns.append(first_audience.label("audience_id"))
    where = [
        _audience_filter(campaign),
        Subscriber.status == SubscriberStatus.SUBSCRIBED.value,
        _not_suppressed(),
    ]
    if after is not None:
        where.append(Subscriber.email > after)
    chosen = select(*columns).where(*where).group_by(Subscriber.email)
    if limit is not None:
        chosen = chosen.order_by(Subscriber.email).limit(limit)
    db.session.execute(insert(Send).from_select([c.name for c in columns], chosen))


def audience_contents(campaign: Campaign) -> dict[int, tuple[str, str | None]]:
    """(html, text) of each audience entry with a template of its own, by audience id: the
    copy taken when the campaign was created, else the template's current content."""
    out: dict[int, tuple[str, str | None]] = {}
    for audience in campaign.audiences:
        if audience.html:
            out[audience.id] = (audience.html, audience.text)
        elif audience.template_id:
            template = db.session.get(Template, audience.template_id)
            if template is not None:
                out[audience.id] = (template.html, template.text)
    return out


def counters(campaign_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Send.status, func.count())
        .where(Send.campaign_id == campaign_id)
        .group_by(Send.status)
    )
    result = {s.value: 0 for s in SendStatus}
    result.update(dict(rows.all()))
    return result


def row_counters(campaign_id: int) -> dict[int, dict[str, int]]:
    rows = db.session.execute(
        select(Send.campaign_channel_id, Send.status, func.count())
        .where(Send.campaign_id == campaign_id, Send.campaign_channel_id.is_not(None))
        .group_by(Send.campaign_channel_id, Send.status)
    )
    out: dict[int, dict[str, int]] = {}
    for row_id, status, n in rows:
        out.setdefault(row_id, {})[status] = n
    return out


# ------------------------------------------------------------------ operator actions


def pause(campaign: Campaign) -> Campaign:
    return transition(campaign, S.PAUSED)


def resume(campaign: Campaign) -> Campaign:
    """Resume a paused campaign; rows that stopped themselves on errors start again too."""
    if campaign.status == S.RUNNING.value:
        if not any(row.paused_reason for row in campaign.channels):
            raise NotAllowed("The campaign is already running.")
        resume_rows(campaign)
        return campaign
    transition(campaign, S.RUNNING, commit=False)
    resume_rows(campaign)
    return campaign


def resume_rows(campaign: Campaign) -> None:
    db.session.execute(
        update(CampaignChannel)
        .where(CampaignChannel.campaign_id == campaign.id)
        .values(paused_reason=None)
    )
    db.session.commit()
    start_channel_workers(campaign)


def cancel(campaign: Campaign) -> Campaign:
    transition(campaign, S.CANCELLED, commit=False)
    db.session.execute(
        update(Send)
        .where(Send.campaign_id == campaign.id, Send.status == SendStatus.PENDING.value)
        .values(status=SendStatus.CANCELLED.value)
    )
    db.session.commit()
    return campaign


def retry_in_doubt(campaign: Campaign) -> int:
    """The operator checked the provider: send the in-doubt ones again."""
    n = db.session.execute(
        update(Send)
        .where(Send.campaign_id == campaign.id, Send.status == SendStatus.IN_DOUBT.value)
        .values(status=SendStatus.PENDING.value, next_attempt_at=None)
    ).rowcount
    db.session.commit()
    if n and campaign.status == S.COMPLETED.value:
        # Completed with in-doubt sends: reopen for them.
        db.session.execute(
            update(Campaign)
            .where(Campaign.id == campaign.id)
            .values(status=S.RUNNING.value, finished_at=None)
        )
        db.session.commit()
    if n and campaign.status in (S.RUNNING.value, S.COMPLETED.value):
        start_channel_workers(campaign)
    return n


# ------------------------------------------------------------------ launching


def schedule(campaign: Campaign, when: datetime | None = None) -> Campaign:
    """Ready to go: at `when` (naive UTC) or at the next tick / at once."""
    db.session.execute(update(Campaign).where(Campaign.id == campaign.id).values(scheduled_at=when))
    transition(campaign, S.SCHEDULED)
    if when is None or when <= utcnow():
        enqueue_launch(campaign)
    return campaign


def enqueue_launch(campaign: Campaign):
    return dispatch.launch_campaign(campaign.id)


def launch(campaign_id: int) -> Campaign | None:
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
    from mailer.queue import get_redis

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
            .values(status=S.FAILED.value, error=f"Launch failed: {exc}", finished_at=utcnow())
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
        everyone = _addresses(_audience_filter(campaign))
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


def _wake(rows) -> list[int]:
    """Enqueue a channel job for each of ``rows`` that has no live loop."""
    from mailer.queue import get_redis

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


def on_import_finished(campaign_id: int) -> None:
    """A file uploaded for a processing campaign finished importing: when all have, the
    campaign is scheduled (and launched if due); a failed import sends it back to draft."""
    from mailer.models import Import, ImportStatus

    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != S.PROCESSING.value:
        return
    states = set(db.session.scalars(select(Import.status).where(Import.campaign_id == campaign_id)))
    if states & {ImportStatus.QUEUED.value, ImportStatus.RUNNING.value}:
        return
    try:
        _after_imports(campaign, states)
    except NotAllowed:
        db.session.rollback()  # another caller moved it first (the launch view or a 2nd job)


def _after_imports(campaign: Campaign, states: set[str]) -> None:
    from mailer.models import ImportStatus

    campaign_id = campaign.id
    if ImportStatus.FAILED.value in states:
        db.session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(error="An uploaded contact file could not be imported: see its import report.")
        )
        transition(campaign, S.DRAFT, expect=S.PROCESSING)
        return
    transition(campaign, S.SCHEDULED, expect=S.PROCESSING)
    if campaign.scheduled_at is None or campaign.scheduled_at <= utcnow():
        enqueue_launch(campaign)


def delete_campaign(campaign: Campaign) -> None:
    if CampaignStatus(campaign.status) not in (S.DRAFT, S.CANCELLED, S.COMPLETED, S.FAILED):
        raise NotAllowed("Pause or cancel the campaign before deleting it.")
    db.session.execute(delete(Send).where(Send.campaign_id == campaign.id))
    db.session.delete(campaign)
    db.session.commit()


def rows_of(campaign: Campaign) -> list[CampaignChannel]:
    return list(campaign.channels)


def add_audience(campaign: Campaign, list_id: int, segment_id: int | None = None) -> None:
    db.session.add(
        CampaignAudience(campaign_id=campaign.id, list_id=list_id, segment_id=segment_id)
    )
    db.session.commit()
