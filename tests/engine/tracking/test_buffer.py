"""Production mode: hits go to Redis without a database write; the flush tick writes them."""

from __future__ import annotations

import json
import os

import pytest
from rq.job import JobStatus
from sqlalchemy import event

from mailer.dispatch import TICKS_REGISTRY
from mailer.engine.tracking import flush, hits
from mailer.extensions import db as _db
from mailer.models import Event
from mailer.queue import get_redis
from tests.fixtures.tracking import events, get, run_flush_job


def count_events(db) -> int:
    db.session.commit()  # a fresh snapshot: the job wrote through its own session
    return db.session.scalar(db.select(db.func.count()).select_from(Event))


def no_db_writes():
    """Records every INSERT/UPDATE/DELETE sent to the database until stopped."""
    writes = []

    def spy(conn, cursor, statement, *args):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    event.listen(_db.engine, "before_cursor_execute", spy)
    return writes, lambda: event.remove(_db.engine, "before_cursor_execute", spy)


def test_buffering_is_on_in_production_and_off_embedded_and_in_tests():
    from config import Config, TestConfig

    assert TestConfig.MAILER_TRACKING_BUFFER is False
    if "MAILER_TRACKING_BUFFER" not in os.environ:
        assert Config.MAILER_TRACKING_BUFFER is (not Config.EMBEDDED)


def test_the_flush_tick_is_registered_every_5_seconds():
    tick = next(t for t in TICKS_REGISTRY if t.name == "tracking-flush")
    assert (tick.func, tick.interval) == ("jobs.tracking.flush_events", 5)


def test_hits_are_buffered_without_a_database_write_then_flushed(
    buffered, db, client, send_campaign
):
    sent = send_campaign(["ann@example.com", "bob@example.com"])
    ann, bob = sent["ann@example.com"], sent["bob@example.com"]
    writes, stop = no_db_writes()
    try:
        assert get(client, ann.pixel_path).status_code == 200
        assert get(client, ann.pixel_path).status_code == 200
        assert (
            get(client, ann.click_path(1)).headers["Location"] == "https://shop.example.com/stores"
        )
        assert get(client, bob.pixel_path, ua="Mozilla/5.0").status_code == 200
        assert get(client, "/t/o/invalid.gif").status_code == 200
    finally:
        stop()
    assert writes == []
    assert count_events(db) == 0
    assert flush.pending() == 4
    raw = [json.loads(x) for x in get_redis().lrange(hits.BUFFER_KEY, 0, -1)]
    assert {h["k"] for h in raw} == {"o", "c"} and len({h["id"] for h in raw}) == 4

    job = run_flush_job(client.application)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value()["events"] == 4
    assert flush.pending() == 0
    got = events(db)
    assert sorted((e.type, e.send_id, e.machine) for e in got) == sorted(
        [
            ("open", ann.send.id, False),
            ("open", ann.send.id, False),
            ("click", ann.send.id, False),
            ("open", bob.send.id, True),
        ]
    )
    db.session.refresh(ann.send)
    db.session.refresh(bob.send)
    assert ann.send.opened_at is not None and ann.send.clicked_at is not None
    assert bob.send.opened_at is None, "an Apple privacy pre-fetch is not a person's open"
    run_flush_job(client.application)
    assert count_events(db) == 4, "nothing to do twice"


def test_buffered_events_survive_a_flush_that_dies_after_the_commit(
    buffered, db, client, send_campaign, monkeypatch
):
    sent = send_campaign([f"user{i}@example.com" for i in range(5)])
    for delivered in sent.received.values():
        get(client, delivered.pixel_path)
        get(client, delivered.click_path(0))
    assert flush.pending() == 10

    real_clear = flush.clear_processing

    def crash(redis):
        raise RuntimeError("worker killed between the commit and the Redis cleanup")

    monkeypatch.setattr(flush, "clear_processing", crash)
    job = run_flush_job(client.application)
    assert job.get_status() == JobStatus.FAILED, "the failure is recorded, not swallowed"
    assert count_events(db) == 10, "the batch committed"
    assert get_redis().llen(flush.PROCESSING_KEY) == 10, "…and is still in Redis"

    get(client, sent["user0@example.com"].pixel_path)  # a new hit meanwhile
    monkeypatch.setattr(flush, "clear_processing", real_clear)
    job = run_flush_job(client.application)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value()["recovered"] == 10
    assert count_events(db) == 11, "the re-run wrote the leftover batch again: no duplicate"
    assert flush.pending() == 0
    ids = [e.provider_event_id for e in events(db)]
    assert len(ids) == len(set(ids)) == 11


def test_buffered_events_survive_a_flush_that_dies_before_the_commit(
    buffered, db, client, send_campaign, monkeypatch
):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    for _ in range(3):
        get(client, ann.pixel_path)

    def broken(hits):
        raise RuntimeError("database went away")

    real_write = flush.write_hits
    monkeypatch.setattr(flush, "write_hits", broken)
    with pytest.raises(RuntimeError):
        flush.flush()
    assert count_events(db) == 0 and flush.pending() == 3
    monkeypatch.setattr(flush, "write_hits", real_write)
    result = flush.flush()
    assert (result.recovered, result.events) == (3, 3)
    assert count_events(db) == 3 and flush.pending() == 0


def test_flush_writes_large_backlogs_in_batches(buffered, db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    for _ in range(25):
        get(client, ann.pixel_path)
    result = flush.flush(batch_size=10)
    assert (result.batches, result.events) == (3, 25)
    assert count_events(db) == 25


def test_two_flushes_at_once_do_not_both_run(buffered, db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    get(client, ann.pixel_path)
    get_redis().set("mailer:tick:tracking-flush", "1", ex=60)  # another flush holds the lock
    job = run_flush_job(client.application)
    assert job.return_value() == {"skipped": "another flush is running"}
    assert count_events(db) == 0 and flush.pending() == 1
    get_redis().delete("mailer:tick:tracking-flush")
    run_flush_job(client.application)
    assert count_events(db) == 1


def test_hits_of_a_deleted_campaign_are_dropped_by_the_flush(buffered, db, client, send_campaign):
    sent = send_campaign(["ann@example.com"])
    get(client, sent["ann@example.com"].pixel_path)
    from mailer.campaigns import lifecycle as campaigns
    from mailer.campaigns import retention

    retention.archive_campaign(sent.campaign.id)  # a started campaign is deleted once archived
    campaigns.delete_campaign(sent.campaign)
    result = flush.flush()
    assert (result.events, result.dropped) == (0, 1)
    assert flush.pending() == 0


def test_direct_mode_writes_each_hit_at_once(db, client, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    get(client, ann.pixel_path)
    assert count_events(db) == 1 and flush.pending() == 0


def test_with_redis_down_recipients_still_get_the_pixel_and_the_redirect(
    buffered, db, client, send_campaign, monkeypatch, caplog
):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down(self, *args):
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(Redis, "rpush", down)
    assert get(client, ann.pixel_path).data == hits.PIXEL
    assert get(client, ann.click_path(1)).headers["Location"] == "https://shop.example.com/stores"
    lost = [r for r in caplog.records if "tracking hit lost" in r.getMessage()]
    assert len(lost) == 2 and lost[0].levelname == "ERROR"
