"""Twilio SendGrid v3 Mail Send: ``POST /v3/mail/send`` with ``Authorization: Bearer <key>``.

No batching: ``personalizations`` can vary recipient, subject, headers and custom_args per
recipient, but ``content`` (the bodies) is shared by the whole request, and substitutions are
capped at 10,000 bytes per personalization, far below a rendered HTML email. So every message
is its own request, ``concurrency`` of them in flight. Tags go out as ``custom_args``, which
SendGrid echoes in every event webhook; the message id comes from the ``X-Message-Id`` header.
Cc and Bcc go in the personalization, files in ``attachments`` (``disposition`` inline with a
``content_id`` for an image the HTML shows).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from mailer.providers.base import (
    Attachment,
    ConfigField,
    HttpProvider,
    HttpResponse,
    OutboundMessage,
    SendResult,
    parse_retry_after,
)

ENDPOINTS = {"global": "https://api.sendgrid.com", "eu": "https://api.eu.sendgrid.com"}


def _contact(email: str, name: str | None) -> dict[str, str]:
    return {"email": email, "name": name} if name else {"email": email}


def _attachment(a: Attachment) -> dict[str, str]:
    out = {
        "content": base64.b64encode(a.content).decode("ascii"),
        "filename": a.filename,
        "type": a.content_type,
        "disposition": "inline" if a.content_id else "attachment",
    }
    if a.content_id:
        out["content_id"] = a.content_id
    return out


class SendGridProvider(HttpProvider):
    name = "sendgrid"
    label = "SendGrid"
    max_batch = 100
    default_endpoint = ENDPOINTS["global"]
    FIELDS: ClassVar[list[ConfigField]] = [
        ConfigField(
            "api_key",
            "API key",
            secret=True,
            required=True,
            help="SendGrid: Settings > API Keys, with Mail Send permission (starts with SG.).",
        ),
        ConfigField(
            "region",
            "Data residency",
            default="global",
            choices=(("global", "Global (api.sendgrid.com)"), ("eu", "EU (api.eu.sendgrid.com)")),
            help="EU only for an EU-pinned SendGrid subuser.",
        ),
        ConfigField(
            "webhook_public_key",
            "Event Webhook verification key",
            help="SendGrid: Settings > Mail Settings > Event Webhook > Signed Event Webhook "
            "Requests: the public key (base64). Feedback is refused without it.",
        ),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers["Authorization"] = f"Bearer {self._secrets['api_key']}"
        self.url = f"{self.base_url}/v3/mail/send"

    def _default_endpoint(self) -> str:
        return ENDPOINTS[self.settings["region"]]

    @staticmethod
    def _payload(m: OutboundMessage) -> dict[str, Any]:
        personalization: dict[str, Any] = {"to": [_contact(m.to, m.to_name)]}
        if m.also_to:
            personalization["to"] += [_contact(a, n) for a, n in m.also_to]
        if m.cc:
            personalization["cc"] = [_contact(a, n) for a, n in m.cc]
        if m.bcc:
            personalization["bcc"] = [_contact(a, n) for a, n in m.bcc]
        if m.tags:
            personalization["custom_args"] = {k: str(v) for k, v in m.tags.items()}
        content = []  # text/plain must come first
        if m.text is not None:
            content.append({"type": "text/plain", "value": m.text})
        if m.html is not None:
            content.append({"type": "text/html", "value": m.html})
        payload: dict[str, Any] = {
            "personalizations": [personalization],
            "from": _contact(m.from_email, m.from_name),
            "subject": m.subject,
            "content": content,
        }
        if m.reply_to:
            payload["reply_to"] = _contact(m.reply_to, m.reply_to_name)
        if m.headers:
            payload["headers"] = dict(m.headers)
        if m.attachments:
            payload["attachments"] = [_attachment(a) for a in m.attachments]
        return payload

    def _call(self, batch: Sequence[OutboundMessage]) -> dict[str, Any]:
        return {"url": self.url, "json": self._payload(batch[0])}

    def _results(self, batch: Sequence[OutboundMessage], resp: HttpResponse) -> list[SendResult]:
        if not resp.ok:
            return self._error_results(batch, resp)
        [m] = batch
        return [
            SendResult(
                ref=m.ref,
                ok=True,
                provider_message_id=resp.headers.get("X-Message-Id"),
                status_code=resp.status_code,
            )
        ]

    def _error_detail(self, resp: HttpResponse) -> str:
        try:
            body = resp.json()
        except ValueError:
            return resp.text
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            parts = []
            for e in errors:
                if isinstance(e, dict) and e.get("message"):
                    field = f" ({e['field']})" if e.get("field") else ""
                    parts.append(f"{e['message']}{field}")
            if parts:
                return "; ".join(parts)
        return resp.text

    def _retry_after(self, resp: HttpResponse) -> float | None:
        # SendGrid documents X-RateLimit-Reset as a Unix time.
        after = parse_retry_after(resp.headers.get("Retry-After"))
        if after is not None:
            return after
        reset = resp.headers.get("X-RateLimit-Reset")
        try:
            return max(0.0, float(reset) - time.time()) if reset else None
        except ValueError:
            return None
