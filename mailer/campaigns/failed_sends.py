"""The failed-send review (the dead-letter queue): campaign sends that failed or are in doubt
and failed transactional messages, with why; filtered; sent again one, a filter or all.

A retry puts a send back to pending (a message back to queued), due now, and wakes its
campaign's rows (a completed campaign runs again meanwhile) or the message's channel. A send
in doubt may already have been delivered, so it is retried only when the caller confirms.
At most ``MAILER_RETRY_BATCH`` are retried by a request; past that a job retries them all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, case, func, or_, select, update

from mailer import dispatch
from mailer.campaigns import launch
from mailer.engine.campaign_send.claims import IN_DOUBT_ERROR as SEND_IN_DOUBT
from mailer.engine.campaign_state import transition
from mailer.engine.transactional import accept
from mailer.engine.transactional.drain import IN_DOUBT_ERROR as MESSAGE_IN_DOUBT
from mailer.extensions import db
from mailer.lib.errors import NotAllowed
from mailer.models import Campaign, CampaignChannel, CampaignStatus, Send, SendStatus
from mailer.models.base import utcnow
from mailer.models.campaigns import Message, MessageStatus

S = CampaignStatus
FAILED = "failed"
IN_DOUBT = "in_doubt"
STATES = (FAILED, IN_DOUBT)
SENDS = "sends"
MESSAGES = "messages"
# Campaigns whose failed sends may go out again: a completed one runs again meanwhile.
RETRYABLE = (S.RUNNING.value, S.PAUSED.value, S.COMPLETED.value)
REASONS = (
    "refused",  # the provider refused it for good
    "gave_up",  # temporary errors until the attempts ran out
    "invalid_address",
    "template",  # the template could not be rendered for this recipient
    "suppressed",  # the address was blocked after the message was accepted
    "sender_deleted",
    "in_doubt",  # handed to the provider when a worker stopped: maybe sent
)
_GAVE_UP = "gave up after "
_PREFIXES = {
    "invalid address: ": "invalid_address",
    "template: ": "template",
    "recipient suppressed after acceptance": "suppressed",
    "the sender identity was deleted": "sender_deleted",
}


class NeedsConfirmation(NotAllowed):
    """An in-doubt send asked to go again without "send again anyway"."""


@dataclass(frozen=True)
class Filter:
    """Which failures: of a campaign, a channel, with this text in the reason, failed within
    [since, until) (naive UTC), one state (failed or in_doubt) or both."""

    campaign_id: int | None = None
    channel_id: int | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    state: str | None = None
    api_key_id: int | None = None  # messages: only those this API key sent

    def as_dict(self) -> dict:
        """For a job's arguments (times as ISO text)."""
        out = asdict(self)
        for name in ("since", "until"):
            if out[name] is not None:
                out[name] = out[name].isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Filter:
        values = dict(data)
        for name in ("since", "until"):
            if values.get(name):
                values[name] = datetime.fromisoformat(values[name])
        return cls(**values)


def reason_of(error: str | None, state: str) -> tuple[str, str | None]:
    """(reason code, the provider's answer when the reason is the provider's) of a failure."""
    text = error or ""
    if state == IN_DOUBT or text in (SEND_IN_DOUBT, MESSAGE_IN_DOUBT):
        return "in_doubt", None
    for prefix, code in _PREFIXES.items():
        if text.startswith(prefix):
            return code, None
    if text.startswith(_GAVE_UP):
        _, _, answer = text.partition(": ")
        return "gave_up", answer or None
    return "refused", text or None


def reason_name(code: str) -> str:
    """A reason in the reader's words."""
    names = {
        "refused": _("Refused by the provider"),
        "gave_up": _("Temporary errors until the attempts ran out"),
        "invalid_address": _("Invalid address"),
        "template": _("The email could not be written from the template"),
        "suppressed": _("Address blocked after the message was accepted"),
        "sender_deleted": _("The sender was deleted"),
        "in_doubt": _("Not sure it was sent"),
    }
    return names.get(code, code)


# ------------------------------------------------------------------ listing


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def send_state(send: Send) -> str:
    return IN_DOUBT if send.status == SendStatus.IN_DOUBT.value else FAILED


def sends_query(f: Filter) -> Select:
    """Failed and in-doubt sends matching ``f`` (newest first is the caller's ORDER BY)."""
    states = [SendStatus.FAILED.value, SendStatus.IN_DOUBT.value]
    if f.state in STATES:
        states = [f.state]
    stmt = select(Send).where(Send.status.in_(states))
    if f.campaign_id is not None:
        stmt = stmt.where(Send.campaign_id == f.campaign_id)
    if f.channel_id is not None:
        rows = select(CampaignChannel.id).where(CampaignChannel.channel_id == f.channel_id)
        stmt = stmt.where(Send.campaign_channel_id.in_(rows))
    if f.reason:
        stmt = stmt.where(Send.error.like(_like(f.reason), escape="\\"))
    if f.since is not None:
        stmt = stmt.where(Send.failed_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(Send.failed_at < f.until)
    return stmt


def _message_in_doubt():
    return Message.error == MESSAGE_IN_DOUBT


def message_state(message: Message) -> str:
    return IN_DOUBT if message.error == MESSAGE_IN_DOUBT else FAILED


def messages_query(f: Filter) -> Select:
    """Failed transactional messages matching ``f``; their time is their last attempt's."""
    stmt = select(Message).where(Message.status == MessageStatus.FAILED.value)
    if f.state == IN_DOUBT:
        stmt = stmt.where(_message_in_doubt())
    elif f.state == FAILED:
        stmt = stmt.where(or_(Message.error.is_(None), Message.error != MESSAGE_IN_DOUBT))
    if f.channel_id is not None:
        stmt = stmt.where(Message.channel_id == f.channel_id)
    if f.api_key_id is not None:
        stmt = stmt.where(Message.api_key_id == f.api_key_id)
    if f.reason:
        stmt = stmt.where(Message.error.like(_like(f.reason), escape="\\"))
    if f.since is not None:
        stmt = stmt.where(Message.claimed_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(Message.claimed_at < f.until)
    return stmt


def row_channels(row_ids: Iterable[int | None]) -> dict[int, int]:
    """Campaign channel row id -> its channel's id."""
    ids = {i for i in row_ids if i is not None}
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(CampaignChannel.id, CampaignChannel.channel_id).where(
                CampaignChannel.id.in_(ids)
            )
        ).all()
    )


def counts(f: Filter) -> dict[str, int]:
    """How many sends match ``f`` per state (the page's headings and buttons)."""
    found = dict.fromkeys(STATES, 0)
    base = sends_query(Filter(**{**asdict(f), "state": None})).subquery()
    for status, n in db.session.execute(
        select(base.c.status, func.count()).group_by(base.c.status)
    ):
        found[IN_DOUBT if status == SendStatus.IN_DOUBT.value else FAILED] += n
    return found


# ------------------------------------------------------------------ retrying


@dataclass
class Retried:
    """What a retry request did: how many went back to the queue; in-doubt ones left alone
    (not confirmed); ones whose campaign may not send again; and whether a job retries the
    rest (more than a request does)."""

    retried: int = 0
    in_doubt_skipped: int = 0
    not_retryable: int = 0
    queued: bool = False
    matching: int = 0
    campaigns: set[int] = field(default_factory=set)

    def as_dict(self) -> dict:
        return {
            "retried": self.retried,
            "in_doubt_skipped": self.in_doubt_skipped,
            "not_retryable": self.not_retryable,
            "queued": self.queued,
            "matching": self.matching,
        }


def batch_size() -> int:
    return max(1, int(current_app.config["MAILER_RETRY_BATCH"]))


def _retryable_campaigns():
    return select(Campaign.id).where(Campaign.status.in_(RETRYABLE), Campaign.archived_at.is_(None))


def _send_candidates(f: Filter, confirm_in_doubt: bool) -> Select:
    stmt = sends_query(f).where(Send.campaign_id.in_(_retryable_campaigns()))
    if not confirm_in_doubt:
        stmt = stmt.where(Send.status == SendStatus.FAILED.value)
    return stmt


def _message_candidates(f: Filter, confirm_in_doubt: bool) -> Select:
    stmt = messages_query(f).where(Message.channel_id.is_not(None))
    if not confirm_in_doubt:
        stmt = stmt.where(or_(Message.error.is_(None), Message.error != MESSAGE_IN_DOUBT))
    return stmt


def _count(stmt: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def check_campaign(campaign: Campaign) -> None:
    """NotAllowed, with the reason, when the campaign's failed sends may not go again."""
    if campaign.archived_at is not None:
        raise NotAllowed(
            _("This campaign's figures are archived: its failed sends can no longer be retried.")
        )
    if campaign.status not in RETRYABLE:
        raise NotAllowed(
            _("A cancelled, failed or unsent campaign sends nothing again: duplicate it instead.")
        )


def retry_send(send: Send, *, confirm_in_doubt: bool = False) -> Retried:
    """Send one failed (or, confirmed, in-doubt) send again."""
    if send.status not in (SendStatus.FAILED.value, SendStatus.IN_DOUBT.value):
        raise NotAllowed(_("This email is no longer failed: nothing to retry."))
    if send.status == SendStatus.IN_DOUBT.value and not confirm_in_doubt:
        raise NeedsConfirmation(
            _(
                "Nobody knows whether this email was sent: it may already have been delivered. "
                "Confirm “send again anyway” to send it once more."
            )
        )
    check_campaign(db.session.get(Campaign, send.campaign_id))
    done = _retry_send_ids([(send.id, send.campaign_channel_id, send.status, send.campaign_id)])
    done.matching = 1
    return done


def retry_sends(f: Filter, *, confirm_in_doubt: bool = False) -> Retried:
    """Send again every failed send matching ``f`` (in-doubt ones only when confirmed), in
    campaigns that may send again. Up to a batch here; past that a job does them all."""
    return _retry_all(SENDS, f, confirm_in_doubt)


def _retry_all(kind: str, f: Filter, confirm_in_doubt: bool) -> Retried:
    """retry_sends and retry_messages: count, then retry here or hand the filter to a job."""
    candidates, query, batches = {
        SENDS: (_send_candidates, sends_query, retry_send_batches),
        MESSAGES: (_message_candidates, messages_query, retry_message_batches),
    }[kind]
    matching = _count(candidates(f, confirm_in_doubt))
    skipped = 0
    if not confirm_in_doubt and f.state != FAILED:
        skipped = _count(query(Filter(**{**asdict(f), "state": IN_DOUBT})))
    not_retryable = max(0, _count(query(f)) - matching - skipped)
    if matching > batch_size():
        dispatch.retry_failed(kind, f.as_dict(), confirm_in_doubt)
        return Retried(
            queued=True, matching=matching, in_doubt_skipped=skipped, not_retryable=not_retryable
        )
    done = batches(f, confirm_in_doubt)
    done.matching, done.in_doubt_skipped, done.not_retryable = matching, skipped, not_retryable
    return done


def retry_send_batches(f: Filter, confirm_in_doubt: bool, after: int = 0) -> Retried:
    """Every matching send, a batch at a time in id order (each retried once per call)."""
    total = Retried()
    size = batch_size()
    while True:
        rows = db.session.execute(
            _send_candidates(f, confirm_in_doubt)
            .with_only_columns(Send.id, Send.campaign_channel_id, Send.status, Send.campaign_id)
            .where(Send.id > after)
            .order_by(Send.id)
            .limit(size)
        ).all()
        if not rows:
            return total
        done = _retry_send_ids([tuple(r) for r in rows])
        total.retried += done.retried
        total.campaigns |= done.campaigns
        after = rows[-1][0]
        if len(rows) < size:
            return total


def _retry_send_ids(rows: list[tuple[int, int | None, str, int]]) -> Retried:
    """Pending again, due now, per (row, status) group so each row's failed counter drops by
    exactly the failed sends put back; then the campaigns run again and their rows wake."""
    groups: dict[tuple[int | None, str], list[int]] = defaultdict(list)
    campaigns = set()
    for send_id, row_id, status, campaign_id in rows:
        groups[(row_id, status)].append(send_id)
        campaigns.add(campaign_id)
    now = utcnow()
    done = Retried()
    for (row_id, status), ids in sorted(groups.items(), key=lambda g: (g[0][0] or 0, g[0][1])):
        n = db.session.execute(
            update(Send)
            .where(Send.id.in_(ids), Send.status == status)
            .values(
                status=SendStatus.PENDING.value, next_attempt_at=now, failed_at=None, error=None
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        done.retried += n
        if n and row_id is not None and status == SendStatus.FAILED.value:
            count = CampaignChannel.failed_count
            db.session.execute(
                update(CampaignChannel)
                .where(CampaignChannel.id == row_id)
                .values(failed_count=case((count > n, count - n), else_=0))
            )
    db.session.commit()
    if done.retried:
        for campaign_id in sorted(campaigns):
            _send_again(campaign_id)
    done.campaigns = campaigns
    return done


def _send_again(campaign_id: int) -> None:
    """A completed campaign runs again; a running one's rows wake; a paused one waits."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        return
    if campaign.status == S.COMPLETED.value:
        try:
            transition(campaign, S.RUNNING, expect=S.COMPLETED)
        except NotAllowed:
            db.session.rollback()  # archived or moved meanwhile; its loop or tick decides
            return
    if campaign.status == S.RUNNING.value:
        launch.wake(campaign)


def retry_message(message: Message, *, confirm_in_doubt: bool = False) -> Retried:
    """Queue one failed transactional message again."""
    if message.status != MessageStatus.FAILED.value:
        raise NotAllowed(_("This message is no longer failed: nothing to retry."))
    if message.error == MESSAGE_IN_DOUBT and not confirm_in_doubt:
        raise NeedsConfirmation(
            _(
                "Nobody knows whether this message was sent: it may already have been "
                "delivered. Confirm “send again anyway” to send it once more."
            )
        )
    if message.channel_id is None:
        raise NotAllowed(_("Its channel was deleted: this message cannot be sent again."))
    done = _retry_message_ids([(message.id, message.channel_id)])
    done.matching = 1
    return done


def retry_messages(f: Filter, *, confirm_in_doubt: bool = False) -> Retried:
    """Queue again every failed message matching ``f`` (as retry_sends)."""
    return _retry_all(MESSAGES, f, confirm_in_doubt)


def retry_message_batches(f: Filter, confirm_in_doubt: bool, after: int = 0) -> Retried:
    total = Retried()
    size = batch_size()
    while True:
        rows = db.session.execute(
            _message_candidates(f, confirm_in_doubt)
            .with_only_columns(Message.id, Message.channel_id)
            .where(Message.id > after)
            .order_by(Message.id)
            .limit(size)
        ).all()
        if not rows:
            return total
        total.retried += _retry_message_ids([tuple(r) for r in rows]).retried
        after = rows[-1][0]
        if len(rows) < size:
            return total


def _retry_message_ids(rows: list[tuple[int, int]]) -> Retried:
    """Queued again, due now, through the transactional path: the channel's drain wakes."""
    ids = [message_id for message_id, _ in rows]
    n = db.session.execute(
        update(Message)
        .where(Message.id.in_(ids), Message.status == MessageStatus.FAILED.value)
        .values(
            status=MessageStatus.QUEUED.value,
            next_attempt_at=utcnow(),
            claimed_at=None,
            error=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if n:
        accept.wake({channel_id for _, channel_id in rows})
    return Retried(retried=n)


def retry_all(kind: str, filter_data: dict, confirm_in_doubt: bool) -> Retried:
    """The job's work: every match of a filter too large for one request."""
    f = Filter.from_dict(filter_data)
    if kind == SENDS:
        return retry_send_batches(f, confirm_in_doubt)
    return retry_message_batches(f, confirm_in_doubt)
