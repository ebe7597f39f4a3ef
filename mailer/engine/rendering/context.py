"""The variables a template sees: one recipient's, or believable sample data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from mailer.engine.rendering.sandbox import SAFE_GLOBALS

BASE_VARIABLES: frozenset[str] = frozenset(
    {
        "email",
        "first_name",
        "last_name",
        "name",
        "unsubscribe_url",
        "view_online_url",
        "preferences_url",
        "postal_address",
        "attributes",
    }
)
SAMPLE_ADDRESS = "Example Ltd\n1 Sample Street\n1000 Lisbon"


class PostalAddress(str):
    """The sender's postal address (branding): one line per line in HTML, commas in text."""

    __slots__ = ("lines",)

    def __new__(cls, address: str) -> PostalAddress:
        lines = [line.strip() for line in (address or "").splitlines() if line.strip()]
        value = super().__new__(cls, ", ".join(lines))
        value.lines = lines
        return value

    def __html__(self) -> Markup:
        return Markup("<br>").join(escape(line) for line in self.lines)


def recipient_context(
    email: str,
    first_name: str | None = None,
    last_name: str | None = None,
    name: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    unsubscribe_url: str = "",
    view_online_url: str = "",
    preferences_url: str = "",
    postal_address: str = "",
) -> dict[str, Any]:
    """Template variables for one recipient: attributes are also top-level names, but base
    variables and template globals win on a clash so `{{ email }}` can never be spoofed."""
    attrs = {k: v for k, v in (attributes or {}).items() if isinstance(k, str)}
    context: dict[str, Any] = {k: v for k, v in attrs.items() if k not in SAFE_GLOBALS}
    first, last = first_name or "", last_name or ""
    context.update(
        email=email,
        first_name=first,
        last_name=last,
        name=name or " ".join(part for part in (first, last) if part),
        attributes=attrs,
        unsubscribe_url=unsubscribe_url,
        view_online_url=view_online_url,
        preferences_url=preferences_url,
        postal_address=postal_address,
    )
    return context


def sample_context(
    attributes: Mapping[str, Any] | None = None, postal_address: str = ""
) -> dict[str, Any]:
    """Believable data for previews and test sends (the branding's ``postal_address`` when
    given, else a sample one)."""
    attrs: dict[str, Any] = {"company": "Example Ltd", "city": "Lisbon", "plan": "Pro"}
    attrs.update(attributes or {})
    return recipient_context(
        email="jane.doe@example.com",
        first_name="Jane",
        last_name="Doe",
        attributes=attrs,
        unsubscribe_url="https://example.com/unsubscribe/sample-token",
        view_online_url="https://example.com/view/sample-token",
        preferences_url="https://example.com/preferences/sample-token",
        postal_address=PostalAddress(postal_address or SAMPLE_ADDRESS),
    )
