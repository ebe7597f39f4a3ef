"""Retention: the nightly tick prunes what its settings no longer keep (config.py,
MAILER_RETENTION_*; 0 keeps a kind forever), in batches of bounded deletes by primary key, each
committed on its own, so no lock is held for long and a run cut short goes on the next night.

A campaign's figures are counted from its sends and events, so a finished campaign's figures
are archived (frozen) before any of them is pruned (docs/architecture.md, "Retention").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Table, delete, select, update

from mailer.campaigns import reports, stats
from mailer.extensions import db
from mailer.models import (
    Campaign,
    CampaignStatus,
    Event,
    FeedbackPayload,
    InstallationValue,
    Message,
    Send,
)
from mailer.models.base import utcnow
from mailer.models.campaigns import MessageLink, MessageStatus

log = logging.getLogger(__name__)

RUN_SECONDS = 20 * 60  # a run starts no batch after this; the next night goes on
ARCHIVABLE = (CampaignStatus.COMPLETED.value, CampaignStatus.CANCELLED.value)
PRUNED_PAYLOADS = ("processed", "failed")
FINISHED_MESSAGES = tuple(
    s.value for s in MessageStatus if s not in (MessageStatus.QUEUED, MessageStatus.SENDING)
)


@dataclass
class Pruned:
    feedback_payloads: int = 0
    campaigns_archived: int = 0
    campaign_events: int = 0
    sends: int = 0
    events: int = 0  # events of no campaign (transactional mail)
    message_bodies: int = 0
    message_links: int = 0
    finished: bool = True  # False: the run ran out of time, the next one goes on

    def as_dict(self) -> dict:
        return asdict(self)


def prune(now: datetime | None = None, run_seconds: float = RUN_SECONDS) -> Pruned:
    """One retention run: everything older than its setting, oldest first."""
    run = _Run(now or utcnow(), time.monotonic() + run_seconds)
    cfg = current_app.config
    out = Pruned()
    if days := cfg["MAILER_RETENTION_FEEDBACK_DAYS"]:
        out.feedback_payloads = run.feedback_payloads(run.cutoff(days))
    sends_days, events_days = (
        cfg["MAILER_RETENTION_SENDS_DAYS"],
        cfg["MAILER_RETENTION_EVENTS_DAYS"],
    )
    if events_days:
        events_days = max(events_days, cfg["MAILER_SOFT_BOUNCE_WINDOW_DAYS"])
    if sends_days or events_days:
        out.campaigns_archived = run.archive(
            run.cutoff(min(d for d in (sends_days, events_days) if d))
        )
        if events_days:
            out.campaign_events = run.campaign_events(run.cutoff(events_days))
            out.events = run.events(run.cutoff(events_days))
        if sends_days:
            out.sends = run.sends(run.cutoff(sends_days))
    if days := cfg["MAILER_RETENTION_MESSAGE_BODIES_DAYS"]:
        out.message_bodies = run.message_bodies(run.cutoff(days))
    if days := cfg["MAILER_RETENTION_MESSAGE_LINKS_DAYS"]:
        out.message_links = run.message_links(run.cutoff(days))
    out.finished = not run.out_of_time()
    log.info("retention: pruned %s", out.as_dict())
    return out


class _Run:
    def __init__(self, now: datetime, deadline: float) -> None:
        self.now = now
        self.deadline = deadline
        self.batch = max(1, current_app.config["MAILER_RETENTION_BATCH"])

    def cutoff(self, days: int) -> datetime:
        return self.now - timedelta(days=days)

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    # ------------------------------------------------------------ feedback payloads

    def feedback_payloads(self, cutoff: datetime) -> int:
        """Processed and failed payloads received before the cutoff (received ones wait)."""
        t = FeedbackPayload

        def act(rows) -> int:
            ids = [r.id for r in rows if r.status in PRUNED_PAYLOADS]
            return _delete_ids(t.__table__, ids)

        return self._scan(t, (t.status, t.received_at), t.received_at, cutoff, act)

    # ------------------------------------------------------------ campaigns

    def archive(self, cutoff: datetime) -> int:
        """Freeze the figures of campaigns finished before the cutoff: from now on their
        report reads the archive, so pruning their sends and events changes nothing."""
        ids = db.session.scalars(
            select(Campaign.id).where(
                Campaign.status.in_(ARCHIVABLE),
                Campaign.archived_at.is_(None),
                Campaign.finished_at < cutoff,
            )
        ).all()
        db.session.commit()
        archived = 0
        for campaign_id in ids:
            if self.out_of_time():
                break
            archived += archive_campaign(campaign_id)
        return archived

    def campaign_events(self, cutoff: datetime) -> int:
        """Events older than the cutoff of campaigns whose figures are archived."""
        total = 0
        for campaign_id in self._archived(Campaign.archived_at.is_not(None)):
            total += self._delete_where(
                Event, Event.campaign_id == campaign_id, Event.occurred_at < cutoff
            )
        return total

    def sends(self, cutoff: datetime) -> int:
        """Every send of archived campaigns finished before the cutoff."""
        total = 0
        for campaign_id in self._archived(Campaign.finished_at < cutoff):
            total += self._delete_where(Send, Send.campaign_id == campaign_id)
        return total

    def _archived(self, condition) -> Sequence[int]:
        ids = db.session.scalars(
            select(Campaign.id).where(Campaign.archived_at.is_not(None), condition)
        ).all()
        db.session.commit()
        return ids

    # ------------------------------------------------------------ transactional mail

    def events(self, cutoff: datetime) -> int:
        """Events of no campaign (transactional mail) that occurred before the cutoff."""

        def act(rows) -> int:
            return _delete_ids(Event.__table__, [r.id for r in rows if r.campaign_id is None])

        return self._scan(
            Event, (Event.campaign_id, Event.occurred_at), Event.occurred_at, cutoff, act, "events"
        )

    def message_bodies(self, cutoff: datetime) -> int:
        """Content and variables of messages created before the cutoff and no longer sending."""

        def act(rows) -> int:
            ids = [r.id for r in rows if r.status in FINISHED_MESSAGES]
            if not ids:
                return 0
            return db.session.execute(
                update(Message).where(Message.id.in_(ids)).values(payload={})
            ).rowcount

        return self._scan(
            Message,
            (Message.status, Message.created_at),
            Message.created_at,
            cutoff,
            act,
            "message_bodies",
        )

    def message_links(self, cutoff: datetime) -> int:
        """Links of transactional mail not written into a message since the cutoff."""
        return self._delete_where(MessageLink, MessageLink.used_at < cutoff)

    # ------------------------------------------------------------ batches

    def _scan(
        self,
        model,
        columns: tuple,
        age,
        cutoff: datetime,
        act: Callable[[list], int],
        mark: str | None = None,
    ) -> int:
        """Walk the table in primary-key order from the last mark (tables whose rows stay,
        such as messages, keep one) while rows are older than the cutoff, ``act`` on each
        batch, commit. Ids grow with time, so the walk ends at the first young row."""
        after = int(_get(f"retention:{mark}") or 0) if mark else 0
        total = 0
        while not self.out_of_time():
            rows = db.session.execute(
                select(model.id, *columns)
                .where(model.id > after)
                .order_by(model.id)
                .limit(self.batch)
            ).all()
            old = []
            for row in rows:
                if getattr(row, age.key) >= cutoff:
                    break
                old.append(row)
            if old:
                total += act(old)
                after = old[-1].id
                if mark:
                    _set(f"retention:{mark}", str(after))
            db.session.commit()
            if len(old) < self.batch:
                break
        return total

    def _delete_where(self, model, *conditions) -> int:
        """Delete the rows matching ``conditions``, a batch of ids at a time."""
        total = 0
        while not self.out_of_time():
            # No ORDER BY: the index of the conditions gives any batch without a sort.
            ids = db.session.scalars(select(model.id).where(*conditions).limit(self.batch)).all()
            total += _delete_ids(model.__table__, ids)
            db.session.commit()
            if len(ids) < self.batch:
                break
        return total


def _delete_ids(table: Table, ids: list[int]) -> int:
    if not ids:
        return 0
    return db.session.execute(delete(table).where(table.c.id.in_(ids))).rowcount


def archive_campaign(campaign_id: int) -> int:
    """Store a finished campaign's figures as its report shows them, in one transaction (one
    consistent read); 1 when archived, 0 when it was no longer finished or already archived."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.archived_at is not None or campaign.status not in ARCHIVABLE:
        db.session.rollback()
        return 0
    figures = {"stats": stats.snapshot(campaign_id), "report": reports.snapshot(campaign)}
    done = db.session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            Campaign.status == campaign.status,
            Campaign.archived_at.is_(None),
        )
        .values(archived_at=utcnow(), archived_figures=figures)
    ).rowcount
    db.session.commit()
    return done


def _get(name: str) -> str | None:
    return db.session.scalar(select(InstallationValue.value).where(InstallationValue.name == name))


def _set(name: str, value: str) -> None:
    row = db.session.scalar(select(InstallationValue).where(InstallationValue.name == name))
    if row is None:
        db.session.add(InstallationValue(name=name, value=value))
    else:
        row.value = value
