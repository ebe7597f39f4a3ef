"""The channel loop: sends a campaign's pending sends through one channel row, turn by turn,
until the campaign is done, stops, or the loop's time slice ends (a job per row, never per
email). How a turn overlaps with the provider and survives a crash: docs/architecture.md."""

from __future__ import annotations

import contextlib
import signal
from functools import partial

from flask import current_app
from sqlalchemy import func, select, update

from mailer import dispatch
from mailer.engine import campaign_state
from mailer.engine.campaign_send import chunks, claims, messages
from mailer.engine.campaign_send.state import (
    Clock,
    LoopState,
    MessageParts,
    Outcome,
    RowState,
    holder_is_dead,
    lock_key,
    read_row,
)
from mailer.engine.delivery import loop_provider
from mailer.extensions import db
from mailer.lib import dbutil
from mailer.models import (
    Campaign,
    CampaignChannel,
    CampaignStatus,
    Channel,
    Identity,
    Send,
    SendStatus,
)
from mailer.queue import REDIS_DOWN, get_redis, lua_script

# A row that has mailed what its campaign's launch wrote so far waits for the rest until this
# long (seconds) after its job started, then leaves; the launch wakes it once it wrote them all.
LAUNCH_WAIT = 25
WRITING = messages.WRITING


class StopFlag:
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


class ChannelLoop:
    """One campaign channel row's loop; ``run()`` holds the row's Redis lock while it runs."""

    def __init__(
        self,
        row_id: int,
        *,
        slot: int = 0,
        clock: Clock | None = None,
        slice_seconds: float = 30,
        provider=None,
    ):
        self.slice_seconds = slice_seconds
        self.state = LoopState(
            row_id, clock or Clock(), provider, slot=slot, lock_key=lock_key(row_id, slot)
        )

    def run(self) -> Outcome:
        """Redis going away stops the loop like a crash would, minus the doubt: the chunk with
        the provider is landed and recorded first, and the minute tick wakes the row again."""
        try:
            return self._run_locked()
        except REDIS_DOWN as exc:
            outcome = self.state.outcome
            outcome.state, outcome.reason = (
                "redis_down",
                f"Redis unreachable ({type(exc).__name__})",
            )
            return outcome

    def _run_locked(self) -> Outcome:
        loop = self.state
        lock_ttl = loop.lock_ttl = int(current_app.config["MAILER_ROW_LOCK_TTL"])
        taken = _take_lock(loop.lock_key, loop.lock_value, lock_ttl)
        if loop.slot:
            dispatch.channel_slot_started(loop.row_id, loop.slot)
        if not taken:
            return Outcome("busy", reason="another worker is running this channel row")
        try:
            with StopFlag() as stop:
                return self._start(stop, lock_ttl)
        finally:
            if loop.provider is not None:
                loop.provider.close()
            with contextlib.suppress(*REDIS_DOWN):
                redis = get_redis()
                if redis.get(loop.lock_key) == loop.lock_value.encode():
                    redis.delete(loop.lock_key)

    def _start(self, stop: StopFlag, lock_ttl: int) -> Outcome:
        loop = self.state
        row = db.session.get(CampaignChannel, loop.row_id)
        if row is None:
            return Outcome("not_running", reason="row deleted")
        loop.campaign_id, loop.channel_id = row.campaign_id, row.channel_id
        claims.recover(loop, row)
        campaign = db.session.get(Campaign, row.campaign_id)
        channel = db.session.get(Channel, row.channel_id)
        identity = db.session.get(Identity, row.identity_id)
        compiled = chunks.compile_campaign(campaign)
        if loop.provider is None:
            loop.provider = loop_provider(channel)
        loop.daily = [f"cc:{row.id}", f"ch:{channel.id}"]
        loop.parts = MessageParts.of(campaign, channel, identity)
        loop.app = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            return self._turns(stop, lock_ttl, campaign, compiled)
        except BaseException:
            # Record what the provider answered for the chunk it has, if it can still be had;
            # otherwise the next loop finds it handed over and marks it in doubt.
            with contextlib.suppress(Exception):
                db.session.rollback()
                chunks.settle(loop)
            raise
        finally:
            with contextlib.suppress(Exception):
                if not loop.lock_lost:
                    claims.give_back_ahead(loop)
            if loop.ahead_pool is not None:
                loop.ahead_pool.shutdown(wait=True)

    def _turns(self, stop: StopFlag, lock_ttl: int, campaign: Campaign, compiled) -> Outcome:
        """Each turn claims and prepares a chunk while the previous one is with the provider
        (at most one chunk is ever handed over), then journals that one's outcomes and hands
        this one over. What can change meanwhile (campaign status, the row's and channel's
        limits) is read in one query a turn."""
        loop = self.state
        outcome, clock = loop.outcome, loop.clock
        started = clock.monotonic()
        turns = 0
        while True:
            held = get_redis().expire(loop.lock_key, lock_ttl)
            state = read_row(loop)
            leave = _reason_to_leave(state, stop)
            if leave is None and not held:
                # Expired, or Redis restarted empty: another loop may start for the row, so
                # this one leaves (a successor takes the lock if nobody else has it).
                loop.lock_lost = True
                leave = ("lost_lock", None)
            if leave is None and turns and clock.monotonic() - started >= self.slice_seconds:
                leave = ("sliced", None)  # the job hands over to a fresh one of itself
            if leave is None and loop.slot and (state.single or loop.slot >= state.loops):
                leave = ("done", "not needed: the row's first loop sends alone")
            if leave is not None:
                chunks.settle(loop)
                return self._leave(*leave)
            turns += 1
            now = clock.now()
            if state.start_at and state.start_at > now:
                chunks.settle(loop)
                return self._wait(
                    state, messages.STARTS_AT % {"when": f"{state.start_at:%Y-%m-%d %H:%M}"}
                )
            if not (loop.slot or state.single) and (
                loop.helpers_woken_at is None
                or clock.monotonic() - loop.helpers_woken_at > lock_ttl
            ):
                _wake_helpers(loop, state)
            claimed, rows = claims.claimed_ahead(loop)
            if not claimed:
                wanted, waiting = claims.allowance(loop, state, now)
                if waiting:
                    chunks.settle(loop)
                    if waiting[0] is None:  # nothing to do before the tick relaunches the row
                        return self._wait(state, waiting[1])
                    _set_waiting(state, waiting[1])
                    clock.sleep(min(waiting[0], 5))
                    continue
                claimed = claims.claim_allowed(loop, wanted, now)
            if not claimed:
                chunks.settle(loop)
                if loop.row_paused:
                    return self._leave("paused", loop.row_paused)
                if state.materialised_at is None:  # its launch still writes the sends
                    if clock.monotonic() - started < LAUNCH_WAIT:
                        _set_waiting(state, WRITING)
                        clock.sleep(0.25)
                        continue
                    return self._wait(state, WRITING)  # the launch wakes it after
                if _finish_if_done(campaign):
                    outcome.state = "done"
                    return outcome
                if claims.due_left(loop.campaign_id, now):  # locked by a concurrent claim
                    clock.sleep(0.1)
                    continue
                retry_at = claims.next_retry(loop.campaign_id)
                if retry_at is None:  # other rows (or loops) hold the rest; they finish it
                    if not (loop.slot or state.single):
                        _wake_helpers(loop, state)  # a dead loop's claims are among them
                    outcome.state = "done"
                    return outcome
                _set_waiting(state, messages.RETRYING_AT % {"when": f"{retry_at:%H:%M:%S}"})
                clock.sleep(min(5.0, max(0.05, (retry_at - now).total_seconds())))
                continue
            _set_waiting(state, None)
            claims.claim_ahead(loop, state)
            chunk = chunks.prepare(loop, compiled, claimed, rows)
            chunks.stage(loop, chunk)
            # Journal the previous chunk's outcomes and hand this one over in one transaction,
            # unless the campaign stopped running meanwhile (pause/cancel take effect within a
            # chunk); its sends get their outcomes while this one is out.
            outcomes = chunks.land(loop)
            go = not (stop.requested or loop.row_paused or chunks.bursting(loop))
            marked = go and dbutil.commit_retrying(
                partial(chunks.journal_and_mark, loop, outcomes, chunk)
            )
            if marked:
                chunks.hand_over(loop, chunk)
            chunks.record(loop, outcomes, journaled=marked)
            if marked:
                continue
            chunks.discard(loop, chunk)
            chunks.pause_on_burst(loop)
            claims.give_back(loop, claimed)
            leave = _reason_to_leave(read_row(loop), stop) or ("not_running", None)
            return self._leave(*leave)

    def _leave(self, state: str, reason: str | None) -> Outcome:
        outcome = self.state.outcome
        outcome.state = state
        if reason is not None:
            outcome.reason = reason
        return outcome

    def _wait(self, state: RowState, reason: str) -> Outcome:
        _set_waiting(state, reason)
        outcome = self.state.outcome
        outcome.state, outcome.reason = "waiting", reason
        return outcome


# Replace the lock's value only if it is still the dead holder's (another loop may have won).
_TAKE_OVER = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end return 0"
)


def _take_lock(key: str, value: str, ttl: int) -> bool:
    """The row's lock, free or held by a process of this host that died (kill -9 of a job
    child): taken over at once rather than after its TTL; claims.recover does the rest."""
    redis = get_redis()
    if redis.set(key, value, nx=True, ex=ttl):
        return True
    held = redis.get(key)
    if held is None:
        return bool(redis.set(key, value, nx=True, ex=ttl))
    take_over = lua_script(_TAKE_OVER)
    return holder_is_dead(held) and bool(take_over(keys=[key], args=[held, value, ttl]))


def _wake_helpers(loop: LoopState, state: RowState) -> None:
    """The row's first loop starts its other loops where none runs (when it starts, then once
    a lock TTL): up to the row's setting, and beyond it a slot a loop died in, whose new loop
    puts the claims back and leaves (the setting was lowered since)."""
    loop.helpers_woken_at = loop.clock.monotonic()
    redis = get_redis()
    for slot in range(1, max(state.loops, claims.slots_kept(loop.row_id))):
        if not redis.exists(lock_key(loop.row_id, slot)):
            dispatch.wake_channel_slot(loop.row_id, slot)


def _reason_to_leave(state: RowState, stop: StopFlag) -> tuple[str, str | None] | None:
    """Why the loop must stop now (campaign not running, row paused, SIGTERM), or None."""
    if state.campaign_status != CampaignStatus.RUNNING.value:
        return "not_running", f"campaign is {state.campaign_status}"
    if state.paused_reason:
        return "paused", state.paused_reason
    if stop.requested:
        return "stopped", None
    return None


def _set_waiting(state: RowState, reason: str | None) -> None:
    if state.waiting_reason != reason:
        db.session.execute(
            update(CampaignChannel)
            .where(CampaignChannel.id == state.row_id)
            .values(waiting_reason=reason)
        )
        db.session.commit()
        state.waiting_reason = reason


def _finish_if_done(campaign: Campaign) -> bool:
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
    completed, running = CampaignStatus.COMPLETED, CampaignStatus.RUNNING
    try:
        campaign_state.transition(campaign, completed, expect=running)
    except Exception:  # noqa: BLE001 - another row completed it, or it was paused meanwhile
        db.session.rollback()
    return True
