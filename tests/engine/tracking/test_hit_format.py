"""The buffer's format: hits pushed to Redis as compact JSON, read back as ``Hit``, including
hits buffered by an older version (same one-letter keys) and items that are not hits."""

from __future__ import annotations

import json
import time

from mailer.engine.tracking import flush, hits
from mailer.queue import get_redis
from tests.fixtures.tracking import events


def test_a_hit_goes_to_redis_with_one_letter_keys_and_comes_back_equal(app):
    with app.app_context():
        click = hits.make_hit(hits.CLICK, 7, 3, user_agent="Mozilla/5.0 (X11)", message=True)
    raw = json.loads(click.to_json())
    assert set(raw) == {"id", "k", "s", "l", "t", "ua", "m", "mk"}
    assert (raw["k"], raw["s"], raw["l"], raw["mk"]) == ("c", 7, 3, "m")
    assert hits.Hit.from_json(click.to_json()) == click
    opened = hits.make_hit(hits.OPEN, 7, user_agent="curl/8.0")
    assert "mk" not in json.loads(opened.to_json())
    assert hits.Hit.from_json(opened.to_json()) == opened
    assert opened.machine == "link scanner"


def test_hits_buffered_by_an_older_version_are_written(buffered, db, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    at = time.time()
    old = {"id": "old1", "k": "o", "s": ann.send.id, "l": None, "t": at, "ua": "Mozilla/5.0 (X)"}
    get_redis().rpush(hits.BUFFER_KEY, json.dumps({**old, "m": None}))
    get_redis().rpush(hits.BUFFER_KEY, b"not json", json.dumps({"k": "o"}))  # not hits
    result = flush.flush()
    assert (result.events, result.dropped) == (1, 2)
    (event,) = events(db)
    assert (event.type, event.send_id, event.provider_event_id) == ("open", ann.send.id, "hit:old1")
    assert flush.pending() == 0
