"""An import whose job died: the tick resumes it after its last committed batch (counters as
a clean import's), or fails it with the reason when it cannot resume."""

from __future__ import annotations

import csv
import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from jobs.ticks import campaigns_tick
from mailer.engine.imports import importer
from mailer.models import Campaign, Import, ImportStatus, Subscriber
from mailer.models.base import utcnow
from tests.factories import draft, make_list
from tests.fixtures.workers import wait_for

ROWS = 200_000
EXISTING = [f"user{i}@example.com" for i in range(0, 4000, 40)]  # on the list before


def write_file(path: Path) -> dict[str, str]:
    """A CSV with duplicates across batches and invalid rows; returns email -> first name
    as a correct import leaves the list (the last occurrence wins)."""
    expected = {}
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["email", "first_name"])
        for i in range(ROWS):
            if i % 1000 == 999:
                out.writerow([f"broken-{i}", "x"])
                continue
            email = f"user{i // 2 if i % 20 == 0 else i}@example.com"  # every 20th repeats
            out.writerow([email, f"F{i}"])
            expected[email] = f"F{i}"
    return expected


def contents(db, list_id) -> dict[str, str]:
    db.session.commit()
    rows = db.session.execute(
        db.select(Subscriber.email, Subscriber.first_name).filter_by(list_id=list_id)
    )
    return dict(rows.all())


def counters(record: Import) -> dict:
    names = ("rows_read", "inserted", "updated", "skipped", "duplicates", "rejected")
    return {name: getattr(record, name) for name in names}


def job_children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(child) for child in fh.read().split()]


def stall_passed():
    return utcnow() + timedelta(seconds=importer.current_app.config["MAILER_IMPORT_STALL_SECONDS"])


@pytest.mark.slow
def test_import_whose_job_child_was_killed_resumes_with_true_counters(
    app, db, tmp_path, spawn_worker
):
    path = tmp_path / "contacts.csv"
    expected = write_file(path)
    clean_list = make_list(db, "Clean", EXISTING)
    clean = importer.create_import(path, list_id=clean_list.id, filename="contacts.csv")
    clean = importer.run_import(clean.id)
    assert clean.status == ImportStatus.COMPLETED.value
    assert contents(db, clean_list.id).keys() == expected.keys() | set(EXISTING)

    target = make_list(db, "Target", EXISTING)
    record = importer.create_import(path, list_id=target.id, filename="contacts.csv")
    import_id = record.id
    worker = spawn_worker("imports")
    importer.enqueue_import(record)

    def progressed():
        db.session.commit()
        return db.session.get(Import, import_id).rows_read >= 20_000

    wait_for(progressed, timeout=120, step=0.02)
    children = job_children(worker.pid)
    assert len(children) == 1, children
    os.kill(children[0], signal.SIGKILL)
    db.session.commit()
    killed = db.session.get(Import, import_id)
    assert killed.rows_read < ROWS, "killed before the end"
    wait_for(lambda: not job_children(worker.pid), timeout=30)
    db.session.commit()
    assert db.session.get(Import, import_id).status == ImportStatus.RUNNING.value

    assert importer.recover_stalled().resumed == []  # its heartbeat is recent
    done = importer.recover_stalled(now=stall_passed())
    assert done.resumed == [import_id] and done.failed == []

    def finished():
        db.session.commit()
        return db.session.get(Import, import_id).status not in ("queued", "running")

    wait_for(finished, timeout=300, step=0.2)
    resumed = db.session.get(Import, import_id)
    assert resumed.status == ImportStatus.COMPLETED.value, resumed.error
    assert resumed.attempts == 2
    assert counters(resumed) == counters(clean)
    assert resumed.bytes_read == resumed.size_bytes
    assert contents(db, target.id) == contents(db, clean_list.id)


def test_a_stalled_import_whose_file_is_gone_fails_and_its_campaign_goes_back_to_draft(
    app, db, tmp_path
):
    path = tmp_path / "contacts.csv"
    path.write_text("email\na@example.com\nb@example.com\n")
    target = make_list(db, "Target", [])
    campaign = draft(db, status="processing")
    record = importer.create_import(
        path, list_id=target.id, filename="contacts.csv", campaign_id=campaign.id
    )
    stale = utcnow() - timedelta(seconds=app.config["MAILER_IMPORT_STALL_SECONDS"] + 5)
    record.status, record.heartbeat_at, record.attempts = "running", stale, 1
    record.rows_read = 2000
    db.session.commit()
    path.unlink()

    result = campaigns_tick()

    assert result["imports_failed"] == 1
    db.session.expire_all()
    record = db.session.get(Import, record.id)
    assert record.status == ImportStatus.FAILED.value
    assert record.error == (
        "The import stopped after 2000 rows and cannot resume: its file is gone."
    )
    assert record.finished_at is not None
    campaign = db.session.get(Campaign, campaign.id)
    assert campaign.status == "draft"
    assert "could not be imported" in campaign.error


def test_a_stalled_import_started_too_often_fails_with_the_reason(app, db, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("email\na@example.com\n")
    target = make_list(db, "Target", [])
    record = importer.create_import(path, list_id=target.id, filename="contacts.csv")
    record.status, record.attempts = "running", app.config["MAILER_IMPORT_MAX_ATTEMPTS"]
    record.heartbeat_at = utcnow()
    db.session.commit()

    done = importer.recover_stalled(now=stall_passed() + timedelta(seconds=1))

    assert done.failed == [record.id] and done.resumed == []
    db.session.expire_all()
    record = db.session.get(Import, record.id)
    assert record.status == ImportStatus.FAILED.value
    assert "it was interrupted 3 times without finishing" in record.error


def test_a_run_resumes_after_the_committed_batches_of_an_earlier_one(
    app, db, tmp_path, monkeypatch
):
    """The in-process half of the recovery: a run that stopped after its first batches (here
    a failure) is started again and ends with a clean import's counters."""
    path = tmp_path / "contacts.csv"
    lines = ["email,first_name"] + [f"u{i % 3000}@example.com,F{i}" for i in range(9000)]
    path.write_text("\n".join(lines) + "\n")
    clean_list, target = make_list(db, "Clean", []), make_list(db, "Target", [])
    clean = importer.run_import(
        importer.create_import(path, list_id=clean_list.id, filename="c.csv").id
    )
    record = importer.create_import(path, list_id=target.id, filename="c.csv")
    truncated = tmp_path / "head.csv"
    truncated.write_text("\n".join(lines[:4001]) + '\nbroken,"x\n')
    record.path = str(truncated)
    db.session.commit()
    first = importer.run_import(record.id)
    assert first.status == ImportStatus.FAILED.value and 0 < first.rows_read < 9000
    first.path = str(path)
    db.session.commit()
    monkeypatch.setattr(importer, "SKIP_HEARTBEAT_SECONDS", -1)  # a heartbeat per skipped batch

    again = importer.run_import(record.id)

    assert again.status == ImportStatus.COMPLETED.value, again.error
    assert counters(again) == counters(clean)
    assert contents(db, target.id) == contents(db, clean_list.id)
