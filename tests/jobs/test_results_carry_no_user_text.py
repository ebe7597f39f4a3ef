"""Job results and exception texts never carry user-supplied content (issue 16, item 5).

RQ stores what a job returns and the traceback of what it raised, and rq-dashboard (/admin/rq)
writes both into its pages as HTML: a malformed JSON import once put the file's text into its
job's result, and the admin's job page ran it. Jobs return ids and counts; the details go to
the database (and the worker's log).
"""

from __future__ import annotations

import json
import logging

from rq import SimpleWorker
from rq.job import Job, JobStatus

from mailer.engine.imports import importer
from mailer.models import (
    Campaign,
    CampaignChannel,
    Channel,
    Identity,
    Import,
)
from mailer.queue import IMPORTS, SEND, enqueue, get_redis, set_worker_app
from mailer.services import lists
from tests.jobs_for_tests import fail_plainly, fail_with

PAYLOAD = "<img src=x onerror=alert(document.cookie)>"


def _work(app, queue: str, func, *args) -> Job:
    job = enqueue(queue, func, *args)
    set_worker_app(app)
    SimpleWorker([queue], connection=get_redis()).work(burst=True)
    return Job.fetch(job.id, connection=get_redis())


def _stored(job: Job) -> str:
    """Everything RQ keeps about the job's outcome, as rq-dashboard would show it."""
    result = job.latest_result()
    return json.dumps(job.return_value()) + (result.exc_string or "" if result else "")


def test_a_malformed_json_import_keeps_the_file_text_out_of_its_job(app, db, tmp_path):
    mailing_list = lists.create_list("Customers")
    path = tmp_path / "contacts.json"
    path.write_text(f'[{{"email": "ann@example.com"}}, {{"email": "bob@example.com"}} {PAYLOAD}]')
    record = importer.create_import(path, list_id=mailing_list.id, filename="contacts.json")

    job = _work(app, IMPORTS, "jobs.imports.run_import", record.id)

    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == {"import_id": record.id, "status": "failed", "rows_read": 0}
    assert "<img" not in _stored(job)
    db.session.commit()
    assert "<img" in db.session.get(Import, record.id).error  # the details are on the row


def test_an_exception_quoting_user_text_reaches_the_queue_without_its_message(app, caplog):
    with caplog.at_level(logging.ERROR, logger="mailer.queue"):
        job = _work(app, IMPORTS, fail_with, PAYLOAD)

    assert job.get_status() == JobStatus.FAILED
    stored = job.latest_result().exc_string
    assert PAYLOAD not in stored and "bad row" not in stored
    # What failed and where is kept; the message is in the worker's log.
    assert "tests.jobs_for_tests.fail_with failed: builtins.ValueError" in stored
    assert "at tests/jobs_for_tests.py:" in stored and "in fail_with" in stored
    assert any(PAYLOAD in r.getMessage() + str(r.exc_info) for r in caplog.records)


def test_a_job_error_names_ids_and_is_kept_as_it_is(app):
    job = _work(app, IMPORTS, fail_plainly, 42)
    assert job.latest_result().exc_string.rstrip().endswith("JobError: import 42 failed")


def test_a_paused_channel_row_returns_no_reason(app, db):
    """A row pauses with the provider's last error, which may quote an address."""
    channel = Channel(name="Sandbox", provider="sandbox", settings={})
    identity = Identity(name="News", from_email="news@example.com")
    campaign = Campaign(name="Spring", subject="Hi", html="<p>Hi</p>", status="running")
    db.session.add_all([channel, identity, campaign])
    db.session.flush()
    row = CampaignChannel(
        campaign_id=campaign.id,
        channel_id=channel.id,
        identity_id=identity.id,
        paused_reason=f"last error: 550 {PAYLOAD} rejected",
    )
    db.session.add(row)
    db.session.commit()

    job = _work(app, SEND, "jobs.campaigns.run_channel", row.id)

    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == {"row_id": row.id, "state": "paused", "sent": 0, "failed": 0}
