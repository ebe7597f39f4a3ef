"""A campaign's figures, counted in one place: sends per status (whole campaign and per
channel row), report figures per channel row (sends and tracked interactions), the list page's
and the dashboard's figures, and the live progress block.

"Human" figures leave out hits flagged as machine activity; rates are over delivered messages
once provider feedback reports deliveries, over sent messages until then. A campaign whose
figures were archived (retention prunes its sends and events afterwards) is read from
``Campaign.archived_figures``: :func:`snapshot` wrote them with these same functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from sqlalchemy import case, distinct, false, func, select

from mailer.extensions import db
from mailer.models import (
    Campaign,
    CampaignChannel,
    CampaignStatus,
    Channel,
    Event,
    EventType,
    Identity,
    Import,
    Send,
    SendStatus,
)
from mailer.models.base import utcnow

S = CampaignStatus
PAGE_SIZE = 50  # campaigns per page of the list
INTERACTIONS = (EventType.OPEN.value, EventType.CLICK.value)


# ------------------------------------------------------------------ sends per status


def archived(campaign_id: int) -> dict | None:
    """A campaign's archived figures (this module's part), None while it is not archived."""
    found = db.session.scalar(select(Campaign.archived_figures).where(Campaign.id == campaign_id))
    return found["stats"] if found else None


def archived_many(campaign_ids: list[int]) -> dict[int, dict]:
    rows = db.session.execute(
        select(Campaign.id, Campaign.archived_figures).where(
            Campaign.id.in_(campaign_ids), Campaign.archived_at.is_not(None)
        )
    )
    return {cid: found["stats"] for cid, found in rows if found}


def status_counts(campaign_id: int) -> dict[str, int]:
    frozen = archived(campaign_id)
    if frozen is not None:
        return dict(frozen["status"])
    rows = db.session.execute(
        select(Send.status, func.count())
        .where(Send.campaign_id == campaign_id)
        .group_by(Send.status)
    )
    result = {s.value: 0 for s in SendStatus}
    result.update(dict(rows.all()))
    return result


def status_counts_by_row(campaign_id: int) -> dict[int, dict[str, int]]:
    frozen = archived(campaign_id)
    if frozen is not None:
        return {int(row_id): dict(counts) for row_id, counts in frozen["by_row"]}
    rows = db.session.execute(
        select(Send.campaign_channel_id, Send.status, func.count())
        .where(Send.campaign_id == campaign_id, Send.campaign_channel_id.is_not(None))
        .group_by(Send.campaign_channel_id, Send.status)
    )
    out: dict[int, dict[str, int]] = {}
    for row_id, status, n in rows:
        out.setdefault(row_id, {})[status] = n
    return out


RECENT = timedelta(seconds=60)  # the estimate's rate is taken over the sends of this window


def counts_and_recent(campaign_id: int, since) -> tuple[dict[str, int], int]:
    """Sends per status and those sent since ``since``, in the one pass over the campaign's
    sends that the progress block makes anyway (an archived campaign's: its figures, none
    recent)."""
    frozen = archived(campaign_id)
    if frozen is not None:
        return dict(frozen["status"]), 0
    rows = db.session.execute(
        select(Send.status, func.count(), count_if(Send.sent_at >= since))
        .where(Send.campaign_id == campaign_id)
        .group_by(Send.status)
    )
    counts = {s.value: 0 for s in SendStatus}
    recent = 0
    for status, n, new in rows:
        counts[status] = n
        recent += int(new or 0)
    return counts, recent


# ------------------------------------------------------------------ report figures


@dataclass
class Interactions:
    """Opens or clicks: every hit and distinct recipients, all of them and people only."""

    total: int = 0
    total_human: int = 0
    unique: int = 0
    unique_human: int = 0

    def add(self, other: Interactions) -> None:
        self.total += other.total
        self.total_human += other.total_human
        self.unique += other.unique
        self.unique_human += other.unique_human


@dataclass
class Figures:
    recipients: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    bounced: int = 0
    complained: int = 0
    unsubscribed: int = 0
    opens: Interactions = field(default_factory=Interactions)
    clicks: Interactions = field(default_factory=Interactions)

    def add(self, other: Figures) -> None:
        for name in ("recipients", "sent", "delivered", "failed", "bounced", "complained"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.unsubscribed += other.unsubscribed
        self.opens.add(other.opens)
        self.clicks.add(other.clicks)

    @property
    def has_deliveries(self) -> bool:
        return self.delivered > 0

    @property
    def base(self) -> int:
        """What rates are taken over: delivered once feedback exists, else sent."""
        return self.delivered if self.delivered else self.sent

    def rate(self, count: int, over: int | None = None) -> float | None:
        over = self.base if over is None else over
        return count / over if over else None

    @property
    def open_rate(self) -> float | None:
        return self.rate(self.opens.unique_human)

    @property
    def open_rate_all(self) -> float | None:
        return self.rate(self.opens.unique)

    @property
    def click_rate(self) -> float | None:
        """Click-through rate: recipients who clicked over delivered (or sent)."""
        return self.rate(self.clicks.unique_human)

    @property
    def click_rate_all(self) -> float | None:
        return self.rate(self.clicks.unique)

    @property
    def click_to_open(self) -> float | None:
        return self.rate(self.clicks.unique_human, self.opens.unique_human)


def count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def human():
    return Event.machine == false()


def figures_by_channel(campaign_id: int) -> dict[int | None, Figures]:
    frozen = archived(campaign_id)
    if frozen is not None:
        return {row_id: figures_from(values) for row_id, values in frozen["by_channel"]}
    out: dict[int | None, Figures] = {}
    send_rows = db.session.execute(
        select(
            Send.campaign_channel_id,
            func.count().label("recipients"),
            count_if(Send.sent_at.is_not(None)).label("sent"),
            count_if(Send.delivered_at.is_not(None)).label("delivered"),
            count_if(Send.status == SendStatus.FAILED.value).label("failed"),
            count_if(Send.bounced_at.is_not(None)).label("bounced"),
            count_if(Send.complained_at.is_not(None)).label("complained"),
            count_if(Send.unsubscribed_at.is_not(None)).label("unsubscribed"),
        )
        .where(Send.campaign_id == campaign_id)
        .group_by(Send.campaign_channel_id)
    )
    for r in send_rows:
        out[r.campaign_channel_id] = Figures(
            recipients=r.recipients,
            sent=int(r.sent or 0),
            delivered=int(r.delivered or 0),
            failed=int(r.failed or 0),
            bounced=int(r.bounced or 0),
            complained=int(r.complained or 0),
            unsubscribed=int(r.unsubscribed or 0),
        )
    event_rows = db.session.execute(
        select(
            Send.campaign_channel_id,
            Event.type,
            func.count().label("total"),
            count_if(human()).label("total_human"),
            func.count(distinct(Event.send_id)).label("unique"),
            func.count(distinct(case((human(), Event.send_id)))).label("unique_human"),
        )
        .join(Send, Send.id == Event.send_id)
        .where(Event.campaign_id == campaign_id, Event.type.in_(INTERACTIONS))
        .group_by(Send.campaign_channel_id, Event.type)
    )
    for r in event_rows:
        figures = out.setdefault(r.campaign_channel_id, Figures())
        target = figures.opens if r.type == EventType.OPEN.value else figures.clicks
        target.add(
            Interactions(int(r.total), int(r.total_human or 0), int(r.unique), int(r.unique_human))
        )
    return out


def figures_from(values: dict) -> Figures:
    opens, clicks = Interactions(**values["opens"]), Interactions(**values["clicks"])
    return Figures(**{**values, "opens": opens, "clicks": clicks})


def campaign_figures(campaign_id: int) -> Figures:
    """The whole campaign's figures (every channel row's added up)."""
    total = Figures()
    for figures in figures_by_channel(campaign_id).values():
        total.add(figures)
    return total


def rates(campaign_ids: Iterable[int]) -> dict[int, Figures]:
    """Sent, opens and clicks for a few campaigns at once (dashboard's recent campaigns)."""
    ids = list(campaign_ids)
    out = {cid: Figures() for cid in ids}
    if not ids:
        return out
    for cid, frozen in archived_many(ids).items():
        out[cid] = figures_from(frozen["rates"])
        ids.remove(cid)
    if not ids:
        return out
    for cid, sent in db.session.execute(
        select(CampaignChannel.campaign_id, func.sum(CampaignChannel.sent_count))
        .where(CampaignChannel.campaign_id.in_(ids))
        .group_by(CampaignChannel.campaign_id)
    ):
        out[cid].sent = int(sent or 0)
    for cid, kind, unique_human in db.session.execute(
        select(
            Event.campaign_id,
            Event.type,
            func.count(distinct(case((human(), Event.send_id)))),
        )
        .where(Event.campaign_id.in_(ids), Event.type.in_(INTERACTIONS))
        .group_by(Event.campaign_id, Event.type)
    ):
        target = out[cid].opens if kind == EventType.OPEN.value else out[cid].clicks
        target.unique_human = int(unique_human)
    return out


# ------------------------------------------------------------------ the campaigns list


@dataclass(frozen=True)
class CampaignSummary:
    campaign: Campaign
    sent: int
    failed: int
    opened: int
    clicked: int
    processed: int  # sends no longer pending

    @property
    def percent(self) -> float:
        size = self.campaign.audience_size
        return 100.0 * self.sent / size if size else 0.0

    @property
    def open_rate(self) -> float | None:
        return 100.0 * self.opened / self.sent if self.sent else None

    @property
    def click_rate(self) -> float | None:
        return 100.0 * self.clicked / self.sent if self.sent else None


@dataclass(frozen=True)
class CampaignPage:
    rows: list[CampaignSummary]
    total: int
    page: int
    pages: int
    counts: dict[str, int]  # campaigns per status, for the filter


def campaign_page(status: str = "", page: int = 1) -> CampaignPage:
    conditions = []
    if status in {s.value for s in CampaignStatus}:
        conditions.append(Campaign.status == status)
    counts = dict(
        db.session.execute(select(Campaign.status, func.count()).group_by(Campaign.status)).all()
    )
    total = db.session.scalar(select(func.count()).select_from(Campaign).where(*conditions)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    found = db.session.scalars(
        select(Campaign)
        .where(*conditions)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    figures = list_figures([c.id for c in found if c.status not in (S.DRAFT.value,)])
    rows = [CampaignSummary(c, *figures.get(c.id, (0, 0, 0, 0, 0))) for c in found]
    return CampaignPage(rows, total, page, pages, counts)


def list_figures(campaign_ids: list[int]) -> dict[int, tuple[int, int, int, int, int]]:
    """(sent, failed, opened, clicked, processed) per campaign, for the list page."""
    if not campaign_ids:
        return {}
    frozen = {cid: tuple(found["list"]) for cid, found in archived_many(campaign_ids).items()}
    campaign_ids = [cid for cid in campaign_ids if cid not in frozen]
    if not campaign_ids:
        return frozen
    open_states = [SendStatus.PENDING.value, SendStatus.CLAIMED.value, SendStatus.SENDING.value]
    rows = db.session.execute(
        select(
            Send.campaign_id,
            count_if(Send.status == SendStatus.SENT.value),
            count_if(Send.status == SendStatus.FAILED.value),
            count_if(Send.opened_at.is_not(None)),
            count_if(Send.clicked_at.is_not(None)),
            count_if(Send.status.not_in(open_states)),
        )
        .where(Send.campaign_id.in_(campaign_ids))
        .group_by(Send.campaign_id)
    )
    return {**frozen, **{r[0]: tuple(int(v or 0) for v in r[1:]) for r in rows}}


def snapshot(campaign_id: int) -> dict:
    """Every figure this module counts for a campaign, as JSON, for its archive: read back
    by the functions above once the campaign is archived (JSON keys are strings, hence the
    lists of pairs)."""
    return {
        "status": status_counts(campaign_id),
        "by_row": [[k, v] for k, v in status_counts_by_row(campaign_id).items()],
        "by_channel": [[k, asdict(v)] for k, v in figures_by_channel(campaign_id).items()],
        "rates": asdict(rates([campaign_id])[campaign_id]),
        "list": list(list_figures([campaign_id]).get(campaign_id, (0, 0, 0, 0, 0))),
    }


# ------------------------------------------------------------------ live progress


@dataclass(frozen=True)
class RowProgress:
    row: CampaignChannel
    channel: Channel | None
    identity: Identity | None
    counts: dict[str, int]

    @property
    def in_doubt(self) -> int:
        return self.counts.get(SendStatus.IN_DOUBT.value, 0)

    @property
    def in_flight(self) -> int:
        return self.counts.get(SendStatus.CLAIMED.value, 0) + self.counts.get(
            SendStatus.SENDING.value, 0
        )


def row_ceiling(row: CampaignChannel, channel: Channel | None) -> float:
    """The most emails per second a channel row may send: its channel's speed, slowed by the
    row's minutes between two emails; 0 while it stands stopped."""
    if channel is None or row.paused_reason:
        return 0.0
    rate = float(channel.rate_per_second or 0)
    if row.frequency_minutes:
        rate = min(rate, 1 / (row.frequency_minutes * 60))
    return max(rate, 0.0)


def row_daily_cap(row: CampaignChannel, channel: Channel | None) -> int | None:
    """The row's emails per day (its own maximum, else its channel's quota); None: no limit."""
    caps = [c for c in (row.daily_max, channel.daily_quota if channel else None) if c]
    return min(caps) if caps else None


@dataclass(frozen=True)
class Progress:
    counts: dict[str, int]
    total: int
    per_minute: int  # sent in the last minute (or since the start, when that is less)
    rows: list[RowProgress]
    imports: list[Import]
    window: float = 60.0  # seconds `per_minute` was counted over
    ceiling: float = 0.0  # emails per second the rows may send at most (0: unknown)
    daily_cap: int | None = None  # emails per day the rows may send at most (None: no limit)

    @property
    def sent(self) -> int:
        return self.counts[SendStatus.SENT.value]

    @property
    def failed(self) -> int:
        return self.counts[SendStatus.FAILED.value]

    @property
    def suppressed(self) -> int:
        return self.counts[SendStatus.SUPPRESSED.value]

    @property
    def in_doubt(self) -> int:
        return self.counts[SendStatus.IN_DOUBT.value]

    @property
    def cancelled(self) -> int:
        return self.counts[SendStatus.CANCELLED.value]

    @property
    def remaining(self) -> int:
        c = self.counts
        return (
            c[SendStatus.PENDING.value] + c[SendStatus.CLAIMED.value] + c[SendStatus.SENDING.value]
        )

    @property
    def done(self) -> int:
        return self.total - self.remaining

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 0.0

    @property
    def rate(self) -> float | None:
        """Emails per second now: the recent rate, never above what the rows allow."""
        recent = self.per_minute / self.window if self.per_minute and self.window else None
        if recent is None:
            return None
        return min(recent, self.ceiling) if self.ceiling else recent

    @property
    def eta_seconds(self) -> float | None:
        """Time left: the remaining sends at the recent rate, plus a day for each daily quota
        they exceed; before the first send, at the rows' top speed."""
        if not self.remaining:
            return 0.0
        rate = self.rate or self.ceiling
        if not rate:
            return None
        remaining = self.remaining
        if self.daily_cap and remaining > self.daily_cap:
            days, left = divmod(remaining, self.daily_cap)
            return days * 86400 + left / rate
        return remaining / rate


def progress(campaign: Campaign) -> Progress:
    """Every figure of the live block, from the database (never from job metadata)."""
    now = utcnow()
    since = now - RECENT
    if campaign.started_at and campaign.started_at > since:
        since = campaign.started_at  # early in a send: the rate over the seconds it has run
    window = max((now - since).total_seconds(), 1.0)
    counts, per_minute = counts_and_recent(campaign.id, since)
    total = sum(counts.values())
    by_row = status_counts_by_row(campaign.id)
    rows = [
        RowProgress(
            row,
            db.session.get(Channel, row.channel_id),
            db.session.get(Identity, row.identity_id),
            by_row.get(row.id, {}),
        )
        for row in campaign.channels
    ]
    ceiling = sum(row_ceiling(r.row, r.channel) for r in rows)
    caps = [row_daily_cap(r.row, r.channel) for r in rows if row_ceiling(r.row, r.channel)]
    daily_cap = sum(c for c in caps if c) if caps and all(caps) else None
    imports = list(
        db.session.scalars(
            select(Import).where(Import.campaign_id == campaign.id).order_by(Import.id)
        )
    )
    return Progress(counts, total, per_minute, rows, imports, window, ceiling, daily_cap)
