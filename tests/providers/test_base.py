"""The contract around the adapters: configuration schema, registry, Retry-After parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailer.providers import (
    ConfigField,
    Provider,
    ProviderError,
    SendResult,
    make_provider,
    register,
    registry,
)
from mailer.providers.base import parse_retry_after

ADAPTERS = ("smtp", "ses", "brevo", "sendgrid", "mailgun", "mailjet")


def test_registry_lists_every_adapter():
    assert set(registry) >= set(ADAPTERS)  # the app registers its sandbox on top
    for name in ADAPTERS:
        cls = registry[name]
        assert cls.name == name
        assert cls.label and cls.max_batch > 0 and cls.FIELDS


@pytest.mark.parametrize(
    ("provider", "secrets"),
    [
        ("brevo", {"api_key", "webhook_bearer_token", "webhook_password"}),
        ("sendgrid", {"api_key"}),  # the webhook verification key is a public key
        ("mailgun", {"api_key", "webhook_signing_key"}),
        ("mailjet", {"secret_key", "webhook_password"}),  # its api_key is the public half
        ("ses", {"secret_access_key"}),
        ("smtp", {"password"}),
    ],
)
def test_credentials_are_marked_secret(provider, secrets):
    """Exactly the credentials are secret: encrypted at rest and never echoed back."""
    assert {f.name for f in registry[provider].FIELDS if f.secret} == secrets


def test_unknown_provider():
    with pytest.raises(ProviderError, match="Unknown provider 'postal'"):
        make_provider("postal", {}, {})


def test_register_extends_the_registry():
    class Echo(Provider):
        name = "echo-test"
        label = "Echo"
        max_batch = 10
        FIELDS = [ConfigField("greeting", "Greeting", default="hi")]

        def send_batch(self, messages):
            return [SendResult(ref=m.ref, ok=True, provider_message_id=m.ref) for m in messages]

    try:
        assert register(Echo) is Echo
        with make_provider("echo-test", {}, {}) as provider:
            assert provider.settings["greeting"] == "hi"
            assert provider.send_batch([]) == []
    finally:
        registry.pop("echo-test", None)


def test_settings_are_coerced_and_checked():
    cls = registry["smtp"]
    settings, secrets = cls.clean_config(
        {"host": " mail.example.com ", "port": "2525", "verify_tls": "off", "extra": 1},
        {"password": "pw"},
    )
    assert settings["host"] == "mail.example.com"
    assert settings["port"] == 2525
    assert settings["verify_tls"] is False
    assert settings["security"] == "starttls"  # default
    assert settings["extra"] == 1  # unknown keys pass through
    assert secrets == {"password": "pw"}


def test_problems_are_all_named_without_values():
    with pytest.raises(ProviderError) as err:
        registry["smtp"].clean_config(
            {"port": "abc", "security": "tls13", "verify_tls": "maybe"},
            {"password": "hunter2-secret"},
        )
    text = str(err.value)
    for expected in (
        "Host is required",
        "Port must be a whole number",
        "Encryption must be one of",
        "Verify the server certificate must be",
    ):
        assert expected in text
    assert "hunter2" not in text


def test_secret_given_as_a_plain_setting_is_ignored():
    with pytest.raises(ProviderError, match="API key is required"):
        make_provider("brevo", {"api_key": "xkeysib-in-the-wrong-place"}, {})


def test_endpoint_must_be_http():
    with pytest.raises(ProviderError, match="https://"):
        make_provider("brevo", {}, {"api_key": "k"}, endpoint_url="ftp://example.com")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),
        ("Wed, 21 Oct 2015 07:26:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value, expected):
    now = datetime(2015, 10, 21, 7, 27, tzinfo=UTC).timestamp()
    assert parse_retry_after(value, now=now) == expected
