"""A Mailgun-like ``POST /v3/<domain>/messages`` endpoint (Messages API, form fields).

Checks basic auth ``api:<key>``, the domain, and the documented form fields (``from``, ``to``,
``subject``, one of ``text``/``html``). Answers 200 ``{"id": "<...@domain>", "message":
"Queued. Thank you."}``; errors as ``{"message": ...}`` (401 is a plain ``Forbidden``).
"""

from __future__ import annotations

import time
import uuid
from email.utils import getaddresses
from typing import Any

from tests.servers.http_base import ProviderServer, Received, Reply, basic_auth

MESSAGES = {
    400: "Bad request",
    402: "Request failed",
    404: "Not found",
    429: "Too many requests",
}


class MailgunServer(ProviderServer):
    name = "mailgun"

    def __init__(
        self, api_key: str = "key-test", domain: str = "mg.example.com", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key
        self.domain = domain

    def error_reply(self, status: int, retry_after: str | None = None) -> Reply:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        if status == 401:
            return Reply(401, "Forbidden", headers)
        return Reply(status, {"message": MESSAGES.get(status, "Internal Server Error")}, headers)

    def handle(self, req: Received) -> Reply:
        parts = req.path.strip("/").split("/")
        if req.method != "POST" or len(parts) != 3 or parts[0] != "v3" or parts[2] != "messages":
            return Reply(404, {"message": "Not Found"})
        if basic_auth(req.headers) != ("api", self.api_key):
            return self.error_reply(401)
        if parts[1] != self.domain:
            return Reply(404, {"message": f"Domain not found: {parts[1]}"})
        if req.form is None:
            return Reply(400, {"message": "expected a form (multipart/form-data)"})
        for name in ("from", "to", "subject"):
            if not req.field(name):
                return Reply(400, {"message": f"'{name}' parameter is missing"})
        if not (req.field("text") or req.field("html")):
            return Reply(
                400, {"message": "Need at least one of 'text', 'html' or 'template' parameters"}
            )
        recipients = [addr for _, addr in getaddresses(req.form["to"])]
        for addr in recipients:
            if "@" not in addr:
                return Reply(400, {"message": "'to' parameter is not a valid address."})
            status = self.rejected.get(addr.lower())
            if status:
                return Reply(status, {"message": "'to' parameter is not a valid address."})
        self.accepted += len(recipients)
        stamp = time.strftime("%Y%m%d%H%M%S")
        return Reply(
            200,
            {"id": f"<{stamp}.{uuid.uuid4().hex}@{self.domain}>", "message": "Queued. Thank you."},
        )
