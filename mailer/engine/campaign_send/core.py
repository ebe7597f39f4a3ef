"""The channel worker: sends a campaign's pending sends through one channel row.

One long-running loop per campaign channel row (never one job per email). Rows of a campaign
draw from one shared pool of pending sends, so a faster channel sends more; each row's own
limits cap it. Each turn of the loop:

1. re-read the campaign (paused/cancelled stop the loop within one chunk) and the row,
2. wait for the row's start date, take frequency, daily and per-second rate allowances
   (atomic Redis operations shared by every worker process),
3. claim a chunk of pending sends (FOR UPDATE SKIP LOCKED on MySQL; one UPDATE … RETURNING on
   SQLite) as "claimed",
4. check suppressions, render each message with the template compiled once, add headers,
5. if the campaign still runs, commit one single-row update of the channel row: this chunk's
   send ids as ``handed`` and the previous chunk's results (the provider worked on it
   meanwhile: claiming and rendering overlap with sending) as ``journal``; then hand the chunk
   to the provider (``submit_batch``: HTTP adapters send on an asyncio loop thread, hundreds of
   requests in flight; SMTP on pooled connections; both from a child process of the loop,
   ``mailer.providers.offload``, so the transport runs on another core than the rendering; the
   child stops when its parent dies),
6. write the journaled results to their sends (and clear the journal) while it is out.

At most one chunk per loop is ever handed over. A deadlock between two loops' transactions
(MySQL) is rolled back and retried.

Crash safety: the loop holds a Redis lock per row; a new loop for the row first writes the
results a dead loop journaled, marks the sends it had handed over in doubt (maybe sent: never
resent blindly) and puts its other claimed sends back to pending (never sent). A loop asked to
stop (SIGTERM) finishes its chunk first, so nothing is left in doubt.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import OperationalError

from mailer.campaigns import lifecycle as campaigns_service
from mailer.engine.rendering import RenderError, compile_email, recipient_context
from mailer.engine.tracking import core as tracking
from mailer.extensions import db
from mailer.lib import dbutil, ratelimit, tokens
from mailer.models import (
    Campaign,
    CampaignChannel,
    CampaignStatus,
    Channel,
    Identity,
    Send,
    SendStatus,
    Template,
)
from mailer.models.base import utcnow
from mailer.providers.base import OutboundMessage, SendResult
from mailer.queue import get_redis

R = TypeVar("R")

MAX_CHUNK = 500
# A row that has mailed what its campaign's launch wrote so far waits for the rest until this
# long (seconds) after its job started, then leaves; the launch wakes it once it wrote them all.
LAUNCH_WAIT = 25
WRITING = "the launch is still writing the audience"
TX_ATTEMPTS = 5  # a loop's transaction is retried this often after a deadlock
LOCK_TTL = 60  # seconds; refreshed every turn
BACKOFF_BASE = 30  # seconds: 30, 60, 120, … capped at BACKOFF_MAX
BACKOFF_MAX = 3600
ERROR_BURST = 50  # consecutive failed sends that pause a row


@dataclass
class Clock:
    """Time for the loop; tests pass a controllable one."""

    now: Callable[[], datetime] = utcnow
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic


@dataclass
class Outcome:
    state: str  # done | stopped | waiting | paused | sliced | busy | not_running
    sent: int = 0
    failed: int = 0
    reason: str | None = None
    details: dict = field(default_factory=dict)


@dataclass
class _RowState:
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
class _Statics:
    """What every message of a loop shares, computed once."""

    channel_id: int
    campaign_tag: str
    feedback_id: str
    from_email: str
    from_name: str | None
    reply_to: str | None
    base: str
    mailbox: str | None
    sign: Callable[[str, int], str]
    instrument: tracking.Instrumenter  # tracked links, pixel, unsubscribe footer

    @classmethod
    def of(cls, campaign: Campaign, channel: Channel, identity: Identity) -> _Statics:
        return cls(
            channel_id=channel.id,
            campaign_tag=str(campaign.id),
            feedback_id=f"{campaign.id}:{channel.id}:{identity.id}:mailer",
            from_email=identity.from_email,
            from_name=identity.from_name or None,
            reply_to=identity.reply_to or None,
            base=current_app.config["PUBLIC_BASE_URL"].rstrip("/"),
            mailbox=current_app.config.get("MAILER_UNSUBSCRIBE_MAILTO"),
            sign=tokens.signer(),
            instrument=tracking.instrumenter(campaign),
        )


@dataclass
class _Chunk:
    """A claimed chunk: its messages for the provider, results known so far, and the
    provider's future once handed over."""

    now: datetime
    messages: list[OutboundMessage] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)
    attempts: dict[str, tuple[int, int]] = field(default_factory=dict)  # ref -> (id, attempts)
    future: Future | None = None
    staged: bool = False  # handed to the sender's process, not to be sent before "go"

    def sends(self) -> list[int]:
        return [send_id for send_id, _ in self.attempts.values()]


class _StopFlag:
    """Set by SIGTERM (RQ warm shutdown, a deploy): finish the chunk, then leave."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not the main thread (tests running loops in threads)
            self._previous = None
        return self

    def _handle(self, *_):
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def _provider_for(channel: Channel):
    """The channel's adapter with the configured parallelism: HTTP APIs take many requests in
    flight (latency-bound), SMTP servers few connections per client."""
    from mailer.providers.base import HttpProvider
    from mailer.services.channels import build_provider, provider_class

    cls = provider_class(channel.provider)
    key = (
        "MAILER_HTTP_CONCURRENCY"
        if cls and issubclass(cls, HttpProvider)
        else "MAILER_SMTP_CONCURRENCY"
    )
    return build_provider(channel, concurrency=int(current_app.config.get(key, 8)))


def _sending_provider(channel: Channel):
    """The channel's adapter for a loop: HTTP and SMTP ones send from a child process
    (``MAILER_SEND_PROCESS``, on by default), so the transport gets a core of its own while
    this process claims, renders and records."""
    from mailer.providers.offload import ProcessSender, offloadable

    provider = _provider_for(channel)
    if current_app.config.get("MAILER_SEND_PROCESS", True) and offloadable(provider):
        return ProcessSender(provider)
    return provider


def max_attempts() -> int:
    return int(current_app.config.get("MAILER_MAX_ATTEMPTS", 5))


def backoff(attempts: int, retry_after: float | None) -> float:
    delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return max(delay, retry_after or 0)


class ChannelRunner:
    def __init__(
        self, row_id: int, *, clock: Clock | None = None, slice_seconds: float = 30, provider=None
    ):
        self.row_id = row_id
        self.clock = clock or Clock()
        self.slice_seconds = slice_seconds
        self.provider = provider
        self.lock_key = f"mailer:lock:cc:{row_id}"
        self.lock_value = uuid.uuid4().hex
        self.consecutive_errors = 0
        self.last_error: str | None = None
        self._flight: _Chunk | None = None  # the chunk with the provider
        self._ahead: Future | None = None  # the next chunk's claim, running on a thread
        self._ahead_pool: ThreadPoolExecutor | None = None

    # -------------------------------------------------------------- the loop

    def run(self) -> Outcome:
        self.lock_ttl = int(current_app.config.get("MAILER_ROW_LOCK_TTL", LOCK_TTL))
        if not get_redis().set(self.lock_key, self.lock_value, nx=True, ex=self.lock_ttl):
            return Outcome("busy", reason="another worker is running this channel row")
        try:
            with _StopFlag() as stop:
                return self._loop(stop)
        finally:
            if self.provider is not None:
                self.provider.close()
            self._release()

    def _release(self) -> None:
        redis = get_redis()
        if redis.get(self.lock_key) == self.lock_value.encode():
            redis.delete(self.lock_key)

    def _loop(self, stop: _StopFlag) -> Outcome:
        row = db.session.get(CampaignChannel, self.row_id)
        if row is None:
            return Outcome("not_running", reason="row deleted")
        self._campaign_id = row.campaign_id
        self._recover(row)
        campaign = db.session.get(Campaign, row.campaign_id)
        channel = db.session.get(Channel, row.channel_id)
        identity = db.session.get(Identity, row.identity_id)
        compiled = self._compile(campaign)
        if self.provider is None:
            self.provider = _sending_provider(channel)
        self._daily = self._daily_names(row, channel)
        self._outcome = Outcome("sliced")
        self._row = row
        self._statics = _Statics.of(campaign, channel, identity)
        self._app = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            return self._turns(stop, row, campaign, channel, compiled)
        except BaseException:
            # Record what the provider answered for the chunk it has, if it can still be had;
            # otherwise the next loop finds it handed over and marks it in doubt.
            with contextlib.suppress(Exception):
                db.session.rollback()
                self._settle()
            raise
        finally:
            with contextlib.suppress(Exception):
                self._give_back_ahead()
            if self._ahead_pool is not None:
                self._ahead_pool.shutdown(wait=True)

    def _turns(self, stop, row, campaign, channel, compiled) -> Outcome:
        """Each turn claims and prepares a chunk while the previous one is with the provider
        (at most one chunk is ever handed over), then journals that one's results and hands
        this one over.
        What can change meanwhile (campaign status, the row's and channel's limits) is read
        in one query a turn, not through the ORM objects (which expire on every commit)."""
        outcome = self._outcome
        started = self.clock.monotonic()
        turns = 0
        while True:
            get_redis().expire(self.lock_key, self.lock_ttl)
            state = self._state()
            leave = self._should_leave(state, stop)
            if leave is None and turns and self.clock.monotonic() - started >= self.slice_seconds:
                leave = ("sliced", None)  # the job hands over to a fresh one of itself
            if leave is not None:
                self._settle()
                return self._leave(*leave)
            turns += 1
            now = self.clock.now()
            if state.start_at and state.start_at > now:
                self._settle()
                return self._wait(state, outcome, f"starts at {state.start_at:%Y-%m-%d %H:%M} UTC")
            claimed, rows = self._claimed_ahead()
            if not claimed:
                wanted, waiting = self._allowance(state, now)
                if waiting:
                    self._settle()
                    if waiting[0] is None:  # nothing to do before the tick relaunches the row
                        return self._wait(state, outcome, waiting[1])
                    self._set_waiting(state, waiting[1])
                    self.clock.sleep(min(waiting[0], 5))
                    continue
                claimed = self._claim_allowed(wanted, now)
            if not claimed:
                self._settle()
                if self._row_paused:
                    return self._leave("paused", self._row_paused)
                if state.materialised_at is None:  # its launch still writes the sends
                    if self.clock.monotonic() - started < LAUNCH_WAIT:
                        self._set_waiting(state, WRITING)
                        self.clock.sleep(0.25)
                        continue
                    return self._wait(state, outcome, WRITING)  # the launch wakes it after
                finished = self._finish_if_done(campaign)
                if finished:
                    outcome.state = "done"
                    return outcome
                if self._due_left(self._campaign_id, now):  # locked by a concurrent claim
                    self.clock.sleep(0.1)
                    continue
                retry_at = self._next_retry(self._campaign_id)
                if retry_at is None:  # other rows hold the rest; they will finish it
                    outcome.state = "done"
                    return outcome
                self._set_waiting(state, f"retrying failed sends at {retry_at:%H:%M:%S} UTC")
                self.clock.sleep(min(5.0, max(0.05, (retry_at - now).total_seconds())))
                continue
            self._set_waiting(state, None)
            self._claim_ahead(state)
            chunk = self._prepare(compiled, claimed, rows)
            self._stage(chunk)
            # Journal the previous chunk's results and hand this one over in one transaction,
            # unless the campaign stopped running meanwhile (pause/cancel take effect within a
            # chunk); its sends get their results while this one is out.
            results = self._land()
            go = not (stop.requested or self._row_paused or self._bursting())
            marked = go and self._tx(partial(self._journal_and_mark, results, chunk))
            if marked:
                self._hand_over(chunk)
            self._record(results, journaled=marked)
            if marked:
                continue
            self._discard(chunk)
            self._pause_on_burst()
            self._give_back(claimed)
            leave = self._should_leave(self._state(), stop) or ("not_running", None)
            return self._leave(*leave)

    def _state(self) -> _RowState:
        """What the loop obeys, fresh from the database: one query."""
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
            .where(CampaignChannel.id == self.row_id)
        ).one()
        self._row_paused = r.paused_reason
        return _RowState(self.row_id, self._statics.channel_id, *r)

    def _should_leave(self, state: _RowState, stop: _StopFlag) -> tuple[str, str | None] | None:
        """Why the loop must stop now (campaign not running, row paused, SIGTERM), or None."""
        if state.campaign_status != CampaignStatus.RUNNING.value:
            return "not_running", f"campaign is {state.campaign_status}"
        if state.paused_reason:
            return "paused", state.paused_reason
        if stop.requested:
            return "stopped", None
        return None

    def _leave(self, state: str, reason: str | None) -> Outcome:
        self._outcome.state = state
        if reason is not None:
            self._outcome.reason = reason
        return self._outcome

    def _bursting(self) -> bool:
        return self.consecutive_errors >= ERROR_BURST

    def _pause_on_burst(self) -> None:
        """A burst of consecutive failed sends pauses the row, with the last error."""
        if not self._bursting():
            return
        reason = (
            f"Stopped after {self.consecutive_errors} failed sends in a row; "
            f"last error: {self.last_error}"
        )[:500]
        db.session.execute(
            update(CampaignChannel)
            .where(CampaignChannel.id == self.row_id)
            .values(paused_reason=reason)
        )
        db.session.commit()
        self._row_paused = reason

    def _wait(self, state: _RowState, outcome: Outcome, reason: str) -> Outcome:
        self._set_waiting(state, reason)
        outcome.state, outcome.reason = "waiting", reason
        return outcome

    def _set_waiting(self, state: _RowState, reason: str | None) -> None:
        if state.waiting_reason != reason:
            db.session.execute(
                update(CampaignChannel)
                .where(CampaignChannel.id == state.row_id)
                .values(waiting_reason=reason)
            )
            db.session.commit()
            state.waiting_reason = reason

    # -------------------------------------------------------------- allowances

    @staticmethod
    def _daily_names(row: CampaignChannel, channel: Channel) -> list[str]:
        return [f"cc:{row.id}", f"ch:{channel.id}"]

    def _chunk_size(self) -> int:
        """The provider's batch size, or one request per message for its whole parallelism
        (hundreds of HTTP requests in flight: a chunk goes out in one wave, and only one chunk
        is out at a time), at most MAX_CHUNK: a crash leaves at most one chunk in doubt."""
        batch = getattr(self.provider, "max_batch", MAX_CHUNK)
        parallel = getattr(self.provider, "concurrency", 1)
        return min(MAX_CHUNK, max(batch, parallel))

    def _allowance(self, row: _RowState, now) -> tuple[int, tuple[float | None, str] | None]:
        """(how many to claim, or a wait: (seconds or None for 'until the tick', reason))."""
        wanted = self._chunk_size()
        if row.frequency_minutes:
            wait = ratelimit.frequency_gate(row.row_id, row.frequency_minutes)
            if wait > 0:
                when = now + timedelta(seconds=wait)
                if wait > 30:
                    return 0, (None, f"frequency: next message at {when:%H:%M:%S} UTC")
                return 0, (wait, f"frequency: next message at {when:%H:%M:%S} UTC")
            wanted = 1
        caps = {f"cc:{row.row_id}": row.daily_max, f"ch:{row.channel_id}": row.daily_quota}
        granted = ratelimit.take_daily(caps, wanted)
        if granted == 0:
            midnight = ratelimit.next_midnight()
            return 0, (None, f"daily maximum reached until {midnight:%Y-%m-%d %H:%M %Z}")
        wanted = granted
        rate, wait = ratelimit.take_rate(row.channel_id, row.rate_per_second, wanted)
        if rate == 0:
            ratelimit.refund_daily(self._daily, wanted)
            return 0, (wait, f"rate limit {row.rate_per_second:g}/s")
        if rate < wanted:
            ratelimit.refund_daily(self._daily, wanted - rate)
        return rate, None

    # -------------------------------------------------------------- claiming

    def _claim_allowed(self, wanted: int, now: datetime) -> list[int]:
        """Claim up to the allowance taken; what was not found goes back to the daily
        counters. Ids kept from the start: the ORM objects expire on every commit, and
        reading an expired attribute is a query."""
        claimed = self._claim(self._campaign_id, self.row_id, wanted, now)
        if len(claimed) < wanted:
            ratelimit.refund_daily(self._daily, wanted - len(claimed))
        return claimed

    def _claim_ahead(self, state: _RowState) -> None:
        """MySQL: claim the next chunk and read its recipients on a thread of its own (its
        own session and connection) while this one is rendered and recorded, so the loop does
        not wait on those queries. Not for rows with a frequency, nor under a channel rate
        limit smaller than four chunks a second: there the allowance must be taken when the
        chunk is about to go, not a chunk early (a faster limit's bucket holds a quarter second,
        a whole chunk, of burst)."""
        # SQLite has one writer at a time: there a second claiming thread would only wait.
        if dbutil.dialect() != "mysql" or state.frequency_minutes:
            return
        rate = state.rate_per_second
        if rate and rate < 4 * self._chunk_size():
            return
        if self._ahead_pool is None:
            self._ahead_pool = ThreadPoolExecutor(1, thread_name_prefix="mailer-claim")
        self._ahead = self._ahead_pool.submit(self._claim_in_thread, state)

    def _claim_in_thread(self, state: _RowState) -> tuple[list[int], list | None]:
        """(the claimed ids, their recipients' rows for rendering)."""
        with self._app.app_context():
            try:
                now = self.clock.now()
                wanted, waiting = self._allowance(state, now)
                ids = [] if waiting else self._claim_allowed(wanted, now)
                return ids, self._recipients(ids) if ids else None
            finally:
                db.session.remove()

    def _claimed_ahead(self) -> tuple[list[int], list | None]:
        """The chunk claimed ahead and its rows, if any (none: claim now, the usual way)."""
        ahead, self._ahead = self._ahead, None
        return ahead.result() if ahead is not None else ([], None)

    def _give_back_ahead(self) -> None:
        """Leaving: a chunk claimed ahead goes back to the pool, unsent."""
        claimed, _ = self._claimed_ahead()
        if claimed:
            self._give_back(claimed)

    def _recover(self, row: CampaignChannel) -> None:
        """Left by a dead loop of this row: the results it journaled are written, the chunk it
        had handed over is in doubt, its other claims go back to the pool."""
        if row.journal:
            self._write(_unjournal(row.journal), journaled=True)
        # By campaign and status first: the claim index finds the few claimed rows, where the
        # row's own index would walk every send the row ever had (1M rows: seconds).
        ours = (Send.campaign_id == row.campaign_id, Send.campaign_channel_id == row.id)
        in_doubt = Send.status == SendStatus.SENDING.value  # marked so before migration 0007
        if row.handed:
            handed = Send.id.in_(json.loads(row.handed))
            in_doubt |= (Send.status == SendStatus.CLAIMED.value) & handed
        db.session.execute(
            update(Send)
            .where(*ours, in_doubt)
            .values(
                status=SendStatus.IN_DOUBT.value,
                error="worker stopped while the provider had it: check before resending",
            )
        )
        db.session.execute(
            update(Send)
            .where(*ours, Send.status == SendStatus.CLAIMED.value)
            .values(status=SendStatus.PENDING.value)
        )
        db.session.execute(
            update(CampaignChannel).where(CampaignChannel.id == row.id).values(handed=None)
        )
        db.session.commit()

    def _claim(self, campaign_id: int, row_id: int, n: int, now: datetime) -> list[int]:
        """Fresh sends first (`next_attempt_at IS NULL`, in id order: an index range, no
        sort, few rows locked), then retries that are due."""
        base = (Send.campaign_id == campaign_id, Send.status == SendStatus.PENDING.value)
        fresh = select(Send.id).where(*base, Send.next_attempt_at.is_(None)).order_by(Send.id)
        retries = (
            select(Send.id).where(*base, Send.next_attempt_at <= now).order_by(Send.next_attempt_at)
        )

        def claim() -> list[int]:
            ids = self._claim_from(fresh.limit(n), row_id)
            if len(ids) < n:
                ids += self._claim_from(retries.limit(n - len(ids)), row_id)
            return ids

        return sorted(self._tx(claim))

    @staticmethod
    def _claim_from(due, row_id: int) -> list[int]:
        values = {
            "status": SendStatus.CLAIMED.value,
            "campaign_channel_id": row_id,
            "attempts": Send.attempts + 1,
        }
        if dbutil.dialect() == "mysql":
            ids = list(db.session.scalars(due.with_for_update(skip_locked=True)))
            if ids:
                dbutil.run_sql(
                    "UPDATE sends SET status = ?, campaign_channel_id = ?, "
                    f"attempts = attempts + 1 WHERE id IN ({dbutil.id_list(ids)})",
                    [SendStatus.CLAIMED.value, row_id],
                )
            return ids
        return list(
            db.session.scalars(
                update(Send)
                .where(Send.id.in_(due.scalar_subquery()))
                .values(**values)
                .returning(Send.id)
            )
        )

    def _due_left(self, campaign_id: int, now: datetime) -> bool:
        """Pending sends that could be claimed now (another row held their locks)."""
        return bool(
            db.session.scalar(
                select(Send.id)
                .where(
                    Send.campaign_id == campaign_id,
                    Send.status == SendStatus.PENDING.value,
                    Send.next_attempt_at.is_(None) | (Send.next_attempt_at <= now),
                )
                .limit(1)
            )
        )

    def _next_retry(self, campaign_id: int) -> datetime | None:
        return db.session.scalar(
            select(func.min(Send.next_attempt_at)).where(
                Send.campaign_id == campaign_id, Send.status == SendStatus.PENDING.value
            )
        )

    def _finish_if_done(self, campaign: Campaign) -> bool:
        """Complete the campaign when none of its sends is open (its launch wrote them all)."""
        open_ = db.session.scalar(
            select(func.count())
            .select_from(Send)
            .where(
                Send.campaign_id == campaign.id,
                Send.status.in_(
                    [SendStatus.PENDING.value, SendStatus.CLAIMED.value, SendStatus.SENDING.value]
                ),
            )
        )
        if open_:
            return False
        try:
            campaigns_service.transition(
                campaign, CampaignStatus.COMPLETED, expect=CampaignStatus.RUNNING
            )
        except Exception:  # noqa: BLE001 - another row completed it, or it was paused meanwhile
            db.session.rollback()
        return True

    # -------------------------------------------------------------- one chunk

    def _compile(self, campaign: Campaign) -> dict:
        """The campaign's template compiled once (key None), and each audience's own template
        (campaign documents) by audience id; a send renders with its audience's."""
        html, text = campaign.html, campaign.text
        if not html and campaign.template_id:
            template = db.session.get(Template, campaign.template_id)
            html, text = template.html, template.text
        name = campaign.name  # quoted in render errors
        compiled = {None: compile_email(campaign.subject, html or "", text or None, name=name)}
        for audience_id, (html, text) in campaigns_service.audience_contents(campaign).items():
            compiled[audience_id] = compile_email(
                campaign.subject, html or "", text or None, name=name
            )
        return compiled

    @staticmethod
    def _recipients(ids: list[int]) -> list:
        """The claimed sends with what rendering needs, and whether each is suppressed."""
        return dbutil.run_sql(_PREPARE_SQL.format(ids=dbutil.id_list(ids))).all()

    def _prepare(self, compiled, ids, rows=None) -> _Chunk:
        """Per-email stages for a claimed chunk: suppression check, render, tracking, headers.
        Sends decided here (suppressed, template error) get their result right away."""
        if rows is None:
            rows = self._recipients(ids)
        chunk = _Chunk(now=self.clock.now())
        st = self._statics
        sign, base, mailbox, instrument = st.sign, st.base, st.mailbox, st.instrument
        feedback_id, campaign_tag = st.feedback_id, st.campaign_tag
        from_email, from_name, reply_to = st.from_email, st.from_name, st.reply_to
        default = compiled[None]
        for r in rows:
            if r.suppressed:
                chunk.results.append(
                    _result(r.id, SendStatus.SUPPRESSED, error="suppressed after launch")
                )
                continue
            token = sign(tokens.CAMPAIGN_SEND, r.id)
            unsubscribe = f"{base}/u/{token}"
            context = recipient_context(
                r.email,
                r.first_name,
                r.last_name,
                r.name,
                (json.loads(r.attributes) if r.attributes else None) or {},
                unsubscribe_url=unsubscribe,
                view_online_url=f"{base}/v/{token}",
            )
            try:
                rendered = (compiled.get(r.audience_id) or default).render(context)
            except RenderError as exc:
                chunk.results.append(_result(r.id, SendStatus.FAILED, error=f"template: {exc}"))
                continue
            html, text = instrument.apply(rendered.html, rendered.text, token)
            ref = str(r.id)
            chunk.messages.append(
                OutboundMessage(
                    ref=ref,
                    to=r.email,
                    subject=rendered.subject,
                    from_email=from_email,
                    from_name=from_name,
                    reply_to=reply_to,
                    html=html,
                    text=text,
                    headers={
                        "List-Unsubscribe": _list_unsubscribe(unsubscribe, token, mailbox),
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                        "Feedback-ID": feedback_id,
                    },
                    tags={"campaign": campaign_tag, "token": token},
                )
            )
            chunk.attempts[ref] = (r.id, r.attempts)
        return chunk

    def _journal_and_mark(self, results: list[dict] | None, chunk: _Chunk) -> bool:
        """If the campaign still runs: record on the row which sends the chunk about to go out
        has (``handed``: a dead loop's next one marks them in doubt) and the previous chunk's
        results (``journal``), one row written rather than two chunks of sends. Uncommitted:
        the caller commits it before the chunk goes out. False, nothing written, if the
        campaign stopped running."""
        handed = json.dumps(chunk.sends(), separators=(",", ":")) if chunk.messages else None
        return bool(
            dbutil.run_sql(
                "UPDATE campaign_channels SET handed = ?, journal = ? WHERE id = ? "
                "AND EXISTS (SELECT 1 FROM campaigns WHERE id = ? AND status = ?)",
                [
                    handed,
                    _journal(results) if results else None,
                    self.row_id,
                    self._campaign_id,
                    CampaignStatus.RUNNING.value,
                ],
            ).rowcount
        )

    def _stage(self, chunk: _Chunk) -> None:
        """Before recording the previous chunk: a sender with a process of its own
        (``offload.ProcessSender``) takes this one to prepare it meanwhile, unsent."""
        if chunk.messages and hasattr(self.provider, "stage"):
            self.provider.stage(chunk.messages)
            chunk.staged = True

    def _discard(self, chunk: _Chunk) -> None:
        if chunk.staged:
            self.provider.discard()
            chunk.staged = False

    def _hand_over(self, chunk: _Chunk) -> None:
        """After the commit that recorded it as handed over: the provider gets the chunk."""
        if chunk.staged:
            chunk.future = self.provider.go()
        elif chunk.messages:
            chunk.future = self.provider.submit_batch(chunk.messages)
        self._flight = chunk

    def _land(self) -> list[dict] | None:
        """Wait for the chunk with the provider, if any: its results, to be written."""
        chunk, self._flight = self._flight, None
        if chunk is None:
            return None
        if chunk.future is not None:
            for result in chunk.future.result():
                chunk.results.append(self._interpret(result, chunk.attempts[result.ref], chunk.now))
        return chunk.results

    def _settle(self) -> None:
        """Land the chunk with the provider, if any, and record its results."""
        results = self._land()
        if results is not None:
            self._record(results)
            self._pause_on_burst()

    def _record(self, results: list[dict] | None, *, journaled: bool = False) -> None:
        """Write a chunk's results to its sends (and clear the row's journal of them)."""
        if results:
            self._count(*self._tx(partial(self._write, results, journaled)))

    def _count(self, sent: int, failed: int) -> None:
        self._outcome.sent += sent
        self._outcome.failed += failed

    def _tx(self, work: Callable[[], R]) -> R:
        """Run ``work`` and commit; a deadlock or lock wait timeout (two loops updating the
        same index pages on MySQL) rolls back and runs it again, up to TX_ATTEMPTS times."""
        for attempt in range(1, TX_ATTEMPTS + 1):
            try:
                out = work()
                db.session.commit()
                return out
            except OperationalError as exc:
                db.session.rollback()
                if attempt == TX_ATTEMPTS or not _lock_conflict(exc):
                    raise
                time.sleep(0.02 * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _give_back(self, ids: list[int]) -> None:
        """Give back a claimed chunk that will not be sent now (pause, cancel, SIGTERM):
        pending again (cancelled if the campaign was), its attempt and daily allowance
        returned."""
        status = self._state().campaign_status
        back = (
            SendStatus.CANCELLED.value
            if status == CampaignStatus.CANCELLED.value
            else SendStatus.PENDING.value
        )
        self._tx(
            lambda: db.session.execute(
                update(Send)
                .where(Send.id.in_(ids), Send.status == SendStatus.CLAIMED.value)
                .values(status=back, attempts=Send.attempts - 1)
                .execution_options(synchronize_session=False)
            )
        )
        ratelimit.refund_daily(self._daily, len(ids))

    def _interpret(self, result: SendResult, send: tuple[int, int], now: datetime) -> dict:
        send_id, attempts = send
        if result.ok:
            self.consecutive_errors = 0
            return _result(
                send_id,
                SendStatus.SENT,
                provider_message_id=result.provider_message_id,
                sent_at=now,
            )
        self.consecutive_errors += 1
        self.last_error = result.error
        if result.transient and attempts < max_attempts():
            retry_at = now + timedelta(seconds=backoff(attempts, result.retry_after))
            return _result(
                send_id, SendStatus.PENDING, error=result.error, next_attempt_at=retry_at
            )
        error = (
            result.error
            if not result.transient
            else f"gave up after {attempts} attempts: {result.error}"
        )
        return _result(send_id, SendStatus.FAILED, error=error)

    def _write(self, results: list[dict], journaled: bool = False) -> tuple[int, int]:
        """Write a chunk's results: the sent ones in one UPDATE (a CASE for their provider
        ids), the rest (failures, retries; few) with one executemany; and the row's counters.
        Results from the journal clear it (the next chunk is out: ``handed`` is that one's);
        others are those of the handed chunk itself, which is no longer out. Not committed."""
        write_results(Send, results, _RESULT_UPDATE)
        sent = sum(1 for r in results if r["b_status"] == SendStatus.SENT.value)
        failed = sum(1 for r in results if r["b_status"] == SendStatus.FAILED.value)
        done = "journal" if journaled else "handed"
        dbutil.run_sql(
            "UPDATE campaign_channels SET sent_count = sent_count + ?, "
            f"failed_count = failed_count + ?, {done} = NULL WHERE id = ?",
            [sent, failed, self.row_id],
        )
        from mailer.engine.webhooks_out import core as webhooks_out  # outbound webhooks (issue 8)

        webhooks_out.emit_send_results(self._campaign_id, results)
        return sent, failed


def write_results(model, results: list[dict], others_statement) -> None:
    """A chunk's provider answers for a table of sends (campaign sends, transactional
    messages): the sent rows in one UPDATE with a CASE for their provider message ids, the
    rest (failures, retries: few) with one executemany of ``others_statement``. Both tables
    spell the status "sent" alike (SendStatus.SENT, MessageStatus.SENT)."""
    sent = SendStatus.SENT.value
    done = [r for r in results if r["b_status"] == sent]
    others = [r for r in results if r["b_status"] != sent]
    if done:
        ids = dbutil.id_list([r["b_id"] for r in done])
        branches = " ".join([f"WHEN {int(r['b_id'])} THEN ?" for r in done])
        dbutil.run_sql(
            f"UPDATE {model.__tablename__} SET status = ?, error = NULL, "
            f"next_attempt_at = NULL, sent_at = ?, "
            f"provider_message_id = CASE id {branches} END WHERE id IN ({ids})",
            [sent, done[0]["b_sent_at"], *[r["b_pmid"] for r in done]],
        )
    if others:
        db.session.connection().execute(others_statement, others)


def _lock_conflict(exc: OperationalError) -> bool:
    """MySQL deadlock (1213) or lock wait timeout (1205); SQLite's "database is locked"."""
    code = exc.orig.args[0] if getattr(exc.orig, "args", None) else None
    return code in (1205, 1213) or "database is locked" in str(exc.orig)


_RESULT_KEYS = ("b_id", "b_status", "b_error", "b_pmid", "b_sent_at", "b_next")


def _journal(results: list[dict]) -> str:
    """A chunk's results (``_result`` dicts) as compact JSON, for the row's journal."""
    return json.dumps(
        [[r[k] for k in _RESULT_KEYS] for r in results],
        separators=(",", ":"),
        default=datetime.isoformat,  # b_sent_at, b_next
    )


def _unjournal(text: str) -> list[dict]:
    results = []
    for values in json.loads(text):
        r = dict(zip(_RESULT_KEYS, values, strict=True))
        for key in ("b_sent_at", "b_next"):
            if r[key] is not None:
                r[key] = datetime.fromisoformat(r[key])
        results.append(r)
    return results


def _list_unsubscribe(url: str, token: str, mailbox: str | None) -> str:
    """The https one-click link, plus a mailto when an unsubscribe mailbox is configured
    (RFC 2369: some mailbox providers still prefer it)."""
    if mailbox:
        return f"<{url}>, <mailto:{mailbox}?subject=unsubscribe%20{token}>"
    return f"<{url}>"


def _result(
    send_id: int,
    status: SendStatus,
    *,
    error=None,
    provider_message_id=None,
    sent_at=None,
    next_attempt_at=None,
) -> dict:
    return {
        "b_id": send_id,
        "b_status": status.value,
        "b_error": error[:500] if error else None,
        "b_pmid": provider_message_id,
        "b_sent_at": sent_at,
        "b_next": next_attempt_at,
    }


# A claimed chunk's sends with what rendering needs (raw SQL: see dbutil.run_sql).
_PREPARE_SQL = (
    "SELECT s.id, s.email, s.attempts, s.audience_id, sub.first_name, sub.last_name, "
    "sub.name, sub.attributes, sup.id AS suppressed FROM sends s "
    "LEFT JOIN subscribers sub ON sub.id = s.subscriber_id "
    "LEFT JOIN suppressions sup ON sup.email = s.email WHERE s.id IN ({ids})"
)

_T = Send.__table__
# One executemany writes a whole chunk's results back.
_RESULT_UPDATE = (
    update(_T)
    .where(_T.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        error=bindparam("b_error"),
        provider_message_id=func.coalesce(bindparam("b_pmid"), _T.c.provider_message_id),
        sent_at=func.coalesce(bindparam("b_sent_at"), _T.c.sent_at),
        next_attempt_at=bindparam("b_next"),
    )
)
