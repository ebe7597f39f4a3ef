"""Test sends: an email filled with sample data, sent now to a few addresses through one
channel and sender, with each provider's answer in plain words (campaigns and templates)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _

from mailer.engine import delivery, rendering
from mailer.lib import branding
from mailer.lib.emails import InvalidEmail, normalize_email
from mailer.lib.errors import ValidationError
from mailer.models import Channel, Identity
from mailer.services import channels as channels_service

MAX_ADDRESSES = 5


@dataclass(frozen=True)
class TestAnswer:
    to: str
    ok: bool
    message: str


def addresses(text: str, field: str = "test_to") -> list[str]:
    """Up to MAX_ADDRESSES valid addresses from what was typed, or ValidationError on ``field``."""
    parts = [p for p in re.split(r"[,;\s]+", text or "") if p]
    if not parts:
        raise ValidationError(
            {field: _("Enter up to %(max)s addresses, separated by commas.", max=MAX_ADDRESSES)}
        )
    if len(parts) > MAX_ADDRESSES:
        raise ValidationError(
            {
                field: _(
                    "At most %(max)s addresses (%(given)s given).",
                    max=MAX_ADDRESSES,
                    given=len(parts),
                )
            }
        )
    out = []
    for part in parts:
        try:
            out.append(normalize_email(part))
        except InvalidEmail as exc:
            raise ValidationError(
                {
                    field: _(
                        "“%(address)s” is not a valid address: %(reason)s.",
                        address=part,
                        reason=_(exc.reason),
                    )
                }
            ) from None
    return list(dict.fromkeys(out))


def send(
    channel: Channel,
    identity: Identity,
    to: list[str],
    content: tuple[str, str, str | None],
    *,
    name: str | None = None,
    tags: dict[str, str] | None = None,
    language: str = "en",
    field: str = "test_to",
) -> list[TestAnswer]:
    """Render ``content`` (subject, html, text) with sample data and send it to ``to``."""
    subject, html, text = content
    try:
        email = rendering.compile_email(subject, html or "", text, name=name).render(
            rendering.sample_context(postal_address=branding.load().address)
        )
    except (rendering.TemplateSyntaxProblem, rendering.RenderError) as exc:
        raise ValidationError(
            {field: _("The email cannot be rendered: %(problem)s.", problem=exc)}
        ) from None
    label = channels_service.provider_label(channel.provider)
    with force_locale(language):  # an email Mailer writes: in its sender's language
        prefix = _("[Test]")
    messages = [
        delivery.compose(
            identity,
            str(i),
            address,
            f"{prefix} {email.subject}",
            email.html,
            email.text,
            tags={"test": "1", **(tags or {})},
        )
        for i, address in enumerate(to)
    ]
    answers = []
    for answer in delivery.send_now(channel, messages):
        if answer.ok:
            pmid = answer.provider_message_id
            message = (
                _("Accepted by %(provider)s (message id %(id)s).", provider=label, id=pmid)
                if pmid
                else _("Accepted by %(provider)s.", provider=label)
            )
            answers.append(TestAnswer(answer.to, True, message))
        else:
            answers.append(TestAnswer(answer.to, False, answer.explanation))
    return answers
