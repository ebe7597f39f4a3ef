"""Subscriber exports (a list, a segment, a search, ticked rows) as CSV or JSON, streamed.

The rows are read in keyset pages of ids and written page by page, so memory stays flat
whatever the size. CSV cells go through lib.csvfiles (no spreadsheet formulas); "excel" is
CSV for spreadsheet programs: a UTF-8 byte order mark, semicolons, CRLF line ends.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

from flask import current_app
from sqlalchemy import String, cast, select

from mailer.extensions import db
from mailer.lib import csvfiles
from mailer.models import MailingList, Subscriber
from mailer.services import people
from mailer.services.bulk import Selection

FORMATS = ("csv", "excel", "json")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "excel": "text/csv; charset=utf-8",
    "json": "application/json",
}
EXTENSIONS = {"csv": "csv", "excel": "csv", "json": "json"}
FIXED = ("email", "first_name", "last_name", "name", "status", "list", "created_at")
OTHER = "other_attributes"  # CSV: attributes not among the columns, as a JSON object
SAMPLE = 1000  # rows whose attribute names become CSV columns
COLUMNS = (
    Subscriber.id,
    Subscriber.email,
    Subscriber.first_name,
    Subscriber.last_name,
    Subscriber.name,
    Subscriber.status,
    Subscriber.list_id,
    # As text: the driver's datetime parsing (mysqlclient's is Python) costs more than the
    # rest of the row; "YYYY-MM-DD HH:MM:SS" is what the file shows anyway.
    cast(Subscriber.created_at, String(32)).label("created_at"),
    Subscriber.attributes,
)


def pages(selection: Selection, chunk: int | None = None) -> Iterator[list]:
    """The selected rows, one keyset page (a list of rows) at a time: one list's (a list, a
    segment) in address order along its (list_id, email) index, others in id order."""
    chunk = chunk or current_app.config["MAILER_BULK_CHUNK"]
    # No join for the list's name: MariaDB would then read the lists first and sort every
    # subscriber for each page. Lists are few: their names are looked up here.
    base = select(*COLUMNS)
    search = selection.search
    if search is None:
        yield from _pages_of_ids(base, sorted(selection.ids), chunk)
        return
    base = base.where(*people.criteria(search))
    by_email = bool(search.list_id or search.segment_id)
    last_id, last_email = 0, ""
    while True:
        if by_email:
            stmt = base.where(Subscriber.email > last_email).order_by(Subscriber.email)
        else:
            stmt = base.where(Subscriber.id > last_id).order_by(Subscriber.id)
        rows = db.session.execute(stmt.limit(chunk)).all()
        db.session.commit()  # end the read: a long export holds no snapshot open
        if rows:
            yield rows
            last_id, last_email = rows[-1].id, rows[-1].email
        if len(rows) < chunk:
            return


def _pages_of_ids(base, ids: list[int], chunk: int) -> Iterator[list]:
    for start in range(0, len(ids), chunk):
        stmt = base.where(Subscriber.id.in_(ids[start : start + chunk])).order_by(Subscriber.id)
        rows = db.session.execute(stmt).all()
        db.session.commit()
        if rows:
            yield rows


def stream(selection: Selection, fmt: str) -> Iterator[bytes]:
    names = dict(db.session.execute(select(MailingList.id, MailingList.name)).all())
    if fmt == "json":
        return _json(selection, names)
    return _csv(selection, names, excel=fmt == "excel")


def _value(value) -> str:
    return "" if value is None else people.display_value(value)


def _csv(selection: Selection, lists: dict[int, str], *, excel: bool) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csvfiles.writer(buffer, delimiter=";" if excel else ",", lineterminator="\r\n")
    names: list[str] | None = None
    if excel:
        yield "\ufeff".encode()
    for rows in pages(selection):
        if names is None:
            seen: dict[str, None] = {}
            for row in rows[:SAMPLE]:
                seen.update(dict.fromkeys(row.attributes or {}))
            names = list(seen)
            writer.writerow([*FIXED, *names, OTHER])
        known = set(names)
        for _id, email, first, last, name, status, list_id, created, attributes in rows:
            attributes = attributes or {}
            other = ""
            if attributes.keys() - known:
                extra = {k: v for k, v in attributes.items() if k not in known}
                other = json.dumps(extra, ensure_ascii=False)
            writer.writerow(
                [
                    email,
                    first or "",
                    last or "",
                    name or "",
                    status,
                    lists.get(list_id, ""),
                    created[:19],
                    *[_value(attributes.get(n)) for n in names],
                    other,
                ]
            )
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if names is None:  # nothing selected: a header alone
        writer.writerow([*FIXED, OTHER])
        yield buffer.getvalue().encode()


def _json(selection: Selection, lists: dict[int, str]) -> Iterator[bytes]:
    yield b"["
    first = True
    for rows in pages(selection):
        parts = []
        for row in rows:
            item = {
                "email": row.email,
                "first_name": row.first_name,
                "last_name": row.last_name,
                "name": row.name,
                "status": row.status,
                "list": lists.get(row.list_id, ""),
                "created_at": row.created_at[:19].replace(" ", "T"),
                "attributes": row.attributes or {},
            }
            parts.append(json.dumps(item, ensure_ascii=False, default=str))
        text = ",\n".join(parts)
        yield (("\n" if first else ",\n") + text).encode()
        first = False
    yield b"\n]\n"
