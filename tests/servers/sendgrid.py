"""A SendGrid-like ``POST /v3/mail/send`` endpoint (v3 Mail Send).

Checks ``Authorization: Bearer <key>`` and the documented body: ``personalizations`` (1-1000,
each with ``to``), ``from``, a subject (top level or in every personalization), ``content``
with text/plain first, string ``custom_args``. Answers 202 with an empty body and an
``X-Message-Id`` header; errors as ``{"errors": [{"message", "field", "help"}]}``, 429 with the
``X-RateLimit-*`` headers.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from tests.servers.http_base import ProviderServer, Received, Reply

MESSAGES = {
    400: "Bad Request",
    401: "The provided authorization grant is invalid, expired, or revoked",
    403: "access forbidden",
    413: "The JSON payload you have included in your request is too large.",
    429: "too many requests",
}


def _errors(status: int, message: str, field: str | None = None) -> Reply:
    return Reply(status, {"errors": [{"message": message, "field": field, "help": None}]})


class SendGridServer(ProviderServer):
    name = "sendgrid"

    def __init__(self, api_key: str = "SG.test-key", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key

    def error_reply(self, status: int, retry_after: str | None = None) -> Reply:
        reply = _errors(status, MESSAGES.get(status, "Internal Server Error"))
        if status == 429:
            reply.headers.update(
                {
                    "X-RateLimit-Limit": "600",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(time.time()) + int(float(retry_after or 1))),
                }
            )
        if retry_after is not None:
            reply.headers["Retry-After"] = retry_after
        return reply

    def handle(self, req: Received) -> Reply:
        if req.method != "POST" or req.path != "/v3/mail/send":
            return _errors(404, "Not Found")
        if req.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self.error_reply(401)
        body = req.json
        if not isinstance(body, dict):
            return _errors(400, "Bad Request", None)
        problem = self._check(body)
        if problem:
            return problem
        self.accepted += sum(len(p["to"]) for p in body["personalizations"])
        return Reply(202, None, {"X-Message-Id": secrets.token_urlsafe(16)})

    def _check(self, body: dict[str, Any]) -> Reply | None:
        personalizations = body.get("personalizations")
        if not isinstance(personalizations, list) or not personalizations:
            return _errors(400, "You must have at least one personalization.", "personalizations")
        if len(personalizations) > 1000:
            return _errors(400, "The personalization block is limited to 1000.", "personalizations")
        sender = body.get("from")
        if not isinstance(sender, dict) or not sender.get("email"):
            return _errors(400, "The from object must be provided for every email send.", "from")
        for i, p in enumerate(personalizations):
            to = p.get("to") if isinstance(p, dict) else None
            if not isinstance(to, list) or not to:
                field = f"personalizations.{i}.to"
                return _errors(
                    400, "The to array is required for all personalization objects.", field
                )
            for j, t in enumerate(to):
                email = str(t.get("email", "")) if isinstance(t, dict) else ""
                field = f"personalizations.{i}.to.{j}.email"
                if "@" not in email:
                    return _errors(400, "Does not contain a valid address.", field)
                status = self.rejected.get(email.lower())
                if status:
                    return _errors(status, "Does not contain a valid address.", field)
            everyone = [
                str(t.get("email", "")).lower()
                for field in ("to", "cc", "bcc")
                for t in p.get(field) or []
                if isinstance(t, dict)
            ]
            if len(set(everyone)) != len(everyone):
                return _errors(
                    400,
                    "Each email address in the personalization block should be unique "
                    "between to, cc, and bcc.",
                    f"personalizations.{i}",
                )
            if not (p.get("subject") or body.get("subject")):
                return _errors(400, "The subject is required.", "subject")
            args = p.get("custom_args") or {}
            if not all(isinstance(v, str) for v in args.values()):
                field = f"personalizations.{i}.custom_args"
                return _errors(400, "Custom args values must be strings.", field)
        content = body.get("content")
        if not isinstance(content, list) or not content:
            return _errors(
                400, "Unless a valid template_id is provided, content is required.", "content"
            )
        types = [c.get("type") if isinstance(c, dict) else None for c in content]
        if "text/plain" in types and types[0] != "text/plain":
            return _errors(
                400,
                "If present, text/plain content must be first, followed by text/html.",
                "content",
            )
        if any(not (isinstance(c, dict) and c.get("value")) for c in content):
            return _errors(
                400, "The content value must be a string at least one character long.", "content"
            )
        for k, item in enumerate(body.get("attachments") or []):
            field = f"attachments.{k}"
            if not (isinstance(item, dict) and item.get("content") and item.get("filename")):
                return _errors(400, "The attachment content and filename are required.", field)
            if item.get("disposition") == "inline" and not item.get("content_id"):
                return _errors(400, "Inline attachments need a content_id.", field)
        headers = body.get("headers") or {}
        if not all(isinstance(v, str) for v in headers.values()):
            return _errors(400, "Header values must be strings.", "headers")
        return None
