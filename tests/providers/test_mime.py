"""MIME: structure, header encoding of non-ASCII names and subjects, round trip through bytes.

``render`` writes the bytes itself (for speed), so these tests hold it to the stdlib parser:
whatever goes in must come back out of ``email.message_from_bytes(..., policy=default)``.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re

import pytest

from mailer.providers.mime import (
    build_mime,
    envelope_address,
    make_message_id,
    needs_smtputf8,
    render,
    tag_headers,
)
from tests.fixtures.providers import message


def roundtrip(msg, eight_bit=False):
    raw, message_id = render(msg, eight_bit)
    # As a mail store would: the stdlib parser keeps CRLF inside 7bit bodies otherwise.
    parsed = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
    assert parsed["Message-ID"] == message_id
    assert not parsed.defects
    for part in parsed.walk():
        assert not part.defects, part.defects
    return raw, parsed


def test_text_and_html_make_multipart_alternative():
    raw, parsed = roundtrip(message(1))
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content() == "Hallo Jörg 1"
    assert parts[1].get_content() == "<p>Hallo Jörg 1</p>"
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert parsed["MIME-Version"] == "1.0"


@pytest.mark.parametrize(
    ("html", "text", "ctype"),
    [("<b>only html</b>", None, "text/html"), (None, "only text", "text/plain")],
)
def test_a_single_body_is_a_single_part(html, text, ctype):
    _, parsed = roundtrip(message(0, html=html, text=text))
    assert not parsed.is_multipart()
    assert parsed.get_content_type() == ctype
    assert parsed.get_content() == (html or text) + "\n"


@pytest.mark.parametrize(
    "name",
    [
        "Café Zürich, Ltd.",
        'Ann "The Boss" O\'Neil',
        "Jörg «Ü» Müller",
        "Back\\slash (x)",
        "日本語" * 30,
    ],
)
def test_display_names_round_trip(name):
    raw, parsed = roundtrip(message(0, from_name=name, to_name=name))
    assert raw.split(b"\r\n\r\n", 1)[0].isascii()
    for header, addr in (("From", "news@shop.example.com"), ("To", "user0@example.com")):
        [mailbox] = parsed[header].addresses
        assert mailbox.addr_spec == addr
        if len(name.encode()) > 42:
            # A long name takes several encoded-words; RFC 2047 says the space between them
            # is dropped, but the stdlib parser keeps it (it does so for its own output too).
            assert mailbox.display_name.replace(" ", "") == name
        else:
            assert mailbox.display_name == name


@pytest.mark.parametrize(
    "subject",
    [
        "Grüße 🎉 " * 12,
        "Plain ASCII subject that is long enough to need folding across lines " * 3,
        "x" * 200,
        "Looks like =?utf-8?q?an_encoded_word?= but is not",
        "€",
        "spaced   out  ",
    ],
)
def test_subjects_round_trip(subject):
    raw, parsed = roundtrip(message(0, subject=subject))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    assert parsed["Subject"] == subject


def test_encoded_words_stay_short_and_lines_fold():
    raw, _ = roundtrip(message(0, subject="Grüße 🎉 " * 20, to_name="Jörg " * 30))
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert all(len(w) <= 75 for w in re.findall(r"=\?utf-8\?b\?[^?]*\?=", head))
    assert all(len(line) <= 78 for line in head.split("\r\n"))


def test_bodies_are_seven_bit_clean_with_short_lines():
    long_html = "<p>" + "Überraschung! " * 400 + "</p>\n<p>a=b   \n.\nFrom here</p>"
    raw, parsed = roundtrip(message(0, html=long_html, text="Ä" * 3000))
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only
    assert parsed.get_body(("html",)).get_content() == long_html
    assert parsed.get_body(("plain",)).get_content() == "Ä" * 3000


def test_eight_bit_bodies_keep_their_lines_up_to_998_bytes():
    line = "<p>" + "Grüße, a=b " * 75 + "</p>"  # 982 bytes in 832 characters
    raw, parsed = roundtrip(message(0, html=line + "\n<p>end</p>", text="Ä" * 100), True)
    assert line.encode() in raw and b"quoted-printable" not in raw
    assert raw.count(b"Content-Transfer-Encoding: 8bit") == 2
    assert parsed.get_body(("html",)).get_content() == line + "\n<p>end</p>"
    assert parsed.get_body(("plain",)).get_content() == "Ä" * 100


@pytest.mark.parametrize(
    "body",
    [
        "ü" * 500,  # 1,000 bytes in 500 characters: too long for one line
        "Grüße\0",  # NUL may not travel even 8-bit
    ],
    ids=["line-over-998-bytes", "nul"],
)
def test_eight_bit_falls_back_to_quoted_printable(body):
    raw, parsed = roundtrip(message(0, html=None, text=body), True)
    assert raw.isascii() and b"quoted-printable" in raw
    assert parsed.get_content() == body + "\n"


def test_eight_bit_ascii_with_long_lines_is_7bit():
    line = "x=1 " * 200
    raw, parsed = roundtrip(message(0, html=None, text=line), True)
    assert b"Content-Transfer-Encoding: 7bit" in raw and line.encode() in raw
    assert parsed.get_content() == line + "\n"


def test_line_endings_are_normalised():
    _, parsed = roundtrip(message(0, text="one\r\ntwo\rthree\n", html=None))
    assert parsed.get_content() == "one\ntwo\nthree\n"


def test_message_id_date_and_extra_headers():
    _, parsed = roundtrip(message(7))
    assert re.fullmatch(r"<[0-9a-f]{32}@shop\.example\.com>", parsed["Message-ID"])
    assert email.utils.parsedate_to_datetime(parsed["Date"]).tzinfo is not None
    assert parsed["List-Unsubscribe"] == "<https://t.example.com/u/tok7>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Reply-To"].addresses[0].addr_spec == "help@shop.example.com"
    assert parsed["X-Mailer-Tag-Campaign"] == "12"
    assert parsed["X-Mailer-Tag-Token"] == "tok7"


def test_long_and_non_ascii_extra_headers():
    unsubscribe = "<https://t.example.com/u/" + "a" * 90 + ">, <mailto:u@example.com?subject=x>"
    _, parsed = roundtrip(message(0, headers={"List-Unsubscribe": unsubscribe, "X-Note": "für"}))
    assert parsed["List-Unsubscribe"] == unsubscribe
    assert parsed["X-Note"] == "für"


def test_given_message_id_is_kept():
    raw, message_id = render(message(0, message_id="<abc.123@shop.example.com>"))
    assert message_id == "<abc.123@shop.example.com>"
    assert b"\r\nMessage-ID: <abc.123@shop.example.com>\r\n" in raw


def test_build_mime_returns_the_same_message():
    m = build_mime(message(3))
    assert m["Subject"] == "Grüße, Jörg 3 – 10 % off"
    assert m["To"].addresses[0].display_name == "Jörg Müller 3"
    assert m.get_body(("plain",)).get_content() == "Hallo Jörg 3"
    reparsed = email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
    assert reparsed["Subject"] == m["Subject"]


def test_make_message_id():
    ids = {make_message_id("News <news@Bücher.Example>") for _ in range(100)}
    assert len(ids) == 100
    assert all(i.endswith("@xn--bcher-kva.example>") for i in ids)


def test_tag_headers_names():
    assert tag_headers({"campaign_id": "1", "ab test": "b"}) == {
        "X-Mailer-Tag-Campaign-Id": "1",
        "X-Mailer-Tag-Ab-Test": "b",
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {"subject": "Hi\r\nBcc: victim@example.com"},
        {"to_name": "Eve\nBcc: victim@example.com"},
        {"to": "user@example.com\r\nBcc: victim@example.com"},
        {"headers": {"X-Ok": "a\r\nBcc: victim@example.com"}},
        {"headers": {"From": "spoof@example.com"}},
        {"headers": {"Bad Name": "x"}},
        {"to": "not-an-address"},
        {"to": "two@example.com, three@example.com"},
        {"html": None, "text": None},
    ],
)
def test_unsafe_or_broken_input_is_refused(overrides):
    with pytest.raises(ValueError):
        render(message(0, **overrides))


def test_international_address_is_written_raw_for_smtputf8():
    msg = message(0, to="jörg@bücher.example")
    assert needs_smtputf8(msg)
    assert not needs_smtputf8(message(0, to="jorg@bücher.example"))
    assert envelope_address("jorg@bücher.example") == "jorg@xn--bcher-kva.example"
    m = build_mime(msg)
    assert m["To"].addresses[0].addr_spec == "jörg@xn--bcher-kva.example"
