"""ContactReader: formats, fields, positions, rejects and the errors that stop an import."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterator

import pytest

from mailer.engine.imports import csv_files, json_files, source
from mailer.engine.imports.fields import RAW_LIMIT
from mailer.engine.imports.files import (
    ContactReader,
    ContactRow,
    ImportFileError,
    RejectedRow,
    detect_format,
)
from mailer.engine.imports.json_files import MAX_ITEM_BRACKETS
from mailer.engine.imports.source import MAX_LINE_BYTES

Row = ContactRow | RejectedRow


@pytest.fixture(autouse=True)
def _restore_csv_field_limit() -> Iterator[None]:
    """The reader sets csv.field_size_limit process-wide; keep other tests unaffected."""
    saved = csv.field_size_limit()
    yield
    csv.field_size_limit(saved)


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> int:
    """Tiny reads and a 1,000-byte line/item limit, to hit every chunk boundary cheaply."""
    for module in (source, json_files, csv_files):  # each reads its own binding
        monkeypatch.setattr(module, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(csv_files, "MAX_RECORD_CHARS", 4000)
    monkeypatch.setattr(source, "CHUNK_BYTES", 64)
    monkeypatch.setattr(json_files, "JSON_BUF_BYTES", 32)
    return 1000


def read(data: bytes, fmt: str | None = None, **kwargs: object) -> list[Row]:
    return list(ContactReader(io.BytesIO(data), fmt, **kwargs))  # type: ignore[arg-type]


def read_until_error(data: bytes, fmt: str | None = None) -> tuple[list[Row], ImportFileError]:
    """Rows yielded before the ImportFileError, and the error."""
    rows: list[Row] = []
    with pytest.raises(ImportFileError) as info:
        for row in ContactReader(io.BytesIO(data), fmt):
            rows.append(row)
    return rows, info.value


def contacts_only(rows: list[Row]) -> list[ContactRow]:
    assert all(isinstance(r, ContactRow) for r in rows), rows
    return rows  # type: ignore[return-value]


# --- format detection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "filename", "expected"),
    [
        (b'[{"email": "a@x.com"}]', None, "json"),
        (b'\xef\xbb\xbf \n [\n  {"email": "a@x.com"}', None, "json"),
        (b'{"email": "a@x.com"}\n{"email": "b@x.com"}\n', None, "ndjson"),
        (b'{"email": "a@x.com"}', None, "ndjson"),
        (b'{"contacts": [{"email": "a@x.com"}]}', None, "json"),
        (b'{\n  "contacts": [\n    {"email": "a@x.com"}', None, "json"),
        (b'{"email": "a@x.com", "na', "big.jsonl", "ndjson"),
        (b'{"email": "a@x.com", "na', "big.json", "json"),
        (b"email,name\na@x.com,Ann\n", None, "csv"),
        (b"Email;Name\n", "contacts.json", "csv"),
    ],
)
def test_detect_format(head: bytes, filename: str | None, expected: str) -> None:
    assert detect_format(head, filename) == expected


# --- the three formats --------------------------------------------------------------------------


def test_json_array_keeps_attribute_types() -> None:
    data = json.dumps(
        [
            {
                "Email": " Ann@Example.COM ",
                "first_name": "Ann",
                "last_name": "Ørsted",
                "age": 42,
                "score": 1.5,
                "vip": True,
                "note": None,
                "tags": ["a", "b"],
                "address": {"city": "Zürich", "zip": "8001"},
            },
            {"Email": "bob@example.com", "name": "Bob Li"},
        ]
    ).encode()
    reader = ContactReader(io.BytesIO(data))
    assert (reader.fmt, reader.email_field) == ("json", "Email")
    assert reader.fields[:3] == ["Email", "first_name", "last_name"]
    ann, bob = contacts_only(list(reader))
    assert (ann.position, ann.email, ann.first_name, ann.last_name, ann.name) == (
        "item 1",
        "ann@example.com",
        "Ann",
        "Ørsted",
        None,
    )
    assert ann.attributes == {
        "age": 42,
        "score": 1.5,
        "vip": True,
        "note": None,
        "tags": ["a", "b"],
        "address": {"city": "Zürich", "zip": "8001"},
    }
    assert type(ann.attributes["score"]) is float  # not Decimal: the DB writer json.dumps it
    json.dumps(ann.attributes)
    assert (bob.position, bob.email, bob.name, bob.attributes) == (
        "item 2",
        "bob@example.com",
        "Bob Li",
        {},
    )


def test_ndjson_lines_blank_lines_and_positions() -> None:
    data = (
        b'{"email": "a@x.com", "first_name": "A", "n": 1}\n'
        b"\n"
        b"   \r\n"
        b'{"email": "b@x.com", "n": 2.5}\r\n'
        b'["not", "an", "object"]\n'
        b'{"email": "c@x.com"}'  # no final newline
    )
    rows = read(data)
    assert [(r.position, type(r).__name__) for r in rows] == [
        ("line 1", "ContactRow"),
        ("line 4", "ContactRow"),
        ("line 5", "RejectedRow"),
        ("line 6", "ContactRow"),
    ]
    assert rows[0].attributes == {"n": 1}  # type: ignore[union-attr]
    assert rows[1].attributes == {"n": 2.5}  # type: ignore[union-attr]
    assert rows[2] == RejectedRow("line 5", "not an object", '["not", "an", "object"]')


def test_csv_header_rows_and_string_attributes() -> None:
    data = (
        "Email,First Name,Last Name,City,Score,Empty\r\n"
        'ann@x.com,Ann,Lee,"Paris, France",1.5,\r\n'
        "\r\n"
        'bob@x.com,Bob,,"Line one\r\nline two",7,\r\n'
        "cyd@x.com\r\n"
        ",,,,,\r\n"
        "dee@x.com,Dée,Ünal,Köln,,\r\n"
    ).encode()
    reader = ContactReader(io.BytesIO(data))
    assert reader.fmt == "csv"
    assert reader.fields == ["Email", "First Name", "Last Name", "City", "Score", "Empty"]
    rows = contacts_only(list(reader))
    assert [(r.position, r.email) for r in rows] == [
        ("line 2", "ann@x.com"),
        ("line 4", "bob@x.com"),  # a record spanning lines is placed at its first line
        ("line 6", "cyd@x.com"),  # fewer cells than the header is fine
        ("line 8", "dee@x.com"),
    ]
    assert rows[0].attributes == {"City": "Paris, France", "Score": "1.5"}  # strings, no empties
    assert (rows[1].first_name, rows[1].last_name) == ("Bob", None)
    assert rows[1].attributes == {"City": "Line one\r\nline two", "Score": "7"}
    assert rows[2].attributes == {}
    assert (rows[3].first_name, rows[3].last_name) == ("Dée", "Ünal")


def test_reads_a_real_file(tmp_path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("email\na@x.com\nb@x.com\n", encoding="utf-8")
    with path.open("rb") as fh:
        reader = ContactReader(fh, size=path.stat().st_size)
        assert [r.email for r in contacts_only(list(reader))] == ["a@x.com", "b@x.com"]
        assert reader.bytes_read == path.stat().st_size
        assert reader.percent == 100.0


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "json"])
def test_utf8_bom_is_accepted(fmt: str) -> None:
    body = {
        "csv": "email,name\nzoë@x.com,Zoë\n",
        "ndjson": '{"email": "zoë@x.com", "name": "Zoë"}\n',
        "json": '[{"email": "zoë@x.com", "name": "Zoë"}]',
    }[fmt]
    reader = ContactReader(io.BytesIO(b"\xef\xbb\xbf" + body.encode()))
    assert reader.fmt == fmt
    assert reader.email_field == "email"  # not "\ufeffemail"
    (row,) = contacts_only(list(reader))
    assert (row.email, row.name) == ("zoë@x.com", "Zoë")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_is_sniffed_from_the_header(delimiter: str) -> None:
    other = ";" if delimiter == "," else ","
    lines = [
        ["email", "name", "note"],
        ["a@x.com", "Ann", f"x{other}y"],
        ["b@x.com", "Bob", f'say "hi"{delimiter} twice'],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(lines)
    rows = contacts_only(read(buffer.getvalue().encode()))
    assert [(r.email, r.name, r.attributes) for r in rows] == [
        ("a@x.com", "Ann", {"note": f"x{other}y"}),
        ("b@x.com", "Bob", {"note": f'say "hi"{delimiter} twice'}),
    ]


def test_format_argument_overrides_detection() -> None:
    data = b'{"email": "a@x.com"}\n'
    assert ContactReader(io.BytesIO(data), "jsonl").fmt == "ndjson"
    with pytest.raises(ValueError, match="unknown format"):
        ContactReader(io.BytesIO(data), "xlsx")


# --- field detection ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "email",
        "Email",
        "EMAIL",
        "E-mail",
        "e_mail",
        "E Mail",
        "mail",
        "MAIL",
        "email_address",
        "Email Address",
        "EmailAddress",
    ],
)
def test_email_field_names(header: str) -> None:
    reader = ContactReader(io.BytesIO(f"id,{header}\n7,a@x.com\n".encode()))
    assert reader.email_field == header
    (row,) = contacts_only(list(reader))
    assert (row.email, row.attributes) == ("a@x.com", {"id": "7"})


def test_email_field_priority_and_name_aliases() -> None:
    data = b"Mail,FirstName,SURNAME,Full Name,EMail\nother@x.com,Ann,Lee,Ann Lee,ann@x.com\n"
    reader = ContactReader(io.BytesIO(data))
    assert reader.email_field == "EMail"  # "email" beats "mail", which stays an attribute
    (row,) = contacts_only(list(reader))
    assert (row.email, row.first_name, row.last_name, row.name) == (
        "ann@x.com",
        "Ann",
        "Lee",
        "Ann Lee",
    )
    assert row.attributes == {"Mail": "other@x.com"}


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        (b"name,phone,city\nAnn,123,Paris\n", "name, phone, city"),
        (b'{"name": "Ann", "phone": 123}\n{"email": "a@x.com"}\n', "name, phone"),
        (b'[{"name": "Ann", "e_mail_2": "x"}, {"email": "a@x.com"}]', "name, e_mail_2"),
        (b"{}\n", "(none)"),
    ],
)
def test_no_email_field_fails_before_any_row(data: bytes, fields: str) -> None:
    with pytest.raises(ImportFileError) as info:
        ContactReader(io.BytesIO(data))  # the constructor already refuses the file
    assert str(info.value) == f"no email field; fields found: {fields}"


def test_json_later_objects_matched_key_by_key() -> None:
    data = json.dumps(
        [
            {"email": "a@x.com", "plan": "pro"},
            {"EMAIL": "b@x.com", "First Name": "Bea", "city": "Oslo"},
            {"email": "c@x.com", "first_name": 5, "last_name": ["x"]},
        ]
    ).encode()
    a, b, c = contacts_only(read(data))
    assert (a.email, a.attributes) == ("a@x.com", {"plan": "pro"})
    assert (b.email, b.first_name, b.attributes) == ("b@x.com", "Bea", {"city": "Oslo"})
    # Names must be text; other values are kept as attributes, not lost.
    assert (c.first_name, c.last_name) == (None, None)
    assert c.attributes == {"first_name": 5, "last_name": ["x"]}


def test_csv_header_cells_are_cleaned() -> None:
    reader = ContactReader(io.BytesIO(b" email ,tag,tag,\na@x.com,t1,t2,t3\n"))
    assert reader.fields == ["email", "tag", "tag (2)", "column 4"]
    (row,) = contacts_only(list(reader))
    assert row.attributes == {"tag": "t1", "tag (2)": "t2", "column 4": "t3"}


# --- rejected rows ------------------------------------------------------------------------------


def test_invalid_and_missing_addresses_are_rejected_with_positions() -> None:
    long_value = "x" * 500 + "@"
    data = (
        "email,name\n"
        "good@x.com,Good\n"
        "not-an-address,Bad\n"
        "jane doe@x.com,Space\n"
        ",No Email\n"
        f"{long_value},Long\n"
        "user@bücher.de,IDN\n"
    ).encode()
    rows = read(data)
    assert [(r.position, getattr(r, "reason", None)) for r in rows] == [
        ("line 2", None),
        ("line 3", "invalid email: missing @"),
        ("line 4", "invalid email: contains spaces"),
        ("line 5", "missing email"),
        ("line 6", "invalid email: too long"),
        ("line 7", None),
    ]
    assert rows[1].raw == "not-an-address"  # type: ignore[union-attr]
    assert rows[3].raw == ",No Email"  # type: ignore[union-attr]
    assert len(rows[4].raw) == RAW_LIMIT  # type: ignore[union-attr]
    assert rows[5].email == "user@xn--bcher-kva.de"  # type: ignore[union-attr]


def test_json_rejects() -> None:
    data = b'[{"email": "a@x.com"}, 42, {"email": 7}, {"email": ""}, {"email": "x@"}, {"n": 1}]'
    rows = read(data)
    assert [(r.position, getattr(r, "reason", None), getattr(r, "raw", None)) for r in rows] == [
        ("item 1", None, None),
        ("item 2", "not an object", "42"),
        ("item 3", "invalid email: not text", "7"),
        ("item 4", "missing email", "{}"),
        ("item 5", "invalid email: missing domain", "x@"),
        ("item 6", "missing email", '{"n": 1}'),
    ]


# --- wrapper objects ----------------------------------------------------------------------------


def test_json_object_wrapping_the_array() -> None:
    data = json.dumps(
        {
            "meta": {"tags": ["x", "y"], "count": 2},
            "list": [],
            "contacts": [{"email": "a@x.com"}, {"email": "b@x.com"}],
        },
        indent=2,
    ).encode()
    rows = contacts_only(read(data))
    assert [(r.position, r.email) for r in rows] == [("item 1", "a@x.com"), ("item 2", "b@x.com")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"contacts": []}', "no contacts in file"),
        (b'{\n "total": 0\n}', "an object without an array of contacts"),
    ],
)
def test_json_wrapper_without_contacts(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        ContactReader(io.BytesIO(data))


# --- empty files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b" \r\n\t\n", "the file is empty"),
        (b"\xef\xbb\xbf", "the file is empty"),
        (b"[]", "no contacts in file"),
        (b" [ \n ] ", "no contacts in file"),
        (b"email,name\r\n", "no contacts in file: only a header row"),
        (b"\n\nemail\n\n\n", "no contacts in file: only a header row"),
        (b"[1, 2, 3]", "no contacts in file: no JSON object found"),
    ],
)
def test_empty_files(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError) as info:
        ContactReader(io.BytesIO(data))
    assert str(info.value) == message


def test_leading_blank_lines_keep_csv_positions() -> None:
    rows = read(b"\n\r\n  \nemail\na@x.com\n")
    assert [r.position for r in rows] == ["line 5"]


# --- fatal errors mid-file: what was yielded stays, the error says where -------------------------


def test_malformed_json_mid_file() -> None:
    good = ", ".join(f'{{"email": "u{i}@x.com"}}' for i in range(1000))
    rows, error = read_until_error(f'[{good}, {{"email": oops}}, {{"email": "z@x.com"}}]'.encode())
    assert len(contacts_only(rows)) == 1000
    assert rows[-1].position == "item 1000"
    assert error.position == "item 1001"
    assert str(error).startswith("item 1001: malformed JSON (lexical error: invalid char")


@pytest.mark.parametrize(
    ("tail", "position"),
    [
        (b', {"email": "b@x.com"', "item 2"),  # truncated file
        (b"] trailing", "item 2"),
    ],
)
def test_truncated_or_trailing_json(tail: bytes, position: str) -> None:
    rows, error = read_until_error(b'[{"email": "a@x.com"}' + tail)
    assert [r.position for r in rows] == ["item 1"]
    assert error.position == position


def test_ndjson_bad_line() -> None:
    data = b'{"email": "a@x.com"}\n{"email": "b@x.com"}\n{"email": "c@x.com",}\n{"email": 1}\n'
    rows, error = read_until_error(data)
    assert [r.position for r in rows] == ["line 1", "line 2"]
    assert error.position == "line 3"
    assert (
        str(error) == "line 3: invalid JSON (Expecting property name enclosed in double "
        "quotes at column 21)"
    )


def test_ndjson_rejects_nan() -> None:
    rows, error = read_until_error(b'{"email": "a@x.com"}\n{"email": "b@x.com", "x": NaN}\n')
    assert len(rows) == 1
    assert str(error) == "line 2: invalid JSON (NaN is not valid JSON)"


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (b'b@x.com,"Bob\n', "line 3: broken CSV row: unterminated quoted field"),
        (b'b@x.com,"Bob" Jr\n', "line 3: broken CSV row: text after a closing quote"),
        (
            b"b@x.com,Bob,Paris\n",
            "line 3: 3 cells but the header has 2; a value probably contains an unquoted comma",
        ),
    ],
)
def test_broken_csv_row(bad_row: bytes, message: str) -> None:
    rows, error = read_until_error(b"email,name\na@x.com,Ann\n" + bad_row + b"c@x.com,Cy\n")
    assert [r.position for r in rows] == ["line 2"]
    assert (str(error), error.position) == (message, "line 3")


def test_csv_extra_cells_that_are_empty_are_tolerated() -> None:
    rows = contacts_only(read(b"email,name\na@x.com,Ann,,\n"))
    assert (rows[0].name, rows[0].attributes) == ("Ann", {})


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_csv_not_utf8_names_line_and_offset(bom: bytes) -> None:
    data = bom + b"email,name\r\na@x.com,Ann\r\nb@x.com,Ren\xe9\r\nc@x.com,Cy\r\n"
    rows, error = read_until_error(data)
    assert [r.position for r in rows] == ["line 2"]
    offset = data.index(b"\xe9")
    assert str(error) == (
        f"not UTF-8: byte 0xe9 at line 3 (byte offset {offset}); save the file as UTF-8"
    )
    assert error.position == "line 3"


def test_not_utf8_deep_in_the_file(small_limits: int) -> None:
    lines = [b"email,name"] + [f"u{i}@x.com,Zoë {i}".encode() for i in range(500)]
    lines.insert(321, b"bad@x.com,\xff\xfe")
    data = b"\n".join(lines) + b"\n"
    rows, error = read_until_error(data)
    assert len(rows) == 320 and rows[-1].position == "line 321"
    offset = data.index(b"\xff")
    assert str(error) == (
        f"not UTF-8: byte 0xff at line 322 (byte offset {offset}); save the file as UTF-8"
    )


def test_ndjson_not_utf8() -> None:
    data = b'{"email": "a@x.com"}\n{"email": "b@x.com", "city": "K\xf6ln"}\n'
    rows, error = read_until_error(data)
    assert len(rows) == 1
    assert error.position == "line 2"
    offset = data.index(b"\xf6")
    assert f"byte 0xf6 at line 2 (byte offset {offset})" in str(error)


def test_json_not_utf8_names_the_item(small_limits: int) -> None:
    items = [f'{{"email": "u{i}@x.com", "name": "Zoë"}}'.encode() for i in range(50)]
    items[30] = b'{"email": "bad@x.com", "name": "Ren\xe9"}'
    data = b"[\n" + b",\n".join(items) + b"\n]"
    rows, error = read_until_error(data)
    assert len(rows) == 30
    assert error.position == "item 31"
    offset = data.index(b"\xe9")
    assert str(error) == (
        f"not UTF-8: byte 0xe9 at line 32 (byte offset {offset}, item 31); save the file as UTF-8"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04\x14\x00", "Excel"),
        (b"\xff\xfee\x00m\x00", "UTF-16"),
        (b"e\x00m\x00a\x00i\x00l\x00", "not a text file .* a CSV, JSON or NDJSON file"),
        (b"\x1f\x8b\x08\x00", "gzip"),
    ],
)
def test_binary_files_are_named(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        ContactReader(io.BytesIO(data))


# --- limits -------------------------------------------------------------------------------------


def test_over_long_csv_line_at_the_real_limit() -> None:
    huge = b"x" * (MAX_LINE_BYTES + 10)
    rows, error = read_until_error(b"email,note\na@x.com,short\nb@x.com," + huge + b"\n")
    assert [r.position for r in rows] == ["line 2"]
    assert str(error) == f"line 3 is longer than {MAX_LINE_BYTES} bytes"


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_over_long_line(small_limits: int, fmt: str) -> None:
    if fmt == "csv":
        data = b"email,note\na@x.com,ok\nb@x.com," + b"y" * 1500 + b"\nc@x.com,ok\n"
    else:
        data = b'{"email": "a@x.com"}\n{"email": "b@x.com"}\n{"note": "' + b"y" * 1500 + b'"}\n'
    rows, error = read_until_error(data)
    assert [r.position for r in rows] == (["line 2"] if fmt == "csv" else ["line 1", "line 2"])
    assert (str(error), error.position) == ("line 3 is longer than 1000 bytes", "line 3")


def test_csv_quoted_field_over_the_limit(small_limits: int) -> None:
    field = "\n".join(["z" * 90] * 20)  # every line is short, the field is not
    rows, error = read_until_error(f'email,note\na@x.com,ok\nb@x.com,"{field}"\n'.encode())
    assert len(rows) == 1
    assert str(error) == (
        "line 3: broken CSV row: field over the size limit (or an unterminated quote)"
    )


def test_csv_record_of_many_multiline_fields_is_bounded(small_limits: int) -> None:
    """Each field is small, the record never ends: it must stop, not grow."""
    cell = '"' + "w" * 50 + '\n"'
    data = "email,note\na@x.com,ok\nb@x.com," + ",".join([cell] * 2000) + "\n"
    rows, error = read_until_error(data.encode())
    assert [r.position for r in rows] == ["line 2"]
    assert (str(error), error.position) == (
        "line 3: CSV record longer than 4000 characters (an unterminated quote?)",
        "line 3",
    )


def test_json_item_over_the_limit(small_limits: int) -> None:
    data = b'[{"email": "a@x.com"}, {"email": "b@x.com", "note": "' + b"y" * 5000 + b'"}]'
    rows, error = read_until_error(data)
    assert [r.position for r in rows] == ["item 1"]
    assert (str(error), error.position) == ("item 2 is larger than 1000 bytes", "item 2")


def test_json_item_over_the_real_limit() -> None:
    note = b"y" * (MAX_LINE_BYTES * 3)
    rows, error = read_until_error(b'[{"email": "a@x.com"}, {"note": "' + note + b'"}]')
    assert len(rows) == 1
    assert error.position == "item 2"


def test_deeply_nested_json_item_is_refused_cheaply() -> None:
    """ijson needs memory quadratic in depth; 10,000 levels would take ~250 MB."""
    depth = 10_000
    data = b'[{"email": "a@x.com"}, {"email": "b@x.com", "x": ' + b"[" * depth + b"]" * depth
    rows, error = read_until_error(data + b"}]")
    assert len(rows) == 1
    assert error.position == "item 2"
    assert "nests too deeply" in str(error)


@pytest.mark.parametrize("containers", [4, 150, MAX_ITEM_BRACKETS - 10])
def test_json_items_with_many_small_containers_are_fine(containers: int) -> None:
    """The bracket cap is per item: dense reads of many ordinary items never trip it."""
    inner = ", ".join(["[1]"] * (containers - 1))
    item = f'{{"email": "a@x.com", "t": [{inner}]}}'.encode()
    rows = contacts_only(read(b"[" + b",".join([item] * 300) + b"]"))
    assert len(rows) == 300
    assert len(rows[-1].attributes["t"]) == containers - 1


# --- chunking never changes the result ----------------------------------------------------------


def _sample_files(n: int) -> dict[str, bytes]:
    rnd = random.Random(7)
    names = ["Zoë", "Łukasz", "陈伟", "Ørsted", "José María", "O'Brien", 'Ann "Nan" Lee']
    people = []
    for i in range(n):
        email = f"user{i}@bücher.de" if i % 7 == 0 else f"User{i}@Example.com"
        if i % 50 == 3:
            email = f"broken{i}.example.com"
        people.append(
            {
                "email": email,
                "name": rnd.choice(names),
                "note": rnd.choice(["", "a, b", "multi\nline", "x" * rnd.randint(0, 300), "€uro"]),
                "n": i / 4,
            }
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["email", "name", "note", "n"])
    writer.writerows([[p["email"], p["name"], p["note"], p["n"]] for p in people])
    return {
        "csv": buffer.getvalue().encode(),
        "ndjson": "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in people).encode(),
        "json": json.dumps(people, ensure_ascii=False).encode(),
    }


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "json"])
def test_small_reads_give_the_same_rows(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunk edges split lines, quoted fields and multi-byte characters; nothing may change."""
    data = _sample_files(400)[fmt]
    expected = read(data)
    assert len(expected) == 400
    assert sum(isinstance(r, RejectedRow) for r in expected) == 8
    for chunk in (7, 64, 1000):
        monkeypatch.setattr(source, "CHUNK_BYTES", chunk)
        monkeypatch.setattr(json_files, "JSON_BUF_BYTES", chunk)
        reader = ContactReader(io.BytesIO(data), size=len(data))
        assert list(reader) == expected
        assert reader.bytes_read == len(data)


def test_reader_is_lazy() -> None:
    """Rows come out while the file is read, not after: the file is never held whole."""
    data = _sample_files(3000)["ndjson"]
    reader = ContactReader(io.BytesIO(data), size=len(data))
    next(iter(reader))
    assert reader.bytes_read < len(data) / 4
