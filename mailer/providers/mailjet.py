"""Mailjet Send API v3.1: ``POST /v3.1/send``, basic auth with the API key and secret key.

Batching fits: each entry of ``Messages`` is a complete message (own recipient, subject, text,
HTML, headers, CustomID, EventPayload), up to 50 per call, and the response carries a status
per message in the same order, so one bad address fails only its own message. A call of 50
at a time, ``concurrency`` calls in flight. CustomID carries our ref and EventPayload the tags
(JSON); Mailjet echoes both in every event webhook. Files go in ``Attachments``, images the
HTML shows by ``cid:`` in ``InlinedAttachments`` (with their ``ContentID``).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, ClassVar

from mailer.providers.base import (
    Attachment,
    ConfigField,
    HttpProvider,
    HttpResponse,
    OutboundMessage,
    SendResult,
    short,
)
from mailer.providers.http import compact_json

MESSAGES_PER_CALL = 50  # documented limit of Send API v3.1


def _contact(email: str, name: str | None) -> dict[str, str]:
    return {"Email": email, "Name": name} if name else {"Email": email}


def _file(a: Attachment) -> dict[str, str]:
    out = {
        "ContentType": a.content_type,
        "Filename": a.filename,
        "Base64Content": base64.b64encode(a.content).decode("ascii"),
    }
    if a.content_id:
        out["ContentID"] = a.content_id
    return out


class MailjetProvider(HttpProvider):
    name = "mailjet"
    label = "Mailjet"
    max_batch = 200
    default_endpoint = "https://api.mailjet.com"
    FIELDS: ClassVar[list[ConfigField]] = [
        ConfigField(
            "api_key",
            "API key",
            required=True,
            help="Mailjet: Account settings > API Key Management (the public key).",
        ),
        ConfigField(
            "secret_key",
            "Secret key",
            secret=True,
            required=True,
            help="The private key shown next to the API key.",
        ),
        ConfigField(
            "webhook_username",
            "Event webhook user name",
            help="Choose one; it goes in the event callback URL (user:password@host).",
        ),
        ConfigField(
            "webhook_password",
            "Event webhook password",
            secret=True,
            help="Choose a long random one. Feedback is refused without user and password.",
        ),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.auth = (self.settings["api_key"], self._secrets["secret_key"])
        self.url = f"{self.base_url}/v3.1/send"

    def _group(self, messages: Sequence[OutboundMessage]) -> list[list[int]]:
        n = len(messages)
        return [
            list(range(s, min(n, s + MESSAGES_PER_CALL))) for s in range(0, n, MESSAGES_PER_CALL)
        ]

    @staticmethod
    def _message(m: OutboundMessage) -> dict[str, Any]:
        out: dict[str, Any] = {
            "From": _contact(m.from_email, m.from_name),
            "To": [_contact(m.to, m.to_name)],
            "Subject": m.subject,
            "CustomID": m.ref,
        }
        if m.text is not None:
            out["TextPart"] = m.text
        if m.html is not None:
            out["HTMLPart"] = m.html
        if m.also_to:
            out["To"] += [_contact(a, n) for a, n in m.also_to]
        if m.cc:
            out["Cc"] = [_contact(a, n) for a, n in m.cc]
        if m.bcc:
            out["Bcc"] = [_contact(a, n) for a, n in m.bcc]
        if m.reply_to:
            out["ReplyTo"] = _contact(m.reply_to, m.reply_to_name)
        if m.attachments:
            files = [_file(a) for a in m.attachments if not a.content_id]
            inline = [_file(a) for a in m.attachments if a.content_id]
            if files:
                out["Attachments"] = files
            if inline:
                out["InlinedAttachments"] = inline
        if m.headers:
            out["Headers"] = dict(m.headers)
        if m.tags:
            out["EventPayload"] = compact_json(m.tags)
        return out

    def _call(self, batch: Sequence[OutboundMessage]) -> dict[str, Any]:
        return {"url": self.url, "json": {"Messages": [self._message(m) for m in batch]}}

    def _results(self, batch: Sequence[OutboundMessage], resp: HttpResponse) -> list[SendResult]:
        try:
            body = resp.json()
        except ValueError:
            body = None
        entries = body.get("Messages") if isinstance(body, dict) else None
        if not isinstance(entries, list) or len(entries) != len(batch):
            if not resp.ok:
                return self._error_results(batch, resp)
            # Accepted, but no per-message detail we can read: count them as sent.
            return [SendResult(ref=m.ref, ok=True, status_code=resp.status_code) for m in batch]
        return [self._entry_result(m, e, resp) for m, e in zip(batch, entries, strict=True)]

    def _entry_result(self, m: OutboundMessage, entry: Any, resp: HttpResponse) -> SendResult:
        entry = entry if isinstance(entry, dict) else {}
        if entry.get("Status") == "success":
            to = entry.get("To")
            first = to[0] if isinstance(to, list) and to and isinstance(to[0], dict) else {}
            # The numeric MessageID: every event carries it (Message_GUID, the UUID, not always).
            mid = first.get("MessageID") or first.get("MessageUUID")
            return SendResult(
                ref=m.ref,
                ok=True,
                provider_message_id=str(mid) if mid is not None else None,
                status_code=resp.status_code,
            )
        errors = entry.get("Errors")
        errors = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
        # The worst per-error status decides: one 5xx among them makes the message retryable.
        status = max([_status(e.get("StatusCode"), resp.status_code) for e in errors], default=0)
        status = status or resp.status_code
        detail = "; ".join(
            f"{e.get('ErrorMessage', '')} ({e.get('ErrorCode', '')})".strip() for e in errors
        )
        text, transient = self._http_error_text(status, detail or short(resp.text))
        return SendResult(
            ref=m.ref,
            ok=False,
            error=text,
            transient=transient,
            retry_after=self._retry_after(resp) if transient else None,
            status_code=status,
        )


def _status(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
