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
from sqlalchemy import select

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
    Subscriber.created_at,
    Subscriber.attributes,
)


def pages(selection: Selection, chunk: int | None = None) -> Iterator[list]:
    """The selected rows in id order, one keyset page (a list of rows) at a time."""
    chunk = chunk or current_app.config["MAILER_BULK_CHUNK"]
    # No join for the list's name: MariaDB would then read the lists first and sort every
    # subscriber for each page. Lists are few: their names are looked up here.
    base = select(*COLUMNS)
    if selection.search is not None:
        base = base.where(*people.criteria(selection.search))
    ids = sorted(selection.ids)
    last = 0
    while True:
        if selection.search is not None:
            stmt = base.where(Subscriber.id > last).order_by(Subscriber.id).limit(chunk)
        else:
            wanted = [i for i in ids if i > last][:chunk]
            if not wanted:
                return
            stmt = base.where(Subscriber.id.in_(wanted)).order_by(Subscriber.id)
            last = wanted[-1]
        rows = db.session.execute(stmt).all()
        db.session.commit()  # end the read: a long export holds no snapshot open
        if rows:
            yield rows
            last = max(last, rows[-1].id)
        if selection.search is not None and len(rows) < chunk:
            return


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
        for row in rows:
            attributes = row.attributes or {}
            other = ""
            if attributes.keys() - known:
                extra = {k: v for k, v in attributes.items() if k not in known}
                other = json.dumps(extra, ensure_ascii=False)
            writer.writerow(
                [
                    row.email,
                    row.first_name or "",
                    row.last_name or "",
                    row.name or "",
                    row.status,
                    lists.get(row.list_id, ""),
                    row.created_at.isoformat(sep=" ", timespec="seconds"),
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
                "created_at": row.created_at.isoformat(timespec="seconds"),
                "attributes": row.attributes or {},
            }
            parts.append(json.dumps(item, ensure_ascii=False, default=str))
        text = ",\n".join(parts)
        yield (("\n" if first else ",\n") + text).encode()
        first = False
    yield b"\n]\n"
