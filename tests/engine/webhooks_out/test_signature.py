"""The signature a receiver checks: its format, and what verification refuses."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from mailer.engine.webhooks_out.signing import signature_header, verify_signature

SECRET = "whsec_test-secret"
BODY = b'{"id":"evt_1","type":"opened"}'


def test_header_is_timestamp_and_hex_hmac_of_timestamp_dot_body():
    header = signature_header(SECRET, BODY, timestamp=1_700_000_000)
    match = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", header)
    assert match, header
    assert match.group(1) == "1700000000"
    # What a receiver computes, in any language: HMAC-SHA256(secret, "<t>.<raw body>").
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert match.group(2) == expected


def test_a_fresh_genuine_signature_verifies():
    assert verify_signature(SECRET, signature_header(SECRET, BODY), BODY)


def test_wrong_secret_tampered_body_and_old_or_future_timestamps_fail():
    now = int(time.time())
    header = signature_header(SECRET, BODY, timestamp=now)
    assert not verify_signature("whsec_other", header, BODY)
    assert not verify_signature(SECRET, header, BODY.replace(b"opened", b"clicked"))
    assert not verify_signature(SECRET, header, BODY + b" ")
    old = signature_header(SECRET, BODY, timestamp=now - 301)
    assert not verify_signature(SECRET, old, BODY), "replayed after the 5 minute tolerance"
    assert verify_signature(SECRET, old, BODY, tolerance=600)
    future = signature_header(SECRET, BODY, timestamp=now + 301)
    assert not verify_signature(SECRET, future, BODY)


def test_a_timestamp_changed_without_the_signature_fails():
    now = int(time.time())
    header = signature_header(SECRET, BODY, timestamp=now - 100)
    forged = header.replace(f"t={now - 100}", f"t={now}")
    assert not verify_signature(SECRET, forged, BODY)


def test_malformed_headers_fail_without_raising():
    for header in (None, "", "v1=abc", "t=notanumber,v1=abc", "t=1", "garbage", "t=,v1="):
        assert not verify_signature(SECRET, header, BODY), header


def test_any_of_several_v1_signatures_may_match():
    now = int(time.time())
    good = signature_header(SECRET, BODY, timestamp=now).split(",")[1]
    assert verify_signature(SECRET, f"t={now},v1={'0' * 64},{good}", BODY)
