"""Pytest fixtures for the local provider servers.

Import the ones you need into a conftest.py (``from tests.servers.fixtures import
brevo_server``); each starts a fresh server for the test and stops it afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import (
    BrevoServer,
    MailgunServer,
    MailjetServer,
    SendGridServer,
    SesServer,
    SmtpSink,
)


@pytest.fixture
def brevo_server() -> Iterator[BrevoServer]:
    with BrevoServer() as server:
        yield server


@pytest.fixture
def sendgrid_server() -> Iterator[SendGridServer]:
    with SendGridServer() as server:
        yield server


@pytest.fixture
def mailgun_server() -> Iterator[MailgunServer]:
    with MailgunServer() as server:
        yield server


@pytest.fixture
def mailjet_server() -> Iterator[MailjetServer]:
    with MailjetServer() as server:
        yield server


@pytest.fixture
def ses_server() -> Iterator[SesServer]:
    with SesServer() as server:
        yield server


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink
