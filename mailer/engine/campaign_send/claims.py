"""A channel loop's claims: allowances taken, pending sends claimed (and claimed a chunk ahead
on a thread), claims given back, and a dead loop's rows recovered."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from mailer.engine.campaign_send import messages
from mailer.engine.campaign_send.chunks import (
    probe_sends,
    recipients,
    record_of,
    unjournal,
    write,
)
from mailer.engine.campaign_send.state import LoopState, RowState, read_row
from mailer.extensions import db
from mailer.lib import dbutil, ratelimit
from mailer.models import CampaignChannel, CampaignChannelSlot, CampaignStatus, Send, SendStatus
from mailer.models.base import utcnow

MAX_CHUNK = 500
IN_DOUBT_ERROR = "worker stopped while the provider had it: check before resending"
Wait = tuple[float | None, str]  # (seconds, or None for "until the tick", the reason)


# -------------------------------------------------------------- allowances


def chunk_size(provider) -> int:
    """The provider's batch size, or one request per message for its whole parallelism
    (hundreds of HTTP requests in flight: a chunk goes out in one wave, and only one chunk
    is out at a time), at most MAX_CHUNK: a crash leaves at most one chunk in doubt."""
    batch = getattr(provider, "max_batch", MAX_CHUNK)
    parallel = getattr(provider, "concurrency", 1)
    return min(MAX_CHUNK, max(batch, parallel))


def allowance(loop: LoopState, row: RowState, now: datetime) -> tuple[int, Wait | None]:
    """(how many to claim, or a wait)."""
    wanted = chunk_size(loop.provider)
    if row.probing:  # testing the provider after pausing on errors: a few sends first
        wanted = min(wanted, probe_sends())
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
        return 0, (None, messages.DAILY_MAX % {"when": f"{midnight:%Y-%m-%d %H:%M %Z}"})
    wanted = granted
    rate, wait = ratelimit.take_rate(row.channel_id, row.rate_per_second, wanted)
    if rate == 0:
        ratelimit.refund_daily(loop.daily, wanted)
        return 0, (wait, f"rate limit {row.rate_per_second:g}/s")
    if rate < wanted:
        ratelimit.refund_daily(loop.daily, wanted - rate)
    return rate, None


# -------------------------------------------------------------- claiming


def claim_allowed(loop: LoopState, wanted: int, now: datetime) -> list[int]:
    """Claim up to the allowance taken; what was not found goes back to the daily
    counters. Ids kept from the start: the ORM objects expire on every commit, and
    reading an expired attribute is a query."""
    claimed = claim(loop.campaign_id, loop.row_id, wanted, now, slot=loop.slot)
    if len(claimed) < wanted:
        ratelimit.refund_daily(loop.daily, wanted - len(claimed))
    return claimed


def claim(campaign_id: int, row_id: int, n: int, now: datetime, *, slot: int = 0) -> list[int]:
    """Fresh sends first (`next_attempt_at IS NULL`, in id order: an index range, no
    sort, few rows locked), then retries that are due. Each is marked with the claiming
    loop's row and slot, so only that loop's successor puts it back."""
    base = (Send.campaign_id == campaign_id, Send.status == SendStatus.PENDING.value)
    fresh = select(Send.id).where(*base, Send.next_attempt_at.is_(None)).order_by(Send.id)
    retries = (
        select(Send.id).where(*base, Send.next_attempt_at <= now).order_by(Send.next_attempt_at)
    )
    values = {"status": SendStatus.CLAIMED.value, "campaign_channel_id": row_id, "slot": slot}

    def take() -> list[int]:
        ids = dbutil.claim(_SENDS, fresh.limit(n), values, increment=("attempts",))
        if len(ids) < n:
            ids += dbutil.claim(
                _SENDS, retries.limit(n - len(ids)), values, increment=("attempts",)
            )
        return ids

    return sorted(dbutil.commit_retrying(take))


def claim_ahead(loop: LoopState, row: RowState) -> None:
    """MySQL: claim the next chunk and read its recipients on a thread of its own (its
    own session and connection) while this one is rendered and recorded, so the loop does
    not wait on those queries. Not for rows with a frequency, nor under a channel rate
    limit smaller than four chunks a second: there the allowance must be taken when the
    chunk is about to go, not a chunk early (a faster limit's bucket holds a quarter second,
    a whole chunk, of burst)."""
    # SQLite has one writer at a time: there a second claiming thread would only wait.
    if dbutil.dialect() != "mysql" or row.frequency_minutes or row.probing:
        return
    rate = row.rate_per_second
    if rate and rate < 4 * chunk_size(loop.provider):
        return
    if loop.ahead_pool is None:
        loop.ahead_pool = ThreadPoolExecutor(1, thread_name_prefix="mailer-claim")
    loop.ahead = loop.ahead_pool.submit(_claim_in_thread, loop, row)


def _claim_in_thread(loop: LoopState, row: RowState) -> tuple[list[int], list | None]:
    """(the claimed ids, their recipients' rows for rendering)."""
    with loop.app.app_context():
        try:
            now = loop.clock.now()
            wanted, waiting = allowance(loop, row, now)
            ids = [] if waiting else claim_allowed(loop, wanted, now)
            return ids, recipients(ids) if ids else None
        finally:
            db.session.remove()


def claimed_ahead(loop: LoopState) -> tuple[list[int], list | None]:
    """The chunk claimed ahead and its rows, if any (none: claim now, the usual way)."""
    ahead, loop.ahead = loop.ahead, None
    return ahead.result() if ahead is not None else ([], None)


def due_left(campaign_id: int, now: datetime) -> bool:
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


def next_retry(campaign_id: int) -> datetime | None:
    return db.session.scalar(
        select(func.min(Send.next_attempt_at)).where(
            Send.campaign_id == campaign_id, Send.status == SendStatus.PENDING.value
        )
    )


# -------------------------------------------------------------- giving back, recovering


def give_back(loop: LoopState, ids: list[int]) -> None:
    """Give back a claimed chunk that will not be sent now (pause, cancel, SIGTERM):
    pending again (cancelled if the campaign was), its attempt and daily allowance
    returned."""
    status = read_row(loop).campaign_status
    back = (
        SendStatus.CANCELLED.value
        if status == CampaignStatus.CANCELLED.value
        else SendStatus.PENDING.value
    )
    dbutil.commit_retrying(
        lambda: db.session.execute(
            update(Send)
            .where(Send.id.in_(ids), Send.status == SendStatus.CLAIMED.value)
            .values(status=back, attempts=Send.attempts - 1)
            .execution_options(synchronize_session=False)
        )
    )
    ratelimit.refund_daily(loop.daily, len(ids))


def give_back_ahead(loop: LoopState) -> None:
    """Leaving: a chunk claimed ahead goes back to the pool, unsent."""
    claimed, _ = claimed_ahead(loop)
    if claimed:
        give_back(loop, claimed)


def recover(loop: LoopState, row: CampaignChannel) -> None:
    """Left by a dead loop of this row and slot (the caller holds the slot's lock): the
    outcomes it journaled are written, the chunk it had handed over is in doubt, its other
    claims go back to the pool. Other slots' claims are theirs: never touched."""
    handed, journaled = (row.handed, row.journal) if loop.slot == 0 else _slot_record(loop)
    if journaled:
        write(loop, unjournal(journaled), journaled=True)
    # By campaign and status first: the claim index finds the few claimed rows, where the
    # row's own index would walk every send the row ever had (1M rows: seconds).
    ours = (Send.campaign_id == row.campaign_id, Send.campaign_channel_id == row.id)
    doubts = []
    if loop.slot == 0:  # claimed before migration 0015: no slot
        ours += (Send.slot.is_(None) | (Send.slot == 0),)
        doubts.append(Send.status == SendStatus.SENDING.value)  # so before migration 0007
    else:
        ours += (Send.slot == loop.slot,)
    if handed:
        handed_ids = Send.id.in_(json.loads(handed))
        doubts.append((Send.status == SendStatus.CLAIMED.value) & handed_ids)
    if doubts:
        db.session.execute(
            update(Send)
            .where(*ours, or_(*doubts))
            .values(
                status=SendStatus.IN_DOUBT.value,
                error=IN_DOUBT_ERROR,
                failed_at=utcnow(),
            )
        )
    db.session.execute(
        update(Send)
        .where(*ours, Send.status == SendStatus.CLAIMED.value)
        .values(status=SendStatus.PENDING.value)
    )
    table, where, keys = record_of(loop)
    dbutil.run_sql(f"UPDATE {table} SET handed = NULL WHERE {where}", keys)
    db.session.commit()


def _slot_record(loop: LoopState) -> tuple[str | None, str | None]:
    """(handed, journal) of a loop's slot; the slot's record is made on its first run."""
    record = db.session.execute(
        select(CampaignChannelSlot.handed, CampaignChannelSlot.journal).where(
            CampaignChannelSlot.campaign_channel_id == loop.row_id,
            CampaignChannelSlot.slot == loop.slot,
        )
    ).first()
    if record is None:
        db.session.add(CampaignChannelSlot(campaign_channel_id=loop.row_id, slot=loop.slot))
        db.session.commit()
        return None, None
    return record.handed, record.journal


def slots_kept(row_id: int) -> int:
    """One more than the highest slot the row's loops ever used (1: only the first)."""
    highest = db.session.scalar(
        select(func.max(CampaignChannelSlot.slot)).where(
            CampaignChannelSlot.campaign_channel_id == row_id
        )
    )
    return (highest or 0) + 1


_SENDS = Send.__table__
