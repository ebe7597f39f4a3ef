"""Reading a contact import file (JSON array, NDJSON or CSV) as a stream of ContactRow and
RejectedRow, in file order, with the format detected from the first bytes.

Positions are "line N" (CSV, NDJSON: the physical line where the record starts) or "item N"
(JSON: the index in the array), both 1-based. Fatal problems raise ImportFileError naming the
position; rows yielded before it stay valid. The limits are in ``source``, ``json_files`` and
``csv_files``; field names are matched as ``fields`` says.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from mailer.engine.imports import messages
from mailer.engine.imports.csv_files import preview_csv, read_csv
from mailer.engine.imports.fields import (
    EMAIL,
    ContactRow,
    ImportFileError,
    Plan,
    RejectedRow,
    Row,
    field_role,
)
from mailer.engine.imports.json_files import preview_objects, read_objects
from mailer.engine.imports.source import BOM, HEAD_BYTES, MAX_LINE_BYTES, ChunkedSource

__all__ = [
    "FORMATS",
    "MAX_LINE_BYTES",
    "ContactReader",
    "ContactRow",
    "ImportFileError",
    "Plan",
    "Preview",
    "RejectedRow",
    "detect_format",
    "preview",
]

FORMATS = ("json", "ndjson", "csv")
#: How much of the file detect_format looks at.
DETECT_BYTES = 64 * 1024

_NOT_TEXT = (
    (b"PK\x03\x04", messages.ZIP),
    (b"\x1f\x8b", messages.GZIP),
    (b"\xd0\xcf\x11\xe0", messages.XLS),
    (b"\xff\xfe", messages.UTF16),
    (b"\xfe\xff", messages.UTF16),
)


def detect_format(head: bytes, filename: str | None = None) -> str:
    """Guess "json", "ndjson" or "csv" from the first bytes; the name only breaks ties.

    ``[`` means a JSON array. ``{`` is NDJSON when the first line is a complete object, unless
    that object merely wraps an array of objects; otherwise (a pretty-printed or minified
    wrapper) it is JSON. Anything else is CSV.
    """
    text = head.removeprefix(BOM).lstrip()
    if not text:
        raise ImportFileError(messages.EMPTY)
    if text.startswith(b"["):
        return "json"
    if not text.startswith(b"{"):
        return "csv"
    newline = text.find(b"\n")
    try:
        first = json.loads(text if newline < 0 else text[:newline])
    except (ValueError, RecursionError):  # incomplete first line: multi-line JSON, a line
        # longer than head, or broken (reported with its position when read)
        if newline < 0 and (filename or "").lower().endswith((".ndjson", ".jsonl")):
            return "ndjson"
        return "json"
    if isinstance(first, dict) and _wraps_objects(first):
        return "json"
    return "ndjson"


def _wraps_objects(obj: dict[str, Any]) -> bool:
    """True for {"contacts": [{...}, ...]}-style objects that are not contacts themselves."""
    if any(field_role(k)[0] == EMAIL for k in obj):
        return False
    return any(isinstance(v, list) and (not v or isinstance(v[0], dict)) for v in obj.values())


def _open_source(
    fileobj: BinaryIO, fmt: str | None, filename: str | None
) -> tuple[ChunkedSource, str]:
    """The file's source and format, after refusing files that are no text at their head."""
    if fmt == "jsonl":
        fmt = "ndjson"
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    source = ChunkedSource(fileobj)
    head = source.head
    for magic, message in _NOT_TEXT:
        if head.startswith(magic):
            raise ImportFileError(message)
    if b"\x00" in head[:DETECT_BYTES]:
        raise ImportFileError(messages.NOT_TEXT)  # NUL bytes: binary, or UTF-16 without BOM
    start = head.lstrip()
    if not start:
        if len(head) + source.bom < HEAD_BYTES:
            raise ImportFileError(messages.EMPTY)
        raise ImportFileError(messages.BLANK_START, limit=HEAD_BYTES)
    return source, fmt or detect_format(start[:DETECT_BYTES], filename)


@dataclass
class Preview:
    """The first records of a file as they are: its fields, and one value per field a row
    (None where a JSON object lacks the field)."""

    fmt: str
    fields: list[str]
    rows: list[list[Any]]


def preview(
    fileobj: BinaryIO, fmt: str | None = None, *, filename: str | None = None, limit: int = 8
) -> Preview:
    """Read only the first ``limit`` records (the mapping step shows them)."""
    source, fmt = _open_source(fileobj, fmt, filename)
    if fmt == "csv":
        fields, rows = preview_csv(source, limit)
        return Preview(fmt, fields, rows)
    objects = preview_objects(source, fmt, limit)
    fields = list(dict.fromkeys(key for obj in objects for key in obj))
    if not fields:
        raise ImportFileError(messages.NO_CONTACTS)
    return Preview(fmt, fields, [[obj.get(key) for key in fields] for obj in objects])


class ContactReader:
    """Iterate over a contact file as ContactRow / RejectedRow, in file order, in one pass.

    The constructor reads the head of the file, detects the format and the fields, and raises
    ImportFileError right away for an empty file, a file without an email field or one that is
    not UTF-8 text there, so an upload can be refused before any import job is queued.
    """

    def __init__(
        self,
        fileobj: BinaryIO,
        fmt: str | None = None,
        size: int | None = None,
        *,
        filename: str | None = None,
        plan: Plan | None = None,
    ) -> None:
        self.size = size
        self._source, self.fmt = _open_source(fileobj, fmt, filename)
        self.fields: list[str]
        self.email_field: str
        self._rows: Iterator[Row]
        if self.fmt == "csv":
            self.fields, self.email_field, self._rows = read_csv(self._source, plan)
        else:
            self.fields, self.email_field, self._rows = read_objects(self._source, self.fmt, plan)

    @property
    def bytes_read(self) -> int:
        """Bytes consumed so far (advances per read chunk), for a progress bar."""
        return self._source.offset

    @property
    def percent(self) -> float | None:
        """Progress in percent of ``size``, or None when the size is unknown."""
        if not self.size:
            return None
        return min(100.0, 100.0 * self._source.offset / self.size)

    def __iter__(self) -> Iterator[Row]:
        return self._rows
