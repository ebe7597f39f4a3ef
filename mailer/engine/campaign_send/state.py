"""A channel loop's state: what it keeps between turns (the chunk out, what every message
shares), and what it re-reads every turn."""

from __future__ import annotations

import os
import socket
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
from mailer.engine.rendering.context import PostalAddress
from mailer.engine.tracking import links as tracking_links
from mailer.extensions import db
from mailer.lib import branding, tokens
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
    retry_at: datetime | None  # set while the row paused itself or probes the provider
    self_pauses: int
    loops: int  # loops sending the row at once (its own setting, else MAILER_ROW_LOOPS)

    @property
    def probing(self) -> bool:
        """Resumed by the tick after pausing itself: a few sends test the provider."""
        return self.retry_at is not None and self.paused_reason is None

    @property
    def single(self) -> bool:
        """Only the row's first loop sends: a frequency is one message at a time, and a probe
        is a few sends."""
        return bool(self.frequency_minutes) or self.probing


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
    postal_address: str  # {{ postal_address }}: the branding's, the same in every email

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
            postal_address=PostalAddress(branding.load().address),
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
    slot: int = 0  # which of the row's loops: 0 keeps its record on the row, others in a slot
    lock_key: str = ""
    lock_value: str = field(default_factory=lambda: lock_value())
    lock_ttl: int = 60  # seconds (MAILER_ROW_LOCK_TTL), renewed every turn and while preparing
    outcome: Outcome = field(default_factory=lambda: Outcome("sliced"))
    campaign_id: int = 0
    channel_id: int = 0
    daily: list[str] = field(default_factory=list)  # the daily counters a claim takes from
    parts: MessageParts | None = None  # what every message of the loop shares
    app: Any = None  # the Flask app, for the claim-ahead thread's app context
    row_paused: str | None = None  # the row's paused reason as last read or set
    consecutive_errors: int = 0
    probing: bool = False  # testing the provider with a few sends (RowState.probing)
    self_pauses: int = 0  # the row's pauses on errors in a row, as last read
    recovered: bool = False  # a probe send went through: the row resumes for good
    last_error: str | None = None
    flight: Chunk | None = None  # the chunk with the provider
    ahead: Future | None = None  # the next chunk's claim, running on a thread
    ahead_pool: ThreadPoolExecutor | None = None
    # The row lock vanished (expired, Redis restarted empty): another loop may have recovered
    # this one's claims, so what it still has claimed is left to the next loop's recovery.
    lock_lost: bool = False
    helpers_woken_at: float | None = None  # when the first loop last woke the row's others


def lock_key(row_id: int, slot: int = 0) -> str:
    """The Redis lock of one loop of a row (slot 0's is the row's lock of old)."""
    return f"mailer:lock:cc:{row_id}" if slot == 0 else f"mailer:lock:cc:{row_id}:{slot}"


def row_loops(loops: int | None) -> int:
    """A row's loops: its own setting, else MAILER_ROW_LOOPS; at least one."""
    return max(1, loops or int(current_app.config["MAILER_ROW_LOOPS"]))


def lock_value() -> str:
    """The row lock's value: this process's host and pid (so a loop on the same host can tell
    the holder died), and a unique part."""
    return f"{socket.gethostname()} {os.getpid()} {uuid.uuid4().hex}"


def holder_is_dead(value: bytes | str | None) -> bool:
    """Whether a row lock's value names a process of this host that no longer exists (an
    older value without host and pid, or one of another host, tells nothing: False)."""
    if value is None:
        return False
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    parts = value.split(" ")
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid <= 1 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, another user's
        return False
    return False


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
            CampaignChannel.retry_at,
            CampaignChannel.self_pauses,
            CampaignChannel.loops,
        )
        .join(Campaign, Campaign.id == CampaignChannel.campaign_id)
        .join(Channel, Channel.id == CampaignChannel.channel_id)
        .where(CampaignChannel.id == loop.row_id)
    ).one()
    loop.row_paused = r.paused_reason
    state = RowState(loop.row_id, loop.channel_id, *r[:-1], row_loops(r.loops))
    loop.probing, loop.self_pauses = state.probing, state.self_pauses
    return state
