"""Files Mailer writes are its user's only (0600, folders 0700); uploads do not pile up."""

from __future__ import annotations

import io
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from rq import SimpleWorker

from config import TestConfig
from jobs.ticks import campaigns_tick
from mailer import create_app
from mailer.engine.imports import importer
from mailer.extensions import db as _db
from mailer.lib.storage import storage
from mailer.models import Import
from mailer.models.base import utcnow
from mailer.queue import IMPORTS, get_redis, set_worker_app
from mailer.services import lists
from tests.fixtures.imports import accept_mapping

GOOD = b"email,name\nann@example.com,Ann\n=HYPERLINK(1),x\n"
BROKEN = b'email,name\nann@example.com,Ann\n"bob@example.com,Bob\n'  # unterminated quote


def mode(path: str | os.PathLike) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    """A process started with the usual umask (022): files would be world-readable."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_a_new_instance_is_private(tmp_path, loose_umask):
    instance = tmp_path / "instance"
    instance.mkdir()
    os.chmod(instance, 0o755)  # noqa: S103 - made by an install before this rule
    app = create_app(
        TestConfig,
        INSTANCE_PATH=str(instance),
        SQLALCHEMY_DATABASE_URI="",  # the default SQLite file under instance/
        SECRET_KEY="",  # generated into instance/secrets.json
        ENCRYPTION_KEY="",
    )
    with app.app_context():
        _db.create_all()
        _db.engine.dispose()
    assert mode(instance) == 0o700
    assert mode(instance / "mailer.db") == 0o600
    assert mode(instance / "secrets.json") == 0o600
    assert os.umask(0o077) == 0o077, "the process keeps the private umask"


def _upload(client, mailing_list, content: bytes, name: str):
    response = client.post(
        f"/lists/{mailing_list.id}/imports", data={"file": (io.BytesIO(content), name)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    record = _db.session.scalars(_db.select(Import).order_by(Import.id.desc())).first()
    assert accept_mapping(client, record.id).status_code == 302
    return record


def _work(app: Flask) -> None:
    set_worker_app(app)
    SimpleWorker([IMPORTS], connection=get_redis()).work(burst=True)
    _db.session.commit()  # end the test's read snapshot (MariaDB): see the worker's writes


def test_an_upload_is_private_and_deleted_once_imported(app, client, db, as_role, loose_umask):
    as_role("marketer")
    mailing_list = lists.create_list("People")
    record = _upload(client, mailing_list, GOOD, "people.csv")
    upload = storage().path(record.path)
    assert upload.parent == Path(app.instance_path, "imports")
    assert mode(upload) == 0o600 and mode(upload.parent) == 0o700
    _work(app)
    db.session.refresh(record)
    assert record.status == "completed" and record.rejected == 1
    assert not upload.exists() and record.path == ""
    report = storage().path(importer.rejected_key(record))
    assert mode(report) == 0o600
    download = client.get(f"/lists/{mailing_list.id}/imports/{record.id}/rejected.csv")
    assert download.status_code == 200
    download.close()


def test_a_failed_upload_is_kept_for_the_retention_then_removed_by_the_tick(
    app, client, db, as_role
):
    as_role("marketer")
    mailing_list = lists.create_list("People")
    record = _upload(client, mailing_list, BROKEN, "people.csv")
    _work(app)
    db.session.refresh(record)
    assert record.status == "failed" and "unterminated quote" in record.error
    upload = storage().path(record.path)
    assert upload.exists(), "kept to look into"
    days = app.config["MAILER_FAILED_UPLOAD_RETENTION_DAYS"]
    assert days == 7

    record.finished_at = utcnow() - timedelta(days=days, hours=-1)  # not quite expired
    db.session.commit()
    campaigns_tick()
    assert upload.exists()

    record = db.session.get(Import, record.id)
    record.finished_at = utcnow() - timedelta(days=days, hours=1)
    db.session.commit()
    campaigns_tick()
    assert not upload.exists()
    db.session.refresh(record)
    assert record.path == "" and record.status == "failed"


def test_the_retention_is_a_setting(app, client, db, as_role):
    as_role("marketer")
    mailing_list = lists.create_list("People")
    record = _upload(client, mailing_list, BROKEN, "people.csv")
    _work(app)
    db.session.refresh(record)
    upload = storage().path(record.path)
    app.config["MAILER_FAILED_UPLOAD_RETENTION_DAYS"] = 1
    assert importer.purge_failed_uploads(now=utcnow() + timedelta(hours=23)) == 0
    assert importer.purge_failed_uploads(now=utcnow() + timedelta(hours=25)) == 1
    assert not upload.exists()


def test_a_file_named_on_the_command_line_is_never_deleted(tmp_path, db):
    mailing_list = lists.create_list("People")
    mine = tmp_path / "mine.csv"
    mine.write_bytes(GOOD)
    broken = tmp_path / "broken.csv"
    broken.write_bytes(BROKEN)
    done = importer.run_import(importer.create_import(mine, list_id=mailing_list.id).id)
    failed = importer.run_import(importer.create_import(broken, list_id=mailing_list.id).id)
    assert (done.status, failed.status) == ("completed", "failed")
    assert importer.purge_failed_uploads(now=utcnow() + timedelta(days=365)) == 0
    assert mine.exists() and broken.exists()
    assert done.path == str(mine)
