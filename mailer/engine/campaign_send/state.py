"""A channel loop's state: what it keeps between turns (the chunk out, what every message
shares), and what it re-reads every turn."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from mailer.engine.delivery import Sender, SendOutcome
from mailer.engine.tracking import links as tracking_links
from mailer.extensions import db
from mailer.lib import tokens
from mailer.models import Campaign, CampaignChannel, Channel, Identity
from mailer.models.base import utcnow
from mailer.providers.base import OutboundMessage


@dataclass
class Clock:
    """Time for the loop; tests pass a controllable one."""

    now: Callable[[], datetime] = utcnow
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic


@dataclass
class Outcome:
    """How a loop ended, and what it sent meanwhile."""

    state: str  # done | stopped | waiting | paused | sliced | busy | not_running | lost_lock
    # | redis_down
    sent: int = 0
    failed: int = 0
    reason: str | None = None
    details: dict = field(default_factory=dict)


@dataclass
class RowState:
    """The row's limits and the campaign's status as read at the top of a turn."""

    row_id: int
    channel_id: int
    campaign_status: str
    materialised_at: datetime | None  # None while the launch still writes the sends
    paused_reason: str | None
    waiting_reason: str | None
    start_at: datetime | None
    daily_max: int | None
    frequency_minutes: int | None
    rate_per_second: float | None
    daily_quota: int | None


@dataclass
class MessageParts:
    """What every message of a loop shares, computed once."""

    channel_id: int
    campaign_tag: str
    feedback_id: str
    sender: Sender
    base: str
    mailbox: str | None
    sign: Callable[[str, int], str]
    instrument: tracking_links.Instrumenter  # tracked links, pixel, unsubscribe footer

    @classmethod
    def of(cls, campaign: Campaign, channel: Channel, identity: Identity) -> MessageParts:
        return cls(
            channel_id=channel.id,
            campaign_tag=str(campaign.id),
            feedback_id=f"{campaign.id}:{channel.id}:{identity.id}:mailer",
            sender=Sender.of(identity),
            base=current_app.config["PUBLIC_BASE_URL"].rstrip("/"),
            mailbox=current_app.config["MAILER_UNSUBSCRIBE_MAILTO"],
            sign=tokens.signer(),
            instrument=tracking_links.instrumenter(campaign),
        )


@dataclass
class Chunk:
    """A claimed chunk: its messages for the provider, outcomes known so far, and the
    provider's future once handed over."""

    now: datetime
    messages: list[OutboundMessage] = field(default_factory=list)
    outcomes: list[SendOutcome] = field(default_factory=list)
    attempts: dict[str, tuple[int, int]] = field(default_factory=dict)  # ref -> (id, attempts)
    future: Future | None = None
    staged: bool = False  # handed to the sender's process, not to be sent before "go"

    def sends(self) -> list[int]:
        return [send_id for send_id, _ in self.attempts.values()]


@dataclass(slots=True)
class LoopState:
    """Everything a channel loop keeps between turns (one per loop, made when it starts)."""

    row_id: int
    clock: Clock
    provider: Any = None  # the channel's adapter (or a test's), closed when the loop ends
    lock_key: str = ""
    lock_value: str = field(default_factory=lambda: uuid.uuid4().hex)
    outcome: Outcome = field(default_factory=lambda: Outcome("sliced"))
    campaign_id: int = 0
    channel_id: int = 0
    daily: list[str] = field(default_factory=list)  # the daily counters a claim takes from
    parts: MessageParts | None = None  # what every message of the loop shares
    app: Any = None  # the Flask app, for the claim-ahead thread's app context
    row_paused: str | None = None  # the row's paused reason as last read or set
    consecutive_errors: int = 0
    last_error: str | None = None
    flight: Chunk | None = None  # the chunk with the provider
    ahead: Future | None = None  # the next chunk's claim, running on a thread
    ahead_pool: ThreadPoolExecutor | None = None
    # The row lock vanished (expired, Redis restarted empty): another loop may have recovered
    # this one's claims, so what it still has claimed is left to the next loop's recovery.
    lock_lost: bool = False


def read_row(loop: LoopState) -> RowState:
    """What the loop obeys, fresh from the database: one query (not the ORM objects, which
    expire on every commit)."""
    r = db.session.execute(
        select(
            Campaign.status,
            Campaign.materialised_at,
            CampaignChannel.paused_reason,
            CampaignChannel.waiting_reason,
            CampaignChannel.start_at,
            CampaignChannel.daily_max,
            CampaignChannel.frequency_minutes,
            Channel.rate_per_second,
            Channel.daily_quota,
        )
        .join(Campaign, Campaign.id == CampaignChannel.campaign_id)
        .join(Channel, Channel.id == CampaignChannel.channel_id)
        .where(CampaignChannel.id == loop.row_id)
    ).one()
    loop.row_paused = r.paused_reason
    return RowState(loop.row_id, loop.channel_id, *r)
