"""What a campaign sends: its subject with the HTML and text of its template or of its copy.

A campaign names a template (or holds pasted HTML); launching it copies the template into the
campaign, so editing the template later does not change a running send. An audience entry
(campaign documents) may bring a template of its own, copied the same way when it is created.
"""

from __future__ import annotations

from typing import NamedTuple

from mailer.extensions import db
from mailer.models import Campaign, Template


class Body(NamedTuple):
    html: str | None
    text: str | None


class Content(NamedTuple):
    subject: str
    html: str | None
    text: str | None


def template_body(template_id: int | None) -> Body | None:
    """A template's current HTML and text; None when there is no such template."""
    template = db.session.get(Template, template_id) if template_id else None
    return Body(template.html, template.text) if template is not None else None


def content_of(campaign: Campaign) -> Content:
    """(subject, html, text) the campaign sends as it stands: its template's current content
    (what a launch copies), else its own pasted HTML."""
    body = template_body(campaign.template_id)
    if body is not None:
        return Content(campaign.subject, body.html, body.text)
    return Content(campaign.subject, campaign.html, campaign.text)


def launched_body(campaign: Campaign) -> Body:
    """The body a launched campaign renders: the copy taken at launch, else its template's."""
    if not campaign.html and campaign.template_id:
        body = template_body(campaign.template_id)
        if body is not None:
            return body
    return Body(campaign.html, campaign.text)


def audience_contents(campaign: Campaign) -> dict[int, Body]:
    """(html, text) of each audience entry with a template of its own, by audience id: the
    copy taken when the campaign was created, else the template's current content."""
    out: dict[int, Body] = {}
    for audience in campaign.audiences:
        if audience.html:
            out[audience.id] = Body(audience.html, audience.text)
        elif audience.template_id:
            body = template_body(audience.template_id)
            if body is not None:
                out[audience.id] = body
    return out


def body_for(campaign: Campaign, audience_id: int | None) -> Body:
    """What one send renders: its audience entry's own body, else the campaign's."""
    own = audience_contents(campaign).get(audience_id) if audience_id is not None else None
    return own or launched_body(campaign)
