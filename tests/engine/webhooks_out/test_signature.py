"""The signatures a receiver checks: Standard Webhooks' headers (verified here with the
``standardwebhooks`` package itself), the deprecated Mailer-Signature, and what verification
refuses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from mailer.engine.webhooks_out.signing import (
    new_secret,
    signature_header,
    signed_headers,
    signing_key,
    verify_signature,
)

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


# --- Standard Webhooks ---------------------------------------------------------------------


def test_new_secrets_are_standard_base64_of_32_random_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_") and secret != new_secret()
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def test_signed_headers_verify_with_the_standardwebhooks_package_and_nothing_else():
    secret = new_secret()
    headers = signed_headers(secret, "evt_1", BODY)
    assert headers["webhook-id"] == "evt_1"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", headers["webhook-signature"])
    assert Webhook(secret).verify(BODY, headers) == {"id": "evt_1", "type": "opened"}
    assert verify_signature(secret, headers["Mailer-Signature"], BODY), "deprecated, still sent"
    for wrong in (
        lambda: Webhook(new_secret()).verify(BODY, headers),
        lambda: Webhook(secret).verify(BODY.replace(b"opened", b"clicked"), headers),
        lambda: Webhook(secret).verify(BODY, {**headers, "webhook-id": "evt_2"}),
        lambda: Webhook(secret).verify(
            BODY, signed_headers(secret, "evt_1", BODY, timestamp=int(time.time()) - 600)
        ),
    ):
        with pytest.raises(WebhookVerificationError):
            wrong()


def test_a_secret_made_before_standard_webhooks_keeps_working():
    """Older secrets are URL-safe base64 ("-", "_"), which Standard Webhooks libraries do not
    decode: Mailer-Signature still verifies with the secret as stored, and webhook-signature
    with the 32 bytes it stands for (what the README tells their owners, until they rotate)."""
    key = bytes(range(200, 232))
    legacy = "whsec_" + base64.urlsafe_b64encode(key).decode().rstrip("=")
    assert "-" in legacy or "_" in legacy
    assert signing_key(legacy) == key
    headers = signed_headers(legacy, "evt_1", BODY)
    assert verify_signature(legacy, headers["Mailer-Signature"], BODY)
    raw = base64.urlsafe_b64decode(legacy.removeprefix("whsec_") + "==")
    assert Webhook(raw).verify(BODY, headers)
    # The same bytes spelled in standard base64 make the secret any library reads.
    assert Webhook("whsec_" + base64.b64encode(key).decode()).verify(BODY, headers)
