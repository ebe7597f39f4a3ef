"""Jobs enqueued through the helper run in a real (forking) RQ worker with an app context."""

from __future__ import annotations

import os

from rq import Worker
from rq.job import Job, JobStatus

from mailer.models import MailingList
from mailer.queue import IMPORTS, PRIORITY, TICKS, enqueue, get_queue, get_redis, set_worker_app
from tests.jobs_for_tests import create_list, fail_loudly


def _work(app, *queues):
    set_worker_app(app)
    worker = Worker(list(queues or PRIORITY), connection=get_redis())
    worker.work(burst=True)


def test_enqueued_job_runs_in_a_forked_worker_and_writes_to_the_database(app, db):
    job = enqueue(IMPORTS, create_list, "from a worker")
    assert job.get_status() == JobStatus.QUEUED
    _work(app, IMPORTS)
    job = Job.fetch(job.id, connection=get_redis())
    assert job.get_status() == JobStatus.FINISHED, job.latest_result()
    row = db.session.get(MailingList, job.return_value())
    assert row is not None
    assert row.name.startswith("from a worker")
    assert f"pid {os.getpid()})" not in row.name, "ran in a forked child"
    assert row.description == app.config["PUBLIC_BASE_URL"], "ran with the app's settings"


def test_enqueue_commits_first_so_the_worker_sees_pending_rows(app, db):
    db.session.add(MailingList(name="uncommitted before enqueue"))
    enqueue(IMPORTS, create_list, "x")
    db.session.rollback()  # nothing left to lose: enqueue committed
    assert db.session.scalar(db.select(MailingList).filter_by(name="uncommitted before enqueue"))


def test_a_failing_job_is_recorded_as_failed_not_swallowed(app):
    job = enqueue(TICKS, fail_loudly)
    _work(app, TICKS)
    job = Job.fetch(job.id, connection=get_redis())
    assert job.get_status() == JobStatus.FAILED
    # Its type and place, not its message (tests/jobs: exception texts may quote user data).
    assert "RuntimeError at tests/jobs_for_tests.py" in job.latest_result().exc_string


def test_queue_names_are_checked():
    import pytest

    with pytest.raises(ValueError):
        get_queue("nope")


def test_heartbeat_tick_runs_and_shows_on_the_queues_page(app, client, as_role):
    from jobs.ticks import heartbeat

    as_role("admin")
    assert b"not seen yet" in client.get("/queues/").data
    enqueue(TICKS, heartbeat)
    _work(app, TICKS)
    page = client.get("/queues/").get_data(as_text=True)
    assert "running (last seen" in page
    for name in PRIORITY:
        assert f"<code>{name}</code>" in page


def test_scheduler_registers_each_tick_once(app):
    from rq_scheduler import Scheduler

    from mailer.dispatch import TICKS_REGISTRY
    from mailer.scheduling import register_ticks

    register_ticks(get_redis())
    register_ticks(get_redis())
    jobs = Scheduler(queue_name=TICKS, connection=get_redis()).get_jobs()
    assert sorted(j.id for j in jobs) == sorted(f"tick-{t.name}" for t in TICKS_REGISTRY)


def test_scheduler_registers_missing_ticks_again(app):
    from rq_scheduler import Scheduler

    from mailer.dispatch import TICKS_REGISTRY
    from mailer.scheduling import ensure_ticks, register_ticks

    scheduler = Scheduler(queue_name=TICKS, connection=get_redis())
    register_ticks(get_redis())
    assert ensure_ticks(scheduler) == []  # all there: nothing touched
    get_redis().flushdb()  # Redis restarted empty
    assert sorted(ensure_ticks(scheduler)) == sorted(f"tick-{t.name}" for t in TICKS_REGISTRY)
    get_redis().delete("rq:job:tick-campaigns")  # scheduled, but its job hash is gone
    assert ensure_ticks(scheduler) == ["tick-campaigns"]
    assert sorted(j.id for j in scheduler.get_jobs()) == sorted(
        f"tick-{t.name}" for t in TICKS_REGISTRY
    )
