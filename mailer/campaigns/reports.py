"""Campaign reports: figures, timeline, top links, per-channel breakdown, per-recipient CSV.

Every figure is computed from the rows that record it, so the report matches what happened:
sent/delivered/bounced/complained/unsubscribed from the send rows, opens and clicks from the
events (total = every hit, unique = distinct recipients), "human" leaving out hits flagged as
machine activity (see services/tracking.py). Rates are over delivered messages once provider
feedback reports deliveries, over sent messages until then.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, distinct, false, func, literal_column, select

from mailer.extensions import db
from mailer.lib import csvfiles, dbutil
from mailer.models import (
    Campaign,
    CampaignChannel,
    Channel,
    Event,
    EventType,
    Identity,
    Link,
    Send,
    SendStatus,
)
from mailer.models.base import utcnow

TIMELINE_DAYS = 7
TOP_LINKS = 10
CSV_PAGE = 5000
_INTERACTIONS = (EventType.OPEN.value, EventType.CLICK.value)


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


@dataclass
class ChannelFigures:
    row_id: int | None
    label: str
    figures: Figures


@dataclass
class Report:
    campaign: Campaign
    figures: Figures
    channels: list[ChannelFigures]
    timeline: dict
    top_links: list[dict]

    def chart_data(self) -> dict:
        return {"timeline": self.timeline, "links": self.top_links}


def _count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def _human():
    return Event.machine == false()


def channel_labels(campaign_id: int) -> dict[int, str]:
    rows = db.session.execute(
        select(CampaignChannel.id, CampaignChannel.position, Channel.name, Identity.from_email)
        .join(Channel, Channel.id == CampaignChannel.channel_id)
        .join(Identity, Identity.id == CampaignChannel.identity_id)
        .where(CampaignChannel.campaign_id == campaign_id)
        .order_by(CampaignChannel.position)
    )
    return {r.id: f"{r.name} · {r.from_email}" for r in rows}


def figures_by_channel(campaign_id: int) -> dict[int | None, Figures]:
    out: dict[int | None, Figures] = {}
    send_rows = db.session.execute(
        select(
            Send.campaign_channel_id,
            func.count().label("recipients"),
            _count_if(Send.sent_at.is_not(None)).label("sent"),
            _count_if(Send.delivered_at.is_not(None)).label("delivered"),
            _count_if(Send.status == SendStatus.FAILED.value).label("failed"),
            _count_if(Send.bounced_at.is_not(None)).label("bounced"),
            _count_if(Send.complained_at.is_not(None)).label("complained"),
            _count_if(Send.unsubscribed_at.is_not(None)).label("unsubscribed"),
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
            _count_if(_human()).label("total_human"),
            func.count(distinct(Event.send_id)).label("unique"),
            func.count(distinct(case((_human(), Event.send_id)))).label("unique_human"),
        )
        .join(Send, Send.id == Event.send_id)
        .where(Event.campaign_id == campaign_id, Event.type.in_(_INTERACTIONS))
        .group_by(Send.campaign_channel_id, Event.type)
    )
    for r in event_rows:
        figures = out.setdefault(r.campaign_channel_id, Figures())
        target = figures.opens if r.type == EventType.OPEN.value else figures.clicks
        target.add(
            Interactions(int(r.total), int(r.total_human or 0), int(r.unique), int(r.unique_human))
        )
    return out


def campaign_report(campaign: Campaign, now: datetime | None = None) -> Report:
    by_channel = figures_by_channel(campaign.id)
    labels = channel_labels(campaign.id)
    total = Figures()
    for figures in by_channel.values():
        total.add(figures)
    channels = [
        ChannelFigures(row_id, label, by_channel.get(row_id, Figures()))
        for row_id, label in labels.items()
    ]
    if by_channel.get(None):
        channels.append(ChannelFigures(None, "Not sent yet", by_channel[None]))
    return Report(
        campaign=campaign,
        figures=total,
        channels=channels,
        timeline=timeline(campaign, now),
        top_links=top_links(campaign.id),
    )


def _hour_bucket(column):
    # The format as a literal, not a bound parameter: GROUP BY must repeat the same expression.
    fmt = literal_column("'%Y-%m-%d %H:00'")
    if dbutil.dialect() == "mysql":
        return func.date_format(column, fmt)
    return func.strftime(fmt, column)


def timeline(campaign: Campaign, now: datetime | None = None) -> dict:
    """Opens and clicks per hour from the first send, over the first days (people/machines)."""
    start = campaign.started_at or db.session.scalar(
        select(func.min(Send.sent_at)).where(Send.campaign_id == campaign.id)
    )
    empty = {"labels": [], "opens": [], "clicks": [], "machine_opens": [], "machine_clicks": []}
    if start is None:
        return empty
    start = start.replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(days=TIMELINE_DAYS)
    bucket = _hour_bucket(Event.occurred_at).label("hour")
    rows = db.session.execute(
        select(bucket, Event.type, Event.machine, func.count())
        .where(
            Event.campaign_id == campaign.id,
            Event.type.in_(_INTERACTIONS),
            Event.occurred_at >= start,
            Event.occurred_at < end,
        )
        .group_by(bucket, Event.type, Event.machine)
    ).all()
    last = min(end - timedelta(hours=1), (now or utcnow()).replace(minute=0, second=0))
    for hour, *_ in rows:
        last = max(last, datetime.strptime(hour, "%Y-%m-%d %H:%M"))
    hours = max(24, int((last - start).total_seconds() // 3600) + 1)
    hours = min(hours, TIMELINE_DAYS * 24)
    labels = [(start + timedelta(hours=i)).strftime("%Y-%m-%d %H:00") for i in range(hours)]
    index = {label: i for i, label in enumerate(labels)}
    series = {key: [0] * hours for key in empty if key != "labels"}
    for hour, kind, machine, count in rows:
        i = index.get(hour)
        if i is None:
            continue
        name = ("machine_" if machine else "") + ("opens" if kind == "open" else "clicks")
        series[name][i] += count
    return {"labels": labels, **series}


def top_links(campaign_id: int, limit: int = TOP_LINKS) -> list[dict]:
    total = func.count().label("total")
    rows = db.session.execute(
        select(
            Event.link_id,
            Link.url,
            total,
            _count_if(_human()).label("human"),
            func.count(distinct(case((_human(), Event.send_id)))).label("unique_human"),
        )
        .join(Link, Link.id == Event.link_id)
        .where(Event.campaign_id == campaign_id, Event.type == EventType.CLICK.value)
        .group_by(Event.link_id, Link.url)
        .order_by(total.desc(), Event.link_id)
        .limit(limit)
    )
    return [
        {
            "id": r.link_id,
            "url": r.url,
            "clicks": int(r.total),
            "human": int(r.human or 0),
            "unique_human": int(r.unique_human),
        }
        for r in rows
    ]


# ------------------------------------------------------------------ dashboard


def rates(campaign_ids: Iterable[int]) -> dict[int, Figures]:
    """Sent, opens and clicks for a few campaigns at once (dashboard's recent campaigns)."""
    ids = list(campaign_ids)
    out = {cid: Figures() for cid in ids}
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
            func.count(distinct(case((_human(), Event.send_id)))),
        )
        .where(Event.campaign_id.in_(ids), Event.type.in_(_INTERACTIONS))
        .group_by(Event.campaign_id, Event.type)
    ):
        target = out[cid].opens if kind == EventType.OPEN.value else out[cid].clicks
        target.unique_human = int(unique_human)
    return out


# ------------------------------------------------------------------ CSV export

CSV_COLUMNS = (
    "email",
    "status",
    "channel",
    "sent_at",
    "delivered_at",
    "opened_at",
    "opens",
    "opens_all",
    "clicked_at",
    "clicks",
    "clicks_all",
    "unsubscribed_at",
    "bounced_at",
    "complained_at",
    "error",
)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)  # the writer neutralises formulas (csvfiles)


def activity_csv(campaign_id: int, page: int = CSV_PAGE) -> Iterator[str]:
    """Per-recipient activity, one page of sends at a time (flat memory for millions)."""
    labels = channel_labels(campaign_id)
    buffer = io.StringIO()
    writer = csvfiles.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield _drain(buffer)
    after = 0
    while True:
        sends = db.session.execute(
            select(
                Send.id,
                Send.email,
                Send.status,
                Send.campaign_channel_id,
                Send.sent_at,
                Send.delivered_at,
                Send.opened_at,
                Send.clicked_at,
                Send.unsubscribed_at,
                Send.bounced_at,
                Send.complained_at,
                Send.error,
            )
            .where(Send.campaign_id == campaign_id, Send.id > after)
            .order_by(Send.id)
            .limit(page)
        ).all()
        if not sends:
            return
        counts = _hit_counts(campaign_id, sends[0].id, sends[-1].id)
        for s in sends:
            c = counts.get(s.id, (0, 0, 0, 0))
            writer.writerow(
                [
                    _cell(s.email),
                    s.status,
                    _cell(labels.get(s.campaign_channel_id)),
                    _cell(s.sent_at),
                    _cell(s.delivered_at),
                    _cell(s.opened_at),
                    c[0],
                    c[1],
                    _cell(s.clicked_at),
                    c[2],
                    c[3],
                    _cell(s.unsubscribed_at),
                    _cell(s.bounced_at),
                    _cell(s.complained_at),
                    _cell(s.error),
                ]
            )
        yield _drain(buffer)
        after = sends[-1].id
        db.session.commit()  # end the read snapshot between pages; nothing is held


def _hit_counts(campaign_id: int, first: int, last: int) -> dict[int, tuple[int, int, int, int]]:
    """send id → (human opens, all opens, human clicks, all clicks) for a range of sends."""
    out: dict[int, list[int]] = {}
    rows = db.session.execute(
        select(Event.send_id, Event.type, _count_if(_human()), func.count())
        .where(
            Event.send_id.between(first, last),
            Event.campaign_id == campaign_id,
            Event.type.in_(_INTERACTIONS),
        )
        .group_by(Event.send_id, Event.type)
    )
    for send_id, kind, human, total in rows:
        counts = out.setdefault(send_id, [0, 0, 0, 0])
        offset = 0 if kind == EventType.OPEN.value else 2
        counts[offset], counts[offset + 1] = int(human or 0), int(total)
    return {k: tuple(v) for k, v in out.items()}


def _drain(buffer: io.StringIO) -> str:
    value = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return value
