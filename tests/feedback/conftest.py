"""Feedback fixtures: real keys and certificates made here, signed provider requests, channels
with their webhook secrets, and a campaign whose sends carry provider message ids.

SNS: an RSA key and a self-signed certificate, served by a fetcher installed on the app's SNS
verifier (the URL checks in front of it stay real; the fetcher records what was fetched, so a
test can prove a refused URL was never fetched). SendGrid: a P-256 key pair. Mailgun: an HMAC
key. Mailjet and Brevo: credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from rq import SimpleWorker

from mailer.engine.feedback import sns
from mailer.lib import tokens
from mailer.lib.crypto import encrypt_json
from mailer.models import Channel, Send, SendStatus, Subscriber
from mailer.models.base import utcnow
from mailer.queue import FEEDBACK, get_redis, set_worker_app
from tests.campaigns.conftest import make_campaign, make_list

REGION = "eu-west-1"
CERT_URL = f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
TOPIC = f"arn:aws:sns:{REGION}:123456789012:ses-feedback"


@pytest.fixture(autouse=True)
def no_linger(monkeypatch):
    """Jobs end as soon as the queue of payloads is empty (test_job.py tests the lingering)."""
    from mailer.engine.feedback import processing

    monkeypatch.setattr(processing, "LINGER_SECONDS", 0.0)
    monkeypatch.setattr(processing, "IDLE_SLEEP", 0.0)


# ------------------------------------------------------------------------------ SNS


def _rsa_cert(common_name: str = "sns.amazonaws.com") -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="session")
def sns_keys():
    """(genuine key + cert PEM, another key + cert PEM)."""
    return _rsa_cert(), _rsa_cert()


@dataclass
class FakeAws:
    """Serves certificates and answers SubscribeURL visits; records every URL fetched."""

    served: dict[str, bytes] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> bytes:
        self.fetched.append(url)
        if url in self.served:
            return self.served[url]
        if "Action=ConfirmSubscription" in url:
            return b"<ConfirmSubscriptionResponse/>"
        raise OSError("404")


@pytest.fixture
def aws(app, sns_keys) -> FakeAws:
    (_, pem), _ = sns_keys
    fake = FakeAws(served={CERT_URL: pem})
    sns.install(app, fake)
    return fake


class SnsSigner:
    def __init__(self, key: rsa.RSAPrivateKey):
        self.key = key

    def sign(self, message: dict, version: str = "1", cert_url: str = CERT_URL) -> dict:
        message = dict(message, SignatureVersion=version, SigningCertURL=cert_url)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS v1
        signed = self.key.sign(sns.string_to_sign(message), padding.PKCS1v15(), algorithm)
        message["Signature"] = base64.b64encode(signed).decode()
        return message

    def notification(self, inner: dict | str, *, topic: str = TOPIC, **kw) -> dict:
        message = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic,
            "Message": inner if isinstance(inner, str) else json.dumps(inner),
            "Timestamp": utcnow().isoformat(timespec="milliseconds") + "Z",
            "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe",
        }
        return self.sign(message, **kw)

    def confirmation(
        self, *, topic: str = TOPIC, kind: str = "SubscriptionConfirmation", url: str | None = None
    ) -> dict:
        token = uuid.uuid4().hex * 2
        message = {
            "Type": kind,
            "MessageId": str(uuid.uuid4()),
            "Token": token,
            "TopicArn": topic,
            "Message": f"You have chosen to subscribe to the topic {topic}.",
            "SubscribeURL": url
            or f"https://sns.{REGION}.amazonaws.com/?Action=ConfirmSubscription"
            f"&TopicArn={topic}&Token={token}",
            "Timestamp": utcnow().isoformat(timespec="milliseconds") + "Z",
        }
        return self.sign(message)


@pytest.fixture
def sns_signer(sns_keys) -> SnsSigner:
    (key, _), _ = sns_keys
    return SnsSigner(key)


def sns_headers(message: dict) -> dict:
    return {
        "Content-Type": "text/plain; charset=UTF-8",
        "x-amz-sns-message-type": message["Type"],
        "x-amz-sns-message-id": message["MessageId"],
    }


# ------------------------------------------------------------------------------ SendGrid


@pytest.fixture(scope="session")
def sendgrid_key():
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, base64.b64encode(public).decode()


def sendgrid_headers(key: ec.EllipticCurvePrivateKey, body: bytes, stamp: int | None = None):
    stamp = str(int(time.time()) if stamp is None else stamp)
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
    }


# ------------------------------------------------------------------------------ Mailgun

MAILGUN_KEY = "key-" + "5" * 32


def mailgun_body(event_data: dict, key: str = MAILGUN_KEY, *, stamp=None, token=None) -> bytes:
    stamp = str(int(time.time()) if stamp is None else stamp)
    token = token or uuid.uuid4().hex + uuid.uuid4().hex[:18]
    signature = hmac.new(key.encode(), f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": stamp, "token": token, "signature": signature},
            "event-data": event_data,
        }
    ).encode()


def basic(user: str, password: str) -> dict:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}", "Content-Type": "application/json"}


# ------------------------------------------------------------------------------ channels


def make_channel(db, provider: str, settings: dict | None = None, secrets=None) -> Channel:
    channel = Channel(
        name=f"{provider} {uuid.uuid4().hex[:6]}",
        provider=provider,
        settings=settings or {},
        secrets_encrypted=encrypt_json(secrets or {}),
        rate_per_second=1000,
    )
    db.session.add(channel)
    db.session.commit()
    return channel


@pytest.fixture
def channels(db, sendgrid_key) -> dict[str, Channel]:
    return {
        "ses": make_channel(
            db,
            "ses",
            # The topic is configured, and the webhook confirmed its subscription (pinned).
            {
                "region": REGION,
                "access_key_id": "AKIDTEST",
                "sns_topic_arns": TOPIC,
                "sns_confirmed_topics": [TOPIC],
            },
            {"secret_access_key": "secret"},
        ),
        "sendgrid": make_channel(
            db, "sendgrid", {"webhook_public_key": sendgrid_key[1]}, {"api_key": "SG.x"}
        ),
        "mailgun": make_channel(
            db,
            "mailgun",
            {"domain": "mg.example.com"},
            {"api_key": "k", "webhook_signing_key": MAILGUN_KEY},
        ),
        "mailjet": make_channel(
            db,
            "mailjet",
            {"api_key": "pub", "webhook_username": "mj"},
            {"secret_key": "s", "webhook_password": "mj-pass"},
        ),
        "brevo": make_channel(
            db, "brevo", {}, {"api_key": "xkeysib", "webhook_bearer_token": "brevo-token"}
        ),
    }


def url(channel: Channel) -> str:
    return f"/webhooks/{channel.provider}/{channel.webhook_token}"


# ------------------------------------------------------------------------------ sends


@dataclass
class Sent:
    """A campaign sent through a channel: one send per address, each with a provider id."""

    campaign_id: int
    sends: dict[str, Send]  # by email

    def token(self, email: str) -> str:
        return tokens.make(tokens.CAMPAIGN_SEND, self.sends[email].id)

    def pmid(self, email: str) -> str:
        return self.sends[email].provider_message_id


def send_campaign(db, channel: Channel, emails: list[str], pmid=None) -> Sent:
    mailing_list = make_list(db, f"List {uuid.uuid4().hex[:6]}", emails)
    campaign = make_campaign(db, [mailing_list], [channel], status="completed")
    row_id = campaign.channels[0].id
    subscribers = db.session.scalars(
        db.select(Subscriber).filter_by(list_id=mailing_list.id).order_by(Subscriber.id)
    ).all()
    sent_at = utcnow() - timedelta(minutes=30)
    prefix = uuid.uuid4().hex[:10]
    pmid = pmid or (lambda i: f"{prefix}-{i}")
    sends = {}
    for i, sub in enumerate(subscribers):
        send = Send(
            campaign_id=campaign.id,
            subscriber_id=sub.id,
            campaign_channel_id=row_id,
            email=sub.email,
            status=SendStatus.SENT.value,
            provider_message_id=pmid(i),
            sent_at=sent_at,
        )
        db.session.add(send)
        sends[sub.email] = send
    db.session.commit()
    return Sent(campaign.id, sends)


# ------------------------------------------------------------------------------ the worker


def drain(app, db) -> None:
    """Run the queued feedback jobs in a real RQ worker (burst), then read fresh rows."""
    db.session.commit()
    set_worker_app(app)
    SimpleWorker([FEEDBACK], connection=get_redis()).work(burst=True)
    db.session.commit()


def count(db, model, **where) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).filter_by(**where))
