"""Contact file imports: stream a file into a list (or the suppression list) in batches.

Rows from the reader (files.ContactReader) are de-duplicated per batch, upserted with one
dialect statement per batch (dbutil.BulkInsert) and committed with the import's counters;
rejected rows go to a CSV file beside the upload (both in mailer.lib.storage). Modes:
``upsert`` (new addresses inserted, names updated, attributes merged, status never changed),
``skip`` (existing left untouched), ``blocklist`` (every address joins the suppression
list). In a file the last occurrence wins.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, BinaryIO

from flask import current_app
from sqlalchemy import func, or_, select, update
from werkzeug.utils import secure_filename

from mailer import dispatch
from mailer.engine.imports import mapping, messages
from mailer.engine.imports.files import (
    FORMATS,
    ContactReader,
    ContactRow,
    ImportFileError,
    Preview,
    RejectedRow,
    preview,
)
from mailer.extensions import db
from mailer.lib import csvfiles, dbutil, erased
from mailer.lib.errors import ValidationError
from mailer.lib.storage import storage
from mailer.models import (
    Import,
    ImportStatus,
    MailingList,
    Subscriber,
    SubscriberStatus,
    Suppression,
)
from mailer.models.base import utcnow

# "confirm": new addresses wait for confirmation (services.signup emails them once the import
# is done), known ones are left untouched.
MODES = ("upsert", "skip", "blocklist", "confirm")
BATCH_SIZE = 2000
SKIP_HEARTBEAT_SECONDS = 10.0  # while a resumed run reads past the committed rows


# ------------------------------------------------------------------ starting


UPLOADS = "imports"  # storage folder of uploaded contact files and their rejected rows


def save_upload(stream: BinaryIO, filename: str) -> str:
    """Store an uploaded file (streamed, never whole in memory); returns its storage key."""
    name = secure_filename(filename) or "contacts"
    key = f"{UPLOADS}/{uuid.uuid4().hex}-{name}"
    storage().save(key, stream)
    return key


def import_upload(stream: BinaryIO, filename: str, **options) -> Import:
    """Store an uploaded file and record its import (``create_import``'s options); a refused
    file or option (ValidationError) leaves nothing stored."""
    key = save_upload(stream, filename)
    try:
        return create_import(key, filename=filename, **options)
    except ValidationError:
        db.session.rollback()
        storage().delete(key)
        raise


def create_import(
    source: str | os.PathLike,
    *,
    list_id: int | None,
    mode: str = "upsert",
    fmt: str | None = None,
    filename: str | None = None,
    user_id: int | None = None,
    campaign_id: int | None = None,
    map_columns: bool = False,
) -> Import:
    """Validate the options and the file's head, then record a queued import. ``source`` is a
    storage key (``save_upload``) or a local file (a Path: the command line's, never deleted).
    With ``map_columns`` the import waits for its mapping (``confirm_mapping``) instead, and
    the file needs no field named like an email: the person importing picks it."""
    errors = {}
    if mode not in MODES:
        errors["mode"] = messages.CHOOSE_MODE % {"choices": ", ".join(MODES)}
    if fmt not in (None, "", *FORMATS):
        errors["format"] = messages.CHOOSE_FORMAT % {"choices": ", ".join(FORMATS)}
    if mode != "blocklist" and list_id is None:
        errors["list"] = messages.CHOOSE_LIST
    if errors:
        raise ValidationError(errors)
    path = os.path.abspath(source) if isinstance(source, os.PathLike) else source
    filename = filename or os.path.basename(path)
    try:
        with closing(_open(path)) as fh:
            if map_columns:
                detected = preview(fh, fmt or None, filename=filename, limit=1).fmt
            else:
                detected = ContactReader(fh, fmt or None, filename=filename).fmt
    except ImportFileError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    record = Import(
        list_id=list_id,
        campaign_id=campaign_id,
        filename=filename,
        path=path,
        format=detected,
        mode=mode,
        size_bytes=os.path.getsize(path) if os.path.isabs(path) else storage().size(path),
        created_by_id=user_id,
        status=ImportStatus.MAPPING.value if map_columns else ImportStatus.QUEUED.value,
    )
    db.session.add(record)
    db.session.commit()
    return record


def enqueue_import(record: Import):
    return dispatch.run_import(record.id)


# ------------------------------------------------------------------ the mapping step

PREVIEW_ROWS = 8


def read_preview(record: Import) -> Preview:
    """The first rows of an import's file (read from its head only)."""
    with closing(_open(record.path)) as fh:
        return preview(fh, record.format, filename=record.filename, limit=PREVIEW_ROWS)


def confirm_mapping(record: Import, columns: list[mapping.Column], fields: list[str]) -> None:
    """Give a waiting import its mapping and queue it (the caller enqueues): the mapping is
    remembered for the next file with this header, and typed attributes join the list's."""
    if record.status != ImportStatus.MAPPING.value:
        raise ValidationError({"mapping": messages.ALREADY_STARTED})
    record.mapping = [c.as_dict() for c in columns]
    record.status = ImportStatus.QUEUED.value
    mapping.remember(fields, columns)
    if record.list_id is not None and record.mode != "blocklist":
        mailing_list = db.session.get(MailingList, record.list_id)
        types = dict(mailing_list.attribute_types or {}) | mapping.attribute_types(columns)
        mailing_list.attribute_types = {k: v for k, v in types.items() if v != "text"}
    db.session.commit()


def cancel_waiting(record: Import) -> None:
    """Forget an import still waiting for its mapping, and its file."""
    _delete_upload(record)
    db.session.delete(record)
    db.session.commit()


# ------------------------------------------------------------------ running


@dataclass
class Counters:
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    duplicates: int = 0
    rejected: int = 0


def rejected_key(record: Import) -> str:
    return f"{UPLOADS}/import-{record.id}-rejected.csv"


def open_rejected(record: Import) -> IO[bytes] | None:
    """The CSV of the rows an import refused (position, reason, raw row), or None."""
    try:
        return storage().open(rejected_key(record))
    except FileNotFoundError:
        return None


def has_rejected(record: Import) -> bool:
    return storage().exists(rejected_key(record))


class Superseded(Exception):
    """A newer run of the same import took over (its attempt count moved on)."""


def run_import(import_id: int) -> Import:
    """Run one import to the end; the import row records success or the failure message.

    The reading thread parses and batches; a writer thread writes each batch while the next
    one is parsed (the DB driver releases the GIL), with at most two batches in flight.
    A run continues after the last committed batch of an earlier one (its rows are read again
    but not written or counted), so a resumed import ends with a clean import's counters.
    """
    record = db.session.get(Import, import_id)
    if record is None:
        raise LookupError(f"import {import_id} does not exist")
    if record.status == ImportStatus.COMPLETED:
        return record
    now = utcnow()
    db.session.execute(
        update(Import)
        .where(Import.id == import_id)
        .values(
            status=ImportStatus.RUNNING.value,
            started_at=func.coalesce(Import.started_at, now),
            heartbeat_at=now,
            attempts=Import.attempts + 1,
            error=None,
        )
    )
    db.session.commit()
    db.session.refresh(record)
    attempt, resume_after = record.attempts, record.rows_read
    started = time.monotonic()
    writer = _BatchWriter(current_app._get_current_object(), record)
    failure: tuple[str, BaseException | None] | None = None
    position = 0  # rows of the file read up to the current batch

    def submit(batch, bytes_read, read, rejected, duplicates, rejects) -> None:
        nonlocal position
        position += read
        if position <= resume_after:  # committed by an earlier run
            writer.skip(batch, rejects)
        elif position - read < resume_after:
            raise ImportFileError(messages.FILE_CHANGED)
        else:
            writer.submit(batch, bytes_read, read, rejected, duplicates, rejects)

    try:
        with (
            closing(_open(record.path)) as fh,
            storage().writer(rejected_key(record), text=True) as bad,
        ):
            rejects = csvfiles.writer(bad)
            rejects.writerow(["position", "reason", "raw"])
            reader = ContactReader(
                fh,
                record.format,
                size=record.size_bytes,
                filename=record.filename,
                plan=mapping.plan(record.mapping) if record.mapping else None,
            )
            batch: dict[str, ContactRow] = {}
            read = rejected = duplicates = 0
            for row in reader:
                read += 1
                if isinstance(row, RejectedRow):
                    rejected += 1
                    rejects.writerow([row.position, row.reason, row.raw])
                    continue
                if batch.pop(row.email, None) is not None:
                    duplicates += 1  # the last occurrence wins, and keeps its place
                batch[row.email] = row
                if len(batch) >= BATCH_SIZE:
                    submit(batch, reader.bytes_read, read, rejected, duplicates, rejects)
                    batch, read, rejected, duplicates = {}, 0, 0, 0
            submit(batch, reader.bytes_read, read, rejected, duplicates, rejects)
    except ImportFileError as exc:
        failure = (str(exc), None)
    except Exception as exc:
        failure = (_internal(exc), exc)
    writer_error = writer.close()  # waits for the batches read before any failure
    if writer_error is not None and failure is None:
        failure = (_internal(writer_error), writer_error)
    db.session.rollback()
    if isinstance(writer_error, Superseded):
        current_app.logger.warning("import %s: a newer run took over", import_id)
        return db.session.get(Import, import_id)
    _finish(
        record.id,
        attempt,
        ImportStatus.FAILED if failure else ImportStatus.COMPLETED,
        failure[0] if failure else None,
    )
    record = db.session.get(Import, import_id)
    db.session.refresh(record)
    if failure and failure[1] is not None:
        raise failure[1]
    current_app.logger.info(
        "import %s %s in %.1fs: %s rows",
        record.id,
        record.status,
        time.monotonic() - started,
        record.rows_read,
    )
    return record


def _internal(exc: BaseException) -> str:
    return messages.INTERNAL % {"detail": f"{exc.__class__.__name__}: {exc}"}


def _finish(import_id: int, attempt: int, status: ImportStatus, error: str | None) -> None:
    """Record the outcome unless a newer run took over; counters are those of the batches
    that were committed."""
    values = {"status": status.value, "error": error, "finished_at": utcnow()}
    if status == ImportStatus.COMPLETED:
        values["bytes_read"] = Import.size_bytes
    done = db.session.execute(
        update(Import).where(Import.id == import_id, Import.attempts == attempt).values(**values)
    )
    if done.rowcount and status == ImportStatus.COMPLETED:
        record = db.session.get(Import, import_id)
        db.session.refresh(record)
        _delete_upload(record)
    db.session.commit()


@dataclass
class Recovery:
    """What recover_stalled did: imports queued again, and failed ones with their campaigns."""

    resumed: list[int]
    failed: list[int]
    campaign_ids: list[int]  # campaigns of failed imports: they may go on (on_import_finished)


def recover_stalled(now: datetime | None = None) -> Recovery:
    """Find running imports whose job died (no heartbeat for MAILER_IMPORT_STALL_SECONDS):
    queue each again to resume after its last committed batch, or fail it with the reason
    when its file is gone or it was started MAILER_IMPORT_MAX_ATTEMPTS times. Run by the
    minute tick; safe twice (each move is a conditional UPDATE)."""
    config = current_app.config
    now = now or utcnow()
    cutoff = now - timedelta(seconds=config["MAILER_IMPORT_STALL_SECONDS"])
    last_sign = func.coalesce(Import.heartbeat_at, Import.started_at, Import.created_at)
    stalled = db.session.execute(
        select(Import.id, Import.path, Import.attempts, Import.rows_read, Import.campaign_id)
        .where(Import.status == ImportStatus.RUNNING.value, last_sign < cutoff)
        .order_by(Import.id)
    ).all()
    done = Recovery([], [], [])
    for import_id, path, attempts, rows_read, campaign_id in stalled:
        mine = (Import.id == import_id, Import.status == ImportStatus.RUNNING.value)
        mine += (Import.attempts == attempts,)
        if not path or not _upload_exists(path):
            error = messages.FILE_GONE % {"rows": rows_read}
        elif attempts >= config["MAILER_IMPORT_MAX_ATTEMPTS"]:
            # MAILER_IMPORT_MAX_ATTEMPTS runs
            error = messages.TOO_MANY_RUNS % {"rows": rows_read, "attempts": attempts}
        else:
            moved = db.session.execute(
                update(Import).where(*mine).values(status=ImportStatus.QUEUED.value)
            )
            db.session.commit()
            if moved.rowcount:
                try:
                    dispatch.run_import(import_id)
                except Exception:
                    db.session.execute(  # the next tick tries again
                        update(Import)
                        .where(Import.id == import_id, Import.attempts == attempts)
                        .values(status=ImportStatus.RUNNING.value)
                    )
                    db.session.commit()
                    raise
                done.resumed.append(import_id)
            continue
        moved = db.session.execute(
            update(Import)
            .where(*mine)
            .values(status=ImportStatus.FAILED.value, error=error, finished_at=now)
        )
        db.session.commit()
        if moved.rowcount:
            done.failed.append(import_id)
            if campaign_id:
                done.campaign_ids.append(campaign_id)
    if done.resumed or done.failed:
        current_app.logger.warning(
            "imports whose job died: resumed %s, failed %s", done.resumed, done.failed
        )
    return done


def _open(path: str) -> IO[bytes]:
    """An import's file: a storage key, or the absolute path of a local file."""
    return open(path, "rb") if os.path.isabs(path) else storage().open(path)


def _upload_exists(path: str) -> bool:
    return os.path.isfile(path) if os.path.isabs(path) else storage().exists(path)


def _is_upload(path: str) -> bool:
    """A file Mailer received and stored, not one named on the command line. (Uploads made
    before storage keys have their absolute path under instance/imports.)"""
    legacy = Path(current_app.instance_path, UPLOADS)
    return bool(path) and (path.startswith(f"{UPLOADS}/") or Path(path).parent == legacy)


def _delete_upload(record: Import) -> bool:
    """Delete the import's uploaded file (its path becomes ""); False when it could not be."""
    if not _is_upload(record.path):
        return False
    try:
        if os.path.isabs(record.path):
            Path(record.path).unlink(missing_ok=True)
        else:
            storage().delete(record.path)
    except Exception as exc:  # a file system or S3 error: kept, the next purge tries again
        current_app.logger.warning("import %s: cannot delete its upload: %s", record.id, exc)
        return False
    record.path = ""
    return True


def purge_failed_uploads(now: datetime | None = None) -> int:
    """Delete the uploads of imports that failed over MAILER_FAILED_UPLOAD_RETENTION_DAYS ago,
    or waited that long for a mapping (they fail); returns how many. Run by the minute tick."""
    days = current_app.config["MAILER_FAILED_UPLOAD_RETENTION_DAYS"]
    if not days:
        return 0  # kept forever
    cutoff = (now or utcnow()) - timedelta(days=days)
    abandoned = db.session.scalars(
        select(Import).where(
            Import.status == ImportStatus.MAPPING.value, Import.created_at < cutoff
        )
    ).all()
    for record in abandoned:
        record.status, record.error = ImportStatus.FAILED.value, messages.NEVER_MAPPED
        record.finished_at = utcnow()
    stale = db.session.scalars(
        select(Import).where(
            Import.status == ImportStatus.FAILED.value,
            Import.finished_at < cutoff,
            or_(
                Import.path.startswith(f"{UPLOADS}/", autoescape=True),
                Import.path.startswith(
                    f"{Path(current_app.instance_path, UPLOADS)}{os.sep}", autoescape=True
                ),
            ),
        )
    ).all()
    deleted = sum(_delete_upload(record) for record in [*abandoned, *stale])
    db.session.commit()
    return deleted


class _BatchWriter:
    """Writes batches in a thread of its own (own app context, own DB session), in order.

    `submit` runs in the reading thread and also renders the rows (JSON attributes, SQL
    literals), so the writing thread does little Python between two statements: the database
    works on one batch while the reader parses and renders the next.
    """

    def __init__(self, app, record: Import):
        self.app = app
        self.import_id = record.id
        self.list_id = record.list_id
        self.mode = record.mode
        self.status = (
            SubscriberStatus.UNCONFIRMED
            if record.mode == "confirm"
            else SubscriberStatus.SUBSCRIBED
        ).value
        self.source = f"import {record.id}: {record.filename}"[:200]
        self.attempt = record.attempts
        self.beaten = time.monotonic()
        self.counters = Counters(  # an earlier run's committed counters, when resuming
            record.rows_read,
            record.inserted,
            record.updated,
            record.skipped,
            record.duplicates,
            record.rejected,
        )
        self.error: BaseException | None = None
        self.insert = dbutil.BulkInsert(subscriber_upsert(), _VARYING, _FIXED)
        self.seen: _SeenFilter | None = None
        self.refuse_erased = erased.any_erased()  # issue 20: erased people stay out
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.thread = threading.Thread(target=self._run, name=f"import-{record.id}", daemon=True)
        self.thread.start()

    def submit(self, batch, bytes_read, read, rejected, duplicates, rejects) -> None:
        """Queue a batch for the writer; rows no database can store are reported to
        ``rejects`` (the rejected-rows CSV) and counted as rejected instead."""
        if self.error is not None:
            raise RuntimeError("the import writer stopped") from self.error
        if self.mode != "blocklist":
            rejected += self._refuse_erased(batch, rejects)
            batch, unstorable = self._render(batch)
            for row, reason in unstorable:
                rejects.writerow([row.position, reason, _raw_row(row)])
            rejected += len(unstorable)
        self.queue.put((batch, bytes_read, read, rejected, duplicates))

    def _refuse_erased(self, batch: dict[str, ContactRow], rejects) -> int:
        """Drop the addresses of people erased at their request (one lookup per batch, none
        when nobody was ever erased); the rejected-rows file names the row, not the address."""
        if not self.refuse_erased:
            return 0
        gone = erased.erased_among(list(batch))
        for email in gone:
            row = batch.pop(email)
            rejects.writerow([row.position, messages.ERASED, ""])
        return len(gone)

    def skip(self, batch, rejects) -> None:
        """A batch an earlier run committed: report its unstorable rows again, write nothing
        but a heartbeat now and then (skipping a big file's head takes a while)."""
        if self.mode != "blocklist":
            self._refuse_erased(batch, rejects)
            for row, reason in self._render(batch)[1]:
                rejects.writerow([row.position, reason, _raw_row(row)])
        if time.monotonic() - self.beaten > SKIP_HEARTBEAT_SECONDS:
            self.beaten = time.monotonic()
            self.queue.put(({}, None, 0, 0, 0))  # counters and position as committed

    def _render(
        self, batch: dict[str, ContactRow]
    ) -> tuple[dict[str, object], list[tuple[ContactRow, str]]]:
        """email -> the row as the bulk insert sends it (varying columns, see _VARYING), and
        the rows whose text cannot be stored: a lone UTF-16 surrogate, which a JSON file can
        spell as "\\ud800", is no character and has no UTF-8 form."""
        render = self.insert.render
        encode = json_encode
        rendered: dict[str, object] = {}
        unstorable = []
        for email, row in batch.items():
            values = (
                email,
                _clip(row.first_name, 100),
                _clip(row.last_name, 100),
                _clip(row.name, 200),
                encode(row.attributes),
            )
            item = render(values)
            text = item if type(item) is str else "".join(v for v in values if v is not None)
            if not text.isascii():  # O(1) on CPython: only non-ASCII rows pay for encode()
                try:
                    text.encode()
                except UnicodeEncodeError as exc:
                    code = ord(text[exc.start])
                    unstorable.append((row, f"invalid text: lone surrogate U+{code:04X}"))
                    continue
            rendered[email] = item
        return rendered, unstorable

    def close(self) -> BaseException | None:
        self.queue.put(None)
        self.thread.join()
        return self.error

    def _run(self) -> None:
        # One connection held for the whole import: no pool checkout (and ping) per batch.
        with self.app.app_context(), db.engine.connect() as conn:
            self.conn = conn
            try:
                while (item := self.queue.get()) is not None:
                    if self.error is None:
                        self._write(*item)
            except BaseException as exc:  # reported by close(); the reader stops at submit()
                self.error = exc
                conn.rollback()
                while self.queue.get() is not None:  # drain so the reader never blocks
                    pass

    def _write(self, batch, bytes_read, read, rejected, duplicates) -> None:
        c = self.counters
        c.rows_read += read
        c.rejected += rejected
        c.duplicates += duplicates
        if batch:
            if self.mode == "blocklist":
                self._write_suppressions(batch)
            else:
                self._write_subscribers(batch)
        table = Import.__table__
        done = self.conn.execute(
            table.update()
            .where(table.c.id == self.import_id, table.c.attempts == self.attempt)
            .values(
                heartbeat_at=utcnow(),
                bytes_read=table.c.bytes_read if bytes_read is None else bytes_read,
                rows_read=c.rows_read,
                inserted=c.inserted,
                updated=c.updated,
                skipped=c.skipped,
                duplicates=c.duplicates,
                rejected=c.rejected,
            )
        )
        if not done.rowcount:
            raise Superseded(f"import {self.import_id}: attempt {self.attempt} was superseded")
        self.conn.commit()

    def _existing(self, emails: list[str]) -> dict[str, int | None]:
        """email -> import_id of batch addresses already on the list.

        Only addresses the filter has (maybe) seen are looked up: a new address costs no query.
        """
        if self.seen is None:
            self.seen = _SeenFilter()
            table = Subscriber.__table__
            known = self.conn.execute(
                select(table.c.email)
                .where(table.c.list_id == self.list_id)
                .execution_options(yield_per=10_000)
            )
            for (email,) in known:
                self.seen.add(email)
        candidates = self.seen.add_all(emails)
        if not candidates:
            return {}
        table = Subscriber.__table__
        rows = self.conn.execute(
            select(table.c.email, table.c.import_id).where(
                table.c.list_id == self.list_id, table.c.email.in_(candidates)
            )
        )
        return dict(rows.all())

    def _write_subscribers(self, batch: dict[str, object]) -> None:
        existing = self._existing(list(batch))
        c = self.counters
        rows = list(batch.values())
        if existing:
            rows = []
            for email, row in batch.items():
                if email in existing:
                    if existing[email] == self.import_id:
                        c.duplicates += 1  # seen in an earlier batch of this file
                    elif self.mode in ("skip", "confirm"):
                        c.skipped += 1
                        continue
                    else:
                        c.updated += 1
                else:
                    c.inserted += 1
                rows.append(row)
        else:
            c.inserted += len(rows)
        now = utcnow().strftime("%Y-%m-%d %H:%M:%S")  # formatted once, not per row by the driver
        fixed = (self.list_id, self.status, self.import_id, now, now)
        self.insert.execute(self.conn, rows, fixed)

    def _write_suppressions(self, batch) -> None:
        emails = list(batch)
        known = set(
            self.conn.execute(
                select(Suppression.email).where(Suppression.email.in_(emails))
            ).scalars()
        )
        self.counters.skipped += len(known)
        fresh = [e for e in emails if e not in known]
        self.counters.inserted += len(fresh)
        if fresh:
            now = utcnow()
            rows = [
                {"email": e, "reason": "import", "source": self.source, "created_at": now}
                for e in fresh
            ]
            self.conn.execute(dbutil.insert_ignore(Suppression.__table__, ["email"]), rows)


class _SeenFilter:
    """A Bloom filter of the list's addresses: fixed memory (8 MiB), no false negatives.

    "Not seen" is certain, so those addresses skip the existence query; "maybe seen" ones
    (existing, earlier in this file, or a rare false positive) are looked up.
    """

    BITS = 1 << 26

    def __init__(self) -> None:
        self.bits = bytearray(self.BITS // 8)

    def add(self, email: str) -> None:
        self.add_all([email])

    def add_all(self, emails: list[str]) -> list[str]:
        """Add every address; return those that were (maybe) seen before. One loop, inlined:
        this runs for every imported row."""
        bits = self.bits
        mask = self.BITS - 1
        maybe = []
        for email in emails:
            h = hash(email) & 0xFFFFFFFFFFFFFFFF
            a = h & mask
            b = (h >> 32 ^ h >> 5) & mask
            byte_a, bit_a, byte_b, bit_b = a >> 3, 1 << (a & 7), b >> 3, 1 << (b & 7)
            if bits[byte_a] & bit_a and bits[byte_b] & bit_b:
                maybe.append(email)
            else:
                bits[byte_a] |= bit_a
                bits[byte_b] |= bit_b
        return maybe


# The bulk insert's columns: one value per row, then one value per batch (_write_subscribers).
_VARYING = ("email", "first_name", "last_name", "name", "attributes")
_FIXED = ("list_id", "status", "import_id", "created_at", "updated_at")


def subscriber_upsert():
    def updates(old, new):
        return {
            "first_name": func.coalesce(new.first_name, old.first_name),
            "last_name": func.coalesce(new.last_name, old.last_name),
            "name": func.coalesce(new.name, old.name),
            "attributes": dbutil.json_merge(old.attributes, new.attributes),
            "import_id": new.import_id,
            "updated_at": new.updated_at,
        }

    return dbutil.upsert(Subscriber.__table__, ["list_id", "email"], updates)


def _raw_row(row: ContactRow) -> str:
    """The row as JSON for the rejected-rows file (ASCII: escapes keep any surrogate)."""
    fields = {"email": row.email, "first_name": row.first_name, "last_name": row.last_name}
    fields = {k: v for k, v in fields.items() if v is not None} | row.attributes
    if row.name is not None:
        fields["name"] = row.name
    return json.dumps(fields, default=str)[:1000]


def _json_encoder():
    """json.dumps(value, ensure_ascii=False) for parsed JSON values, at half the cost.

    Values come from a JSON or CSV parser, so they can hold no cycles and no foreign types:
    the C encoder is called directly, without the circular-reference bookkeeping.
    """
    encoder = json.JSONEncoder(ensure_ascii=False, check_circular=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    iterencode = make(
        None,
        encoder.default,
        json.encoder.encode_basestring,
        None,
        encoder.key_separator,
        encoder.item_separator,
        False,
        False,
        True,
    )
    return lambda value: "".join(iterencode(value, 0))


json_encode = _json_encoder()


def _clip(value: str | None, limit: int) -> str | None:
    """Names arrive stripped (or None) from the reader; only the column limit is applied."""
    if value is None or len(value) <= limit:
        return value
    return value[:limit]


# ------------------------------------------------------------------ helpers for callers


def get_or_create_list(name: str) -> MailingList:
    mailing_list = db.session.scalar(select(MailingList).filter_by(name=name))
    if mailing_list is None:
        mailing_list = MailingList(name=name)
        db.session.add(mailing_list)
        db.session.commit()
    return mailing_list


def rate(record: Import) -> float | None:
    """Rows per second so far."""
    if not record.started_at:
        return None
    end = record.finished_at or utcnow()
    seconds = (end - record.started_at).total_seconds()
    return record.rows_read / seconds if seconds > 0 else None


def imports_for_list(list_id: int, limit: int = 5) -> list[Import]:
    return db.session.scalars(
        select(Import).filter_by(list_id=list_id).order_by(Import.id.desc()).limit(limit)
    ).all()


def count_subscribers(list_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(Subscriber).where(Subscriber.list_id == list_id)
        )
        or 0
    )
