"""JSON arrays (streamed with ijson) and NDJSON lines turned into contact rows."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from itertools import chain
from typing import Any

import ijson

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
    match_other_keys,
    name_value,
    pick_fields,
    raw_json,
)
from mailer.engine.imports.source import MAX_LINE_BYTES, ChunkedSource
from mailer.engine.imports.values import BadValue
from mailer.lib.emails import InvalidEmail, normalize_email

#: ijson read size: 16 KiB parsed ~10% faster than 64 KiB and ~75% faster than 256 KiB here.
JSON_BUF_BYTES = 16 * 1024
#: Most "[" and "{" in one JSON item (its bytes, strings included; an item's count may spill
#: into the next read's budget, so the depth that can get through is at most twice this).
#: ijson keeps a prefix string per open level, so memory grows with depth squared: 10,000
#: levels took 250 MB, 200,000 got the worker OOM-killed (a 400 KB file). 800 levels also stay
#: within json.dumps' recursion limit, so attributes remain serialisable. Contacts use a few.
MAX_ITEM_BRACKETS = 400
#: JSON/NDJSON values skipped while looking for the first object before giving up.
MAX_LEADING_NON_OBJECTS = 100

_OPENING = re.compile(rb"[\[{]")


def _decode_line(line: str, number: int) -> Any:
    """json.loads semantics for one NDJSON line, errors turned into ImportFileError."""
    try:
        return _JSON_DECODER.decode(line)
    except json.JSONDecodeError as exc:
        message = f"{exc.msg} at column {exc.colno}"
    except (ValueError, RecursionError) as exc:
        message = str(exc) or exc.__class__.__name__
    raise ImportFileError(
        messages.JSON_INVALID, position=f"line {number}", line=number, reason=message
    )


class _NonFiniteNumber(ValueError):
    pass


def _reject_constant(name: str) -> float:
    raise _NonFiniteNumber(f"{name} is not valid JSON")


# json.loads(s) with kwargs builds a decoder per call; one shared decoder keeps the C fast path.
_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


class _JsonFeed:
    """File-like view of the source for ijson that bounds what one item may cost.

    It checks UTF-8, caps the bytes and the brackets read while one item is parsed, and holds
    back the bytes from a bad byte or the bracket over the cap, so that ijson first yields
    every item before it and the error names the right item. ijson parses a whole read before
    it reads again; the caller sets ``item`` and ``mark`` each time an item comes out.
    """

    def __init__(self, source: ChunkedSource) -> None:
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
                    messages.JSON_TOO_NESTED,
                    position=f"item {self.item}",
                    item=self.item,
                    limit=MAX_ITEM_BRACKETS,
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
                messages.JSON_ITEM_TOO_LARGE,
                position=f"item {self.item}",
                item=self.item,
                limit=MAX_LINE_BYTES,
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


def read_objects(
    source: ChunkedSource, fmt: str, plan: Plan | None = None
) -> tuple[list[str], str, Iterator[Row]]:
    """Read JSON or NDJSON ("json"/"ndjson"): the fields of the first object, the email field
    chosen among them, and the rows. Values before the first object are read here, so an
    error in them is raised at once. Without a plan (or roles in it) fields are matched by
    their names, and an "attributes" object (listmonk's) is merged into the attributes."""
    label = "item" if fmt == "json" else "line"
    values = _json_values(source) if fmt == "json" else _ndjson_values(source)
    leading = _leading_values(values, label)
    first = leading[-1][1]
    fields = list(first)
    if plan is None or plan.roles is None:
        picked = pick_fields(fields)
        nested = frozenset(
            k for k, v in first.items() if type(v) is dict and k.lower() in MERGED_BY_DEFAULT
        )
        plan = Plan(merge=nested) if plan is None else replace(plan, merge=plan.merge | nested)
    else:
        picked = dict(plan.roles)
    if EMAIL not in picked:
        raise ImportFileError(messages.NO_EMAIL, fields=list_fields(fields))
    rows = _object_rows(chain(leading, values), label, picked, fields, plan)
    return fields, picked[EMAIL], rows


def preview_objects(source: ChunkedSource, fmt: str, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` objects as parsed (for the mapping step); the rest is not read."""
    label = "item" if fmt == "json" else "line"
    values = _json_values(source) if fmt == "json" else _ndjson_values(source)
    objects = [value for _n, value in _leading_values(values, label) if isinstance(value, dict)]
    try:
        for _n, value in values:
            if len(objects) >= limit:
                break
            if isinstance(value, dict):
                objects.append(value)
    except ImportFileError:
        pass  # reported with its position when the file is imported
    return objects


def _leading_values(values: Iterator[tuple[int, Any]], label: str) -> list[tuple[int, Any]]:
    """The values up to and including the first object."""
    leading: list[tuple[int, Any]] = []
    for number, value in values:
        leading.append((number, value))
        if isinstance(value, dict):
            break
        if len(leading) >= MAX_LEADING_NON_OBJECTS:
            raise ImportFileError(
                messages.JSON_NO_OBJECT_ITEMS if label == "item" else messages.JSON_NO_OBJECT_LINES,
                count=MAX_LEADING_NON_OBJECTS,
            )
    if not leading:
        raise ImportFileError(messages.NO_CONTACTS)
    first = leading[-1][1]
    if not isinstance(first, dict):
        raise ImportFileError(messages.NO_JSON_OBJECT)
    return leading


def _ndjson_values(source: ChunkedSource) -> Iterator[tuple[int, Any]]:
    # The decoder's C scanner directly: ~1 us a line less than json.loads. Anything it
    # does not take cleanly (blank line, leading space, trailing data, an error) goes to
    # _decode_line, which accepts or explains exactly as json.loads would.
    scan = _JSON_DECODER.scan_once
    number = 0
    for block in source.text_blocks():
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


def _json_values(source: ChunkedSource) -> Iterator[tuple[int, Any]]:
    prefix = _json_prefix(source)
    feed = _JsonFeed(source)
    number = 0
    try:
        for value in ijson.items(feed, prefix, use_float=True, buf_size=JSON_BUF_BYTES):
            number += 1
            feed.item = number + 1
            feed.mark = source.offset
            yield number, value
    except ijson.JSONError as exc:
        raise ImportFileError(
            messages.JSON_MALFORMED,
            position=f"item {number + 1}",
            item=number + 1,
            reason=_yajl_message(exc),
        ) from None
    except UnicodeDecodeError:
        # The bytes are valid UTF-8 (checked as read): the parser turned a \u escape of a
        # lone UTF-16 surrogate into text that is no character, and cannot go on.
        raise ImportFileError(
            messages.JSON_SURROGATE, position=f"item {number + 1}", item=number + 1
        ) from None


def _json_prefix(source: ChunkedSource) -> str:
    """ijson prefix of the contact array: "item", or "<key>.item" inside a wrapper object."""
    head = source.head
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
    raise ImportFileError(messages.JSON_NOT_A_LIST)


def _object_rows(
    values: Iterator[tuple[int, Any]],
    label: str,
    picked: dict[int, str],
    fields: list[str],
    plan: Plan,
) -> Iterator[Row]:
    """Turn parsed JSON values into rows; the hot loop of JSON and NDJSON imports.

    Fast path: pop the fields chosen from the first object and keep the rest of the dict as
    the attributes, once a subset test shows every other key is a known attribute.
    """
    normalize = normalize_email
    email_key = picked[EMAIL]
    first_key, last_key, name_key = picked.get(FIRST), picked.get(LAST), picked.get(NAME)
    # Other keys of the first object; later objects may add keys, cached here if plain.
    plain = set(fields) - set(picked.values())
    shape = plan.shape if plan.shapes else None
    for number, obj in values:
        position = f"{label} {number}"
        if type(obj) is not dict:
            yield RejectedRow(position, "not an object", raw_json(obj))
            continue
        found: list[Any] = [
            obj.pop(email_key, None),
            obj.pop(first_key, None),  # type: ignore[arg-type]  # None is never a key
            obj.pop(last_key, None),  # type: ignore[arg-type]
            obj.pop(name_key, None),  # type: ignore[arg-type]
        ]
        if found[0] is None or not obj.keys() <= plain:
            match_other_keys(obj, found, plain)
        email, first, last, name = found
        if first is not None:
            first = name_value(obj, first_key, first)
        if last is not None:
            last = name_value(obj, last_key, last)
        if name is not None:
            name = name_value(obj, name_key, name)
        if email is None or email == "":
            yield RejectedRow(position, "missing email", raw_json(obj))
            continue
        if type(email) is not str:
            yield RejectedRow(position, "invalid email: not text", raw_json(email))
            continue
        try:
            address = normalize(email)
        except InvalidEmail as exc:
            yield RejectedRow(position, f"invalid email: {exc.reason}", clip(email))
            continue
        if shape is not None:
            try:
                obj = shape(obj)
            except BadValue as exc:
                yield RejectedRow(position, str(exc), raw_json(obj))
                continue
        yield ContactRow(position, address, first, last, name, obj)


def _yajl_message(exc: Exception) -> str:
    """First line of yajl's message plus the text it points at, on one line."""
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "parse error"
    message = lines[0].rstrip(".")
    if len(lines) > 2 and "right here" in lines[2]:
        return f"{message} near {clip(lines[1])!r}"
    return message
