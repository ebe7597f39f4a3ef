"""The sandbox provider: "sends" by keeping each message whole in the local Outbox.

Lets anyone try Mailer without a provider account: campaigns and test sends run through the
real pipeline, and the Outbox page shows exactly what would have gone out (raw MIME included).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from sqlalchemy import insert

from mailer.extensions import db
from mailer.models import OutboxMessage
from mailer.models.base import utcnow
from mailer.providers import register
from mailer.providers.base import ConfigField, OutboundMessage, Provider, SendResult
from mailer.providers.mime import render

SUBJECT_MAX = 500

log = logging.getLogger(__name__)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@register
class SandboxProvider(Provider):
    name = "sandbox"
    label = "Sandbox (local outbox)"
    max_batch = 500
    FIELDS: ClassVar[list[ConfigField]] = []

    def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Store the batch as Outbox rows: one bulk INSERT on a connection of its own
        (``db.engine.begin()``), so they are committed whatever the caller later does with its
        session, and the caller's pending work is never committed by us. Needs an app context
        (the worker has one). The channel id comes from ``settings["channel_id"]`` (set by
        :func:`mailer.engine.delivery.build_provider`), the campaign from ``tags["campaign"]``.
        """
        channel_id = _int_or_none(self.settings.get("channel_id"))
        results: list[SendResult] = []
        rows: list[dict[str, Any]] = []
        now = utcnow()
        for m in messages:
            try:
                data, message_id = render(m)
            except ValueError as exc:
                results.append(
                    SendResult(ref=m.ref, ok=False, error=f"The message is not valid: {exc}.")
                )
                continue
            rows.append(
                {
                    "channel_id": channel_id,
                    "campaign_id": _int_or_none(m.tags.get("campaign")),
                    "to_email": m.to,
                    "subject": m.subject[:SUBJECT_MAX],
                    "message_id": message_id,
                    "raw": data.decode("utf-8"),  # exactly the bytes a relay would get
                    "created_at": now,
                }
            )
            results.append(SendResult(ref=m.ref, ok=True, provider_message_id=message_id))
        if rows:
            try:
                with db.engine.begin() as conn:
                    conn.execute(insert(OutboxMessage), rows)
            except Exception as exc:  # a database hiccup: nothing stored, try again later
                log.warning(
                    "Sandbox could not store %d messages: %s", len(rows), type(exc).__name__
                )
                text = (
                    f"The sandbox could not store the messages ({type(exc).__name__}); will retry."
                )
                return [
                    r if not r.ok else SendResult(ref=r.ref, ok=False, error=text, transient=True)
                    for r in results
                ]
        return results
