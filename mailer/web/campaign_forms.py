"""Campaign forms: step 1 (what), step 2 (how, to whom), duplicating, test sends, and the
figures the campaign pages show.

The lifecycle rules (which status may follow which, scheduling, launching, pausing) live in
:mod:`mailer.campaigns.lifecycle`; this module turns submitted forms into rows, says what is
wrong next to each field, and calls the lifecycle service. Dates typed in the browser are in
the configured time zone (``MAILER_TIMEZONE``) and stored as naive UTC.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import case, func, select

from mailer.campaigns import lifecycle as campaigns
from mailer.engine import rendering
from mailer.engine.imports import importer
from mailer.extensions import db
from mailer.lib.dbutil import MAX_INT, parse_id
from mailer.lib.emails import InvalidEmail, normalize_email
from mailer.lib.errors import NotAllowed, ValidationError
from mailer.models import (
    Campaign,
    CampaignAudience,
    CampaignChannel,
    CampaignStatus,
    Channel,
    Identity,
    Import,
    ImportStatus,
    MailingList,
    Segment,
    Send,
    SendStatus,
    Subscriber,
    Template,
)
from mailer.models.base import utcnow
from mailer.providers import ProviderError
from mailer.providers.base import OutboundMessage
from mailer.services import channels as channels_service
from mailer.services import lists as lists_service

S = CampaignStatus
NAME_MAX = 200
SUBJECT_MAX = 500
MAX_TEST_ADDRESSES = 5
PAGE_SIZE = 50
PAST_GRACE = timedelta(minutes=1)  # a time typed "now" is a minute old when it arrives
FREQUENCY_MAX = 7 * 24 * 60  # minutes: one email a week
ACTIVE = frozenset({S.PROCESSING, S.SCHEDULED, S.RUNNING, S.PAUSED})
FINAL = frozenset({S.COMPLETED, S.CANCELLED, S.FAILED})
UNSUBSCRIBE_SAMPLE = rendering.sample_context()["unsubscribe_url"]
PENDING_IMPORT = (ImportStatus.QUEUED.value, ImportStatus.RUNNING.value)


# ------------------------------------------------------------------ time zone


def timezone_name() -> str:
    return current_app.config.get("MAILER_TIMEZONE", "UTC") or "UTC"


def _zone() -> ZoneInfo:
    try:
        return ZoneInfo(timezone_name())
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def to_local(value: datetime | None) -> datetime | None:
    """Naive UTC from the database -> aware local time."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(_zone())


def local_input(value: datetime | None) -> str:
    """A stored naive UTC time as a datetime-local input value."""
    local = to_local(value)
    return local.strftime("%Y-%m-%dT%H:%M") if local else ""


def local_text(value: datetime | None) -> str:
    """A stored naive UTC time as the pages show it, in the configured zone."""
    local = to_local(value)
    return f"{local:%Y-%m-%d %H:%M} {timezone_name()}" if local else ""


def _parse_local(text: str) -> datetime:
    """A datetime-local value (or 'YYYY-MM-DD HH:MM') in the configured zone -> naive UTC."""
    naive = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    if naive.tzinfo is not None:
        raise ValueError("give a local time without a zone")
    return naive.replace(tzinfo=_zone()).astimezone(UTC).replace(tzinfo=None)


def _future_time(text: str, errors: dict[str, str], key: str, what: str) -> datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        when = _parse_local(text)
    except ValueError:
        errors[key] = f"Enter a date and time, e.g. 2030-06-01 09:00 ({timezone_name()})."
        return None
    if when < utcnow() - PAST_GRACE:
        errors[key] = f"{what} is in the past: choose a later time, or leave it blank."
        return None
    return when


def duration_text(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"about {hours} h {minutes:02d} min"
    return f"about {round(hours / 24)} days"


# ------------------------------------------------------------------ reading


def get_campaign(campaign_id: int) -> Campaign | None:
    return db.session.get(Campaign, campaign_id)


def is_editable(campaign: Campaign) -> bool:
    return CampaignStatus(campaign.status) in campaigns.EDITABLE


def open_for_editing(campaign: Campaign) -> bool:
    """Before a change is saved: a scheduled or processing campaign goes back to draft (it is
    launched again with "Save and launch"). True when it was unscheduled; NotAllowed when the
    campaign can no longer be edited (it started meanwhile)."""
    status = CampaignStatus(campaign.status)
    if status == S.DRAFT:
        return False
    if status not in campaigns.EDITABLE:
        raise NotAllowed(f"A {status.value} campaign cannot be edited any more: duplicate it.")
    campaigns.transition(campaign, S.DRAFT, expect=status)
    return True


def content_of(campaign: Campaign) -> tuple[str, str | None, str | None]:
    """(subject, html, text) the campaign sends: its template's, else its own pasted HTML."""
    if campaign.template_id:
        template = db.session.get(Template, campaign.template_id)
        if template is not None:
            return campaign.subject, template.html, template.text
    return campaign.subject, campaign.html, campaign.text


def templates() -> list[Template]:
    return list(db.session.scalars(select(Template).order_by(Template.name)))


def identities() -> list[Identity]:
    return list(db.session.scalars(select(Identity).order_by(Identity.name)))


def all_channels() -> list[Channel]:
    """Every channel: the row picker offers the active ones and shows a chosen inactive one."""
    return list(db.session.scalars(select(Channel).order_by(Channel.name)))


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
    warnings: list[str] = []
    if html and CampaignStatus(campaign.status) in campaigns.EDITABLE:
        if _syntax_problems(subject, html, text):
            warnings.append("The email has a template error: fix it in step 1.")
        elif not has_unsubscribe_link(subject, html, text):
            warnings.append(NO_UNSUBSCRIBE + " Launching is refused until it has one.")
    return ContentSummary(subject, template, source, warnings)


# ------------------------------------------------------------------ step 1: what


def step1_form(campaign: Campaign | None = None) -> dict[str, str]:
    if campaign is None:
        return {"name": "", "subject": "", "template_id": "", "html": ""}
    return {
        "name": campaign.name,
        "subject": campaign.subject,
        "template_id": str(campaign.template_id or ""),
        # With a template, `html` only holds the copy taken at launch: not for editing.
        "html": "" if campaign.template_id else campaign.html or "",
    }


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _syntax_problems(
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


def has_unsubscribe_link(subject: str, html: str, text: str | None) -> bool:
    """Does the email, filled with sample data, carry the recipient's unsubscribe URL?"""
    try:
        email = rendering.compile_email(subject, html, text).render(rendering.sample_context())
    except (rendering.TemplateSyntaxProblem, rendering.RenderError):
        return "unsubscribe_url" in html or "unsubscribe_url" in (text or "")
    return UNSUBSCRIBE_SAMPLE in email.html or UNSUBSCRIBE_SAMPLE in email.text


NO_UNSUBSCRIBE = (
    "The email has no {{ unsubscribe_url }} link. Add one, e.g. "
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a>: recipients must be able to leave.'
)


def content_warnings(subject: str, html: str, text: str | None) -> list[str]:
    """What does not block saving: unknown variables, a failing sample render. (A missing
    unsubscribe link blocks the launch; step 2 shows it, see `content_summary`.)"""
    warnings: list[str] = []
    unknown = rendering.unknown_variables(subject, html, text, lists_service.attribute_names())
    if unknown:
        warnings.append(
            f"Unknown variable{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            "No subscriber has such an attribute yet, so it will render empty."
        )
    try:
        rendering.compile_email(subject, html, text).render(rendering.sample_context())
    except rendering.RenderError as exc:
        warnings.append(f"With sample data the email does not render: {exc}")
    except rendering.TemplateSyntaxProblem:
        pass
    return warnings


def clean_step1(form: Mapping[str, str]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = (form.get("name") or "").strip()
    subject = (form.get("subject") or "").strip()
    html = form.get("html") or ""
    if not name:
        errors["name"] = "Give the campaign a name (only your team sees it)."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Use at most {NAME_MAX} characters."
    if not subject:
        errors["subject"] = "Write a subject line."
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = f"Use at most {SUBJECT_MAX} characters."

    template: Template | None = None
    raw_template = (form.get("template_id") or "").strip()
    if raw_template:
        template_id = parse_id(raw_template)
        template = db.session.get(Template, template_id) if template_id else None
        if template is None:
            errors["template_id"] = "This template no longer exists: choose another one."
    if template is not None and html.strip():
        errors["html"] = (
            "Use either the template chosen above or HTML pasted here, not both: "
            "clear this box, or choose “No template”."
        )
    elif raw_template == "" and not html.strip():
        errors["template_id"] = "Choose a template from the library, or paste HTML below."
        errors["html"] = "Paste the HTML of this campaign, or choose a template above."

    if not errors:
        body, text = (template.html, template.text) if template else (html, None)
        for problem in _syntax_problems(subject, body, text):
            where = f"line {problem.line}: " if problem.line else ""
            if problem.field == "subject":
                errors["subject"] = f"Template error, {where}{problem.message}"
            elif template is not None:
                part = "HTML body" if problem.field == "html" else "text body"
                errors["template_id"] = (
                    f"The template “{template.name}” has an error in its {part}, "
                    f"{where}{problem.message}. Fix it in the template library."
                )
            else:
                errors["html"] = f"Template error, {where}{problem.message}"
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "subject": subject,
        "template_id": template.id if template else None,
        "html": None if template else html,
        "text": None,
        "_source": (template.html, template.text) if template else (html, None),
    }


def save_step1(
    form: Mapping[str, str], campaign: Campaign | None = None, user_id: int | None = None
) -> tuple[Campaign, list[str]]:
    """Create a draft (campaign None) or update one; returns it with warnings."""
    values = clean_step1(form)
    body, text = values.pop("_source")
    warnings = content_warnings(values["subject"], body, text)
    if campaign is None:
        campaign = Campaign(status=S.DRAFT.value, created_by_id=user_id)
        db.session.add(campaign)
    for key, value in values.items():
        setattr(campaign, key, value)
    db.session.commit()
    return campaign, warnings


def _copy_name(name: str) -> str:
    return f"Copy of {name}"[:NAME_MAX]


def duplicate(campaign: Campaign, user_id: int | None = None) -> Campaign:
    """A new draft with the same content, audience and channel rows (never launched state)."""
    copy = Campaign(
        name=_copy_name(campaign.name),
        subject=campaign.subject,
        template_id=campaign.template_id,
        html=None if campaign.template_id else campaign.html,
        text=None if campaign.template_id else campaign.text,
        status=S.DRAFT.value,
        scheduled_at=None,
        track_opens=campaign.track_opens,
        track_clicks=campaign.track_clicks,
        created_by_id=user_id,
    )
    db.session.add(copy)
    db.session.flush()
    for audience in campaign.audiences:
        db.session.add(
            CampaignAudience(
                campaign_id=copy.id, list_id=audience.list_id, segment_id=audience.segment_id
            )
        )
    for row in campaign.channels:
        db.session.add(
            CampaignChannel(
                campaign_id=copy.id,
                channel_id=row.channel_id,
                identity_id=row.identity_id,
                position=row.position,
                frequency_minutes=row.frequency_minutes,
                daily_max=row.daily_max,
                start_at=row.start_at,
            )
        )
    db.session.commit()
    return copy


def delete(campaign: Campaign) -> None:
    """Delete a campaign; a scheduled one is unscheduled first. The lifecycle service refuses
    running and paused ones; uploads still importing must finish first (their import rows
    belong to the campaign)."""
    pending = db.session.scalar(
        select(func.count())
        .select_from(Import)
        .where(Import.campaign_id == campaign.id, Import.status.in_(PENDING_IMPORT))
    )
    if pending:
        raise NotAllowed("Its uploaded files are still importing: delete it once they are done.")
    if CampaignStatus(campaign.status) in (S.SCHEDULED, S.PROCESSING):
        open_for_editing(campaign)
    campaigns.delete_campaign(campaign)


# ------------------------------------------------------------------ step 2: audience


@dataclass(frozen=True)
class AudienceEntry:
    audience: CampaignAudience
    mailing_list: MailingList
    segment: Segment | None
    subscribers: int  # everyone on the list, before segment and suppressions


@dataclass(frozen=True)
class AudienceView:
    entries: list[AudienceEntry]
    estimate: campaigns.AudienceEstimate
    pending: list[Import]  # uploads still importing: not counted yet
    failed: list[Import]
    uploads: list[Import]

    @property
    def importing(self) -> bool:
        return bool(self.pending)


def _audience_imports(campaign: Campaign) -> list[Import]:
    """Imports of this campaign's uploads and of any list in its audience still importing."""
    list_ids = [a.list_id for a in campaign.audiences]
    condition = Import.campaign_id == campaign.id
    if list_ids:
        condition = condition | (Import.list_id.in_(list_ids) & Import.status.in_(PENDING_IMPORT))
    return list(db.session.scalars(select(Import).where(condition).order_by(Import.id)))


def audience_entries(campaign: Campaign) -> list[AudienceEntry]:
    audiences = list(campaign.audiences)
    list_ids = {a.list_id for a in audiences}
    lists = {
        m.id: m for m in db.session.scalars(select(MailingList).where(MailingList.id.in_(list_ids)))
    }
    segment_ids = {a.segment_id for a in audiences if a.segment_id}
    segments = {
        s.id: s for s in db.session.scalars(select(Segment).where(Segment.id.in_(segment_ids)))
    }
    sizes = dict(
        db.session.execute(
            select(Subscriber.list_id, func.count())
            .where(Subscriber.list_id.in_(list_ids))
            .group_by(Subscriber.list_id)
        ).all()
    )
    return [
        AudienceEntry(a, lists[a.list_id], segments.get(a.segment_id), sizes.get(a.list_id, 0))
        for a in audiences
        if a.list_id in lists
    ]


def audience_view(campaign: Campaign) -> AudienceView:
    entries = audience_entries(campaign)
    list_ids = {e.mailing_list.id for e in entries}
    imports = _audience_imports(campaign)
    pending = [i for i in imports if i.status in PENDING_IMPORT]
    # A failed upload counts until the list is removed or a later file imported into it.
    completed_after = {}
    for i in imports:
        if i.status == ImportStatus.COMPLETED.value:
            completed_after[i.list_id] = max(completed_after.get(i.list_id, 0), i.id)
    failed = [
        i
        for i in imports
        if i.status == ImportStatus.FAILED.value
        and i.list_id in list_ids
        and completed_after.get(i.list_id, 0) < i.id
    ]
    uploads = [i for i in imports if i.campaign_id == campaign.id]
    return AudienceView(entries, campaigns.estimate(campaign), pending, failed, uploads)


def list_choices() -> list[MailingList]:
    return list(db.session.scalars(select(MailingList).order_by(MailingList.name)))


def segments_of(list_id: int | None) -> list[Segment]:
    if not list_id:
        return []
    return list(
        db.session.scalars(select(Segment).filter_by(list_id=list_id).order_by(Segment.name))
    )


def all_segments() -> dict[int, list[Segment]]:
    """Segments by list id (the no-JavaScript form shows them all, grouped by list)."""
    out: dict[int, list[Segment]] = {}
    for segment in db.session.scalars(select(Segment).order_by(Segment.name)):
        out.setdefault(segment.list_id, []).append(segment)
    return out


def add_list(campaign: Campaign, list_id: Any, segment_id: Any = None) -> CampaignAudience:
    errors: dict[str, str] = {}
    mailing_list = db.session.get(MailingList, parse_id(list_id) or 0)
    if mailing_list is None:
        errors["list_id"] = "Choose a list."
    segment = None
    if str(segment_id or "").strip():
        segment = db.session.get(Segment, parse_id(segment_id) or 0)
        if segment is None or mailing_list is None or segment.list_id != mailing_list.id:
            errors["segment_id"] = "Choose a segment of the chosen list, or “Everyone”."
    if not errors:
        for audience in campaign.audiences:
            if audience.list_id == mailing_list.id and audience.segment_id == (
                segment.id if segment else None
            ):
                errors["list_id"] = "This list (with this segment) is already in the audience."
    if errors:
        raise ValidationError(errors)
    audience = CampaignAudience(
        campaign_id=campaign.id, list_id=mailing_list.id, segment_id=segment.id if segment else None
    )
    db.session.add(audience)
    db.session.commit()
    db.session.refresh(campaign)
    return audience


def remove_audience(campaign: Campaign, audience_id: int) -> bool:
    audience = db.session.get(CampaignAudience, audience_id)
    if audience is None or audience.campaign_id != campaign.id:
        return False
    db.session.delete(audience)
    db.session.commit()
    db.session.refresh(campaign)
    return True


def _upload_list(campaign: Campaign) -> MailingList:
    """The list this campaign's uploads go into: made on the first upload, reused after."""
    existing = db.session.scalar(
        select(MailingList)
        .join(Import, Import.list_id == MailingList.id)
        .where(Import.campaign_id == campaign.id, MailingList.for_campaign)
        .limit(1)
    )
    if existing is not None:
        return existing
    suffix = f" — uploads #{campaign.id}"
    name = campaign.name[: NAME_MAX - len(suffix)] + suffix
    n = 2
    while db.session.scalar(select(MailingList.id).filter_by(name=name)):
        tail = f"{suffix} ({n})"
        name = campaign.name[: NAME_MAX - len(tail)] + tail
        n += 1
    mailing_list = MailingList(
        name=name,
        description=f"Contacts uploaded for the campaign “{campaign.name}”.",
        for_campaign=True,
    )
    db.session.add(mailing_list)
    db.session.flush()
    return mailing_list


def upload(campaign: Campaign, stream, filename: str, user_id: int | None) -> Import:
    """Import an uploaded contact file into the campaign's upload list (which joins the
    audience); the import runs in a worker at once."""
    if stream is None or not filename:
        raise ValidationError({"file": "Choose a JSON, NDJSON or CSV file to upload."})
    path = importer.save_upload(stream, filename)
    mailing_list = _upload_list(campaign)
    try:
        record = importer.create_import(
            path,
            list_id=mailing_list.id,
            mode="upsert",
            filename=filename,
            user_id=user_id,
            campaign_id=campaign.id,
        )
    except ValidationError:
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise
    if not any(a.list_id == mailing_list.id and a.segment_id is None for a in campaign.audiences):
        db.session.add(CampaignAudience(campaign_id=campaign.id, list_id=mailing_list.id))
        db.session.commit()
    importer.enqueue_import(record)
    db.session.refresh(campaign)
    return record


# ------------------------------------------------------------------ step 2: rows and options

_KEY_RE = re.compile(r"^[A-Za-z0-9]{1,24}$")


@dataclass
class RowForm:
    """One channel row as typed (strings), keyed so errors find their inputs."""

    key: str
    identity_id: str = ""
    channel_id: str = ""
    frequency: str = ""
    daily_max: str = ""
    start_at: str = ""

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


def setup_form_of(campaign: Campaign) -> SetupForm:
    rows = [
        RowForm(
            key=f"r{row.id}",
            identity_id=str(row.identity_id),
            channel_id=str(row.channel_id),
            frequency="" if row.frequency_minutes is None else f"{row.frequency_minutes:g}",
            daily_max="" if row.daily_max is None else str(row.daily_max),
            start_at=local_input(row.start_at),
        )
        for row in campaign.channels
    ]
    return SetupForm(
        rows=rows or [blank_row()],
        scheduled_at=local_input(campaign.scheduled_at),
        track_opens=campaign.track_opens,
        track_clicks=campaign.track_clicks,
    )


def parse_setup(form) -> SetupForm:
    """The submitted step-2 form (a MultiDict: `row` repeats, once per row, in order)."""
    keys: list[str] = []
    for key in form.getlist("row"):
        if _KEY_RE.match(key) and key not in keys:
            keys.append(key)
    rows = [
        RowForm(
            key=key,
            **{
                part: (form.get(f"row-{key}-{part}") or "").strip()
                for part in ("identity_id", "channel_id", "frequency", "daily_max", "start_at")
            },
        )
        for key in keys
    ]
    return SetupForm(
        rows=rows,
        scheduled_at=(form.get("scheduled_at") or "").strip(),
        track_opens=form.get("track_opens") in ("on", "1", "true", "y"),
        track_clicks=form.get("track_clicks") in ("on", "1", "true", "y"),
        test_to=(form.get("test_to") or "").strip(),
    )


def add_row(setup: SetupForm) -> SetupForm:
    setup.rows.append(blank_row())
    return setup


def remove_row(setup: SetupForm, key: str) -> SetupForm:
    setup.rows = [r for r in setup.rows if r.key != key]
    return setup


@dataclass(frozen=True)
class CleanRow:
    key: str
    identity_id: int
    channel_id: int
    frequency_minutes: float | None
    daily_max: int | None
    start_at: datetime | None


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
        errors[row.name("identity_id")] = "Choose a sender."
    elif identity_id is None or db.session.get(Identity, identity_id) is None:
        errors[row.name("identity_id")] = "This sender no longer exists: choose another one."
    channel_id = parse_id(row.channel_id)
    channel = db.session.get(Channel, channel_id) if channel_id else None
    if not row.channel_id:
        errors[row.name("channel_id")] = "Choose a channel."
    elif channel is None:
        errors[row.name("channel_id")] = "This channel no longer exists: choose another one."
    elif not channel.active:
        errors[row.name("channel_id")] = (
            f"The channel “{channel.name}” is inactive: activate it or choose another one."
        )
    frequency = None
    if row.frequency:
        try:
            frequency = float(row.frequency.replace(",", "."))
        except ValueError:
            frequency = math.nan
        if not math.isfinite(frequency) or frequency <= 0 or frequency > FREQUENCY_MAX:
            errors[row.name("frequency")] = (
                "Enter the minutes between two emails (a number above 0, e.g. 0.5), "
                "or leave blank for as fast as the channel allows."
            )
    daily_max = None
    if row.daily_max:
        daily_max = _int_or_none(row.daily_max)
        if daily_max is None or not 1 <= daily_max <= MAX_INT:
            errors[row.name("daily_max")] = (
                f"Enter a whole number of emails per day (1 or more, at most {MAX_INT:,}), or "
                "leave blank for the channel's quota."
            )
    start_at = _future_time(row.start_at, errors, row.name("start_at"), "This start")
    if len(errors) > before:
        return None
    assert identity_id is not None and channel_id is not None
    return CleanRow(row.key, identity_id, channel_id, frequency, daily_max, start_at)


def clean_setup(setup: SetupForm) -> CleanSetup:
    """Check the step-2 form; ValidationError with every field's problem."""
    errors: dict[str, str] = {}
    if not setup.rows:
        errors["rows"] = "Add at least one sending channel row."
    rows = [_clean_row(row, errors) for row in setup.rows]
    scheduled_at = _future_time(setup.scheduled_at, errors, "scheduled_at", "This date")
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
        errors["content"] = "The campaign has no email body: choose a template or paste HTML."
    else:
        problems = _syntax_problems(subject, html, text)
        if problems:
            errors["content"] = "; ".join(str(p) for p in problems) + "."
        elif not has_unsubscribe_link(subject, html, text):
            errors["content"] = NO_UNSUBSCRIBE
    if not campaign.channels:
        errors["rows"] = "Add at least one sending channel row."
    else:
        for row in campaign.channels:
            channel = db.session.get(Channel, row.channel_id)
            if channel is None or not channel.active:
                errors["rows"] = "A channel row uses an inactive channel: choose another one."
    view = audience_view(campaign)
    if not view.entries:
        errors["audience"] = "Add at least one list, or upload a contact file."
    elif view.failed:
        names = ", ".join(f"“{i.filename}”" for i in view.failed)
        errors["audience"] = (
            f"The upload {names} could not be imported: see its report, then remove the list "
            "or upload a corrected file."
        )
    elif any(i.campaign_id != campaign.id for i in view.pending):
        errors["audience"] = (
            "A list in the audience is still importing a file: launch when it has finished."
        )
    elif not view.pending and view.estimate.recipients == 0:
        errors["audience"] = (
            f"Nobody to send to: the audience has no recipient left "
            f"({view.estimate.excluded:,} excluded)."
        )
    return errors


def launch(campaign: Campaign) -> str:
    """Launch a saved draft: 'processing' while its uploads import, else scheduled (and
    started at once when due). Returns what happened in plain words."""
    problems = launch_problems(campaign)
    if problems:
        raise ValidationError(problems)
    if campaign.template_id:
        template = db.session.get(Template, campaign.template_id)
        # The campaign keeps its own copy: editing the template does not change a send.
        campaign.html, campaign.text = template.html, template.text
    campaign.error = None
    db.session.commit()
    pending = db.session.scalar(
        select(func.count())
        .select_from(Import)
        .where(Import.campaign_id == campaign.id, Import.status.in_(PENDING_IMPORT))
    )
    if pending:
        campaigns.transition(campaign, S.PROCESSING)
        try:  # the files may have finished between the check and the transition
            campaigns.on_import_finished(campaign.id)
        except NotAllowed:
            db.session.rollback()  # the import job scheduled it meanwhile
        db.session.refresh(campaign)
        if campaign.status == S.PROCESSING.value:
            return (
                "Launched: the uploaded files are importing; the campaign is scheduled as "
                "soon as they are done."
            )
    else:
        campaigns.schedule(campaign, campaign.scheduled_at)
    if campaign.scheduled_at and campaign.scheduled_at > utcnow():
        return f"Scheduled for {local_text(campaign.scheduled_at)}."
    return "Launched: sending starts in a moment."


# ------------------------------------------------------------------ test sends


@dataclass(frozen=True)
class TestAnswer:
    to: str
    ok: bool
    message: str


def _test_addresses(text: str) -> list[str]:
    parts = [p for p in re.split(r"[,;\s]+", text or "") if p]
    if not parts:
        raise ValidationError(
            {"test_to": f"Enter up to {MAX_TEST_ADDRESSES} addresses, separated by commas."}
        )
    if len(parts) > MAX_TEST_ADDRESSES:
        raise ValidationError(
            {"test_to": f"At most {MAX_TEST_ADDRESSES} addresses ({len(parts)} given)."}
        )
    out = []
    for part in parts:
        try:
            out.append(normalize_email(part))
        except InvalidEmail as exc:
            raise ValidationError(
                {"test_to": f"“{part}” is not a valid address: {exc.reason}."}
            ) from None
    return list(dict.fromkeys(out))


def send_test(campaign: Campaign, setup: SetupForm) -> list[TestAnswer]:
    """Send the campaign, filled with sample data, to a few addresses through the first
    channel row (as typed in the form, else as saved) and report each provider answer."""
    addresses = _test_addresses(setup.test_to)
    first = setup.rows[0] if setup.rows else None
    identity = channel = None
    if first is not None:
        identity = db.session.get(Identity, parse_id(first.identity_id) or 0)
        channel = db.session.get(Channel, parse_id(first.channel_id) or 0)
    elif campaign.channels:
        identity = db.session.get(Identity, campaign.channels[0].identity_id)
        channel = db.session.get(Channel, campaign.channels[0].channel_id)
    if identity is None or channel is None:
        raise ValidationError(
            {"test_to": "Choose a sender and a channel in the first channel row first."}
        )
    subject, html, text = content_of(campaign)
    try:
        email = rendering.compile_email(subject, html or "", text, name=campaign.name).render(
            rendering.sample_context()
        )
    except (rendering.TemplateSyntaxProblem, rendering.RenderError) as exc:
        raise ValidationError({"test_to": f"The email cannot be rendered: {exc}."}) from None
    label = channels_service.provider_label(channel.provider)
    try:
        provider = channels_service.build_provider(channel, concurrency=1, timeout=20)
    except ProviderError as exc:
        return [
            TestAnswer(a, False, f"The channel is not set up correctly: {exc}") for a in addresses
        ]
    messages = [
        OutboundMessage(
            ref=str(i),
            to=address,
            subject=f"[Test] {email.subject}",
            from_email=identity.from_email,
            from_name=identity.from_name or None,
            reply_to=identity.reply_to or None,
            html=email.html,
            text=email.text,
            tags={"test": "1", "campaign": str(campaign.id)},
        )
        for i, address in enumerate(addresses)
    ]
    db.session.commit()  # no transaction held open during the provider call
    results = []
    try:
        # One call per address: a provider refuses a whole batch for one bad address.
        for message in messages:
            results.extend(provider.send_batch([message]))
    except Exception as exc:  # noqa: BLE001 - providers should not raise; say so plainly
        return [
            TestAnswer(
                a, False, f"The {label} provider failed unexpectedly ({type(exc).__name__})."
            )
            for a in addresses
        ]
    finally:
        provider.close()
    answers = []
    for result in results:
        to = addresses[int(result.ref)]
        if result.ok:
            ident = (
                f" (message id {result.provider_message_id})" if result.provider_message_id else ""
            )
            answers.append(TestAnswer(to, True, f"Accepted by {label}{ident}."))
        else:
            kind = (
                "temporary problem: trying again later may work"
                if result.transient
                else "refused: retrying will not help until the cause is fixed"
            )
            answers.append(
                TestAnswer(to, False, f"{result.error or 'The provider refused it.'} ({kind})")
            )
    return answers


# ------------------------------------------------------------------ the campaigns list


@dataclass(frozen=True)
class CampaignSummary:
    campaign: Campaign
    sent: int
    failed: int
    opened: int
    clicked: int
    processed: int  # sends no longer pending

    @property
    def percent(self) -> float:
        size = self.campaign.audience_size
        return 100.0 * self.sent / size if size else 0.0

    @property
    def open_rate(self) -> float | None:
        return 100.0 * self.opened / self.sent if self.sent else None

    @property
    def click_rate(self) -> float | None:
        return 100.0 * self.clicked / self.sent if self.sent else None


@dataclass(frozen=True)
class CampaignPage:
    rows: list[CampaignSummary]
    total: int
    page: int
    pages: int
    counts: dict[str, int]  # campaigns per status, for the filter


def campaign_page(status: str = "", page: int = 1) -> CampaignPage:
    conditions = []
    if status in {s.value for s in CampaignStatus}:
        conditions.append(Campaign.status == status)
    counts = dict(
        db.session.execute(select(Campaign.status, func.count()).group_by(Campaign.status)).all()
    )
    total = db.session.scalar(select(func.count()).select_from(Campaign).where(*conditions)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    found = db.session.scalars(
        select(Campaign)
        .where(*conditions)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    figures = _figures([c.id for c in found if c.status not in (S.DRAFT.value,)])
    rows = [CampaignSummary(c, *figures.get(c.id, (0, 0, 0, 0, 0))) for c in found]
    return CampaignPage(rows, total, page, pages, counts)


def _figures(campaign_ids: list[int]) -> dict[int, tuple[int, int, int, int, int]]:
    if not campaign_ids:
        return {}

    def count_if(condition):
        return func.sum(case((condition, 1), else_=0))

    open_states = [SendStatus.PENDING.value, SendStatus.CLAIMED.value, SendStatus.SENDING.value]
    rows = db.session.execute(
        select(
            Send.campaign_id,
            count_if(Send.status == SendStatus.SENT.value),
            count_if(Send.status == SendStatus.FAILED.value),
            count_if(Send.opened_at.is_not(None)),
            count_if(Send.clicked_at.is_not(None)),
            count_if(Send.status.not_in(open_states)),
        )
        .where(Send.campaign_id.in_(campaign_ids))
        .group_by(Send.campaign_id)
    )
    return {r[0]: tuple(int(v or 0) for v in r[1:]) for r in rows}


# ------------------------------------------------------------------ live progress


@dataclass(frozen=True)
class RowProgress:
    row: CampaignChannel
    channel: Channel | None
    identity: Identity | None
    counts: dict[str, int]

    @property
    def in_doubt(self) -> int:
        return self.counts.get(SendStatus.IN_DOUBT.value, 0)

    @property
    def in_flight(self) -> int:
        return self.counts.get(SendStatus.CLAIMED.value, 0) + self.counts.get(
            SendStatus.SENDING.value, 0
        )


@dataclass(frozen=True)
class Progress:
    counts: dict[str, int]
    total: int
    per_minute: int  # sent in the last 60 s
    rows: list[RowProgress]
    imports: list[Import]

    @property
    def sent(self) -> int:
        return self.counts[SendStatus.SENT.value]

    @property
    def failed(self) -> int:
        return self.counts[SendStatus.FAILED.value]

    @property
    def suppressed(self) -> int:
        return self.counts[SendStatus.SUPPRESSED.value]

    @property
    def in_doubt(self) -> int:
        return self.counts[SendStatus.IN_DOUBT.value]

    @property
    def cancelled(self) -> int:
        return self.counts[SendStatus.CANCELLED.value]

    @property
    def remaining(self) -> int:
        c = self.counts
        return (
            c[SendStatus.PENDING.value] + c[SendStatus.CLAIMED.value] + c[SendStatus.SENDING.value]
        )

    @property
    def done(self) -> int:
        return self.total - self.remaining

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if not self.remaining:
            return 0.0
        return self.remaining / (self.per_minute / 60) if self.per_minute else None


def progress(campaign: Campaign) -> Progress:
    """Every figure of the live block, from the database (never from job metadata)."""
    counts = campaigns.counters(campaign.id)
    total = sum(counts.values())
    per_minute = (
        db.session.scalar(
            select(func.count())
            .select_from(Send)
            .where(
                Send.campaign_id == campaign.id,
                Send.status == SendStatus.SENT.value,
                Send.sent_at >= utcnow() - timedelta(seconds=60),
            )
        )
        or 0
    )
    by_row = campaigns.row_counters(campaign.id)
    rows = [
        RowProgress(
            row,
            db.session.get(Channel, row.channel_id),
            db.session.get(Identity, row.identity_id),
            by_row.get(row.id, {}),
        )
        for row in campaign.channels
    ]
    imports = list(
        db.session.scalars(
            select(Import).where(Import.campaign_id == campaign.id).order_by(Import.id)
        )
    )
    return Progress(counts, total, per_minute, rows, imports)


def polls(campaign: Campaign) -> bool:
    """Does the campaign page keep refreshing its live block?"""
    return CampaignStatus(campaign.status) in ACTIVE


def is_final(campaign: Campaign) -> bool:
    return CampaignStatus(campaign.status) in FINAL
