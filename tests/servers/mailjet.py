"""A Mailjet-like ``POST /v3.1/send`` endpoint (Send API v3.1).

Checks basic auth (API key : secret key) and the documented body: ``Messages`` (1-50), each
with ``From.Email``, ``To`` and a ``TextPart`` or ``HTMLPart``. Answers per message, in order:
``{"Status": "success", "CustomID", "To": [{"Email", "MessageUUID", "MessageID",
"MessageHref"}]}`` or ``{"Status": "error", "Errors": [{"ErrorIdentifier", "ErrorCode",
"StatusCode", "ErrorMessage", "ErrorRelatedTo"}]}``; the HTTP status is 200 when all
succeeded, 400 otherwise (the good messages are still sent). Whole-request errors are
``{"ErrorIdentifier", "StatusCode", "ErrorMessage"}``.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from tests.servers.http_base import ProviderServer, Received, Reply, basic_auth

MESSAGES = {
    400: "Bad request",
    401: (
        "API key authentication/authorization failure. You may be unauthorized to access the "
        "API or your API key may be expired. Visit API keys management section to check your "
        "keys."
    ),
    403: "Forbidden",
    429: "Too many requests",
}


def _request_error(status: int, message: str) -> Reply:
    return Reply(
        status,
        {"ErrorIdentifier": str(uuid.uuid4()), "StatusCode": status, "ErrorMessage": message},
    )


def _message_error(status: int, code: str, message: str, related: str) -> dict[str, Any]:
    return {
        "Status": "error",
        "Errors": [
            {
                "ErrorIdentifier": str(uuid.uuid4()),
                "ErrorCode": code,
                "StatusCode": status,
                "ErrorMessage": message,
                "ErrorRelatedTo": [related],
            }
        ],
    }


class MailjetServer(ProviderServer):
    name = "mailjet"

    def __init__(
        self, api_key: str = "mj-public", secret_key: str = "mj-secret", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key
        self.secret_key = secret_key

    def error_reply(self, status: int, retry_after: str | None = None) -> Reply:
        reply = _request_error(status, MESSAGES.get(status, "Internal Server Error"))
        if retry_after is not None:
            reply.headers["Retry-After"] = retry_after
        return reply

    def handle(self, req: Received) -> Reply:
        if req.method != "POST" or req.path != "/v3.1/send":
            return _request_error(404, "Object not found")
        if basic_auth(req.headers) != (self.api_key, self.secret_key):
            return self.error_reply(401)
        messages = req.json.get("Messages") if isinstance(req.json, dict) else None
        if not isinstance(messages, list) or not messages:
            return _request_error(400, "Messages must be a non-empty array")
        if len(messages) > 50:
            return _request_error(400, "At most 50 messages can be sent in one call")
        results = [self._one(i, m) for i, m in enumerate(messages)]
        ok = all(r["Status"] == "success" for r in results)
        self.accepted += sum(r["Status"] == "success" for r in results)
        return Reply(200 if ok else 400, {"Messages": results})

    def _one(self, i: int, m: Any) -> dict[str, Any]:
        if not isinstance(m, dict):
            return _message_error(400, "mj-0001", "Message must be an object", f"Messages[{i}]")
        sender = m.get("From")
        if not isinstance(sender, dict) or not sender.get("Email"):
            return _message_error(400, "mj-0013", "From.Email is mandatory", "From")
        to = m.get("To")
        if not isinstance(to, list) or not to:
            return _message_error(400, "mj-0004", "At least one recipient is required", "To")
        if not (m.get("TextPart") or m.get("HTMLPart") or m.get("TemplateID")):
            return _message_error(
                400, "mj-0003", "Missing TextPart, HTMLPart or TemplateID", "TextPart"
            )
        for field, needed in (
            ("Attachments", ("ContentType", "Filename", "Base64Content")),
            ("InlinedAttachments", ("ContentType", "Filename", "Base64Content", "ContentID")),
        ):
            for k, item in enumerate(m.get(field) or []):
                missing = [n for n in needed if not (isinstance(item, dict) and item.get(n))]
                if missing:
                    message = f"{field}[{k}].{missing[0]} is mandatory"
                    return _message_error(400, "mj-0003", message, f"{field}[{k}]")
        out = []
        for j, t in enumerate([*to, *(m.get("Cc") or []), *(m.get("Bcc") or [])]):
            email = str(t.get("Email", "")) if isinstance(t, dict) else ""
            status = self.rejected.get(email.lower()) or (0 if "@" in email else 400)
            if status:
                message = f'"{email}" is an invalid email address.'
                return _message_error(status, "mj-0013", message, f"To[{j}].Email")
            mid = random.randrange(10**15, 10**17)
            out.append(
                {
                    "Email": email,
                    "MessageUUID": str(uuid.uuid4()),
                    "MessageID": mid,
                    "MessageHref": f"https://api.mailjet.com/v3/REST/message/{mid}",
                }
            )
        return {
            "Status": "success",
            "CustomID": m.get("CustomID", ""),
            "To": out,
            "Cc": [],
            "Bcc": [],
        }
