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
5. mark the chunk "sending", hand it to the provider (bounded concurrency inside the adapter),
6. write every result back in one statement, with counters, and commit.

Crash safety: a send is "sending" only while it is with the provider. The loop holds a Redis
lock per row; a new loop for the row first puts "claimed" sends back to pending (never sent)
and marks "sending" ones in doubt (maybe sent: never resent blindly). A loop asked to stop
(SIGTERM) finishes its chunk first, so nothing is left in doubt.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, case, func, select, update

from mailer.extensions import db
from mailer.models import (
    Campaign,
    CampaignChannel,
    CampaignStatus,
    Channel,
    Identity,
    Send,
    SendStatus,
    Subscriber,
    Suppression,
    Template,
)
from mailer.models.base import utcnow
from mailer.providers.base import OutboundMessage, SendResult
from mailer.queue import get_redis
from mailer.services import campaigns as campaigns_service
from mailer.services import dbutil, ratelimit, tokens, tracking
from mailer.services.rendering import RenderError, compile_email, recipient_context

MAX_CHUNK = 500
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
    key = "MAILER_HTTP_CONCURRENCY" if cls and issubclass(cls, HttpProvider) else \
        "MAILER_SMTP_CONCURRENCY"
    return build_provider(channel, concurrency=int(current_app.config.get(key, 8)))


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
        self._recover(row)
        campaign = db.session.get(Campaign, row.campaign_id)
        channel = db.session.get(Channel, row.channel_id)
        identity = db.session.get(Identity, row.identity_id)
        compiled = self._compile(campaign)
        if self.provider is None:
            self.provider = _provider_for(channel)
        started = self.clock.monotonic()
        outcome = Outcome("sliced")
        turns = 0
        while True:
            get_redis().expire(self.lock_key, self.lock_ttl)
            db.session.expire_all()
            status = db.session.scalar(select(Campaign.status).where(Campaign.id == campaign.id))
            if status != CampaignStatus.RUNNING.value:
                outcome.state = "not_running"
                outcome.reason = f"campaign is {status}"
                return outcome
            if row.paused_reason:
                outcome.state, outcome.reason = "paused", row.paused_reason
                return outcome
            if stop.requested:
                outcome.state = "stopped"
                return outcome
            if turns and self.clock.monotonic() - started >= self.slice_seconds:
                return outcome  # "sliced": the job hands over to a fresh one of itself
            turns += 1
            now = self.clock.now()
            if row.start_at and row.start_at > now:
                return self._wait(row, outcome, f"starts at {row.start_at:%Y-%m-%d %H:%M} UTC")
            wanted, waiting = self._allowance(row, channel, now)
            if waiting:
                if waiting[0] is None:  # nothing to do before the tick relaunches the row
                    return self._wait(row, outcome, waiting[1])
                self._set_waiting(row, waiting[1])
                self.clock.sleep(min(waiting[0], 5))
                continue
            claimed = self._claim(campaign.id, row.id, wanted, now)
            if len(claimed) < wanted:
                ratelimit.refund_daily(self._daily_names(row, channel), wanted - len(claimed))
            if not claimed:
                finished = self._finish_if_done(campaign)
                if finished:
                    outcome.state = "done"
                    return outcome
                if self._due_left(campaign.id, now):  # locked by a concurrent claim
                    self.clock.sleep(0.1)
                    continue
                retry_at = self._next_retry(campaign.id)
                if retry_at is None:  # other rows hold the rest; they will finish it
                    outcome.state = "done"
                    return outcome
                self._set_waiting(row, f"retrying failed sends at {retry_at:%H:%M:%S} UTC")
                self.clock.sleep(min(5.0, max(0.05, (retry_at - now).total_seconds())))
                continue
            self._set_waiting(row, None)
            sent, failed = self._send_chunk(campaign, row, channel, identity, compiled, claimed)
            outcome.sent += sent
            outcome.failed += failed
            if self.consecutive_errors >= ERROR_BURST:
                reason = (
                    f"Stopped after {self.consecutive_errors} failed sends in a row; "
                    f"last error: {self.last_error}"
                )
                db.session.execute(
                    update(CampaignChannel)
                    .where(CampaignChannel.id == row.id)
                    .values(paused_reason=reason[:500])
                )
                db.session.commit()
                outcome.state, outcome.reason = "paused", reason
                return outcome

    def _wait(self, row: CampaignChannel, outcome: Outcome, reason: str) -> Outcome:
        self._set_waiting(row, reason)
        outcome.state, outcome.reason = "waiting", reason
        return outcome

    def _set_waiting(self, row: CampaignChannel, reason: str | None) -> None:
        if row.waiting_reason != reason:
            db.session.execute(
                update(CampaignChannel)
                .where(CampaignChannel.id == row.id)
                .values(waiting_reason=reason)
            )
            db.session.commit()

    # -------------------------------------------------------------- allowances

    @staticmethod
    def _daily_names(row: CampaignChannel, channel: Channel) -> list[str]:
        return [f"cc:{row.id}", f"ch:{channel.id}"]

    def _allowance(self, row, channel, now) -> tuple[int, tuple[float | None, str] | None]:
        """(how many to claim, or a wait: (seconds or None for 'until the tick', reason))."""
        wanted = min(MAX_CHUNK, getattr(self.provider, "max_batch", MAX_CHUNK))
        if row.frequency_minutes:
            wait = ratelimit.frequency_gate(row.id, row.frequency_minutes)
            if wait > 0:
                when = now + timedelta(seconds=wait)
                if wait > 30:
                    return 0, (None, f"frequency: next message at {when:%H:%M:%S} UTC")
                return 0, (wait, f"frequency: next message at {when:%H:%M:%S} UTC")
            wanted = 1
        caps = {f"cc:{row.id}": row.daily_max, f"ch:{channel.id}": channel.daily_quota}
        granted = ratelimit.take_daily(caps, wanted)
        if granted == 0:
            midnight = ratelimit.next_midnight()
            return 0, (None, f"daily maximum reached until {midnight:%Y-%m-%d %H:%M %Z}")
        wanted = granted
        rate, wait = ratelimit.take_rate(channel.id, channel.rate_per_second, wanted)
        if rate == 0:
            ratelimit.refund_daily(self._daily_names(row, channel), wanted)
            return 0, (wait, f"rate limit {channel.rate_per_second:g}/s")
        if rate < wanted:
            ratelimit.refund_daily(self._daily_names(row, channel), wanted - rate)
        return rate, None

    # -------------------------------------------------------------- claiming

    def _recover(self, row: CampaignChannel) -> None:
        """Left by a dead loop of this row: unsent claims go back, handed-over ones in doubt."""
        db.session.execute(
            update(Send)
            .where(Send.campaign_channel_id == row.id, Send.status == SendStatus.CLAIMED.value)
            .values(status=SendStatus.PENDING.value)
        )
        db.session.execute(
            update(Send)
            .where(Send.campaign_channel_id == row.id, Send.status == SendStatus.SENDING.value)
            .values(
                status=SendStatus.IN_DOUBT.value,
                error="worker stopped while the provider had it: check before resending",
            )
        )
        db.session.commit()

    def _claim(self, campaign_id: int, row_id: int, n: int, now: datetime) -> list[int]:
        """Fresh sends first (`next_attempt_at IS NULL`, in id order: an index range, no
        sort, few rows locked), then retries that are due."""
        base = (Send.campaign_id == campaign_id, Send.status == SendStatus.PENDING.value)
        fresh = select(Send.id).where(*base, Send.next_attempt_at.is_(None)).order_by(Send.id)
        retries = (
            select(Send.id)
            .where(*base, Send.next_attempt_at <= now)
            .order_by(Send.next_attempt_at)
        )
        ids = self._claim_from(fresh.limit(n), row_id)
        if len(ids) < n:
            ids += self._claim_from(retries.limit(n - len(ids)), row_id)
        db.session.commit()
        return sorted(ids)

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
                db.session.execute(update(Send).where(Send.id.in_(ids)).values(**values))
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

    def _compile(self, campaign: Campaign):
        html, text = campaign.html, campaign.text
        if not html and campaign.template_id:
            template = db.session.get(Template, campaign.template_id)
            html, text = template.html, template.text
        return compile_email(campaign.subject, html or "", text or None)

    def _send_chunk(self, campaign, row, channel, identity, compiled, ids) -> tuple[int, int]:
        rows = db.session.execute(
            select(
                Send.id,
                Send.email,
                Send.attempts,
                Subscriber.first_name,
                Subscriber.last_name,
                Subscriber.name,
                Subscriber.attributes,
                Suppression.id.label("suppressed"),
            )
            .outerjoin(Subscriber, Subscriber.id == Send.subscriber_id)
            .outerjoin(Suppression, Suppression.email == Send.email)
            .where(Send.id.in_(ids))
        ).all()
        now = self.clock.now()
        results: list[dict] = []
        messages: list[OutboundMessage] = []
        attempts: dict[str, tuple[int, int]] = {}
        sign = tokens.signer()
        base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
        instrument = tracking.instrumenter(campaign)  # tracked links, pixel, unsubscribe footer
        for r in rows:
            if r.suppressed:
                results.append(
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
                r.attributes or {},
                unsubscribe_url=unsubscribe,
                view_online_url=f"{base}/v/{token}",
            )
            try:
                rendered = compiled.render(context)
            except RenderError as exc:
                results.append(_result(r.id, SendStatus.FAILED, error=f"template: {exc}"))
                continue
            html, text = instrument.apply(rendered.html, rendered.text, token)
            messages.append(
                OutboundMessage(
                    ref=str(r.id),
                    to=r.email,
                    subject=rendered.subject,
                    from_email=identity.from_email,
                    from_name=identity.from_name or None,
                    reply_to=identity.reply_to or None,
                    html=html,
                    text=text,
                    headers={
                        "List-Unsubscribe": _list_unsubscribe(unsubscribe, token),
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                        "Feedback-ID": f"{campaign.id}:{channel.id}:{identity.id}:mailer",
                    },
                    tags={"campaign": str(campaign.id), "token": token},
                )
            )
            attempts[str(r.id)] = (r.id, r.attempts)
        if messages:
            db.session.execute(
                update(Send)
                .where(Send.id.in_([int(m.ref) for m in messages]))
                .values(status=SendStatus.SENDING.value)
            )
            db.session.commit()
            for result in self.provider.send_batch(messages):
                results.append(self._interpret(result, attempts[result.ref], now))
        return self._write(row, results)

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

    def _write(self, row: CampaignChannel, results: list[dict]) -> tuple[int, int]:
        """Write a chunk's results: the sent ones in one UPDATE (a CASE for their provider
        ids), the rest (failures, retries; few) with one executemany."""
        done = [r for r in results if r["b_status"] == SendStatus.SENT.value]
        others = [r for r in results if r["b_status"] != SendStatus.SENT.value]
        if done:
            ids = [r["b_id"] for r in done]
            db.session.execute(
                update(Send)
                .where(Send.id.in_(ids))
                .values(
                    status=SendStatus.SENT.value,
                    error=None,
                    next_attempt_at=None,
                    sent_at=done[0]["b_sent_at"],
                    provider_message_id=case(
                        {r["b_id"]: r["b_pmid"] for r in done}, value=Send.id
                    ),
                )
                .execution_options(synchronize_session=False)
            )
        if others:
            db.session.connection().execute(_RESULT_UPDATE, others)
        sent = sum(1 for r in results if r["b_status"] == SendStatus.SENT.value)
        failed = sum(1 for r in results if r["b_status"] == SendStatus.FAILED.value)
        if sent or failed:
            db.session.execute(
                update(CampaignChannel)
                .where(CampaignChannel.id == row.id)
                .values(
                    sent_count=CampaignChannel.sent_count + sent,
                    failed_count=CampaignChannel.failed_count + failed,
                )
            )
        db.session.commit()
        return sent, failed


def _list_unsubscribe(url: str, token: str) -> str:
    """The https one-click link, plus a mailto when an unsubscribe mailbox is configured
    (RFC 2369: some mailbox providers still prefer it)."""
    mailbox = current_app.config.get("MAILER_UNSUBSCRIBE_MAILTO")
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
