"""A Brevo-like ``POST /v3/smtp/email`` endpoint (transactional email API).

Checks the ``api-key`` header and the documented body: ``sender``, then either ``to`` with
``subject`` and ``htmlContent``, or ``messageVersions`` (at most 1000, each with 1-99
recipients, 2000 in all). Answers 201 ``{"messageId": ...}`` or ``{"messageIds": [...]}`` (one
per version); errors as ``{"code": ..., "message": ...}``, 429 with the
``x-sib-ratelimit-*`` headers. Doubles as the benchmark sink (``latency``, ``record=False``).
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.servers.http_base import ProviderServer, Received, Reply

ERROR_CODES = {
    400: ("invalid_parameter", "Invalid parameter"),
    401: ("unauthorized", "Key not found"),
    402: ("not_enough_credits", "Not enough credits"),
    403: ("permission_denied", "Permission denied"),
    404: ("document_not_found", "Not found"),
    429: ("too_many_requests", "Too many requests"),
}


def _message_id() -> str:
    return f"<{uuid.uuid4().hex}@smtp-relay.mailin.fr>"


def _error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"code": code, "message": message})


class BrevoServer(ProviderServer):
    name = "brevo"

    def __init__(self, api_key: str = "xkeysib-test", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key

    @property
    def endpoint_url(self) -> str:
        return f"{self.url}/v3"

    def error_reply(self, status: int, retry_after: str | None = None) -> Reply:
        code, message = ERROR_CODES.get(status, ("internal_error", "Internal server error"))
        reply = _error(status, code, message)
        if status == 429:
            reply.headers.update(
                {
                    "x-sib-ratelimit-limit": "1000",
                    "x-sib-ratelimit-remaining": "0",
                    "x-sib-ratelimit-reset": retry_after or "1",
                }
            )
        if retry_after is not None:
            reply.headers["Retry-After"] = retry_after
        return reply

    def handle(self, req: Received) -> Reply:
        if req.method != "POST" or req.path != "/v3/smtp/email":
            return _error(404, "document_not_found", "Invalid URL")
        if req.headers.get("api-key") != self.api_key:
            return self.error_reply(401)
        body = req.json
        if not isinstance(body, dict):
            return _error(400, "bad_request", "Input must be a valid JSON object")
        sender = body.get("sender")
        if not isinstance(sender, dict) or not sender.get("email"):
            return _error(400, "missing_parameter", "sender is missing")
        versions = body.get("messageVersions")
        if versions is not None:
            return self._versions(body, versions)
        to = body.get("to")
        if not isinstance(to, list) or not to or not all(isinstance(t, dict) for t in to):
            return _error(400, "missing_parameter", "to is missing")
        if not body.get("subject"):
            return _error(400, "missing_parameter", "subject is missing")
        if not body.get("htmlContent"):
            return _error(400, "missing_parameter", "htmlContent is missing")
        for field in ("cc", "bcc"):
            extra = body.get(field, [])
            if not isinstance(extra, list) or not all(isinstance(t, dict) for t in extra):
                return _error(400, "invalid_parameter", f"{field} must be a list of objects")
            to = [*to, *extra]
        bad = self._bad_recipient(to)
        if bad:
            return bad
        for item in body.get("attachment") or []:  # documented: {url} or {content, name}
            if not isinstance(item, dict) or not (item.get("url") or item.get("content")):
                return _error(400, "invalid_parameter", "attachment needs url or content")
            if item.get("content") and not item.get("name"):
                return _error(400, "missing_parameter", "attachment name is missing")
        self.accepted += 1
        return Reply(201, {"messageId": _message_id()})

    def _versions(self, body: dict[str, Any], versions: Any) -> Reply:
        if not isinstance(versions, list) or not versions:
            return _error(400, "invalid_parameter", "messageVersions must be a non-empty list")
        if len(versions) > 1000:
            return _error(400, "invalid_parameter", "messageVersions is limited to 1000 versions")
        total = 0
        for i, version in enumerate(versions):
            to = version.get("to") if isinstance(version, dict) else None
            if not isinstance(to, list) or not to:
                return _error(400, "missing_parameter", f"messageVersions[{i}].to is missing")
            if len(to) > 99:
                return _error(400, "invalid_parameter", "at most 99 recipients per version")
            if not (version.get("subject") or body.get("subject")):
                return _error(400, "missing_parameter", "subject is missing")
            if not (version.get("htmlContent") or body.get("htmlContent")):
                return _error(400, "missing_parameter", "htmlContent is missing")
            bad = self._bad_recipient(to)
            if bad:
                return bad
            total += len(to)
        if total > 2000:
            return _error(400, "invalid_parameter", "at most 2000 recipients per request")
        self.accepted += len(versions)
        return Reply(201, {"messageIds": [_message_id() for _ in versions]})

    def _bad_recipient(self, to: list[Any]) -> Reply | None:
        for t in to:
            email = str(t.get("email", "")) if isinstance(t, dict) else ""
            if not email or "@" not in email:
                return _error(400, "invalid_parameter", "email is not valid in to")
            status = self.rejected.get(email.lower())
            if status == 400:
                return _error(400, "invalid_parameter", f"email is not valid in to: {email}")
            if status:
                return self.error_reply(status)
        return None
