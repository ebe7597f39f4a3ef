"""An Amazon SES v2-like endpoint: ``POST /v2/email/outbound-emails`` (SendEmail, rest-json).

boto3's ``sesv2`` client talks to it through ``endpoint_url`` with any credentials: the server
checks that the SigV4 ``Authorization`` header names the expected access key, region and the
``ses`` service (it does not recompute the signature). Raw content is base64-decoded and kept
in ``raw_messages``. Answers 200 ``{"MessageId": ...}``; errors the rest-json way, an
``x-amzn-ErrorType`` header plus ``{"message": ...}`` (TooManyRequestsException 429,
MessageRejected 400, ...), which botocore turns into ``ClientError`` codes.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from tests.servers.http_base import ProviderServer, Received, Reply

ERRORS = {
    400: ("MessageRejected", "Email address is not verified."),
    403: ("UnrecognizedClientException", "The security token included in the request is invalid."),
    404: ("NotFoundException", "Configuration set does not exist."),
    429: ("TooManyRequestsException", "Maximum sending rate exceeded."),
    500: ("InternalFailure", "The request processing has failed because of an unknown error."),
    503: ("ServiceUnavailable", "Service is unavailable. Please try again later."),
}


def _error(status: int, code: str, message: str) -> Reply:
    return Reply(
        status,
        {"message": message},
        {"x-amzn-ErrorType": f"{code}:", "x-amzn-RequestId": str(uuid.uuid4())},
    )


class SesServer(ProviderServer):
    name = "ses"

    def __init__(
        self,
        access_key_id: str = "AKIDTESTTESTTEST",
        region: str = "eu-west-1",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.access_key_id = access_key_id
        self.region = region
        self.raw_messages: list[bytes] = []

    def error_reply(self, status: int, retry_after: str | None = None) -> Reply:
        code, message = ERRORS.get(status, ("BadRequestException", "Bad request"))
        reply = _error(status, code, message)
        if retry_after is not None:
            reply.headers["Retry-After"] = retry_after
        return reply

    def handle(self, req: Received) -> Reply:
        if req.method != "POST" or req.path != "/v2/email/outbound-emails":
            return _error(404, "NotFoundException", "Unknown operation")
        scope = f"Credential={self.access_key_id}/"
        service = f"/{self.region}/ses/aws4_request"
        auth = req.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 ") or scope not in auth or service not in auth:
            return self.error_reply(403)
        body = req.json
        if not isinstance(body, dict):
            return _error(400, "BadRequestException", "Request body must be JSON")
        raw = (body.get("Content") or {}).get("Raw") or {}
        try:
            data = base64.b64decode(raw.get("Data", ""), validate=True)
        except (binascii.Error, TypeError):
            return _error(400, "BadRequestException", "Raw.Data must be base64")
        if not data:
            return _error(400, "BadRequestException", "Content must have Raw or Simple data")
        to = ((body.get("Destination") or {}).get("ToAddresses")) or []
        for addr in to:
            status = self.rejected.get(str(addr).lower())
            if status:
                code = "MessageRejected" if status == 400 else ERRORS.get(status, ("X", ""))[0]
                return _error(status, code, f"Email address is not verified: {addr}")
        for tag in body.get("EmailTags") or []:
            name, value = str(tag.get("Name", "")), str(tag.get("Value", ""))
            if not _tag_ok(name) or not _tag_ok(value):
                return _error(400, "BadRequestException", "Invalid tag name or value")
        if self.record:
            self.raw_messages.append(data)
        self.accepted += max(1, len(to))
        return Reply(200, {"MessageId": f"0100{uuid.uuid4().hex}-000000"})


def _tag_ok(text: str) -> bool:
    return 0 < len(text) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-") for c in text)
