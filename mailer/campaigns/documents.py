"""Campaign documents: the JSON client teams send to schedule a campaign through the API
(the CampaignDocument and ClientCampaignDocument schemas in mailer/api/openapi/campaigns.yaml;
:func:`from_client` turns the second shape into the first, and errors back into its names).

:func:`create` checks the whole document with the campaign pages' rules
(:mod:`mailer.campaigns.rules`), reporting every problem by its field path
("segments[1].recipients[3].email"), then writes lists, recipients, the campaign, its audience
entries and channel rows and launches it in one transaction: any error leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from mailer.campaigns import audience, launch, lifecycle, localtime, rules, template_sources
from mailer.engine.imports import importer
from mailer.engine.rendering import BASE_VARIABLES, TemplateSyntaxProblem, required_variables
from mailer.engine.rendering.sandbox import SAFE_GLOBALS
from mailer.extensions import db
from mailer.lib.dbutil import parse_id
from mailer.lib.emails import InvalidEmail, normalize_email
from mailer.lib.errors import NotAllowed, ValidationError
from mailer.models import (
    Campaign,
    CampaignAudience,
    CampaignChannel,
    CampaignStatus,
    Channel,
    Identity,
    MailingList,
    Subscriber,
    Template,
)
from mailer.models.base import utcnow

S = CampaignStatus
UPSERT_BATCH = 2000
# Where the launch checks of the campaign pages point, as fields of the document.
LAUNCH_FIELDS = {"content": "template", "rows": "channels", "audience": "segments"}
# Channel row fields of the campaign pages, as fields of a document's channel entry.
ROW_FIELDS = {
    "channel_id": "channel",
    "identity_id": "sender",
    "frequency": "frequency_minutes",
    "daily_max": "per_day",
    "start_at": "start_at",
    "loops": "loops",
}
RESCHEDULABLE = (S.DRAFT, S.SCHEDULED)
# The client teams' field names (ClientCampaignDocument) and ours; a recipient's other fields
# besides its names are its personalisation (our "fields").
CLIENT_NAMES = {"campaign_id": "id", "templateS3Uri": "template", "list_name": "list"}
CLIENT_ADDRESS = "to_address"
NAME_FIELDS = ("first_name", "last_name", "name")
OUR_NAMES = {ours: theirs for theirs, ours in CLIENT_NAMES.items()} | {"email": CLIENT_ADDRESS}
# Variables Mailer fills in itself: a recipient never lacks them.
MAILER_VARIABLES = (BASE_VARIABLES - set(NAME_FIELDS)) | set(SAFE_GLOBALS) | {"loop"}
MISSING_LISTED = 50  # recipients lacking variables listed by path; the rest are counted


# ------------------------------------------------------------------ the client teams' shape


def is_client_shape(doc: Any) -> bool:
    """Whether a body is written in the client teams' names (its schema needs campaign_id)."""
    return isinstance(doc, dict) and "campaign_id" in doc


def from_client(doc: dict) -> dict:
    """A (schema-valid) client-shape document in our field names."""

    def renamed(obj: dict) -> dict:
        return {CLIENT_NAMES.get(key, key): value for key, value in obj.items()}

    ours = renamed(doc)
    ours["segments"] = []
    for segment in doc["segments"]:
        seg = renamed(segment)
        if "recipients" in seg:
            seg["recipients"] = [_client_recipient(r) for r in seg["recipients"]]
        ours["segments"].append(seg)
    return ours


def _client_recipient(recipient: dict[str, Any]) -> dict[str, Any]:
    ours: dict[str, Any] = {"email": recipient[CLIENT_ADDRESS], "fields": {}}
    fields = ours["fields"]
    for key, value in recipient.items():
        if key in NAME_FIELDS:
            ours[key] = value
        elif key != CLIENT_ADDRESS:
            fields[key] = value
    return ours


def client_errors(errors: dict[str, str]) -> dict[str, str]:
    """Errors keyed by our field paths ("segments[0].list"), in the client's names."""
    return {_client_path(key): message for key, message in errors.items()}


def _client_path(key: str) -> str:
    parts = []
    for part in key.split("."):
        name, bracket, rest = part.partition("[")
        parts.append(OUR_NAMES.get(name, name) + bracket + rest)
    return ".".join(parts)


# ------------------------------------------------------------------ finding


def find(ref: str) -> Campaign | None:
    """A campaign by our numeric id or by the id its document gave it (never all digits)."""
    if ref.isdigit():
        ident = parse_id(ref)
        return db.session.get(Campaign, ident) if ident else None
    return db.session.scalar(select(Campaign).where(Campaign.external_id == ref))


def listing(status: str | None = None):
    """The statement the API pages through: campaigns, optionally of one status."""
    stmt = select(Campaign).options(
        selectinload(Campaign.audiences), selectinload(Campaign.channels)
    )
    if status is not None:
        if status not in {s.value for s in S}:
            raise ValidationError(
                {"status": f"Unknown status; choose one of: {', '.join(s.value for s in S)}."}
            )
        stmt = stmt.where(Campaign.status == status)
    return stmt


# ------------------------------------------------------------------ checking a document


@dataclass
class _Segment:
    list_name: str
    mailing_list: MailingList | None  # None: created with the campaign
    template: Template | None
    recipients: dict[str, dict[str, Any]]  # normalised email -> row (last occurrence wins)


@dataclass
class _Row:
    channel_id: int
    identity_id: int
    frequency_minutes: float | None
    daily_max: int | None
    start_at: datetime | None
    loops: int | None


@dataclass
class _Plan:
    external_id: str
    name: str
    subject: str
    template: Template
    scheduled_at: datetime
    segments: list[_Segment] = field(default_factory=list)
    rows: list[_Row] = field(default_factory=list)


def parse_date(text: Any, errors: dict[str, str], key: str, what: str) -> datetime | None:
    """An ISO 8601 date and time with its zone (or offset), in the future -> naive UTC."""
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        errors[key] = (
            "Give a date and time in ISO 8601 with a time zone offset, "
            "e.g. 2027-03-01T09:00:00+01:00 or 2027-03-01T08:00:00Z."
        )
        return None
    when = when.astimezone(UTC).replace(tzinfo=None)
    if when < utcnow() - localtime.PAST_GRACE:
        errors[key] = f"{what} is in the past: choose a later time."
        return None
    return when


def _template(ref: Any, errors: dict[str, str], key: str) -> Template | None:
    """A template by id, by name, or by the address of its HTML (s3:// or https://)."""
    if template_sources.is_address(ref):
        try:
            return template_sources.template_for(ref)
        except template_sources.FetchError as exc:
            errors[key] = str(exc)
            return None
    if isinstance(ref, int):
        template = db.session.get(Template, ref)
    else:
        template = db.session.scalar(select(Template).where(Template.name == str(ref).strip()))
    if template is None:
        kind = "id" if isinstance(ref, int) else "name"
        errors[key] = f"No template with this {kind}: use a template id or its exact name."
    return template


def _check_content(
    name: str, subject: str, template: Template, errors: dict[str, str], key: str
) -> None:
    """The campaign pages' step-1 checks and the launch's unsubscribe-link check, for the
    campaign's template (key "template": name and subject too) or a segment's own."""
    form = {"name": name, "subject": subject, "template_id": str(template.id)}
    try:
        rules.clean_step1(form)
    except ValidationError as exc:
        for part, message in exc.errors.items():
            if part == "template_id":
                errors[key] = message
            elif key == "template" and part in ("name", "subject"):
                errors[part] = message
    if key not in errors and not rules.has_unsubscribe_link(subject, template.html, template.text):
        errors[key] = (
            f"The template “{template.name}” has no {{{{ unsubscribe_url }}}} link: "
            "recipients must be able to leave. Add one to the template."
        )


def _recipient_row(recipient: dict[str, Any]) -> dict[str, Any]:
    def clip(key: str, limit: int) -> str | None:
        value = (recipient.get(key) or "").strip()
        return value[:limit] or None

    return {
        "first_name": clip("first_name", 100),
        "last_name": clip("last_name", 100),
        "name": clip("name", 200),
        "attributes": dict(recipient.get("fields") or {}),
    }


def _check_segments(
    doc: dict, name: str, subject: str, default: Template | None, errors: dict[str, str]
) -> list[_Segment]:
    segments: list[_Segment] = []
    seen: dict[str, int] = {}
    missing = _MissingVariables(subject, doc.get("allow_missing_variables", False))
    for i, seg in enumerate(doc["segments"]):
        key = f"segments[{i}]"
        list_name = seg["list"].strip()
        if not list_name:
            errors[f"{key}.list"] = "Give the list's name."
        elif len(list_name) > audience.LIST_NAME_MAX:
            errors[f"{key}.list"] = f"Use at most {audience.LIST_NAME_MAX} characters."
        elif list_name in seen:
            errors[f"{key}.list"] = (
                f"The list “{list_name}” is already segment {seen[list_name]}: "
                "put its recipients in one segment."
            )
        seen.setdefault(list_name, i)
        mailing_list = db.session.scalar(select(MailingList).where(MailingList.name == list_name))
        template = None
        if seg.get("template") is not None:
            template = _template(seg["template"], errors, f"{key}.template")
            if template is not None:
                _check_content(name, subject, template, errors, f"{key}.template")
        recipients: dict[str, dict[str, Any]] = {}
        positions: dict[str, int] = {}
        for j, recipient in enumerate(seg.get("recipients", [])):
            try:
                email = normalize_email(recipient["email"])
            except InvalidEmail as exc:
                errors[f"{key}.recipients[{j}].email"] = f"Not a valid address: {exc.reason}."
                continue
            recipients.pop(email, None)  # the last occurrence wins, as in file imports
            recipients[email] = _recipient_row(recipient)
            positions[email] = j
        missing.check(key, template or default, mailing_list, recipients, positions, errors)
        segments.append(_Segment(list_name, mailing_list, template, recipients))
    return segments


class _MissingVariables:
    """Recipients lacking a variable their segment's template uses with no default (it would
    print blank), listed by path: MISSING_LISTED of them, then counted per segment."""

    def __init__(self, subject: str, allowed: bool) -> None:
        self.subject, self.allowed, self.listed = subject, allowed, 0
        self.needs: dict[int, list[str]] = {}

    def needed(self, template: Template) -> list[str]:
        if template.id not in self.needs:
            try:
                used = required_variables(self.subject, template.html, template.text)
            except TemplateSyntaxProblem:  # reported by the content checks
                used = set()
            self.needs[template.id] = sorted(
                v for v in used if v.removeprefix("attributes.") not in MAILER_VARIABLES
            )
        return self.needs[template.id]

    def check(
        self,
        key: str,
        template: Template | None,
        mailing_list: MailingList | None,
        recipients: dict[str, dict[str, Any]],
        positions: dict[str, int],
        errors: dict[str, str],
    ) -> None:
        if self.allowed or template is None or not recipients:
            return
        needed = self.needed(template)
        if not needed:
            return
        lacking = {}
        for email, row in recipients.items():
            absent = _lacking(row, needed)
            if absent:
                lacking[email] = absent
        if lacking and mailing_list is not None:
            _forgive_stored(mailing_list.id, recipients, lacking, needed)
        if not lacking:
            return
        tally: dict[str, int] = {}
        for absent in lacking.values():
            for variable in absent:
                tally[variable] = tally.get(variable, 0) + 1
        counts = ", ".join(f"{variable} ({n})" for variable, n in sorted(tally.items()))
        many = len(lacking) != 1
        errors[key] = (
            f"{len(lacking)} recipient{'s' if many else ''} of this segment lack"
            f"{'' if many else 's'} variables the template “{template.name}” uses with no "
            f"default: {counts}. Give them, add a default in the template "
            '(e.g. {{ first_name | default("there") }}), or set "allow_missing_variables": '
            "true to send them with blanks."
        )
        for email in sorted(lacking, key=positions.__getitem__):
            if self.listed >= MISSING_LISTED:
                break
            self.listed += 1
            errors[f"{key}.recipients[{positions[email]}]"] = (
                f"Lacks {', '.join(lacking[email])}, which the template “{template.name}” "
                "uses with no default."
            )


def _lacking(row: dict[str, Any], needed: list[str]) -> list[str]:
    """The needed variables a recipient's row (names and attributes) leaves blank."""
    absent = []
    attributes = row["attributes"]
    for variable in needed:
        if variable == "name":
            given = row["name"] or row["first_name"] or row["last_name"]
        elif variable in NAME_FIELDS:
            given = row[variable]
        else:
            value = attributes.get(variable.removeprefix("attributes."))
            given = value is not None and value != ""
        if not given:
            absent.append(variable)
    return absent


def _forgive_stored(
    list_id: int,
    recipients: dict[str, dict[str, Any]],
    lacking: dict[str, list[str]],
    needed: list[str],
) -> None:
    """Drop from ``lacking`` what contacts already on the list have stored (the upsert keeps
    stored names and attributes the document does not give)."""
    emails = list(lacking)
    for start in range(0, len(emails), 1000):
        stored = db.session.execute(
            select(
                Subscriber.email,
                Subscriber.first_name,
                Subscriber.last_name,
                Subscriber.name,
                Subscriber.attributes,
            ).where(
                Subscriber.list_id == list_id,
                Subscriber.email.in_(emails[start : start + 1000]),
            )
        )
        for email, first, last, full, attributes in stored:
            row = recipients[email]
            merged = {
                "first_name": row["first_name"] or first,
                "last_name": row["last_name"] or last,
                "name": row["name"] or full,
                "attributes": {**(attributes or {}), **row["attributes"]},
            }
            absent = _lacking(merged, needed)
            if absent:
                lacking[email] = absent
            else:
                del lacking[email]


def _channel(ref: Any) -> tuple[Channel | None, str]:
    if isinstance(ref, int):
        return db.session.get(Channel, ref), "No channel with this id."
    found = db.session.scalar(select(Channel).where(Channel.name == str(ref).strip()))
    return found, "No channel with this name: use a channel id or its exact name."


def _sender(ref: Any) -> tuple[Identity | None, str]:
    """A sender identity by id, by its name or by its from address (when only one has it)."""
    if isinstance(ref, int):
        return db.session.get(Identity, ref), "No sender with this id."
    text = str(ref).strip()
    found = db.session.scalar(select(Identity).where(Identity.name == text))
    if found is not None:
        return found, ""
    matches = db.session.scalars(
        select(Identity).where(Identity.from_email == text.lower()).limit(2)
    ).all()
    if len(matches) > 1:
        return None, "Several senders use this address: give the sender's id or name."
    if matches:
        return matches[0], ""
    return None, "No sender with this address or name: add it under Senders, or use its id."


def _check_channels(doc: dict, errors: dict[str, str]) -> list[_Row]:
    """Channel rows as the campaign pages check them (active channel, limits, start date)."""
    if "channels" not in doc:
        default = rules.blank_row()
        if not (default.channel_id and default.identity_id):
            channels = db.session.scalar(
                select(func.count()).select_from(Channel).where(Channel.active)
            )
            senders = db.session.scalar(select(func.count()).select_from(Identity))
            errors["channels"] = (
                "Required here: give the channel and sender to use. They can be left out only "
                "when exactly one active channel and one sender exist "
                f"(there are {channels} active channels and {senders} senders)."
            )
            return []
        return [_Row(int(default.channel_id), int(default.identity_id), None, None, None, None)]
    forms: list[rules.RowForm] = []
    starts: dict[str, datetime | None] = {}
    for k, entry in enumerate(doc["channels"]):
        key = f"channels[{k}]"
        before = len(errors)
        channel, why = _channel(entry["channel"])
        if channel is None:
            errors[f"{key}.channel"] = why
        sender, why = _sender(entry["sender"])
        if sender is None:
            errors[f"{key}.sender"] = why
        start_at = None
        if entry.get("start_at") is not None:
            start_at = parse_date(entry["start_at"], errors, f"{key}.start_at", "This start")
        if len(errors) > before:
            continue
        forms.append(
            rules.RowForm(
                key=str(k),
                identity_id=str(sender.id),
                channel_id=str(channel.id),
                frequency=_text(entry.get("frequency_minutes")),
                daily_max=_text(entry.get("per_day")),
                loops=_text(entry.get("loops")),
            )
        )
        starts[str(k)] = start_at
    if not forms:
        return []
    try:
        clean = rules.clean_setup(rules.SetupForm(rows=forms))
    except ValidationError as exc:
        for name, message in exc.errors.items():
            _, k, part = name.split("-", 2) if name.startswith("row-") else ("", "", name)
            errors[f"channels[{k}].{ROW_FIELDS.get(part, part)}" if k else "channels"] = message
        return []
    return [
        _Row(r.channel_id, r.identity_id, r.frequency_minutes, r.daily_max, starts[r.key], r.loops)
        for r in clean.rows
    ]


def _text(value: Any) -> str:
    """A JSON number as the pages' form would hold it: 3.0 is 3 (JSON Schema calls it an
    integer), other floats in full (``:g`` made 2147483647.0 read "2.14748e+09")."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return "" if value is None else str(value)


def check(doc: dict) -> _Plan:
    """Every problem of a (schema-valid) document at once, as ValidationError; else the plan."""
    errors: dict[str, str] = {}
    external_id = doc["id"]
    taken = db.session.scalar(select(Campaign).where(Campaign.external_id == external_id))
    if external_id.isdigit():
        errors["id"] = "Use at least one letter or sign: all-digit ids are our campaign numbers."
    elif taken is not None:
        errors["id"] = (
            f"A campaign with this id already exists (campaign {taken.id}, {taken.status}): "
            "change its date with PATCH, or use another id."
        )
    name = (doc.get("name") or external_id).strip()
    template = _template(doc["template"], errors, "template")
    subject = (doc.get("subject") or (template.subject if template else "")).strip()
    if template is not None:
        if not subject:
            errors["subject"] = (
                f"The template “{template.name}” has no subject: give one in the document"
                + (
                    ", or a <title> in the template's HTML."
                    if template_sources.is_address(doc["template"])
                    else "."
                )
            )
        else:
            _check_content(name, subject, template, errors, "template")
    scheduled_at = parse_date(doc["date"], errors, "date", "This date")
    segments = _check_segments(doc, name, subject, template, errors)
    rows = _check_channels(doc, errors)
    if errors:
        raise ValidationError(errors, conflicts=["id"] if taken is not None else ())
    assert template is not None and scheduled_at is not None
    return _Plan(external_id, name, subject, template, scheduled_at, segments, rows)


# ------------------------------------------------------------------ creating


def create(doc: dict) -> Campaign:
    """Check the document (either shape), then create and schedule its campaign; nothing is
    kept on error, not even a template fetched for it."""
    client = is_client_shape(doc)
    try:
        plan = check(from_client(doc) if client else doc)
        campaign = _write(plan)
        lifecycle.request_launch(campaign)  # the pages' launch checks, then scheduled
    except ValidationError as exc:
        db.session.rollback()
        errors = {LAUNCH_FIELDS.get(key, key): message for key, message in exc.errors.items()}
        conflicts = {LAUNCH_FIELDS.get(key, key) for key in exc.conflicts}
        if client:
            errors, conflicts = client_errors(errors), {_client_path(key) for key in conflicts}
        raise ValidationError(errors, conflicts=conflicts) from None
    except IntegrityError:  # a document with this id (a list, a fetched template) raced us
        db.session.rollback()
        raise NotAllowed(
            "Another request created this campaign, one of its lists or one of its templates "
            "meanwhile: retry."
        ) from None
    except BaseException:
        db.session.rollback()
        raise
    return campaign


def _write(plan: _Plan) -> Campaign:
    """Lists, recipients, campaign, audience entries and channel rows: flushed, not committed."""
    campaign = Campaign(
        name=plan.name,
        subject=plan.subject,
        template_id=plan.template.id,
        status=S.DRAFT.value,
        scheduled_at=plan.scheduled_at,
        external_id=plan.external_id,
    )
    db.session.add(campaign)
    for segment in plan.segments:
        mailing_list = segment.mailing_list
        if mailing_list is None:
            mailing_list = MailingList(
                name=segment.list_name,
                description=f"Created by the campaign document “{plan.external_id}”."[:500],
            )
            db.session.add(mailing_list)
            db.session.flush()
        _upsert(mailing_list.id, segment.recipients)
        override = segment.template
        campaign.audiences.append(
            CampaignAudience(
                list_id=mailing_list.id,
                template_id=override.id if override else None,
                html=override.html if override else None,
                text=override.text if override else None,
            )
        )
        db.session.flush()  # audience ids follow the segments' order: the first one wins
    for position, row in enumerate(plan.rows):
        campaign.channels.append(
            CampaignChannel(
                channel_id=row.channel_id,
                identity_id=row.identity_id,
                position=position,
                frequency_minutes=row.frequency_minutes,
                daily_max=row.daily_max,
                start_at=row.start_at,
                loops=row.loops,
            )
        )
    db.session.flush()
    return campaign


def _upsert(list_id: int, recipients: dict[str, dict[str, Any]]) -> None:
    """The file import's upsert: names updated when given, fields merged into attributes,
    status never changed (an unsubscribed contact stays unsubscribed)."""
    now = utcnow()
    rows = [
        {
            "list_id": list_id,
            "email": email,
            "status": "subscribed",
            "import_id": None,
            "created_at": now,
            "updated_at": now,
            **values,
        }
        for email, values in recipients.items()
    ]
    statement = importer.subscriber_upsert()
    for start in range(0, len(rows), UPSERT_BATCH):
        db.session.execute(statement, rows[start : start + UPSERT_BATCH])


# ------------------------------------------------------------------ changing


def reschedule(campaign: Campaign, date: Any) -> Campaign:
    """A new date for a draft or scheduled campaign; due now means it launches now."""
    if CampaignStatus(campaign.status) not in RESCHEDULABLE:
        raise NotAllowed(
            f"A {campaign.status} campaign cannot be rescheduled: only draft and scheduled "
            "ones can."
        )
    errors: dict[str, str] = {}
    when = parse_date(date, errors, "date", "This date")
    if errors:
        raise ValidationError(errors)
    changed = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status.in_([s.value for s in RESCHEDULABLE]))
        .values(scheduled_at=when, updated_at=utcnow())
    ).rowcount
    db.session.commit()
    db.session.refresh(campaign)
    if not changed:
        raise NotAllowed(f"The campaign is {campaign.status} now: it cannot be rescheduled.")
    if campaign.status == S.SCHEDULED.value and when <= utcnow():
        launch.enqueue_launch(campaign)
    return campaign


def delete(campaign: Campaign) -> None:
    """Delete a campaign not started yet (or archived); its lists and contacts stay."""
    if CampaignStatus(campaign.status) in (S.RUNNING, S.PAUSED):
        raise NotAllowed(
            f"The campaign is {campaign.status}: it cannot be deleted once it has started. "
            "Cancel it first."
        )
    lifecycle.delete_campaign(campaign)
