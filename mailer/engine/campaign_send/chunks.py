"""A channel loop's chunks: prepared (suppression, render, tracking, headers), journaled on the
row, handed to the provider, and landed (the provider's answers written to the sends)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import update

from mailer.engine.campaign_send import messages
from mailer.engine.campaign_send.state import Chunk, LoopState
from mailer.engine.delivery import (
    SENT,
    SendOutcome,
    compose,
    decided,
    interpret,
    write_outcomes,
)
from mailer.engine.rendering import RenderError, compile_email, content, recipient_context
from mailer.engine.webhooks_out import events as webhook_events
from mailer.extensions import db
from mailer.lib import dbutil, emails, tokens
from mailer.models import (
    Campaign,
    CampaignChannel,
    CampaignStatus,
    Send,
    SendStatus,
    SubscriberStatus,
)
from mailer.models.base import utcnow
from mailer.queue import get_redis

ERROR_BURST = 50  # consecutive failed sends that pause a row
_PENDING = SendStatus.PENDING.value
_FAILED = SendStatus.FAILED.value
_SUPPRESSED = SendStatus.SUPPRESSED.value
_SUBSCRIBED = SubscriberStatus.SUBSCRIBED.value


# -------------------------------------------------------------- preparing


def compile_campaign(campaign: Campaign) -> dict:
    """The campaign's template compiled once (key None), and each audience's own template
    (campaign documents) by audience id; a send renders with its audience's."""
    html, text = content.launched_body(campaign)
    name = campaign.name  # quoted in render errors
    compiled = {None: compile_email(campaign.subject, html or "", text or None, name=name)}
    for audience_id, (html, text) in content.audience_contents(campaign).items():
        compiled[audience_id] = compile_email(campaign.subject, html or "", text or None, name=name)
    return compiled


def recipients(ids: list[int]) -> list:
    """The claimed sends with what rendering needs, and whether each is suppressed."""
    return dbutil.run_sql(_PREPARE_SQL.format(ids=dbutil.id_list(ids))).all()


def prepare(loop: LoopState, compiled: dict, ids: list[int], rows=None) -> Chunk:
    """Per-email stages for a claimed chunk: suppression check, render, tracking, headers.
    Sends decided here (suppressed, template error) get their outcome right away."""
    if rows is None:
        rows = recipients(ids)
    chunk = Chunk(now=loop.clock.now())
    parts = loop.parts
    sign, base, mailbox, instrument = parts.sign, parts.base, parts.mailbox, parts.instrument
    postal_address = parts.postal_address
    feedback_id, campaign_tag, sender = parts.feedback_id, parts.campaign_tag, parts.sender
    outcomes, messages, attempts = chunk.outcomes, chunk.messages, chunk.attempts
    default = compiled[None]
    address_problem = emails.address_problem
    monotonic, renewed = loop.clock.monotonic, loop.clock.monotonic()
    every = loop.lock_ttl / 3
    for n, r in enumerate(rows):
        # A slow (but allowed) template over a big chunk: keep the row lock alive, else another
        # loop could take the row over and recover sends this one is still preparing.
        if not n & 31 and monotonic() - renewed > every:
            get_redis().expire(loop.lock_key, loop.lock_ttl)
            renewed = monotonic()
        if r.suppressed:
            outcomes.append(decided(r.id, _SUPPRESSED, "suppressed after launch"))
            continue
        if r.sub_status is not None and r.sub_status != _SUBSCRIBED:  # left after launch
            outcomes.append(decided(r.id, _SUPPRESSED, "unsubscribed after launch"))
            continue
        if (problem := address_problem(r.email)) is not None:  # a row another tool wrote
            outcomes.append(decided(r.id, _FAILED, f"invalid address: {problem}"))
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
            preferences_url=f"{base}/p/{token}",
            postal_address=postal_address,
        )
        try:
            rendered = (compiled.get(r.audience_id) or default).render(context)
        except RenderError as exc:
            outcomes.append(decided(r.id, _FAILED, f"template: {exc}"))
            continue
        html, text = instrument.apply(rendered.html, rendered.text, token)
        ref = str(r.id)
        messages.append(
            compose(
                sender,
                ref,
                r.email,
                rendered.subject,
                html,
                text,
                {
                    "List-Unsubscribe": list_unsubscribe(unsubscribe, token, mailbox),
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    "Feedback-ID": feedback_id,
                },
                {"campaign": campaign_tag, "token": token},
            )
        )
        attempts[ref] = (r.id, r.attempts)
    return chunk


def list_unsubscribe(url: str, token: str, mailbox: str | None) -> str:
    """The https one-click link, plus a mailto when an unsubscribe mailbox is configured
    (RFC 2369: some mailbox providers still prefer it)."""
    if mailbox:
        return f"<{url}>, <mailto:{mailbox}?subject=unsubscribe%20{token}>"
    return f"<{url}>"


# -------------------------------------------------------------- handing over


def journal_and_mark(loop: LoopState, outcomes: list[SendOutcome] | None, chunk: Chunk) -> bool:
    """If the campaign still runs: record on the row which sends the chunk about to go out
    has (``handed``: a dead loop's next one marks them in doubt) and the previous chunk's
    outcomes (``journal``), one row written rather than two chunks of sends. Uncommitted:
    the caller commits it before the chunk goes out. False, nothing written, if the
    campaign stopped running."""
    handed = json.dumps(chunk.sends(), separators=(",", ":")) if chunk.messages else None
    table, where, keys = record_of(loop)
    return bool(
        dbutil.run_sql(
            f"UPDATE {table} SET handed = ?, journal = ? WHERE {where} "
            "AND EXISTS (SELECT 1 FROM campaigns WHERE id = ? AND status = ?)",
            [
                handed,
                journal(outcomes) if outcomes else None,
                *keys,
                loop.campaign_id,
                CampaignStatus.RUNNING.value,
            ],
        ).rowcount
    )


def record_of(loop: LoopState) -> tuple[str, str, list[int]]:
    """Where the loop keeps ``handed`` and ``journal``: (table, condition, its parameters).
    The row's first loop on the row itself, its other loops each in a slot of their own."""
    if loop.slot == 0:
        return "campaign_channels", "id = ?", [loop.row_id]
    return (
        "campaign_channel_slots",
        "campaign_channel_id = ? AND slot = ?",
        [
            loop.row_id,
            loop.slot,
        ],
    )


def stage(loop: LoopState, chunk: Chunk) -> None:
    """Before recording the previous chunk: a sender with a process of its own
    (``offload.ProcessSender``) takes this one to prepare it meanwhile, unsent."""
    if chunk.messages and hasattr(loop.provider, "stage"):
        loop.provider.stage(chunk.messages)
        chunk.staged = True


def discard(loop: LoopState, chunk: Chunk) -> None:
    if chunk.staged:
        loop.provider.discard()
        chunk.staged = False


def hand_over(loop: LoopState, chunk: Chunk) -> None:
    """After the commit that recorded it as handed over: the provider gets the chunk."""
    if chunk.staged:
        chunk.future = loop.provider.go()
    elif chunk.messages:
        chunk.future = loop.provider.submit_batch(chunk.messages)
    loop.flight = chunk


# -------------------------------------------------------------- landing


def land(loop: LoopState) -> list[SendOutcome] | None:
    """Wait for the chunk with the provider, if any: its outcomes, to be written."""
    chunk, loop.flight = loop.flight, None
    if chunk is None:
        return None
    if chunk.future is not None:
        outcomes, attempts, now = chunk.outcomes, chunk.attempts, chunk.now
        for result in chunk.future.result():
            send_id, tries = attempts[result.ref]
            outcomes.append(interpret(result, send_id, tries, now, queued=_PENDING))
            if result.ok:
                loop.consecutive_errors = 0
                loop.recovered = loop.probing
            else:
                loop.consecutive_errors += 1
                loop.last_error = result.error
    return chunk.outcomes


def settle(loop: LoopState) -> None:
    """Land the chunk with the provider, if any, and record its outcomes."""
    outcomes = land(loop)
    if outcomes is not None:
        record(loop, outcomes)
        pause_on_burst(loop)


def record(loop: LoopState, outcomes: list[SendOutcome] | None, *, journaled: bool = False) -> None:
    """Write a chunk's outcomes to its sends (and clear the row's journal of them)."""
    if outcomes:
        sent, failed = dbutil.commit_retrying(lambda: write(loop, outcomes, journaled))
        loop.outcome.sent += sent
        loop.outcome.failed += failed
    if loop.recovered:
        end_probe(loop)


def write(loop: LoopState, outcomes: list[SendOutcome], journaled: bool = False) -> tuple[int, int]:
    """Write a chunk's outcomes and the row's counters. Outcomes from the journal clear it
    (the next chunk is out: ``handed`` is that one's); others are those of the handed chunk
    itself, which is no longer out. Not committed."""
    write_outcomes(Send.__table__, outcomes)
    sent = sum(1 for o in outcomes if o.status == SENT)
    failed_ids = [o.id for o in outcomes if o.status == _FAILED]
    failed = len(failed_ids)
    if failed_ids:  # few: when they failed, for the failed-send review
        dbutil.run_sql(
            f"UPDATE sends SET failed_at = ? WHERE id IN ({dbutil.id_list(failed_ids)})",
            [utcnow()],
        )
    done = "journal" if journaled else "handed"
    if loop.slot == 0:
        dbutil.run_sql(
            "UPDATE campaign_channels SET sent_count = sent_count + ?, "
            f"failed_count = failed_count + ?, {done} = NULL WHERE id = ?",
            [sent, failed, loop.row_id],
        )
    else:
        dbutil.run_sql(
            "UPDATE campaign_channels SET sent_count = sent_count + ?, "
            "failed_count = failed_count + ? WHERE id = ?",
            [sent, failed, loop.row_id],
        )
        table, where, keys = record_of(loop)
        dbutil.run_sql(f"UPDATE {table} SET {done} = NULL WHERE {where}", keys)
    webhook_events.emit_send_outcomes(loop.campaign_id, outcomes)
    return sent, failed


def bursting(loop: LoopState) -> bool:
    """A burst of failed sends in a row (while probing: as many as the probe's sends)."""
    if loop.probing:
        return loop.consecutive_errors >= probe_sends()
    return loop.consecutive_errors >= ERROR_BURST


def probe_sends() -> int:
    return max(1, int(current_app.config["MAILER_ROW_PROBE_SENDS"]))


def pause_on_burst(loop: LoopState) -> None:
    """A burst of consecutive failed sends pauses the row, with the last error, until the
    tick tries it again after a cool-down doubling with each pause in a row."""
    if not bursting(loop):
        return
    config = current_app.config
    cooldown = min(
        int(config["MAILER_ROW_PROBE_COOLDOWN"]) * 2 ** min(loop.self_pauses, 30),
        int(config["MAILER_ROW_PROBE_COOLDOWN_MAX"]),
    )
    reason = messages.PAUSED_AFTER % {"count": loop.consecutive_errors, "error": loop.last_error}
    db.session.execute(
        update(CampaignChannel)
        .where(CampaignChannel.id == loop.row_id)
        .values(
            paused_reason=reason[:500],
            retry_at=loop.clock.now() + timedelta(seconds=cooldown),
            self_pauses=CampaignChannel.self_pauses + 1,
        )
    )
    db.session.commit()
    loop.row_paused = reason[:500]


def end_probe(loop: LoopState) -> None:
    """A probe send went through: the row resumed for good (shown on the campaign page)."""
    db.session.execute(
        update(CampaignChannel)
        .where(CampaignChannel.id == loop.row_id, CampaignChannel.paused_reason.is_(None))
        .values(retry_at=None, self_pauses=0, resumed_at=loop.clock.now())
    )
    db.session.commit()
    loop.probing = loop.recovered = False


# -------------------------------------------------------------- the journal


def journal(outcomes: list[SendOutcome]) -> str:
    """A chunk's outcomes as compact JSON, for the row's journal."""
    return json.dumps(
        [
            [o.id, o.status, o.error, o.provider_message_id, o.sent_at, o.next_attempt_at]
            for o in outcomes
        ],
        separators=(",", ":"),
        default=datetime.isoformat,  # sent_at, next_attempt_at
    )


def unjournal(text: str) -> list[SendOutcome]:
    outcomes = []
    for send_id, status, error, pmid, sent_at, next_at in json.loads(text):
        outcomes.append(
            SendOutcome(
                send_id,
                status,
                error,
                pmid,
                datetime.fromisoformat(sent_at) if sent_at is not None else None,
                datetime.fromisoformat(next_at) if next_at is not None else None,
            )
        )
    return outcomes


# A claimed chunk's sends with what rendering needs (raw SQL: see dbutil.run_sql).
_PREPARE_SQL = (
    "SELECT s.id, s.email, s.attempts, s.audience_id, sub.first_name, sub.last_name, "
    "sub.name, sub.attributes, sub.status AS sub_status, sup.id AS suppressed FROM sends s "
    "LEFT JOIN subscribers sub ON sub.id = s.subscriber_id "
    "LEFT JOIN suppressions sup ON sup.email = s.email WHERE s.id IN ({ids})"
)
