"""Mailgun Messages API: ``POST /v3/<domain>/messages`` (multipart form), basic auth ``api:KEY``.

No batching: Mailgun's batch sending shares one body across recipients and personalises it
only through ``%recipient.var%`` substitution, so it cannot carry a fully rendered message per
recipient. Every message is its own request, ``concurrency`` in flight. Extra headers go as
``h:<Name>``; tags as ``v:<name>`` user variables, which Mailgun returns in every webhook.
Files go as ``attachment`` parts; an inline image as an ``inline`` part whose file name is its
Content-ID (Mailgun's rule: the HTML says ``cid:<file name>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import formataddr
from typing import Any, ClassVar
from urllib.parse import quote

from mailer.providers.base import (
    ConfigField,
    HttpProvider,
    HttpResponse,
    OutboundMessage,
    SendResult,
)
from mailer.providers.http import FilePart, encode_multipart

ENDPOINTS = {"us": "https://api.mailgun.net", "eu": "https://api.eu.mailgun.net"}


def _address(email: str, name: str | None) -> str:
    return formataddr((name, email), charset="utf-8") if name else email


class MailgunProvider(HttpProvider):
    name = "mailgun"
    label = "Mailgun"
    max_batch = 100
    default_endpoint = ENDPOINTS["us"]
    FIELDS: ClassVar[list[ConfigField]] = [
        ConfigField(
            "api_key",
            "API key",
            secret=True,
            required=True,
            help="Mailgun: Account settings > API keys (a sending key is enough).",
        ),
        ConfigField(
            "domain",
            "Sending domain",
            required=True,
            help="The domain as set up in Mailgun, e.g. mg.example.com.",
        ),
        ConfigField(
            "region",
            "Region",
            default="us",
            choices=(("us", "US (api.mailgun.net)"), ("eu", "EU (api.eu.mailgun.net)")),
            help="Where the domain was created in Mailgun.",
        ),
        ConfigField(
            "webhook_signing_key",
            "HTTP webhook signing key",
            secret=True,
            help="Mailgun: Sending > Webhooks > HTTP webhook signing key. Feedback is refused "
            "without it.",
        ),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.auth = ("api", self._secrets["api_key"])
        self.url = f"{self.base_url}/v3/{quote(self.settings['domain'], safe='')}/messages"

    def _default_endpoint(self) -> str:
        return ENDPOINTS[self.settings["region"]]

    @staticmethod
    def _fields(m: OutboundMessage) -> list[tuple[str, str | FilePart]]:
        fields: list[tuple[str, str | FilePart]] = [
            ("from", _address(m.from_email, m.from_name)),
            ("to", _address(m.to, m.to_name)),
            ("subject", m.subject),
        ]
        fields += [("to", _address(a, n)) for a, n in m.also_to]
        fields += [("cc", _address(a, n)) for a, n in m.cc]
        fields += [("bcc", _address(a, n)) for a, n in m.bcc]
        if m.text is not None:
            fields.append(("text", m.text))
        if m.html is not None:
            fields.append(("html", m.html))
        if m.reply_to:
            fields.append(("h:Reply-To", _address(m.reply_to, m.reply_to_name)))
        fields += [(f"h:{name}", value) for name, value in m.headers.items()]
        fields += [(f"v:{name}", str(value)) for name, value in m.tags.items()]
        for a in m.attachments:  # Mailgun names an inline part's Content-ID by its file name
            if a.content_id:
                fields.append(("inline", FilePart(a.content_id, a.content_type, a.content)))
            else:
                fields.append(("attachment", FilePart(a.filename, a.content_type, a.content)))
        return fields

    def _call(self, batch: Sequence[OutboundMessage]) -> dict[str, Any]:
        # multipart/form-data fields, as documented.
        body, content_type = encode_multipart(self._fields(batch[0]))
        return {"url": self.url, "data": body, "content_type": content_type}

    def _results(self, batch: Sequence[OutboundMessage], resp: HttpResponse) -> list[SendResult]:
        if not resp.ok:
            return self._error_results(batch, resp)
        try:
            body = resp.json()
        except ValueError:
            body = {}
        [m] = batch
        return [
            SendResult(
                ref=m.ref,
                ok=True,
                provider_message_id=body.get("id") if isinstance(body, dict) else None,
                status_code=resp.status_code,
            )
        ]
