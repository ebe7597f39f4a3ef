"""Feedback fixtures: a real key and self-signed certificate for SNS, served by a fetcher
installed on the app's SNS verifier (the URL checks in front of it stay real; the fetcher records
what was fetched, so a test can prove a refused URL was never fetched). Shared feedback fixtures
and helpers are in tests/fixtures/feedback.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mailer.engine.feedback import sns
from tests.fixtures.feedback import CERT_URL, SnsSigner


@pytest.fixture(autouse=True)
def feedback_jobs_do_not_linger(no_linger):
    """Every test here: feedback jobs end as soon as their queue is empty."""


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


@pytest.fixture
def sns_signer(sns_keys) -> SnsSigner:
    (key, _), _ = sns_keys
    return SnsSigner(key)
