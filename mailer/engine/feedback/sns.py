"""Amazon SNS HTTPS deliveries: signature verification and subscription confirmation
(:class:`Verifier`), and the webhook check that a message comes from a topic configured and
confirmed on the channel (:func:`verify`).
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Flask, current_app

from mailer.engine.feedback.base import ChannelConfig, Incoming, Malformed, Rejected, check_age

SNS_HOST = re.compile(r"^sns\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com$")
TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
MAX_CERT_BYTES = 64 * 1024
CERT_TTL = 24 * 3600.0
CACHE_SIZE = 32
FETCH_TIMEOUT = 10.0
TOPICS_SETTING = "sns_topic_arns"
CONFIRMED_SETTING = "sns_confirmed_topics"  # recorded by the job, not a form field

Fetch = Callable[[str], bytes]


def is_sns_url(url: object, *, path_suffix: str | None = None) -> bool:
    """True only for https://sns.<region>.amazonaws.com/… (no port, no credentials)."""
    if not isinstance(url, str) or len(url) > 2048:
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or port is not None or parts.username or parts.password:
        return False
    if parts.hostname is None or not SNS_HOST.match(parts.hostname):
        return False
    if parts.netloc != parts.hostname:  # no trailing dot, upper case or other tricks
        return False
    return path_suffix is None or parts.path.endswith(path_suffix)


def is_subscribe_url(url: object) -> bool:
    if not is_sns_url(url):
        return False
    query = parse_qs(urlsplit(str(url)).query)
    return query.get("Action") == ["ConfirmSubscription"] and bool(query.get("Token"))


def http_get(url: str) -> bytes:
    """The real fetcher: https only (the caller checked the host), no redirects, bounded."""
    with requests.get(url, timeout=FETCH_TIMEOUT, allow_redirects=False, stream=True) as resp:
        if resp.status_code != 200:
            raise OSError(f"SNS answered HTTP {resp.status_code}")
        body = resp.raw.read(MAX_CERT_BYTES + 1, decode_content=True)
    if len(body) > MAX_CERT_BYTES:
        raise OSError("SNS answer too large")
    return body


class Verifier:
    """Checks SNS signatures; holds the certificate cache. One per app (``verifier()``);
    tests give it a fetcher serving their own certificates (the host checks stay real).

    Certificates are cached per process: they change rarely, and a verification does not cost
    a fetch."""

    def __init__(self, fetch: Fetch = http_get, *, clock: Callable[[], float] = time.monotonic):
        self.fetch = fetch
        self.clock = clock
        self._cache: OrderedDict[str, tuple[rsa.RSAPublicKey, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.fetches = 0

    def public_key(self, url: str) -> rsa.RSAPublicKey:
        """The key of the certificate at ``SigningCertURL``. The URL comes from the (untrusted)
        body, so it is checked against the pattern of SNS's own hosts (https,
        ``sns.<region>.amazonaws.com``, no port, no credentials, a ``.pem`` path) before
        anything is fetched."""
        if not is_sns_url(url, path_suffix=".pem"):
            raise Rejected("signing certificate URL is not an SNS https URL")
        now = self.clock()
        with self._lock:
            hit = self._cache.get(url)
            if hit is not None and hit[1] > now:
                self._cache.move_to_end(url)
                return hit[0]
        self.fetches += 1
        try:
            pem = self.fetch(url)
            cert = x509.load_pem_x509_certificate(pem)
        except (OSError, ValueError) as exc:
            raise Rejected(f"signing certificate unavailable ({type(exc).__name__})") from None
        wall = datetime.now(UTC)
        if not (cert.not_valid_before_utc <= wall <= cert.not_valid_after_utc):
            raise Rejected("signing certificate expired or not yet valid")
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise Rejected("signing certificate does not hold an RSA key")
        expires = now + min(CERT_TTL, (cert.not_valid_after_utc - wall).total_seconds())
        with self._lock:
            self._cache[url] = (key, expires)
            self._cache.move_to_end(url)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return key

    def verify(self, message: dict) -> None:
        """Raise Rejected unless ``message`` is signed by SNS: with the private key of the
        certificate it names in ``SigningCertURL``; SignatureVersion 1 is SHA1withRSA, 2 is
        SHA256withRSA, over :func:`string_to_sign`."""
        kind = message.get("Type")
        if kind not in TYPES:
            raise Rejected("not an SNS message type")
        algorithm = HASHES.get(str(message.get("SignatureVersion")))
        if algorithm is None:
            raise Rejected("unknown SNS signature version")
        try:
            signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise Rejected("signature is not base64") from None
        if not signature:
            raise Rejected("no signature")
        key = self.public_key(message.get("SigningCertURL"))  # type: ignore[arg-type]
        try:
            key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise Rejected("SNS signature does not verify") from None

    def confirm(self, message: dict) -> None:
        """Visit SubscribeURL (pattern-checked here again, before the fetch, like the
        certificate URL). Called only after the signature verified and the topic matched the
        channel's configured topics."""
        url = message.get("SubscribeURL")
        if not is_subscribe_url(url):
            raise Rejected("SubscribeURL is not an SNS ConfirmSubscription URL")
        self.fetch(url)  # type: ignore[arg-type]


def string_to_sign(message: dict) -> bytes:
    """Fixed fields in a fixed order, each as ``Name\\nValue\\n``: for a Notification
    Message, MessageId, Subject if present, Timestamp, TopicArn, Type; for a
    SubscriptionConfirmation and UnsubscribeConfirmation Message, MessageId, SubscribeURL,
    Timestamp, Token, TopicArn, Type."""
    names = NOTIFICATION_FIELDS if message.get("Type") == "Notification" else CONFIRMATION_FIELDS
    out = []
    for name in names:
        value = message.get(name)
        if value is None:
            if name == "Subject":
                continue  # optional, and only for notifications
            raise Rejected(f"SNS message without {name}")
        out.append(f"{name}\n{value}\n")
    return "".join(out).encode()


def verifier(app: Flask | None = None) -> Verifier:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("mailer_sns_verifier")
    if found is None:
        found = app.extensions["mailer_sns_verifier"] = Verifier()
    return found


def install(app: Flask, fetch: Fetch) -> Verifier:
    """Use another fetcher (tests, benchmarks); returns the new verifier."""
    app.extensions["mailer_sns_verifier"] = found = Verifier(fetch)
    return found


# ------------------------------------------------------------------------------ the webhook


def configured_topics(config: ChannelConfig) -> set[str]:
    return topics_of(config.settings.get(TOPICS_SETTING))


def confirmed_topics(settings: Mapping[str, Any]) -> set[str]:
    """Topics whose subscription this channel's endpoint confirmed (the pinned ones)."""
    value = settings.get(CONFIRMED_SETTING)
    return {t for t in value if isinstance(t, str)} if isinstance(value, list) else set()


def with_confirmed(settings: Mapping[str, Any], topic: str) -> dict[str, Any]:
    """The channel's settings with ``topic`` pinned."""
    return {**settings, CONFIRMED_SETTING: sorted(confirmed_topics(settings) | {topic})}


def topics_of(value: object) -> set[str]:
    if not isinstance(value, str):
        return set()
    return {t for t in re.split(r"[\s,]+", value.strip()) if t}


def verify(incoming: Incoming, config: ChannelConfig) -> dict:
    """The webhook check: signed by SNS, from a configured topic. Returns payload meta.

    Topics are pinned: the job that confirms a subscription records its topic on the channel
    (``sns_confirmed_topics``), and notifications are accepted only from a topic both
    configured and confirmed there (anyone's SNS topic signs its messages as genuinely as
    ours). A message whose signed ``Timestamp`` is further from now than the freshness window
    is refused."""
    message = incoming.doc
    if not isinstance(message, dict):
        raise Malformed("an SNS message is a JSON object")
    header_type = incoming.headers.get("x-amz-sns-message-type")
    if header_type is not None and header_type != message.get("Type"):
        raise Rejected("SNS message type header and body disagree")
    verifier().verify(message)
    check_age(message.get("Timestamp"))
    kind = message["Type"]
    topics = configured_topics(config)
    topic = message.get("TopicArn")
    if not topics:
        raise Rejected("no SNS topic ARN configured on the channel: nothing is accepted")
    if topic not in topics:
        raise Rejected("SNS topic is not one configured on the channel")
    if kind == "Notification" and topic not in confirmed_topics(config.settings):
        raise Rejected("no subscription to this SNS topic was confirmed through this channel")
    return {"sns_type": kind, "sns_message_id": message.get("MessageId"), "topic": topic}


def unwrap(doc: object) -> tuple[str | None, object]:
    """(SNS type, inner message) for an SNS envelope; (None, doc) for anything else."""
    if isinstance(doc, dict) and doc.get("Type") in TYPES and "Message" in doc:
        return doc["Type"], doc["Message"]
    return None, doc
