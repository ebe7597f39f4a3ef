"""Applying normalised feedback events to sends and messages, in the caller's transaction.

:func:`apply_events` finds each event's send or message (by signed token, else by provider
message id, only within the reporting channel), records it once as an ``Event`` row, sets the
send's first-time columns and the message's status, suppresses hard bounces, complaints and
repeated soft bounces, marks subscribers, and emits outbound webhook events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select, update

from mailer.engine.feedback.base import FeedbackEvent
from mailer.engine.tracking import hits
from mailer.engine.transactional import feedback as transactional_feedback
from mailer.engine.webhooks_out import events as webhook_events
from mailer.engine.webhooks_out.events import WebhookEvent
from mailer.extensions import db
from mailer.lib import dbutil, tokens
from mailer.models import (
    Campaign,
    CampaignChannel,
    Event,
    EventType,
    Message,
    Send,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)
from mailer.models.base import utcnow

CHUNK = 500  # ids per IN (…)


@dataclass(frozen=True)
class _Target:
    """The send or transactional message an event is about."""

    kind: str  # tokens.CAMPAIGN_SEND | tokens.MESSAGE
    id: int
    email: str
    channel_id: int | None  # the channel it was sent through
    campaign_id: int | None = None
    subscriber_id: int | None = None


_S = Send.__table__


def _set_first_times(column: str, times: Mapping[int, datetime]) -> None:
    """Set a send time column where it is still empty: one UPDATE … CASE per chunk (the MySQL
    driver sends an executemany UPDATE as one statement per row)."""
    for chunk in chunks(sorted(times)):
        db.session.execute(
            update(_S)
            .where(_S.c.id.in_(chunk), _S.c[column].is_(None))
            .values({column: case({i: times[i] for i in chunk}, value=_S.c.id)})
        )


_COLUMN = {
    EventType.DELIVERY.value: "delivered_at",
    EventType.BOUNCE.value: "bounced_at",
    EventType.COMPLAINT.value: "complained_at",
    EventType.OPEN.value: "opened_at",
    EventType.CLICK.value: "clicked_at",
    EventType.UNSUBSCRIBE.value: "unsubscribed_at",
}
# New subscriber status per suppression reason, and the statuses it may replace.
_SUBSCRIBER = {
    SuppressionReason.HARD_BOUNCE.value: (SubscriberStatus.BOUNCED, (SubscriberStatus.SUBSCRIBED,)),
    SuppressionReason.SOFT_BOUNCES.value: (
        SubscriberStatus.BOUNCED,
        (SubscriberStatus.SUBSCRIBED,),
    ),
    SuppressionReason.COMPLAINT.value: (
        SubscriberStatus.COMPLAINED,
        (SubscriberStatus.SUBSCRIBED, SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED),
    ),
    SuppressionReason.UNSUBSCRIBED.value: (
        SubscriberStatus.UNSUBSCRIBED,
        (SubscriberStatus.SUBSCRIBED,),
    ),
}


def chunks(values: Iterable[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    """``values`` in lists of at most ``size`` (for ``IN (…)`` clauses)."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _resolve(events: Sequence[FeedbackEvent], active: Sequence[int]) -> dict[int, _Target]:
    """Index of each event -> its send or message: by signed token, else by provider message
    id; either way only one sent through the channel that reported the event. A send's
    channel is its campaign channel row's; an event of a payload whose channel is gone
    matches nothing."""
    scoped = [i for i in active if events[i].channel_id is not None]
    wanted: dict[int, tuple[str, int]] = {}
    for i in scoped:
        parsed = tokens.parse(events[i].token) if events[i].token else None
        if parsed is not None:
            wanted[i] = parsed
    by_id: dict[tuple[str, int], _Target] = {}
    for kind in (tokens.CAMPAIGN_SEND, tokens.MESSAGE):
        ids = {v for k, v in wanted.values() if k == kind}
        for chunk in chunks(ids):
            for _, target in _targets(kind, "id", chunk):
                by_id[(kind, target.id)] = target
    found: dict[int, _Target] = {}
    for i, key in wanted.items():
        target = by_id.get(key)
        if target is not None and target.channel_id == events[i].channel_id:
            found[i] = target
    rest = [i for i in scoped if i not in found and events[i].message_ids]
    if rest:
        channels = {events[i].channel_id for i in rest}
        by_pmid: dict[tuple[int | None, str], _Target] = {}
        pmids = {m for i in rest for m in events[i].message_ids}
        for chunk in chunks(pmids):
            # Sends first: a message with the same id does not replace one.
            for kind in (tokens.CAMPAIGN_SEND, tokens.MESSAGE):
                for pmid, target in _targets(kind, "provider_message_id", chunk, channels):
                    by_pmid.setdefault((target.channel_id, pmid), target)
        for i in rest:
            for mid in events[i].message_ids:
                target = by_pmid.get((events[i].channel_id, mid))
                if target is not None:
                    found[i] = target
                    break
    return found


def _targets(
    kind: str, by: str, values: Sequence[Any], channels: set[int | None] | None = None
) -> Iterable[tuple[Any, _Target]]:
    """(value, send or message) whose column ``by`` ("id" or "provider_message_id") is one of
    ``values``, with the channel it went through (a send's: its channel row's); only those of
    ``channels`` when given."""
    if kind == tokens.CAMPAIGN_SEND:
        column = getattr(Send, by)
        stmt = (
            select(
                column.label("value"),
                Send.id,
                Send.email,
                Send.campaign_id,
                Send.subscriber_id,
                CampaignChannel.channel_id,
            )
            .outerjoin(CampaignChannel, CampaignChannel.id == Send.campaign_channel_id)
            .where(column.in_(values))
        )
        channel = CampaignChannel.channel_id
    else:
        column = getattr(Message, by)
        stmt = select(
            column.label("value"), Message.id, Message.to_email.label("email"), Message.channel_id
        ).where(column.in_(values))
        channel = Message.channel_id
    if channels is not None:
        stmt = stmt.where(channel.in_(channels))
    for r in db.session.execute(stmt):
        extra = (r.campaign_id, r.subscriber_id) if kind == tokens.CAMPAIGN_SEND else ()
        yield r.value, _Target(kind, r.id, r.email, r.channel_id, *extra)


def _machine_reason(e: FeedbackEvent) -> str | None:
    """Why an open or click looks automated (the rules of the tracking engine), or None."""
    if e.machine:
        return "provider-flagged proxy open"
    ua = e.data.get("ua")
    if e.kind not in (EventType.OPEN.value, EventType.CLICK.value) or not ua:
        return None  # no user agent: the provider judged it an open, trust it
    kind = hits.OPEN if e.kind == EventType.OPEN.value else hits.CLICK
    return hits.machine_reason(kind, ua)


def _counted_by_own_tracking(
    events: Sequence[FeedbackEvent], targets: Mapping[int, _Target], indexes: Sequence[int]
) -> list[int]:
    """Provider opens and clicks of mail whose own open (click) tracking is on: our pixel or
    link records the same action, so the provider's report would count it twice. Where our
    tracking of that kind is off, the provider's counts like ours (docs/architecture.md)."""
    kinds = (EventType.OPEN.value, EventType.CLICK.value)
    wanted = [i for i in indexes if events[i].kind in kinds]
    if not wanted:
        return []
    tracked: dict[tuple[str, int], tuple[bool, bool]] = {}
    campaigns = {targets[i].campaign_id for i in wanted if targets[i].kind == tokens.CAMPAIGN_SEND}
    for chunk in chunks(sorted(c for c in campaigns if c is not None)):
        for cid, opens, clicks in db.session.execute(
            select(Campaign.id, Campaign.track_opens, Campaign.track_clicks).where(
                Campaign.id.in_(chunk)
            )
        ):
            tracked[(tokens.CAMPAIGN_SEND, cid)] = (bool(opens), bool(clicks))
    messages = {targets[i].id for i in wanted if targets[i].kind == tokens.MESSAGE}
    for chunk in chunks(sorted(messages)):
        for mid, opens, clicks in db.session.execute(
            select(
                Message.id,
                Message.payload["track_opens"],
                Message.payload["track_clicks"],
            ).where(Message.id.in_(chunk))
        ):  # stored only when false (accept); SQLite reads it back as 0
            tracked[(tokens.MESSAGE, mid)] = (
                opens not in (False, "false"),
                clicks not in (False, "false"),
            )
    out = []
    for i in wanted:
        t = targets[i]
        key = (t.kind, t.campaign_id if t.kind == tokens.CAMPAIGN_SEND else t.id)
        opens, clicks = tracked.get(key, (False, False))
        if opens if events[i].kind == EventType.OPEN.value else clicks:
            out.append(i)
    return out


def apply_events(events: Sequence[FeedbackEvent], *, now: datetime | None = None) -> list[str]:
    """Record events and their effects in the caller's transaction.

    Returns one outcome per event: "new", "duplicate" (already recorded: nothing done),
    "unmatched" (no send or message found) or "ignored" (nothing to record)."""
    now = now or utcnow()
    outcomes = ["ignored" if e.kind is None else "" for e in events]
    active = [i for i, e in enumerate(events) if e.kind is not None]
    targets = _resolve(events, active)
    for i in active:
        if i not in targets:
            outcomes[i] = "unmatched"
    matched = [i for i in active if i in targets]
    for i in _counted_by_own_tracking(events, targets, matched):
        outcomes[i] = "ignored"
    matched = [i for i in matched if outcomes[i] != "ignored"]
    existing: set[str] = set()
    for chunk in chunks({events[i].key for i in matched}):
        existing.update(
            db.session.scalars(
                select(Event.provider_event_id).where(Event.provider_event_id.in_(chunk))
            )
        )
    fresh: list[int] = []
    for i in matched:
        key = events[i].key
        if key in existing:
            outcomes[i] = "duplicate"
        else:
            existing.add(key)  # a second copy within the batch is a duplicate too
            outcomes[i] = "new"
            fresh.append(i)
    if not fresh:
        return outcomes

    rows = []
    first: dict[str, dict[int, datetime]] = defaultdict(dict)
    messages: dict[str, dict[int, tuple[datetime, str | None]]] = defaultdict(dict)
    suppress: dict[str, tuple[str, str]] = {}
    subscribers: dict[str, set[int]] = defaultdict(set)
    soft: dict[str, set[int | None]] = defaultdict(set)
    global_unsubscribe = _unsubscribe_scope() == "global"
    for i in fresh:
        e, t = events[i], targets[i]
        why = _machine_reason(e)
        machine = why is not None
        data = {"provider": e.provider, **e.data}
        if e.bounce:
            data["bounce"] = e.bounce
        if e.suppress:
            data["suppressed"] = e.suppress
        if why:
            data["machine"] = why
        rows.append(
            {
                "type": e.kind,
                "occurred_at": e.occurred_at,
                "campaign_id": t.campaign_id,
                "send_id": t.id if t.kind == tokens.CAMPAIGN_SEND else None,
                "message_id": t.id if t.kind == tokens.MESSAGE else None,
                "link_id": None,
                "provider_event_id": e.key,
                "machine": machine,
                "data": data,
            }
        )
        column = _COLUMN.get(e.kind)  # type: ignore[arg-type]
        if t.kind == tokens.CAMPAIGN_SEND and column and not machine:
            seen = first[column].get(t.id)
            first[column][t.id] = e.occurred_at if seen is None else min(seen, e.occurred_at)
        if t.kind == tokens.MESSAGE and not machine:  # transactional: status and times
            seen_m = messages[e.kind].get(t.id)
            if seen_m is None or e.occurred_at < seen_m[0]:
                messages[e.kind][t.id] = (e.occurred_at, e.data.get("detail"))
        reason = _suppression_reason(e, global_unsubscribe)
        source = f"{e.provider} feedback, " + (
            f"campaign {t.campaign_id}" if t.kind == tokens.CAMPAIGN_SEND else f"message {t.id}"
        )
        if reason:
            suppress.setdefault(t.email, (reason, source))
        status_reason = e.suppress or (
            SuppressionReason.HARD_BOUNCE.value
            if e.bounce == "hard"
            else SuppressionReason.COMPLAINT.value
            if e.kind == EventType.COMPLAINT.value
            else SuppressionReason.UNSUBSCRIBED.value
            if e.kind == EventType.UNSUBSCRIBE.value
            else None
        )
        if status_reason and t.subscriber_id is not None:
            subscribers[status_reason].add(t.subscriber_id)
        if e.bounce == "soft":
            soft[t.email].add(t.subscriber_id)

    # Rows in key order everywhere: two workers lock in the same order, not into a deadlock.
    rows.sort(key=lambda r: r["provider_event_id"])
    db.session.execute(dbutil.insert_ignore(Event.__table__, ["provider_event_id"]), rows)
    # Outbound webhooks: only the fresh events are in rows.
    webhook_events.emit(WebhookEvent.from_event_row(r) for r in rows)
    for column, times in sorted(first.items()):
        _set_first_times(column, times)
    if messages:
        transactional_feedback.apply_feedback(messages)
    for email in _over_soft_limit(soft.keys(), now):
        suppress.setdefault(email, (SuppressionReason.SOFT_BOUNCES.value, "feedback: soft bounces"))
        subscribers[SuppressionReason.SOFT_BOUNCES.value].update(
            s for s in soft[email] if s is not None
        )
    _suppress(suppress, now)
    _mark_subscribers(subscribers, now)
    return outcomes


def _unsubscribe_scope() -> str:
    return current_app.config["MAILER_UNSUBSCRIBE_SCOPE"]


def _suppression_reason(e: FeedbackEvent, global_unsubscribe: bool) -> str | None:
    if e.suppress:
        reason = e.suppress
    elif e.kind == EventType.BOUNCE.value and e.bounce == "hard":
        reason = SuppressionReason.HARD_BOUNCE.value
    elif e.kind == EventType.COMPLAINT.value:
        reason = SuppressionReason.COMPLAINT.value
    elif e.kind == EventType.UNSUBSCRIBE.value:
        reason = SuppressionReason.UNSUBSCRIBED.value
    else:
        return None
    if reason == SuppressionReason.UNSUBSCRIBED.value and not global_unsubscribe:
        return None
    return reason


def soft_bounce_settings() -> tuple[int, int]:
    """(soft bounces that suppress an address, within how many days)."""
    cfg = current_app.config
    return int(cfg["MAILER_SOFT_BOUNCE_LIMIT"]), int(cfg["MAILER_SOFT_BOUNCE_WINDOW_DAYS"])


def count_soft_bounces(emails: Iterable[str], since: datetime) -> dict[str, int]:
    """Soft bounces per address since ``since``, sends and transactional messages together.

    Reads the events index (campaign, type, time) once per campaign rather than scanning:
    neither sends nor events are indexed by address."""
    emails = list(emails)
    counts: dict[str, int] = defaultdict(int)
    if not emails:
        return counts
    is_soft = Event.data["bounce"].as_string() == "soft"
    # Campaign sends' bounces, then transactional messages' (their events have no campaign).
    sources = (
        (Send, Send.email, Send.id == Event.send_id, Event.campaign_id.is_not(None)),
        (Message, Message.to_email, Message.id == Event.message_id, Event.campaign_id.is_(None)),
    )
    for chunk in chunks(emails):
        for table, email_column, joined, origin in sources:
            for email, n in db.session.execute(
                select(email_column, func.count())
                .select_from(Event)
                .join(table, joined)
                .where(
                    origin,
                    Event.type == EventType.BOUNCE.value,
                    Event.occurred_at >= since,
                    email_column.in_(chunk),
                    is_soft,
                )
                .group_by(email_column)
            ):
                counts[email] += n
    return counts


def _over_soft_limit(emails: Iterable[str], now: datetime) -> list[str]:
    emails = list(emails)
    limit, days = soft_bounce_settings()
    if not emails or limit < 1:
        return []
    counts = count_soft_bounces(emails, now - timedelta(days=days))
    return [e for e in emails if counts.get(e, 0) >= limit]


def _suppress(entries: Mapping[str, tuple[str, str]], now: datetime) -> None:
    if not entries:
        return
    db.session.execute(
        dbutil.insert_ignore(Suppression.__table__, ["email"]),
        [
            {"email": email, "reason": reason, "source": source[:200], "created_at": now}
            for email, (reason, source) in sorted(entries.items())
        ],
    )


def _mark_subscribers(groups: Mapping[str, set[int]], now: datetime) -> None:
    # Complaints last: they may replace a status an earlier group just set.
    order = sorted(groups, key=lambda r: r == SuppressionReason.COMPLAINT.value)
    for reason in order:
        new, replaceable = _SUBSCRIBER[reason]
        values: dict[str, Any] = {"status": new.value, "updated_at": now}
        if new == SubscriberStatus.UNSUBSCRIBED:
            values["unsubscribed_at"] = now
        for chunk in chunks(sorted(groups[reason])):
            db.session.execute(
                update(Subscriber)
                .where(
                    Subscriber.id.in_(chunk),
                    Subscriber.status.in_([s.value for s in replaceable]),
                )
                .values(values)
            )
