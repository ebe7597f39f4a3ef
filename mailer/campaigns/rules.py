"""Campaign rules shared by the campaign pages and the API (campaign documents): what a
campaign sends and the checks on it, its channel rows, and why it cannot launch yet.

Each check raises ValidationError with a message per field, named as the page's inputs are
(the API maps them to its document's fields).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import format_number, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mailer.campaigns import audience, localtime
from mailer.engine import rendering
from mailer.engine.rendering import checks
from mailer.engine.rendering.checks import has_unsubscribe_link
from mailer.engine.rendering.content import content_of
from mailer.extensions import db
from mailer.lib.dbutil import MAX_INT, parse_id
from mailer.lib.errors import ValidationError
from mailer.models import (
    Campaign,
    CampaignChannel,
    CampaignStatus,
    Channel,
    Editor,
    Identity,
    Template,
)
from mailer.services import lists as lists_service
from mailer.services import templates as templates_service

S = CampaignStatus
EDITABLE = {S.DRAFT, S.PROCESSING, S.SCHEDULED}
NAME_MAX = 200
SUBJECT_MAX = 500
FREQUENCY_MAX = 7 * 24 * 60  # minutes: one email a week
LOOPS_MAX = 32  # loops (worker processes) sending one channel row at once


# ------------------------------------------------------------------ content


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def syntax_problems(
    subject: str, html: str, text: str | None
) -> list[rendering.TemplateSyntaxProblem]:
    """Every field's first syntax problem (compile_email stops at the first field)."""
    problems = []
    try:
        rendering.compile_email(subject, "", None)
    except rendering.TemplateSyntaxProblem as exc:
        problems.append(exc)
    try:
        rendering.compile_email("", html, text)
    except rendering.TemplateSyntaxProblem as exc:
        problems.append(exc)
    return problems


NO_UNSUBSCRIBE = _l(checks.NO_UNSUBSCRIBE, variable="{{ unsubscribe_url }}")


def content_warnings(subject: str, html: str, text: str | None) -> list[str]:
    """What does not block saving: unknown variables, a failing sample render. (A missing
    unsubscribe link blocks the launch; step 2 shows it, see `content_summary`.)"""
    warnings: list[str] = []
    unknown = rendering.unknown_variables(subject, html, text, lists_service.attribute_names())
    if unknown:
        warnings.append(
            ngettext(
                "Unknown variable: %(names)s. No subscriber has such an attribute yet, "
                "so it will render empty.",
                "Unknown variables: %(names)s. No subscriber has such an attribute yet, "
                "so they will render empty.",
                len(unknown),
                names=", ".join(unknown),
            )
        )
    try:
        rendering.compile_email(subject, html, text).render(rendering.sample_context())
    except rendering.RenderError as exc:
        warnings.append(_("With sample data the email does not render: %(problem)s", problem=exc))
    except rendering.TemplateSyntaxProblem:
        pass
    return warnings


def own_design(campaign: Campaign | None) -> bool:
    """Is the campaign's email designed for it in the editor (visual or MJML), not pasted?"""
    return bool(campaign and campaign.editor != Editor.HTML.value and campaign.source)


def clean_step1(form: Mapping[str, str], campaign: Campaign | None = None) -> dict[str, Any]:
    """Step 1 as typed. With ``action=design`` the email may come later, from the editor; a
    campaign whose email is designed in the editor keeps it unless a template or HTML is
    given instead."""
    errors: dict[str, str] = {}
    later = form.get("action") == "design" or own_design(campaign)
    name = (form.get("name") or "").strip()
    subject = (form.get("subject") or "").strip()
    html = form.get("html") or ""
    if not name:
        errors["name"] = _("Give the campaign a name (only your team sees it).")
    elif len(name) > NAME_MAX:
        errors["name"] = _("Use at most %(num)s characters.", num=NAME_MAX)
    if not subject:
        errors["subject"] = _("Write a subject line, or choose a template that has one.")
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = _("Use at most %(num)s characters.", num=SUBJECT_MAX)

    template: Template | None = None
    raw_template = (form.get("template_id") or "").strip()
    if raw_template:
        template_id = parse_id(raw_template)
        template = db.session.get(Template, template_id) if template_id else None
        if template is None:
            errors["template_id"] = _("This template no longer exists: choose another one.")
    if template is not None and html.strip():
        errors["html"] = _(
            "Use either the template chosen above or HTML pasted here, not both: "
            "clear this box, or choose “No template”."
        )
    elif raw_template == "" and not html.strip() and not later:
        errors["template_id"] = _("Choose a template from the library, or paste HTML below.")
        errors["html"] = _("Paste the HTML of this campaign, or choose a template above.")

    if not errors:
        body, text = (template.html, template.text) if template else (html, None)
        for problem in syntax_problems(subject, body, text):
            where = _("line %(line)s: ", line=problem.line) if problem.line else ""
            if problem.field == "subject":
                errors["subject"] = _(
                    "Template error, %(where)s%(problem)s", where=where, problem=problem.message
                )
            elif template is not None:
                errors["template_id"] = (
                    _(
                        "The template “%(name)s” has an error in its HTML body, %(where)s"
                        "%(problem)s. Fix it in the template library.",
                        name=template.name,
                        where=where,
                        problem=problem.message,
                    )
                    if problem.field == "html"
                    else _(
                        "The template “%(name)s” has an error in its text body, %(where)s"
                        "%(problem)s. Fix it in the template library.",
                        name=template.name,
                        where=where,
                        problem=problem.message,
                    )
                )
            else:
                errors["html"] = _(
                    "Template error, %(where)s%(problem)s", where=where, problem=problem.message
                )
    if errors:
        raise ValidationError(errors)
    values = {
        "name": name,
        "subject": subject,
        "template_id": template.id if template else None,
        "html": None if template else html,
        "text": None,
        "_source": (template.html, template.text) if template else (html, None),
    }
    if html.strip():  # pasted HTML replaces a design
        values.update(editor=Editor.HTML.value, source=None, design=None)
    elif template is None and own_design(campaign):
        assert campaign is not None
        del values["html"], values["text"]  # the design's, as saved on the content page
        values["_source"] = (campaign.html or "", campaign.text)
    return values


def save_step1(
    form: Mapping[str, str], campaign: Campaign | None = None, user_id: int | None = None
) -> tuple[Campaign, list[str]]:
    """Create a draft (campaign None) or update one; returns it with warnings."""
    values = clean_step1(form, campaign)
    body, text = values.pop("_source")
    warnings = content_warnings(values["subject"], body, text)
    if campaign is None:
        campaign = Campaign(status=S.DRAFT.value, created_by_id=user_id)
        db.session.add(campaign)
    for key, value in values.items():
        setattr(campaign, key, value)
    db.session.commit()
    return campaign, warnings


def check_warnings(subject: str, html: str, text: str | None) -> list[str]:
    """The checks of an email before launch (rendering.checks), in the reader's words: a
    missing unsubscribe link refuses the launch, the others are warnings."""
    warnings = []
    for finding in checks.check_email(html, text, subject):
        if finding.kind == "unsubscribe":
            warnings.append(str(NO_UNSUBSCRIBE) + " " + _("Launching is refused until it has one."))
        else:
            warnings.append(_(finding.explanation) % finding.values)
    return warnings


def content_form(campaign: Campaign) -> dict[str, str]:
    """The content page's form: the campaign's own email, else a copy of its template's to
    start from (saving makes it the campaign's own)."""
    own = campaign.template_id is None
    source = campaign if own else db.session.get(Template, campaign.template_id)
    return {
        "subject": campaign.subject,
        "editor": source.editor if source else Editor.VISUAL.value,
        "source": (source.source if source else "") or "",
        "design": (source.design if source else "") or "",
        "html": (source.html if source else "") or "",
        "text": (source.text if source else "") or "",
    }


def save_content(campaign: Campaign, form: Mapping[str, str]) -> list[str]:
    """Make the posted email the campaign's own (no template any more); returns warnings.
    ValidationError, field by field, when it cannot be used; nothing is changed then."""
    errors: dict[str, str] = {}
    subject = (form.get("subject") or "").strip()
    if not subject:
        errors["subject"] = _("Write a subject line.")
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = _("Use at most %(num)s characters.", num=SUBJECT_MAX)
    body = templates_service.clean_body(form, errors)
    if errors:
        raise ValidationError(errors)
    warnings = templates_service.check_values({**body, "subject": subject, "name": campaign.name})
    campaign.subject = subject
    campaign.template_id = None
    for key, value in body.items():
        setattr(campaign, key, value)
    db.session.commit()
    return warnings


@dataclass(frozen=True)
class ContentSummary:
    subject: str
    template: Template | None
    source: str  # "template", "html" or "" (nothing yet)
    warnings: list[str]


def content_summary(campaign: Campaign) -> ContentSummary:
    """What the campaign sends, for the step-2 and campaign pages, with its warnings."""
    template = db.session.get(Template, campaign.template_id) if campaign.template_id else None
    subject, html, text = content_of(campaign)
    source = "template" if template else ("html" if html else "")
    if source == "html" and own_design(campaign):
        source = "design"
    warnings: list[str] = []
    if html and CampaignStatus(campaign.status) in EDITABLE:
        if syntax_problems(subject, html, text):
            warnings.append(_("The email has a template error: fix it in step 1."))
        else:
            warnings += check_warnings(subject, html, text)
    return ContentSummary(subject, template, source, warnings)


# ------------------------------------------------------------------ channel rows


@dataclass
class RowForm:
    """One channel row as typed (strings), keyed so errors find their inputs."""

    key: str
    identity_id: str = ""
    channel_id: str = ""
    frequency: str = ""
    daily_max: str = ""
    start_at: str = ""
    loops: str | None = None  # None: not asked (a kept row keeps its setting)

    def name(self, part: str) -> str:
        return f"row-{self.key}-{part}"


@dataclass
class SetupForm:
    rows: list[RowForm] = field(default_factory=list)
    scheduled_at: str = ""
    track_opens: bool = True
    track_clicks: bool = True
    test_to: str = ""


def new_row_key() -> str:
    return "n" + secrets.token_hex(4)


def blank_row() -> RowForm:
    """A new row, with the sender and channel chosen when there is only one of each."""
    row = RowForm(new_row_key())
    ids = db.session.scalars(select(Identity.id).limit(2)).all()
    channel_ids = db.session.scalars(select(Channel.id).where(Channel.active).limit(2)).all()
    if len(ids) == 1:
        row.identity_id = str(ids[0])
    if len(channel_ids) == 1:
        row.channel_id = str(channel_ids[0])
    return row


@dataclass(frozen=True)
class CleanRow:
    key: str
    identity_id: int
    channel_id: int
    frequency_minutes: float | None
    daily_max: int | None
    start_at: datetime | None
    loops: int | None = None  # None: MAILER_ROW_LOOPS
    loops_given: bool = False


@dataclass(frozen=True)
class CleanSetup:
    rows: list[CleanRow]
    scheduled_at: datetime | None
    track_opens: bool
    track_clicks: bool


def _clean_row(row: RowForm, errors: dict[str, str]) -> CleanRow | None:
    before = len(errors)
    identity_id = parse_id(row.identity_id)
    if not row.identity_id:
        errors[row.name("identity_id")] = _("Choose a sender.")
    elif identity_id is None or db.session.get(Identity, identity_id) is None:
        errors[row.name("identity_id")] = _("This sender no longer exists: choose another one.")
    channel_id = parse_id(row.channel_id)
    channel = db.session.get(Channel, channel_id) if channel_id else None
    if not row.channel_id:
        errors[row.name("channel_id")] = _("Choose a channel.")
    elif channel is None:
        errors[row.name("channel_id")] = _("This channel no longer exists: choose another one.")
    elif not channel.active:
        errors[row.name("channel_id")] = _(
            "The channel “%(name)s” is inactive: activate it or choose another one.",
            name=channel.name,
        )
    frequency = None
    if row.frequency:
        try:
            frequency = float(row.frequency.replace(",", "."))
        except ValueError:
            frequency = math.nan
        if not math.isfinite(frequency) or frequency <= 0 or frequency > FREQUENCY_MAX:
            errors[row.name("frequency")] = _(
                "Enter the minutes between two emails (a number above 0, e.g. 0.5), "
                "or leave blank for as fast as the channel allows."
            )
    daily_max = None
    if row.daily_max:
        daily_max = _int_or_none(row.daily_max)
        if daily_max is None or not 1 <= daily_max <= MAX_INT:
            errors[row.name("daily_max")] = _(
                "Enter a whole number of emails per day (1 or more, at most %(max)s), or "
                "leave blank for the channel's daily limit.",
                max=format_number(MAX_INT),
            )
    loops = None
    if row.loops:
        loops = _int_or_none(row.loops)
        if loops is None or not 1 <= loops <= LOOPS_MAX:
            errors[row.name("loops")] = _(
                "Enter how many workers may send with this channel at once (1 to %(max)s), "
                "or leave it empty for the default.",
                max=LOOPS_MAX,
            )
    start_at = localtime.future_time(
        row.start_at, errors, row.name("start_at"), _("This start time")
    )
    if len(errors) > before:
        return None
    assert identity_id is not None and channel_id is not None
    return CleanRow(
        row.key,
        identity_id,
        channel_id,
        frequency,
        daily_max,
        start_at,
        loops=loops,
        loops_given=row.loops is not None,
    )


def clean_setup(setup: SetupForm) -> CleanSetup:
    """Check the step-2 form; ValidationError with every field's problem."""
    errors: dict[str, str] = {}
    if not setup.rows:
        errors["rows"] = _("Add at least one sending channel.")
    rows = [_clean_row(row, errors) for row in setup.rows]
    scheduled_at = localtime.future_time(setup.scheduled_at, errors, "scheduled_at", _("This date"))
    if errors:
        raise ValidationError(errors)
    return CleanSetup(
        rows=[r for r in rows if r is not None],
        scheduled_at=scheduled_at,
        track_opens=setup.track_opens,
        track_clicks=setup.track_clicks,
    )


def save_setup(campaign: Campaign, clean: CleanSetup) -> None:
    """Replace the campaign's channel rows (kept rows keep their id) and options."""
    existing = {f"r{row.id}": row for row in campaign.channels}
    kept: set[int] = set()
    for position, values in enumerate(clean.rows):
        row = existing.get(values.key)
        if row is None:
            row = CampaignChannel(campaign_id=campaign.id)
            db.session.add(row)
        else:
            kept.add(row.id)
        row.position = position
        row.identity_id = values.identity_id
        row.channel_id = values.channel_id
        row.frequency_minutes = values.frequency_minutes
        row.daily_max = values.daily_max
        row.start_at = values.start_at
        if values.loops_given:
            row.loops = values.loops
    for row in existing.values():
        if row.id not in kept:
            db.session.delete(row)
    campaign.scheduled_at = clean.scheduled_at
    campaign.track_opens = clean.track_opens
    campaign.track_clicks = clean.track_clicks
    db.session.commit()
    db.session.expire(campaign, ["channels", "audiences"])


# ------------------------------------------------------------------ launching


def launch_problems(campaign: Campaign) -> dict[str, str]:
    """Why the campaign cannot launch yet, by the part of the page to fix: empty if none."""
    errors: dict[str, str] = {}
    subject, html, text = content_of(campaign)
    if not html:
        errors["content"] = _("The campaign has no email body: choose a template or paste HTML.")
    else:
        problems = syntax_problems(subject, html, text)
        if problems:
            errors["content"] = "; ".join(str(p) for p in problems) + "."
        elif not has_unsubscribe_link(subject, html, text):
            errors["content"] = str(NO_UNSUBSCRIBE)
    if not campaign.channels:
        errors["rows"] = _("Add at least one sending channel.")
    else:
        for row in campaign.channels:
            channel = db.session.get(Channel, row.channel_id)
            if channel is None or not channel.active:
                errors["rows"] = _(
                    "A sending channel is inactive: activate it or choose another one."
                )
    view = audience.audience_view(campaign)
    if not view.entries:
        errors["audience"] = _("Add at least one list, or upload a contact file.")
    elif view.failed:
        names = ", ".join(f"“{i.filename}”" for i in view.failed)
        errors["audience"] = _(
            "The upload %(names)s could not be imported: see its report, then remove the list "
            "or upload a corrected file.",
            names=names,
        )
    elif view.waiting:
        names = ", ".join(f"“{i.filename}”" for i in view.waiting)
        errors["audience"] = _(
            "Match the columns of the uploaded file %(names)s, or cancel it, before launching.",
            names=names,
        )
    elif any(i.campaign_id != campaign.id for i in view.pending):
        errors["audience"] = _(
            "A list in the audience is still importing a file: launch when it has finished."
        )
    elif not view.pending and view.estimate.recipients == 0:
        errors["audience"] = _(
            "Nobody to send to: the audience has no recipient left (%(num)s left out).",
            num=format_number(view.estimate.excluded),
        )
    return errors
