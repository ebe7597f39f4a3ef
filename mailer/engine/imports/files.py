"""Streaming reader for contact import files: JSON array, NDJSON and CSV.

Imports run to millions of rows, so the reader streams: memory stays flat whatever the file
size (a 256 KiB head, 64 KiB reads, and at most one 1 MiB line or item being parsed), and it
keeps no per-row state (de-duplication is the DB writer's job). It validates and normalises
each address and yields either a ContactRow or a RejectedRow, so the caller can report every
rejected row with its position and reason.

Positions: ``"line N"`` for CSV and NDJSON (1-based physical line where the record starts, so it
matches a text editor) and ``"item N"`` for JSON (1-based index in the array: item 1 is the first
element). Fatal problems raise ImportFileError naming the position; rows yielded before it stay
valid, so the caller may commit them.

Fields (names matched case-insensitively, ignoring spaces, ``_`` and ``-``):

- email: ``email`` / ``e-mail`` / ``E Mail``, then ``email_address`` / ``Email Address``, then
  ``mail``; the first of these present wins, any other goes into attributes.
- first_name: ``first_name``, ``firstname``, ``First Name``, ``given_name``;
  last_name: ``last_name``, ``lastname``, ``surname``, ``family_name``;
  name: ``name``, ``full_name``.
- everything else goes into ``attributes``: JSON values as parsed (floats, not Decimal; nested
  values kept), CSV values as strings with empty cells left out.

For CSV the header decides the columns. For JSON/NDJSON the first object decides the email field
(and the "no email field" error); later objects are matched key by key with the same rules.

JSON input is an array of objects, or an object wrapping one (``{"contacts": [...]}``: the first
top-level key whose value is an array of objects). Text must be UTF-8 (a UTF-8 BOM is fine);
anything else stops the import with the offending byte and its position.

Limits (each an ImportFileError naming the position): a CSV/NDJSON line, a CSV field and a
JSON item may each be at most MAX_LINE_BYTES (1 MiB), a CSV record (quoted fields may span
lines) MAX_RECORD_CHARS, and a JSON item MAX_ITEM_BRACKETS "[" and "{" (see there for why).
ContactReader sets ``csv.field_size_limit`` (a process-wide setting) to MAX_LINE_BYTES.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any, BinaryIO

import ijson

from mailer.lib.emails import InvalidEmail, normalize_email

__all__ = [
    "FORMATS",
    "MAX_LINE_BYTES",
    "ContactReader",
    "ContactRow",
    "ImportFileError",
    "RejectedRow",
    "detect_format",
]

FORMATS = ("json", "ndjson", "csv")
#: Longest CSV/NDJSON line, CSV field or JSON item accepted.
MAX_LINE_BYTES = 1 << 20
#: Read size for CSV/NDJSON (1 MiB was no faster and peaked higher). Must not exceed
#: MAX_LINE_BYTES: the line-length check relies on it.
CHUNK_BYTES = 64 * 1024
#: Read up front to detect the format and find the array in a JSON wrapper object.
HEAD_BYTES = 256 * 1024
#: Longest CSV record (a quoted field may span lines), in characters.
MAX_RECORD_CHARS = 4 * MAX_LINE_BYTES
#: ijson read size: 16 KiB parsed ~10% faster than 64 KiB and ~75% faster than 256 KiB here.
JSON_BUF_BYTES = 16 * 1024
#: How much of the file detect_format looks at.
DETECT_BYTES = 64 * 1024
#: Most "[" and "{" in one JSON item (its bytes, strings included; an item's count may spill
#: into the next read's budget, so the depth that can get through is at most twice this).
#: ijson keeps a prefix string per open level, so memory grows with depth squared: 10,000
#: levels took 250 MB, 200,000 got the worker OOM-killed (a 400 KB file). 800 levels also stay
#: within json.dumps' recursion limit, so attributes remain serialisable. Contacts use a few.
MAX_ITEM_BRACKETS = 400
#: Longest ``RejectedRow.raw`` (characters).
RAW_LIMIT = 200
#: JSON/NDJSON values skipped while looking for the first object before giving up.
MAX_LEADING_NON_OBJECTS = 100
#: Distinct JSON keys whose role is cached; beyond this keys are classified each time.
MAX_CACHED_KEYS = 10_000

_BOM = b"\xef\xbb\xbf"
_DELIMITERS = (",", ";", "\t", "|")
_CSV_DIALECT_ERRORS = (
    ("unexpected end of data", "unterminated quoted field"),
    ("field larger than field limit", "field over the size limit (or an unterminated quote)"),
    ("expected after", "text after a closing quote"),
)
_NOT_TEXT = (
    (b"PK\x03\x04", "this is a ZIP or Excel (.xlsx) file; export the sheet as CSV (UTF-8)"),
    (b"\x1f\x8b", "this is a gzip file; decompress it first"),
    (b"\xd0\xcf\x11\xe0", "this is an old Excel (.xls) file; export the sheet as CSV (UTF-8)"),
    (b"\xff\xfe", "the file is UTF-16; save it as UTF-8"),
    (b"\xfe\xff", "the file is UTF-16; save it as UTF-8"),
)

# Roles of a field; slots 0-3 index the per-row value list.
_EMAIL, _FIRST, _LAST, _NAME, _ATTR = 0, 1, 2, 3, 4
# Canonical field name (lowercased, without spaces/_/-) -> (role, priority; lower wins).
_ALIASES: dict[str, tuple[int, int]] = {
    "email": (_EMAIL, 0),
    "emailaddress": (_EMAIL, 1),
    "mail": (_EMAIL, 2),
    "firstname": (_FIRST, 0),
    "givenname": (_FIRST, 1),
    "lastname": (_LAST, 0),
    "surname": (_LAST, 1),
    "familyname": (_LAST, 2),
    "name": (_NAME, 0),
    "fullname": (_NAME, 1),
}
_CANON_STRIP = re.compile(r"[\s_\-]+")
_OPENING = re.compile(rb"[\[{]")


class ImportFileError(Exception):
    """The file cannot be imported further; the message says why and where."""

    def __init__(self, message: str, position: str | None = None) -> None:
        super().__init__(message)
        self.position = position


@dataclass(slots=True)
class ContactRow:
    """A valid contact. ``position`` is "line N" (CSV/NDJSON) or "item N" (JSON), 1-based."""

    position: str
    email: str
    first_name: str | None
    last_name: str | None
    name: str | None
    attributes: dict[str, Any]


@dataclass(slots=True)
class RejectedRow:
    """A row that was skipped, kept so the user can be shown what and why."""

    position: str
    reason: str
    raw: str


Row = ContactRow | RejectedRow


def detect_format(head: bytes, filename: str | None = None) -> str:
    """Guess "json", "ndjson" or "csv" from the first bytes; the name only breaks ties.

    ``[`` means a JSON array. ``{`` is NDJSON when the first line is a complete object, unless
    that object merely wraps an array of objects; otherwise (a pretty-printed or minified
    wrapper) it is JSON. Anything else is CSV.
    """
    text = head.removeprefix(_BOM).lstrip()
    if not text:
        raise ImportFileError("the file is empty")
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
    if any(_role(k)[0] == _EMAIL for k in obj):
        return False
    return any(isinstance(v, list) and (not v or isinstance(v[0], dict)) for v in obj.values())


def _role(key: str) -> tuple[int, int]:
    return _ALIASES.get(_CANON_STRIP.sub("", key.lower()), (_ATTR, 0))


def _pick_fields(keys: Iterable[str]) -> dict[int, str]:
    """Choose, per role, the best-matching field name (by alias priority, then position)."""
    best: dict[int, tuple[int, str]] = {}
    for key in keys:
        role, prio = _role(key)
        if role != _ATTR and (role not in best or prio < best[role][0]):
            best[role] = (prio, key)
    return {role: key for role, (_, key) in best.items()}


def _match_other_keys(obj: dict[str, Any], found: list[Any], plain: set[str]) -> None:
    """Slow path: give keys the first object did not have (or spare aliases) their role.

    A role still empty takes the first alias key in key order (``found`` is updated and the
    key removed from ``obj``); other keys stay attributes, and plain ones are remembered.
    """
    for key in [k for k in obj if k not in plain]:
        role = _role(key)[0]
        if role == _ATTR:
            if len(plain) < MAX_CACHED_KEYS:
                plain.add(key)
        elif found[role] is None and (role == _EMAIL or type(obj[key]) is str):
            found[role] = obj.pop(key)
    if found[0] is None:  # the email may hide under an alias that the first object also had
        for key in list(obj):
            if _role(key)[0] == _EMAIL and obj[key] is not None:
                found[0] = obj.pop(key)
                break


def _name_value(obj: dict[str, Any], key: str | None, value: Any) -> str | None:
    """A name must be text; anything else is kept as an attribute under its own key."""
    if type(value) is str:
        return value.strip() or None
    if key is not None:
        obj[key] = value
    return None


def _decode_line(line: str, number: int) -> Any:
    """json.loads semantics for one NDJSON line, errors turned into ImportFileError."""
    try:
        return _JSON_DECODER.decode(line)
    except json.JSONDecodeError as exc:
        message = f"{exc.msg} at column {exc.colno}"
    except (ValueError, RecursionError) as exc:
        message = str(exc) or exc.__class__.__name__
    raise ImportFileError(f"line {number}: invalid JSON ({message})", position=f"line {number}")


def _list_fields(keys: list[str]) -> str:
    if not keys:
        return "(none)"
    shown = ", ".join(repr(k) if not k.strip() else k for k in keys[:30])
    return shown + (f", … ({len(keys)} in all)" if len(keys) > 30 else "")


def _clip(text: str) -> str:
    return text if len(text) <= RAW_LIMIT else text[: RAW_LIMIT - 1] + "…"


def _raw_json(value: object) -> str:
    try:
        return _clip(json.dumps(value, ensure_ascii=False, default=str))
    except (RecursionError, ValueError):
        return "(too deeply nested to show)"


class _NonFiniteNumber(ValueError):
    pass


def _reject_constant(name: str) -> float:
    raise _NonFiniteNumber(f"{name} is not valid JSON")


# json.loads(s) with kwargs builds a decoder per call; one shared decoder keeps the C fast path.
_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


class _Source:
    """The upload, read in chunks, with the byte and line counters error messages need."""

    def __init__(self, fileobj: BinaryIO) -> None:
        self._f = fileobj
        head = self._read_full(HEAD_BYTES)
        self.bom = len(_BOM) if head.startswith(_BOM) else 0
        self.head = head[self.bom :]
        self._head_pos = 0
        self.offset = self.bom  # file offset of the next byte handed out

    def _read_full(self, n: int) -> bytes:
        parts, got = [], 0
        while got < n:
            part = self._f.read(n - got)
            if not part:
                break
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    def read(self, n: int) -> bytes:
        if self._head_pos < len(self.head):
            data = self.head[self._head_pos : self._head_pos + n]
            self._head_pos += len(data)
            if self._head_pos >= len(self.head):
                self.head = b""  # free the head once it has been handed out
                self._head_pos = 0
        else:
            data = self._f.read(n)
        self.offset += len(data)
        return data

    @staticmethod
    def utf8_error(
        data: bytes, exc: UnicodeDecodeError, line: int, offset: int, item: int | None = None
    ) -> ImportFileError:
        """``line``/``offset`` are those of ``data[0]`` in the file; ``item`` is for JSON."""
        line += data.count(b"\n", 0, exc.start)
        where = f"line {line} (byte offset {offset + exc.start}"
        where += f", item {item})" if item is not None else ")"
        return ImportFileError(
            f"not UTF-8: byte 0x{data[exc.start]:02x} at {where}; save the file as UTF-8",
            position=f"item {item}" if item is not None else f"line {line}",
        )

    def text_blocks(self) -> Iterator[str]:
        """Yield decoded text cut at line ends, checking UTF-8 and line length on the way.

        A bad byte raises only after the complete lines before it have been yielded, so rows
        before it are still imported. Lines inside a chunk are at most CHUNK_BYTES long; only
        a line carried over a chunk boundary needs its length checked.
        """
        carry = b""
        line = 1  # line number of the first line of the next block
        offset = self.offset
        while True:
            chunk = self.read(CHUNK_BYTES)
            if not chunk:
                break
            newline = chunk.find(b"\n")
            if carry:
                if len(carry) + (newline + 1 if newline >= 0 else len(chunk)) > MAX_LINE_BYTES:
                    raise ImportFileError(
                        f"line {line} is longer than {MAX_LINE_BYTES} bytes",
                        position=f"line {line}",
                    )
                if newline < 0:
                    carry += chunk
                    continue
                data = carry + chunk
            else:
                data = chunk
                if newline < 0:
                    carry = data
                    continue
            cut = data.rfind(b"\n") + 1
            block, carry = data[:cut], data[cut:]
            try:
                text = block.decode("utf-8")
            except UnicodeDecodeError as exc:
                good = block[: block.rfind(b"\n", 0, exc.start) + 1]
                if good:
                    yield good.decode("utf-8")
                raise self.utf8_error(block, exc, line, offset) from None
            yield text
            line += block.count(b"\n")
            offset += cut
        if carry:
            try:
                text = carry.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise self.utf8_error(carry, exc, line, offset) from None
            yield text


class _JsonFeed:
    """File-like view of the source for ijson that bounds what one item may cost.

    It checks UTF-8, caps the bytes and the brackets read while one item is parsed, and holds
    back the bytes from a bad byte or the bracket over the cap, so that ijson first yields
    every item before it and the error names the right item. ijson parses a whole read before
    it reads again; the caller sets ``item`` and ``mark`` each time an item comes out.
    """

    def __init__(self, source: _Source) -> None:
        self._source = source
        self._carry = b""  # an incomplete UTF-8 sequence at the end of the last read
        self._held = b""  # checked bytes held back by the bracket cap
        self._line = 1
        self._bad: tuple[bytes, UnicodeDecodeError, int, int] | None = None
        self.mark = source.offset
        self.item = 1  # 1-based index of the item being parsed
        self._brackets = 0  # "[" and "{" handed out since an item last came out
        self._item_seen = self.item

    def read(self, n: int) -> bytes:
        if n == 0:  # ijson probes read(0) to tell bytes from str
            return b""
        if self._held:
            data, self._held = self._held, b""
        else:
            data = self._read_utf8(n)
        if self.item != self._item_seen:
            self._brackets, self._item_seen = 0, self.item
        brackets = data.count(b"[") + data.count(b"{")
        if self._brackets + brackets > MAX_ITEM_BRACKETS:
            cut = _nth_bracket(data, MAX_ITEM_BRACKETS - self._brackets + 1)
            if cut == 0:
                raise ImportFileError(
                    f"item {self.item} nests too deeply or holds too many objects and arrays "
                    f"(over {MAX_ITEM_BRACKETS})",
                    position=f"item {self.item}",
                )
            data, self._held = data[:cut], data[cut:]
            brackets = MAX_ITEM_BRACKETS - self._brackets
        self._brackets += brackets
        self._line += data.count(b"\n")
        return data

    def _read_utf8(self, n: int) -> bytes:
        """Up to ``n`` new bytes of valid UTF-8; b"" only at the end of the file."""
        source = self._source
        if self._bad is not None:
            # Raised only now, once ijson has parsed everything before the bad byte, so the
            # item being parsed is the one that holds it.
            raise source.utf8_error(*self._bad, item=self.item)
        if source.offset - self.mark > MAX_LINE_BYTES:
            raise ImportFileError(
                f"item {self.item} is larger than {MAX_LINE_BYTES} bytes",
                position=f"item {self.item}",
            )
        start = source.offset - len(self._carry)  # file offset of data[0]
        chunk = source.read(n)
        data = self._carry + chunk
        self._carry = b""
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if chunk and exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
                data, self._carry = data[: exc.start], data[exc.start :]  # completed next read
            else:
                self._bad = (data, exc, self._line, start)
                data = data[: exc.start]  # let ijson yield the items before the bad byte
            if not data:
                if self._bad is not None:
                    raise source.utf8_error(*self._bad, item=self.item) from None
                return self._read_utf8(n)  # only a partial character so far
        return data


def _nth_bracket(data: bytes, n: int) -> int:
    """Index of the n-th "[" or "{" in data (n >= 1); only called on the rare capped path."""
    for count, match in enumerate(_OPENING.finditer(data), 1):
        if count == n:
            return match.start()
    raise AssertionError("fewer brackets than counted")


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
    ) -> None:
        if fmt == "jsonl":
            fmt = "ndjson"
        if fmt is not None and fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        self.size = size
        self._source = _Source(fileobj)
        head = self._source.head
        for magic, message in _NOT_TEXT:
            if head.startswith(magic):
                raise ImportFileError(message)
        if b"\x00" in head[:DETECT_BYTES]:
            raise ImportFileError(
                "the file contains NUL bytes: it is binary or UTF-16; save it as UTF-8 text"
            )
        start = head.lstrip()
        if not start:
            if len(head) + self._source.bom < HEAD_BYTES:
                raise ImportFileError("the file is empty")
            raise ImportFileError(f"the file starts with over {HEAD_BYTES} bytes of blank space")
        self.fmt: str = fmt or detect_format(start[:DETECT_BYTES], filename)
        self.fields: list[str] = []
        self.email_field: str = ""
        self._rows: Iterator[Row]
        if self.fmt == "csv":
            self._rows = self._start_csv()
        else:
            self._rows = self._start_objects()

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

    # --- JSON and NDJSON ---------------------------------------------------------------------

    def _start_objects(self) -> Iterator[Row]:
        label = "item" if self.fmt == "json" else "line"
        values = self._json_values() if self.fmt == "json" else self._ndjson_values()
        leading: list[tuple[int, Any]] = []
        for number, value in values:
            leading.append((number, value))
            if isinstance(value, dict):
                break
            if len(leading) >= MAX_LEADING_NON_OBJECTS:
                raise ImportFileError(
                    f"the first {MAX_LEADING_NON_OBJECTS} {label}s hold no JSON object; "
                    "expected one object per contact"
                )
        if not leading:
            raise ImportFileError("no contacts in file")
        first = leading[-1][1]
        if not isinstance(first, dict):
            raise ImportFileError("no contacts in file: no JSON object found")
        self.fields = list(first)
        picked = _pick_fields(self.fields)
        if _EMAIL not in picked:
            raise ImportFileError(f"no email field; fields found: {_list_fields(self.fields)}")
        self.email_field = picked[_EMAIL]
        return self._object_rows(chain(leading, values), label, picked)

    def _ndjson_values(self) -> Iterator[tuple[int, Any]]:
        # The decoder's C scanner directly: ~1 us a line less than json.loads. Anything it
        # does not take cleanly (blank line, leading space, trailing data, an error) goes to
        # _decode_line, which accepts or explains exactly as json.loads would.
        scan = _JSON_DECODER.scan_once
        number = 0
        for block in self._source.text_blocks():
            lines = block.split("\n")
            if not lines[-1]:
                lines.pop()
            for line in lines:
                number += 1
                try:
                    value, end = scan(line, 0)
                    if end != len(line) and not line[end:].isspace():
                        raise ValueError("extra data")
                except (StopIteration, ValueError, RecursionError):
                    if not line or line.isspace():
                        continue
                    value = _decode_line(line, number)
                yield number, value

    def _json_values(self) -> Iterator[tuple[int, Any]]:
        prefix = self._json_prefix()
        feed = _JsonFeed(self._source)
        source = self._source
        number = 0
        try:
            for value in ijson.items(feed, prefix, use_float=True, buf_size=JSON_BUF_BYTES):
                number += 1
                feed.item = number + 1
                feed.mark = source.offset
                yield number, value
        except ijson.JSONError as exc:
            raise ImportFileError(
                f"item {number + 1}: malformed JSON ({_yajl_message(exc)})",
                position=f"item {number + 1}",
            ) from None
        except UnicodeDecodeError:
            # The bytes are valid UTF-8 (checked as read): the parser turned a \u escape of a
            # lone UTF-16 surrogate into text that is no character, and cannot go on.
            raise ImportFileError(
                f"item {number + 1}: a \\u escape is a lone UTF-16 surrogate (such as "
                "\\ud800 without its pair), which is not a character; fix or remove it",
                position=f"item {number + 1}",
            ) from None

    def _json_prefix(self) -> str:
        """ijson prefix of the contact array: "item", or "<key>.item" inside a wrapper object."""
        head = self._source.head
        if head.lstrip()[:1] != b"{":
            return "item"
        pending: str | None = None
        empty: str | None = None
        key = ""
        depth = 0
        try:
            for _prefix, event, value in ijson.parse(io.BytesIO(head), use_float=True):
                if pending is not None:
                    if event == "start_map":
                        return f"{pending}.item"
                    if event == "end_array" and empty is None:
                        empty = pending
                    pending = None
                if depth == 1:
                    if event == "map_key":
                        key = value
                    elif event == "start_array":
                        pending = key
                if event in ("start_map", "start_array"):
                    depth += 1
                elif event in ("end_map", "end_array"):
                    depth -= 1
                    if depth == 0:
                        break
        except ijson.JSONError:
            pass  # the head ends mid-document, or the JSON is broken (reported when parsed)
        if empty is not None:
            return f"{empty}.item"
        raise ImportFileError(
            "the JSON file is an object without an array of contacts; expected "
            '[{"email": …}, …] or {"contacts": [{"email": …}, …]}'
        )

    def _object_rows(
        self, values: Iterator[tuple[int, Any]], label: str, picked: dict[int, str]
    ) -> Iterator[Row]:
        """Turn parsed JSON values into rows; the hot loop of JSON and NDJSON imports.

        Fast path: pop the fields chosen from the first object and keep the rest of the dict as
        the attributes, once a subset test shows every other key is a known attribute.
        """
        normalize = normalize_email
        email_key = picked[_EMAIL]
        first_key, last_key, name_key = picked.get(_FIRST), picked.get(_LAST), picked.get(_NAME)
        # Other keys of the first object; later objects may add keys, cached here if plain.
        plain = set(self.fields) - set(picked.values())
        for number, obj in values:
            position = f"{label} {number}"
            if type(obj) is not dict:
                yield RejectedRow(position, "not an object", _raw_json(obj))
                continue
            found: list[Any] = [
                obj.pop(email_key, None),
                obj.pop(first_key, None),  # type: ignore[arg-type]  # None is never a key
                obj.pop(last_key, None),  # type: ignore[arg-type]
                obj.pop(name_key, None),  # type: ignore[arg-type]
            ]
            if found[0] is None or not obj.keys() <= plain:
                _match_other_keys(obj, found, plain)
            email, first, last, name = found
            if first is not None:
                first = _name_value(obj, first_key, first)
            if last is not None:
                last = _name_value(obj, last_key, last)
            if name is not None:
                name = _name_value(obj, name_key, name)
            if email is None or email == "":
                yield RejectedRow(position, "missing email", _raw_json(obj))
                continue
            if type(email) is not str:
                yield RejectedRow(position, "invalid email: not text", _raw_json(email))
                continue
            try:
                address = normalize(email)
            except InvalidEmail as exc:
                yield RejectedRow(position, f"invalid email: {exc.reason}", _clip(email))
                continue
            yield ContactRow(position, address, first, last, name, obj)

    # --- CSV ---------------------------------------------------------------------------------

    def _start_csv(self) -> Iterator[Row]:
        csv.field_size_limit(MAX_LINE_BYTES)
        blocks = self._source.text_blocks()
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
            raise ImportFileError("the file is empty")
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
        self.fields = _clean_header(header)
        picked = _pick_fields(self.fields)
        if _EMAIL not in picked:
            raise ImportFileError(f"no email field; fields found: {_list_fields(self.fields)}")
        self.email_field = picked[_EMAIL]
        rows = self._csv_rows(reader, picked, delimiter, skipped, marks)
        try:
            first_row = next(rows)
        except StopIteration:
            raise ImportFileError("no contacts in file: only a header row") from None
        return chain((first_row,), rows)

    def _csv_rows(
        self, reader: Any, picked: dict[int, str], delimiter: str, base: int, marks: list[int]
    ) -> Iterator[Row]:
        """The hot loop of CSV imports; ``base`` counts blank lines skipped before the header."""
        fields = self.fields
        width = len(fields)
        index = {name: i for i, name in enumerate(fields)}
        email_i = index[picked[_EMAIL]]
        first_i = index[picked[_FIRST]] if _FIRST in picked else width
        last_i = index[picked[_LAST]] if _LAST in picked else width
        name_i = index[picked[_NAME]] if _NAME in picked else width
        mapped = {email_i, first_i, last_i, name_i}
        attr_cols = [(i, name) for i, name in enumerate(fields) if i not in mapped]
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
                    f"line {start}: CSV record longer than {MAX_RECORD_CHARS} characters "
                    "(an unterminated quote?)",
                    position=f"line {start}",
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
                        f"line {start}: {n} cells but the header has {width}; "
                        f"a value probably contains an unquoted {_delimiter_name(delimiter)}",
                        position=f"line {start}",
                    )
                row.append("")
            else:
                row.append("")  # index `width` reads as an empty cell for unmapped roles
            position = f"line {start}"
            raw_email = row[email_i]
            if not raw_email or raw_email.isspace():
                if not "".join(row).strip():
                    continue  # blank line, or only empty cells
                yield RejectedRow(position, "missing email", _clip(delimiter.join(row[:n])))
                continue
            try:
                address = normalize(raw_email)
            except InvalidEmail as exc:
                yield RejectedRow(position, f"invalid email: {exc.reason}", _clip(raw_email))
                continue
            yield ContactRow(
                position,
                address,
                row[first_i].strip() or None,
                row[last_i].strip() or None,
                row[name_i].strip() or None,
                {name: row[i] for i, name in attr_cols if row[i]},
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
    return ImportFileError(f"line {line}: broken CSV row: {message}", position=f"line {line}")


def _yajl_message(exc: Exception) -> str:
    """First line of yajl's message plus the text it points at, on one line."""
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "parse error"
    message = lines[0].rstrip(".")
    if len(lines) > 2 and "right here" in lines[2]:
        return f"{message} near {_clip(lines[1])!r}"
    return message
