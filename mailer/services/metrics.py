"""Prometheus metrics, computed when scraped (no state kept in the web process).

Database figures (sends, messages, events, feedback payloads, webhook deliveries: one GROUP BY
each) are cached in Redis for ``MAILER_METRICS_CACHE_SECONDS``; Redis figures (queues, workers,
tracking buffer, scheduler heartbeat, refused feedback webhooks) are read each scrape. A source
that fails sets ``mailer_metrics_source_up`` to 0 instead of failing the scrape.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from flask import current_app
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, StartedJobRegistry

from mailer.engine.feedback.intake import REJECTED_KEY
from mailer.engine.tracking import flush as tracking_flush
from mailer.extensions import db
from mailer.models import CampaignChannel, Channel, Event, EventType, FeedbackPayload, Message, Send
from mailer.queue import PRIORITY, get_redis
from mailer.services import queues

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CACHE_KEY = "mailer:metrics:database"
TRACKING_TYPES = (EventType.OPEN, EventType.CLICK, EventType.UNSUBSCRIBE)
FEEDBACK_TYPES = (
    EventType.DELIVERY,
    EventType.BOUNCE,
    EventType.COMPLAINT,
    EventType.DEFERRED,
    EventType.REJECT,
)
UNASSIGNED = "unassigned"
DEFAULT_CHANNEL = "default"
_deliveries = sa.table("webhook_deliveries", sa.column("status"))

Figures = dict[str, Any]  # JSON-able query results, cached in Redis as they are


def render() -> bytes:
    """The exposition text for one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_MailerCollector())
    return generate_latest(registry)


class _MailerCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        up = GaugeMetricFamily(
            "mailer_metrics_source_up",
            "1 when the source answered this scrape; its metrics are missing when 0.",
            labels=["source"],
        )
        channels: dict[int, str] = {}
        try:
            figures = database_figures()
        except Exception:  # noqa: BLE001 - a scrape reports what it can
            log.exception("metrics: the database is unavailable")
            up.add_metric(["database"], 0)
        else:
            up.add_metric(["database"], 1)
            channels = {int(cid): name for cid, name in figures["channels"]}
            yield from _database_families(figures)
        try:
            families = _redis_families(channels)
        except Exception:  # noqa: BLE001
            log.exception("metrics: Redis is unavailable")
            up.add_metric(["redis"], 0)
        else:
            up.add_metric(["redis"], 1)
            yield from families
        yield up
        yield GaugeMetricFamily(
            "mailer_metrics_scrape_seconds",
            "Time spent computing this scrape.",
            value=time.perf_counter() - started,
        )


# ---------------------------------------------------------------- database


def database_figures() -> Figures:
    """The database's figures: from the Redis cache when a recent scrape computed them."""
    ttl = current_app.config["MAILER_METRICS_CACHE_SECONDS"]
    if ttl > 0:
        try:
            cached = get_redis().get(CACHE_KEY)
        except RedisError:
            cached = None
        if cached:
            return json.loads(cached)
    figures = query_database()
    if ttl > 0:
        with contextlib.suppress(RedisError):  # Redis is reported down by its own section
            get_redis().set(CACHE_KEY, json.dumps(figures), ex=ttl)
    return figures


def query_database() -> Figures:
    with db.engine.connect() as conn:
        figures: Figures = {
            "at": time.time(),
            "sends": _by_channel_and_status(conn, Send, Send.campaign_channel_id, True),
            "messages": _by_channel_and_status(conn, Message, Message.channel_id, False),
            "events": _rows(
                conn,
                sa.select(Event.type, Event.machine, sa.func.count()).group_by(
                    Event.type, Event.machine
                ),
            ),
            "payloads": _rows(
                conn,
                sa.select(
                    FeedbackPayload.provider,
                    FeedbackPayload.source,
                    FeedbackPayload.status,
                    sa.func.count(),
                ).group_by(
                    FeedbackPayload.provider, FeedbackPayload.source, FeedbackPayload.status
                ),
            ),
            "deliveries": None,
            "channels": _rows(conn, sa.select(Channel.id, Channel.name)),
        }
        if sa.inspect(conn).has_table("webhook_deliveries"):
            figures["deliveries"] = _rows(
                conn,
                sa.select(_deliveries.c.status, sa.func.count()).group_by(_deliveries.c.status),
            )
    return figures


def _by_channel_and_status(
    conn: sa.Connection, model: type, channel_column: Any, via_campaign_row: bool
) -> list[list]:
    """Count by (channel key, status) first, then name the few groups: joining before grouping
    costs a join per row (3x slower on MariaDB at a million sends)."""
    grouped = (
        sa.select(channel_column.label("key"), model.status, sa.func.count().label("n"))
        .group_by(channel_column, model.status)
        .subquery()
    )
    if via_campaign_row:
        name = sa.func.coalesce(Channel.name, UNASSIGNED)
        query = (
            sa.select(name, grouped.c.status, sa.func.sum(grouped.c.n))
            .select_from(grouped)
            .outerjoin(CampaignChannel, CampaignChannel.id == grouped.c.key)
            .outerjoin(Channel, Channel.id == CampaignChannel.channel_id)
        )
    else:
        name = sa.func.coalesce(Channel.name, DEFAULT_CHANNEL)
        query = (
            sa.select(name, grouped.c.status, sa.func.sum(grouped.c.n))
            .select_from(grouped)
            .outerjoin(Channel, Channel.id == grouped.c.key)
        )
    return _rows(conn, query.group_by(name, grouped.c.status))


def _rows(conn: sa.Connection, query: sa.Select) -> list[list]:
    return [[_plain(value) for value in row] for row in conn.execute(query)]


def _plain(value: Any) -> Any:
    """JSON-able: SUM() comes back as Decimal on MySQL, booleans as 0/1."""
    if value is None or isinstance(value, str | int | float):
        return value
    return int(value)


def _database_families(figures: Figures) -> Iterator[Metric]:
    sends = GaugeMetricFamily(
        "mailer_campaign_sends",
        "Campaign sends by channel and status (unassigned: not yet claimed by a channel).",
        labels=["channel", "status"],
    )
    for channel, status, count in figures["sends"]:
        sends.add_metric([channel, status], count)
    yield sends

    messages = GaugeMetricFamily(
        "mailer_transactional_messages",
        "Transactional messages by channel and status (default: no channel chosen yet).",
        labels=["channel", "status"],
    )
    for channel, status, count in figures["messages"]:
        messages.add_metric([channel, status], count)
    yield messages

    yield from _event_families(figures["events"])

    payloads = GaugeMetricFamily(
        "mailer_feedback_payloads",
        "Inbound provider webhook requests (and SQS messages) accepted, by processing status.",
        labels=["provider", "source", "status"],
    )
    for provider, source, status, count in figures["payloads"]:
        payloads.add_metric([provider, source, status], count)
    yield payloads

    if figures["deliveries"] is not None:
        deliveries = GaugeMetricFamily(
            "mailer_webhook_deliveries",
            "Outbound webhook deliveries by status.",
            labels=["status"],
        )
        for status, count in figures["deliveries"]:
            deliveries.add_metric([status], count)
        yield deliveries

    yield GaugeMetricFamily(
        "mailer_metrics_database_age_seconds",
        "Age of the database figures (cached for MAILER_METRICS_CACHE_SECONDS).",
        value=max(0.0, time.time() - figures["at"]),
    )


def _event_families(rows: list[list]) -> Iterator[Metric]:
    counts = {(kind, bool(machine)): count for kind, machine, count in rows}
    tracked = CounterMetricFamily(
        "mailer_tracking_events",
        "Opens, clicks and unsubscribes recorded (machine: image proxies, link scanners).",
        labels=["type", "machine"],
    )
    for kind in TRACKING_TYPES:
        for machine in (False, True):
            count = counts.get((kind.value, machine), 0)
            tracked.add_metric([kind.value, str(machine).lower()], count)
    yield tracked
    feedback = CounterMetricFamily(
        "mailer_feedback_events", "Provider feedback events recorded, by type.", labels=["type"]
    )
    for kind in FEEDBACK_TYPES:
        total = counts.get((kind.value, False), 0) + counts.get((kind.value, True), 0)
        feedback.add_metric([kind.value], total)
    yield feedback


# ---------------------------------------------------------------- redis


def _redis_families(channels: dict[int, str]) -> list[Metric]:
    conn = get_redis()
    depth = GaugeMetricFamily(
        "mailer_queue_jobs", "Jobs waiting in each RQ queue.", labels=["queue"]
    )
    started = GaugeMetricFamily(
        "mailer_queue_started_jobs", "Jobs running now (started registry).", labels=["queue"]
    )
    failed = GaugeMetricFamily(
        "mailer_queue_failed_jobs", "Jobs in each queue's failed registry.", labels=["queue"]
    )
    for name in PRIORITY:
        queue = Queue(name, connection=conn)
        depth.add_metric([name], queue.count)
        started.add_metric([name], StartedJobRegistry(queue=queue).count)
        failed.add_metric([name], FailedJobRegistry(queue=queue).count)
    families: list[Metric] = [depth, started, failed]
    families.append(
        GaugeMetricFamily(
            "mailer_workers", "RQ workers registered.", value=Worker.count(connection=conn)
        )
    )
    families.append(
        GaugeMetricFamily(
            "mailer_tracking_buffer_pending",
            "Tracking hits waiting in Redis for the flush tick.",
            value=tracking_flush.pending(),
        )
    )
    age = queues.seconds_since_heartbeat()
    if age is not None:
        families.append(
            GaugeMetricFamily(
                "mailer_scheduler_heartbeat_age_seconds",
                "Seconds since the scheduler's heartbeat tick last ran.",
                value=age,
            )
        )
    rejected = CounterMetricFamily(
        "mailer_feedback_webhook_rejected",
        "Provider webhook requests refused (bad signature or credentials), by channel.",
        labels=["channel"],
    )
    if channels:
        ids = list(channels)
        values = conn.mget([REJECTED_KEY.format(i) for i in ids])
        for channel_id, value in zip(ids, values, strict=True):
            rejected.add_metric([channels[channel_id]], int(value or 0))
    families.append(rejected)
    return families
