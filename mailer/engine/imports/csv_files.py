"""CSV files (delimiter sniffed from the header) turned into contact rows."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from itertools import chain
from typing import Any

from mailer.engine.imports import messages
from mailer.engine.imports.fields import (
    EMAIL,
    FIRST,
    LAST,
    MERGED_BY_DEFAULT,
    NAME,
    ContactRow,
    ImportFileError,
    Plan,
    RejectedRow,
    Row,
    clip,
    list_fields,
    pick_fields,
)
from mailer.engine.imports.source import MAX_LINE_BYTES, ChunkedSource
from mailer.engine.imports.values import BadValue
from mailer.lib.emails import InvalidEmail, normalize_email

#: Longest CSV record (a quoted field may span lines), in characters.
MAX_RECORD_CHARS = 4 * MAX_LINE_BYTES

_DELIMITERS = (",", ";", "\t", "|")
_CSV_DIALECT_ERRORS = (
    ("unexpected end of data", "unterminated quoted field"),
    ("field larger than field limit", "field over the size limit (or an unterminated quote)"),
    ("expected after", "text after a closing quote"),
)


def read_csv(
    source: ChunkedSource, plan: Plan | None = None
) -> tuple[list[str], str, Iterator[Row]]:
    """Read a CSV file: its header's fields, the email field chosen among them, and the rows.
    The header and the first row are read here, so a file without either fails at once."""
    reader, fields, delimiter, skipped, marks = _open_csv(source)
    if plan is None or plan.roles is None:
        picked = pick_fields(fields)
        merge = frozenset(f for f in fields if f.lower() in MERGED_BY_DEFAULT)
        plan = Plan(merge=merge) if plan is None else replace(plan, merge=plan.merge | merge)
    else:
        picked = {role: name for role, name in plan.roles.items() if name in fields}
    if EMAIL not in picked:
        raise ImportFileError(messages.NO_EMAIL, fields=list_fields(fields))
    rows = _csv_rows(reader, fields, picked, delimiter, skipped, marks, plan)
    try:
        first_row = next(rows)
    except StopIteration:
        raise ImportFileError(messages.HEADER_ONLY) from None
    return fields, picked[EMAIL], chain((first_row,), rows)


def preview_csv(source: ChunkedSource, limit: int) -> tuple[list[str], list[list[str]]]:
    """The header's fields and the first ``limit`` records as they are (for the mapping
    step): nothing is matched or validated, and only the first records are read."""
    reader, fields, _delimiter, _skipped, _marks = _open_csv(source)
    rows: list[list[str]] = []
    width = len(fields)
    while len(rows) < limit:
        try:
            row = next(reader)
        except StopIteration:
            break
        except (csv.Error, _RecordTooLong):
            break  # reported with its position when the file is imported
        if not "".join(row).strip():
            continue
        rows.append((row + [""] * width)[:width])
    if not rows:
        raise ImportFileError(messages.HEADER_ONLY)
    return fields, rows


def _open_csv(source: ChunkedSource):
    """A csv reader past the header: (reader, fields, delimiter, blank lines, marks)."""
    csv.field_size_limit(MAX_LINE_BYTES)
    blocks = source.text_blocks()
    skipped = 0  # blank lines dropped before the header
    for block in blocks:
        text = block.lstrip()
        if text:
            # Keep the header line whole: drop only the blank lines before it.
            cut = block.rfind("\n", 0, len(block) - len(text)) + 1
            skipped += block.count("\n", 0, cut)
            first = block[cut:]
            break
        skipped += block.count("\n")
    else:
        raise ImportFileError(messages.EMPTY)
    delimiter = _sniff_delimiter(first.partition("\n")[0])
    # marks[0]: characters before the block csv is reading; marks[1]: the same when the
    # current record started (set per row). See _bounded_blocks.
    marks = [0, 0]
    lines = chain.from_iterable(_bounded_blocks(chain((first,), blocks), marks))
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise _csv_error(exc, skipped + 1) from None
    return reader, _clean_header(header), delimiter, skipped, marks


def _csv_rows(
    reader: Any,
    fields: list[str],
    picked: dict[int, str],
    delimiter: str,
    base: int,
    marks: list[int],
    plan: Plan,
) -> Iterator[Row]:
    """The hot loop of CSV imports; ``base`` counts blank lines skipped before the header."""
    width = len(fields)
    index = {name: i for i, name in enumerate(fields)}
    email_i = index[picked[EMAIL]]
    first_i = index[picked[FIRST]] if FIRST in picked else width
    last_i = index[picked[LAST]] if LAST in picked else width
    name_i = index[picked[NAME]] if NAME in picked else width
    mapped = {email_i, first_i, last_i, name_i}
    rename = plan.rename
    attr_cols = [
        (i, rename.get(name, name))
        for i, name in enumerate(fields)
        if i not in mapped and name not in plan.skip
    ]
    # Skipped and renamed columns are settled above; merges and types need shape().
    shape = Plan(merge=plan.merge, types=plan.types).shape if plan.merge or plan.types else None
    normalize = normalize_email
    end = reader.line_num
    while True:
        start = base + end + 1
        marks[1] = marks[0]
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_error(exc, start) from None
        except _RecordTooLong:
            raise ImportFileError(
                messages.CSV_RECORD_TOO_LONG,
                position=f"line {start}",
                line=start,
                limit=MAX_RECORD_CHARS,
            ) from None
        end = reader.line_num
        n = len(row)
        if n < width:
            if n == 0:
                continue
            row += [""] * (width - n + 1)
        elif n > width:
            if any(row[width:]):
                raise ImportFileError(
                    messages.CSV_CELLS,
                    position=f"line {start}",
                    line=start,
                    cells=n,
                    width=width,
                    delimiter=_delimiter_name(delimiter),
                )
            row.append("")
        else:
            row.append("")  # index `width` reads as an empty cell for unmapped roles
        position = f"line {start}"
        raw_email = row[email_i]
        if not raw_email or raw_email.isspace():
            if not "".join(row).strip():
                continue  # blank line, or only empty cells
            yield RejectedRow(position, "missing email", clip(delimiter.join(row[:n])))
            continue
        try:
            address = normalize(raw_email)
        except InvalidEmail as exc:
            yield RejectedRow(position, f"invalid email: {exc.reason}", clip(raw_email))
            continue
        attributes = {name: row[i] for i, name in attr_cols if row[i]}
        if shape is not None:
            try:
                attributes = shape(attributes)
            except BadValue as exc:
                yield RejectedRow(position, str(exc), clip(delimiter.join(row[:n])))
                continue
        yield ContactRow(
            position,
            address,
            row[first_i].strip() or None,
            row[last_i].strip() or None,
            row[name_i].strip() or None,
            attributes,
        )


class _RecordTooLong(Exception):
    pass


def _bounded_blocks(blocks: Iterator[str], marks: list[int]) -> Iterator[io.StringIO]:
    """Feed csv block by block, refusing a record that runs on past MAX_RECORD_CHARS.

    Each field is capped by csv.field_size_limit, but not the number of quoted multi-line
    fields in one record; without this a crafted file could grow one record without limit.
    """
    total = 0
    for block in blocks:
        if total - marks[1] > MAX_RECORD_CHARS:
            raise _RecordTooLong
        marks[0] = total
        total += len(block)
        yield io.StringIO(block, newline="")


def _sniff_delimiter(line: str) -> str:
    """Most frequent of , ; tab | outside quotes; ties go to the earlier one, default ","."""
    bare = re.sub(r'"[^"]*"', "", line)
    counts = [bare.count(d) for d in _DELIMITERS]
    best = max(counts)
    return _DELIMITERS[counts.index(best)] if best else ","


def _delimiter_name(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[delimiter]


def _clean_header(header: list[str]) -> list[str]:
    """Strip names, name empty ones after their column and make duplicates unique."""
    fields: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(header, 1):
        name = raw.strip() or f"column {i}"
        unique, n = name, 1
        while unique in seen:
            n += 1
            unique = f"{name} ({n})"
        seen.add(unique)
        fields.append(unique)
    return fields


def _csv_error(exc: csv.Error, line: int) -> ImportFileError:
    message = str(exc)
    for fragment, nicer in _CSV_DIALECT_ERRORS:
        if fragment in message:
            message = nicer
            break
    return ImportFileError(messages.CSV_BROKEN, position=f"line {line}", line=line, reason=message)
