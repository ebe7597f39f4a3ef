"""Brevo (ex-Sendinblue) transactional API: ``POST /v3/smtp/email`` with the ``api-key`` header.

Messages that only differ in what a ``messageVersions`` entry can carry share one call
(``BrevoProvider._group``); the tags travel in Brevo's ``X-Mailin-custom`` header. Files go in
``attachment`` ({content, name}); Brevo's API documents no Content-ID field, so an inline
image goes as a file of that name and clients may list it with the attachments.
"""

from __future__ import annotations

import base64
import html as html_lib
from collections.abc import Sequence
from typing import Any, ClassVar

from mailer.providers.base import (
    ConfigField,
    HttpProvider,
    HttpResponse,
    OutboundMessage,
    SendResult,
    parse_retry_after,
)
from mailer.providers.http import compact_json

MAX_VERSIONS = 1000  # documented limit of message versions per call
# The tags as JSON in this header: Brevo echoes it in its webhooks (the send token).
CUSTOM_HEADER = "X-Mailin-custom"


def _contact(email: str, name: str | None) -> dict[str, str]:
    return {"email": email, "name": name} if name else {"email": email}


def _html_of(msg: OutboundMessage) -> str:
    # htmlContent is documented as required without a template: wrap a text-only message.
    if msg.html is not None:
        return msg.html
    return f"<pre>{html_lib.escape(msg.text or '')}</pre>"


class BrevoProvider(HttpProvider):
    name = "brevo"
    label = "Brevo"
    max_batch = 200
    default_endpoint = "https://api.brevo.com/v3"
    FIELDS: ClassVar[list[ConfigField]] = [
        ConfigField(
            "api_key",
            "API key",
            secret=True,
            required=True,
            help="Brevo: SMTP & API > API keys (starts with xkeysib-).",
        ),
        ConfigField(
            "webhook_bearer_token",
            "Webhook bearer token",
            secret=True,
            help="The token the transactional webhook sends (Authorization: Bearer). Or set "
            "a user name and password below for basic auth.",
        ),
        ConfigField("webhook_username", "Webhook user name", help="For basic auth instead."),
        ConfigField("webhook_password", "Webhook password", secret=True),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers["api-key"] = self._secrets["api_key"]
        self.url = f"{self.base_url}/smtp/email"

    def _group(self, messages: Sequence[OutboundMessage]) -> list[list[int]]:
        """Messages that may share one call, at most ``MAX_VERSIONS`` (1000) a call.

        Brevo's ``messageVersions`` carry a per-version recipient, subject, htmlContent,
        textContent and replyTo but *not* headers or tags, which stay per request. So messages
        are grouped by everything a version can not override (``_shared_key``: sender, headers,
        tags, which body parts exist); each group of two or more goes out as one
        ``messageVersions`` call, the rest one call per message. Campaign mail with a
        per-recipient List-Unsubscribe header or token therefore goes out one call per message,
        concurrently.
        """
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, m in enumerate(messages):
            groups.setdefault(self._shared_key(m), []).append(i)
        return [
            idxs[start : start + MAX_VERSIONS]
            for idxs in groups.values()
            for start in range(0, len(idxs), MAX_VERSIONS)
        ]

    @staticmethod
    def _shared_key(m: OutboundMessage) -> tuple[Any, ...]:
        """What a message version can not override: equal keys may share one call."""
        return (
            m.from_email,
            m.from_name,
            tuple(sorted(m.headers.items())),
            tuple(sorted(m.tags.items())),
            m.text is None,
            m.html is None,
            m.reply_to is None,
            # recipients beyond one and files are per request: such a message goes alone
            m.ref if (m.also_to or m.cc or m.bcc or m.attachments) else None,
        )

    def _payload(self, batch: Sequence[OutboundMessage]) -> dict[str, Any]:
        first = batch[0]
        payload: dict[str, Any] = {
            "sender": _contact(first.from_email, first.from_name),
            "subject": first.subject,
            "htmlContent": _html_of(first),
        }
        if first.text is not None:
            payload["textContent"] = first.text
        headers = dict(first.headers)
        if first.tags:
            headers[CUSTOM_HEADER] = compact_json(first.tags)
        if headers:
            payload["headers"] = headers
        if len(batch) == 1:
            payload["to"] = [_contact(first.to, first.to_name)]
            if first.reply_to:
                payload["replyTo"] = _contact(first.reply_to, first.reply_to_name)
            if first.also_to:
                payload["to"] += [_contact(a, n) for a, n in first.also_to]
            if first.cc:
                payload["cc"] = [_contact(a, n) for a, n in first.cc]
            if first.bcc:
                payload["bcc"] = [_contact(a, n) for a, n in first.bcc]
            if first.attachments:
                payload["attachment"] = [
                    {"content": base64.b64encode(a.content).decode("ascii"), "name": a.filename}
                    for a in first.attachments
                ]
            return payload
        versions = []
        for m in batch:
            version: dict[str, Any] = {
                "to": [_contact(m.to, m.to_name)],
                "subject": m.subject,
                "htmlContent": _html_of(m),
            }
            if m.text is not None:
                version["textContent"] = m.text
            if m.reply_to:
                version["replyTo"] = {"email": m.reply_to}
            versions.append(version)
        payload["messageVersions"] = versions
        return payload

    def _call(self, batch: Sequence[OutboundMessage]) -> dict[str, Any]:
        return {"url": self.url, "json": self._payload(batch)}

    def _results(self, batch: Sequence[OutboundMessage], resp: HttpResponse) -> list[SendResult]:
        if not resp.ok:
            return self._error_results(batch, resp)
        try:
            body = resp.json()
        except ValueError:
            body = {}
        ids = body.get("messageIds") if isinstance(body, dict) else None
        if not isinstance(ids, list) or len(ids) != len(batch):
            single = body.get("messageId") if isinstance(body, dict) else None
            ids = [single if len(batch) == 1 else None] * len(batch)
        return [
            SendResult(ref=m.ref, ok=True, provider_message_id=mid, status_code=resp.status_code)
            for m, mid in zip(batch, ids, strict=True)
        ]

    def _error_detail(self, resp: HttpResponse) -> str:
        try:
            body = resp.json()
        except ValueError:
            return resp.text
        if isinstance(body, dict) and body.get("message"):
            code = f" ({body['code']})" if body.get("code") else ""
            return f"{body['message']}{code}"
        return resp.text

    def _retry_after(self, resp: HttpResponse) -> float | None:
        # Brevo documents x-sib-ratelimit-reset (seconds until the window resets).
        return parse_retry_after(resp.headers.get("Retry-After")) or parse_retry_after(
            resp.headers.get("x-sib-ratelimit-reset")
        )
