"""Amazon SES through boto3's ``sesv2`` client: ``send_email`` with Raw content (attachments
and inline images travel inside the MIME; Cc and Bcc also in ``Destination``).

No batching: SESv2 ``SendBulkEmail`` only sends a stored template with per-destination
replacement data, not one fully rendered message per recipient; so one ``SendEmail`` per
message, ``concurrency`` in flight on one thread-safe client whose connection pool has the
same size. The raw MIME comes from :mod:`mailer.providers.mime`; tags go as ``EmailTags``
(SES puts them in its bounce/complaint/delivery notifications) and the configuration set, when
set, routes those notifications. boto3's own retries are off: the caller retries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    HTTPClientError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from mailer.providers.base import (
    ConfigField,
    OutboundMessage,
    Provider,
    ProviderError,
    SendResult,
    parse_retry_after,
    short,
)
from mailer.providers.mime import render

_TAG_JUNK = re.compile(r"[^A-Za-z0-9_-]")
# Error codes worth retrying even though SES answers them with HTTP 400.
TRANSIENT_CODES = frozenset(
    {"TooManyRequestsException", "LimitExceededException", "Throttling", "ThrottlingException"}
)


def ses_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    """EmailTags: names and values may hold only ASCII letters, digits, _ and -, 256 max."""
    out = []
    for key, value in tags.items():
        name = _TAG_JUNK.sub("_", str(key))[:256]
        val = _TAG_JUNK.sub("_", str(value))[:256]
        if name and val:
            out.append({"Name": name, "Value": val})
    return out


def _destination(m: OutboundMessage) -> dict[str, list[str]]:
    """Who gets the raw message: the Bcc recipients are here only, never in its headers."""
    if not (m.also_to or m.cc or m.bcc):
        return {"ToAddresses": [m.to]}
    out = {"ToAddresses": [m.to, *(a for a, _ in m.also_to)]}
    if m.cc:
        out["CcAddresses"] = [a for a, _ in m.cc]
    if m.bcc:
        out["BccAddresses"] = [a for a, _ in m.bcc]
    return out


class SesProvider(Provider):
    name = "ses"
    label = "Amazon SES"
    max_batch = 100
    FIELDS: ClassVar[list[ConfigField]] = [
        ConfigField(
            "region",
            "AWS region",
            required=True,
            default="us-east-1",
            help="Where your SES identities are verified, e.g. eu-west-1.",
        ),
        ConfigField(
            "access_key_id",
            "Access key ID",
            help="An IAM user's key with ses:SendEmail. Leave both keys empty to use the "
            "server's own AWS role or environment.",
        ),
        ConfigField("secret_access_key", "Secret access key", secret=True),
        ConfigField(
            "configuration_set",
            "Configuration set",
            help="Optional; its event destination (SNS/SQS) reports bounces and complaints.",
        ),
        # Feedback (read by mailer.engine.feedback, not by sending).
        ConfigField(
            "sns_topic_arns",
            "SNS topic ARN(s) for feedback",
            help="The topic(s) SES publishes bounces, complaints and deliveries to; the "
            "webhook confirms and accepts only these. Separate several with spaces.",
        ),
        ConfigField(
            "sqs_queue_url",
            "SQS queue URL for feedback",
            help="Optional, instead of the webhook: a queue subscribed to the topic above, "
            "read every 10 s with the keys above (sqs:ReceiveMessage, sqs:DeleteMessage).",
        ),
        ConfigField(
            "sqs_endpoint_url",
            "SQS endpoint URL",
            help="Leave empty for AWS; for an SQS-compatible server only.",
        ),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        key_id = self.settings.get("access_key_id")
        secret = self._secrets.get("secret_access_key")
        if bool(key_id) != bool(secret):
            raise ProviderError(
                "Amazon SES channel settings: give both the access key ID and the secret "
                "access key, or neither."
            )
        # Imported here: boto3 takes ~0.3 s to import and only SES channels need it.
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            region_name=self.settings["region"],
        )
        self.client = session.client(
            "sesv2",
            endpoint_url=self.endpoint_url,
            config=Config(
                connect_timeout=self.timeout,
                read_timeout=self.timeout,
                max_pool_connections=self.concurrency,
                retries={"mode": "standard", "total_max_attempts": 1},
            ),
        )

    def __repr__(self) -> str:
        return (
            f"<SesProvider region={self.settings['region']!r} endpoint={self.endpoint_url!r} "
            f"concurrency={self.concurrency}>"
        )

    def close(self) -> None:
        self.client.close()
        super().close()

    def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        return self._map(self._send_one, messages)

    def _send_one(self, m: OutboundMessage) -> SendResult:
        try:
            data, _ = render(m)
        except ValueError as exc:
            return SendResult(ref=m.ref, ok=False, error=f"The message is not valid: {exc}.")
        kwargs: dict[str, Any] = {
            "FromEmailAddress": m.from_email,
            "Destination": _destination(m),
            "Content": {"Raw": {"Data": data}},
        }
        if self.settings.get("configuration_set"):
            kwargs["ConfigurationSetName"] = self.settings["configuration_set"]
        tags = ses_tags(m.tags)
        if tags:
            kwargs["EmailTags"] = tags
        try:
            resp = self.client.send_email(**kwargs)
        except ClientError as exc:
            return self._client_error(m, exc)
        except (ConnectTimeoutError, ReadTimeoutError):
            return SendResult(ref=m.ref, ok=False, error=self._timeout_text(), transient=True)
        except BotoCoreError as exc:
            # Connection failures are worth a retry; a missing credential or a bad parameter
            # will fail the same way next time.
            transient = isinstance(exc, BotoConnectionError | HTTPClientError)
            text = self._connection_text(exc) if transient else f"{self.label}: {exc}"
            return SendResult(ref=m.ref, ok=False, error=text, transient=transient)
        return SendResult(
            ref=m.ref,
            ok=True,
            provider_message_id=resp.get("MessageId"),
            status_code=resp.get("ResponseMetadata", {}).get("HTTPStatusCode"),
        )

    def _client_error(self, m: OutboundMessage, exc: ClientError) -> SendResult:
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        status = int(meta.get("HTTPStatusCode") or 400)
        code = str(error.get("Code") or "")
        detail = short(f"{error.get('Message', '')} ({code})" if code else error.get("Message"))
        text, transient = self._http_error_text(status, detail)
        if code in TRANSIENT_CODES and not transient:
            text = f"{self.label} sending quota or rate reached; will retry. {detail}"
            transient = True
        retry_after = None
        if transient:
            headers = meta.get("HTTPHeaders") or {}
            retry_after = parse_retry_after(headers.get("retry-after"))
        return SendResult(
            ref=m.ref,
            ok=False,
            error=text,
            transient=transient,
            retry_after=retry_after,
            status_code=status,
        )
