"""Sending providers behind one interface; see :mod:`mailer.providers.base` for the contract.

``registry`` maps a channel's provider name to its class; ``make_provider`` builds one from a
channel's settings and decrypted secrets; ``register`` adds a provider defined elsewhere (the
database-backed ``sandbox``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from mailer.providers.base import (
    ConfigField,
    OutboundMessage,
    Provider,
    ProviderError,
    SendResult,
)
from mailer.providers.brevo import BrevoProvider
from mailer.providers.mailgun import MailgunProvider
from mailer.providers.mailjet import MailjetProvider
from mailer.providers.sendgrid import SendGridProvider
from mailer.providers.ses import SesProvider
from mailer.providers.smtp import SmtpProvider

__all__ = [
    "ConfigField",
    "OutboundMessage",
    "Provider",
    "ProviderError",
    "SendResult",
    "make_provider",
    "register",
    "registry",
]

P = TypeVar("P", bound=type[Provider])

registry: dict[str, type[Provider]] = {
    cls.name: cls
    for cls in (
        SmtpProvider,
        SesProvider,
        BrevoProvider,
        SendGridProvider,
        MailgunProvider,
        MailjetProvider,
    )
}


def register(cls: P) -> P:
    """Add a provider class to the registry; usable as a class decorator, as the sandbox does
    (``@register`` above ``class SandboxProvider(Provider)`` with ``name = "sandbox"``)."""
    registry[cls.name] = cls
    return cls


def make_provider(
    provider_name: str,
    settings: Mapping[str, Any],
    secrets: Mapping[str, Any],
    endpoint_url: str | None = None,
    **kw: Any,
) -> Provider:
    """Build the provider for a channel; ProviderError when the name or settings are wrong."""
    try:
        cls = registry[provider_name]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise ProviderError(f"Unknown provider {provider_name!r} (known: {known}).") from None
    return cls(settings, secrets, endpoint_url=endpoint_url, **kw)
