"""The campaign report page's read model: figures per channel row (counted by
:mod:`mailer.campaigns.stats`), the opens and clicks timeline, top links, per-recipient CSV.
An archived campaign's timeline and top links are read from its archive (:func:`snapshot`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import case, distinct, func, literal_column, select

from mailer.campaigns import stats
from mailer.campaigns.stats import INTERACTIONS, Figures
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
)
from mailer.models.base import utcnow

TIMELINE_DAYS = 7
TOP_LINKS = 10
CSV_PAGE = 5000


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


def channel_labels(campaign_id: int) -> dict[int, str]:
    rows = db.session.execute(
        select(CampaignChannel.id, CampaignChannel.position, Channel.name, Identity.from_email)
        .join(Channel, Channel.id == CampaignChannel.channel_id)
        .join(Identity, Identity.id == CampaignChannel.identity_id)
        .where(CampaignChannel.campaign_id == campaign_id)
        .order_by(CampaignChannel.position)
    )
    return {r.id: f"{r.name} · {r.from_email}" for r in rows}


def campaign_report(campaign: Campaign, now: datetime | None = None) -> Report:
    by_channel = stats.figures_by_channel(campaign.id)
    labels = channel_labels(campaign.id)
    total = Figures()
    for figures in by_channel.values():
        total.add(figures)
    channels = [
        ChannelFigures(row_id, label, by_channel.get(row_id, Figures()))
        for row_id, label in labels.items()
    ]
    if by_channel.get(None):
        channels.append(ChannelFigures(None, _("Not sent yet"), by_channel[None]))
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


def archived(campaign_id: int) -> dict | None:
    found = db.session.scalar(select(Campaign.archived_figures).where(Campaign.id == campaign_id))
    return found["report"] if found else None


def snapshot(campaign: Campaign) -> dict:
    """The timeline and top links as JSON, for the campaign's archive."""
    return {"timeline": timeline(campaign), "top_links": top_links(campaign.id)}


def timeline(campaign: Campaign, now: datetime | None = None) -> dict:
    """Opens and clicks per hour from the first send, over the first days (people/machines)."""
    frozen = archived(campaign.id)
    if frozen is not None:
        return frozen["timeline"]
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
            Event.type.in_(INTERACTIONS),
            Event.occurred_at >= start,
            Event.occurred_at < end,
        )
        .group_by(bucket, Event.type, Event.machine)
    ).all()
    last = min(end - timedelta(hours=1), (now or utcnow()).replace(minute=0, second=0))
    for hour, *_rest in rows:
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
    frozen = archived(campaign_id)
    if frozen is not None:
        return frozen["top_links"][:limit]
    total = func.count().label("total")
    rows = db.session.execute(
        select(
            Event.link_id,
            Link.url,
            total,
            stats.count_if(stats.human()).label("human"),
            func.count(distinct(case((stats.human(), Event.send_id)))).label("unique_human"),
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
        select(Event.send_id, Event.type, stats.count_if(stats.human()), func.count())
        .where(
            Event.send_id.between(first, last),
            Event.campaign_id == campaign_id,
            Event.type.in_(INTERACTIONS),
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
