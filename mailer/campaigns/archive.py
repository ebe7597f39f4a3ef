"""The public archive: campaigns marked public, once launched, rendered for a sample person
(sample values, no tracking: no open pixel, links left as written), newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from mailer.engine.rendering import (
    RenderError,
    TemplateSyntaxProblem,
    compile_email,
    content,
    sample_context,
)
from mailer.extensions import db
from mailer.models import Campaign, CampaignStatus

# Launched campaigns only: a public draft stays private until it goes out.
SHOWN = (
    CampaignStatus.RUNNING.value,
    CampaignStatus.PAUSED.value,
    CampaignStatus.COMPLETED.value,
)


@dataclass(frozen=True)
class Entry:
    id: int
    subject: str
    sent_at: datetime


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    page: int
    pages: int

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass(frozen=True)
class Issue:
    id: int
    subject: str
    sent_at: datetime
    html: str
    text: str


def _when():
    return func.coalesce(Campaign.started_at, Campaign.created_at)


def _public():
    return select(Campaign).where(Campaign.public.is_(True), Campaign.status.in_(SHOWN))


def per_page() -> int:
    return max(1, int(current_app.config["MAILER_ARCHIVE_PER_PAGE"]))


def page(number: int = 1) -> Page:
    size = per_page()
    total = db.session.scalar(select(func.count()).select_from(_public().subquery())) or 0
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    campaigns = db.session.scalars(
        _public()
        .order_by(_when().desc(), Campaign.id.desc())
        .limit(size)
        .offset((number - 1) * size)
    ).all()
    return Page([_entry(c) for c in campaigns], number, pages)


def _entry(campaign: Campaign) -> Entry:
    """The subject as the sample person reads it (only the subject is rendered here)."""
    try:
        compiled = compile_email(campaign.subject, "", None, name=campaign.name)
        subject = compiled.render(_context()).subject
    except (RenderError, TemplateSyntaxProblem):
        subject = campaign.subject
    return Entry(campaign.id, subject, campaign.started_at or campaign.created_at)


def _context() -> dict:
    context = sample_context()
    context.update(unsubscribe_url="#", preferences_url="#", view_online_url="#")
    return context


def issue(campaign_id: int) -> Issue | None:
    """A public campaign as the archive shows it; None when it is not (or no longer) public."""
    campaign = db.session.scalar(_public().where(Campaign.id == campaign_id))
    return render(campaign) if campaign is not None else None


def issues(limit: int) -> list[Issue]:
    """The newest public campaigns, rendered (the feed)."""
    campaigns = db.session.scalars(
        _public().order_by(_when().desc(), Campaign.id.desc()).limit(limit)
    ).all()
    return [i for i in (render(c) for c in campaigns) if i is not None]


def render(campaign: Campaign) -> Issue | None:
    """The campaign for a sample person: sample names and attributes, and recipient links
    that lead nowhere (the archive reader is no recipient)."""
    html, text = content.launched_body(campaign)
    try:
        compiled = compile_email(campaign.subject, html or "", text or None, name=campaign.name)
        rendered = compiled.render(_context())
    except (RenderError, TemplateSyntaxProblem):
        return None
    when = campaign.started_at or campaign.created_at
    return Issue(campaign.id, rendered.subject, when, rendered.html, rendered.text or "")


def set_public(campaign: Campaign, public: bool) -> None:
    campaign.public = public
    db.session.commit()
