"""Mail rendered again as its recipient got it (without tracking): the view-online page, and
the proof that an unsigned click link of older mail was written into that mail."""

from __future__ import annotations

from collections import OrderedDict

from flask import current_app
from sqlalchemy import select

from mailer.engine.rendering import (
    CompiledEmail,
    RenderedEmail,
    RenderError,
    compile_email,
    content,
    recipient_context,
)
from mailer.engine.rendering.context import PostalAddress
from mailer.engine.rendering.message import message_content
from mailer.engine.tracking.links import Instrumenter, preferences_url, unsubscribe_url
from mailer.extensions import db
from mailer.lib import branding, tokens
from mailer.models import Campaign, Send, Subscriber, Template
from mailer.models.campaigns import Message


def render_online(send_id: int) -> str | None:
    """The email as this recipient got it (without tracking), or None for an unknown send."""
    rendered = render_send(send_id)
    return None if rendered is None else rendered.html


def urls_of_send(send_id: int) -> set[str]:
    """The trackable URLs of the send's message as rendered again now (empty when it no
    longer renders)."""
    try:
        rendered = render_send(send_id)
    except RenderError:
        return set()
    if rendered is None:
        return set()
    base = current_app.config["PUBLIC_BASE_URL"]
    finder = Instrumenter(0, base, opens=False, clicks=True, links={})
    return finder.urls_in(rendered.html, rendered.text)


def render_send(send_id: int) -> RenderedEmail | None:
    """The send's message rendered again with its recipient's data and its audience's
    content, without tracking (a RenderedEmail), or None for an unknown send."""
    row = db.session.execute(
        select(
            Send.id,
            Send.email,
            Send.campaign_id,
            Send.audience_id,
            Subscriber.first_name,
            Subscriber.last_name,
            Subscriber.name,
            Subscriber.attributes,
        )
        .outerjoin(Subscriber, Subscriber.id == Send.subscriber_id)
        .where(Send.id == send_id)
    ).first()
    if row is None:
        return None
    campaign = db.session.get(Campaign, row.campaign_id)
    if campaign is None:
        return None
    compiled = _compiled_content(campaign, row.audience_id)
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    token = tokens.make(tokens.CAMPAIGN_SEND, row.id)
    context = recipient_context(
        row.email,
        row.first_name,
        row.last_name,
        row.name,
        row.attributes or {},
        unsubscribe_url=unsubscribe_url(base, token),
        view_online_url=f"{base}/v/{token}",
        preferences_url=preferences_url(base, token),
        postal_address=PostalAddress(branding.load().address),
    )
    return compiled.render(context)


def _compiled_content(campaign: Campaign, audience_id: int | None) -> CompiledEmail:
    """The campaign's content for an audience (its own template, else the campaign's), as
    the send loop compiles it, kept for a few campaigns."""
    cache: OrderedDict = current_app.extensions.setdefault("mailer_online_cache", OrderedDict())
    key = (campaign.id, campaign.created_at, campaign.updated_at, audience_id)
    compiled = cache.get(key)
    if compiled is None:
        html, text = content.body_for(campaign, audience_id)
        compiled = cache[key] = compile_email(campaign.subject, html or "", text or None)
        while len(cache) > 8:
            cache.popitem(last=False)
    return compiled


def urls_of_message(message_id: int) -> set[str]:
    """The trackable URLs of a message as sent: its own HTML and text, or its template rendered
    again with its variables when the template has not changed since (else none: unprovable)."""
    row = db.session.execute(
        select(
            Message.to_email,
            Message.subject,
            Message.payload,
            Message.template_id,
            Message.sent_at,
            Message.claimed_at,
        ).where(Message.id == message_id)
    ).first()
    if row is None:
        return set()
    payload = row.payload or {}
    templates = {}
    if row.template_id is not None:
        template = db.session.get(Template, row.template_id)
        sent = row.sent_at or row.claimed_at
        if template is None or sent is None or template.updated_at > sent:
            return set()
        templates[template.id] = template
    try:
        _, html, text = message_content(row, payload, templates, {})
    except (RenderError, LookupError):
        return set()
    finder = Instrumenter(
        0, current_app.config["PUBLIC_BASE_URL"], opens=False, clicks=True, links={}
    )
    return finder.urls_in(html, text)
