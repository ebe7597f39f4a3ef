"""Campaign page forms: step 1 (what), step 2 (how, to whom) as typed, test sends, and how
the pages word dates, durations and a launch's outcome.

The rules these forms feed (content, channel rows, launch checks) are in
:mod:`mailer.campaigns.rules`, the moves in :mod:`mailer.campaigns.lifecycle`.
"""

from __future__ import annotations

import math
import re

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from mailer.campaigns import localtime, rules
from mailer.campaigns.rules import RowForm, SetupForm
from mailer.engine.rendering.content import content_of
from mailer.extensions import db
from mailer.lib.dbutil import parse_id
from mailer.lib.errors import ValidationError
from mailer.models import Campaign, CampaignStatus, Channel, Identity, Template
from mailer.models.base import utcnow
from mailer.services import test_sends
from mailer.services.test_sends import TestAnswer

S = CampaignStatus
ACTIVE = frozenset({S.PROCESSING, S.SCHEDULED, S.RUNNING, S.PAUSED})
FINAL = frozenset({S.COMPLETED, S.CANCELLED, S.FAILED})


def duration_text(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return _("less than a minute")
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("about %(minutes)s min", minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        padded = f"{minutes:02d}"
        return _("about %(hours)s h %(minutes)s min", hours=hours, minutes=padded)
    return ngettext("about %(num)d day", "about %(num)d days", round(hours / 24))


# ------------------------------------------------------------------ reading


def get_campaign(campaign_id: int) -> Campaign | None:
    return db.session.get(Campaign, campaign_id)


def templates() -> list[Template]:
    return list(db.session.scalars(select(Template).order_by(Template.name)))


def identities() -> list[Identity]:
    return list(db.session.scalars(select(Identity).order_by(Identity.name)))


def all_channels() -> list[Channel]:
    """Every channel: the row picker offers the active ones and shows a chosen inactive one."""
    return list(db.session.scalars(select(Channel).order_by(Channel.name)))


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


def with_template_subject(form) -> dict[str, str]:
    """Step 1 as typed, with the chosen template's subject when the subject was left blank."""
    keys = ("name", "subject", "template_id", "html", "action")
    values = {key: form.get(key) or "" for key in keys}
    if not values["subject"].strip():
        template = db.session.get(Template, parse_id(values["template_id"]) or 0)
        if template is not None and template.subject:
            values["subject"] = template.subject
    return values


def subject_after_picking(template_id: str | None, subject: str | None) -> str:
    """The subject once a template is picked: the template's own when the box is blank or
    still holds the subject another template filled in; what the person typed otherwise."""
    subject = subject or ""
    template = db.session.get(Template, parse_id(template_id) or 0)
    if template is None or not template.subject:
        return subject
    if subject.strip():
        filled = db.session.scalar(select(Template.id).where(Template.subject == subject).limit(1))
        if filled is None:
            return subject
    return template.subject


# ------------------------------------------------------------------ step 2: rows and options

_KEY_RE = re.compile(r"^[A-Za-z0-9]{1,24}$")


def setup_form_of(campaign: Campaign) -> SetupForm:
    rows = [
        RowForm(
            key=f"r{row.id}",
            identity_id=str(row.identity_id),
            channel_id=str(row.channel_id),
            frequency="" if row.frequency_minutes is None else f"{row.frequency_minutes:g}",
            daily_max="" if row.daily_max is None else str(row.daily_max),
            start_at=localtime.local_input(row.start_at),
            loops="" if row.loops is None else str(row.loops),
        )
        for row in campaign.channels
    ]
    return SetupForm(
        rows=rows or [rules.blank_row()],
        scheduled_at=localtime.local_input(campaign.scheduled_at),
        track_opens=campaign.track_opens,
        track_clicks=campaign.track_clicks,
    )


def _stripped(value: str | None) -> str | None:
    return None if value is None else value.strip()


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
            loops=_stripped(form.get(f"row-{key}-loops")),  # None: not asked, the row keeps its
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
    setup.rows.append(rules.blank_row())
    return setup


def remove_row(setup: SetupForm, key: str) -> SetupForm:
    setup.rows = [r for r in setup.rows if r.key != key]
    return setup


# ------------------------------------------------------------------ launching


def launch_message(campaign: Campaign) -> str | None:
    """What a launch did (`lifecycle.request_launch`), in plain words; None when it starts now
    (the campaign page says so itself until the first email is sent)."""
    if campaign.status == S.PROCESSING.value:
        return _(
            "Launched: the uploaded files are importing; the campaign is scheduled as "
            "soon as they are done."
        )
    if campaign.scheduled_at and campaign.scheduled_at > utcnow():
        return _("Scheduled for %(when)s.", when=localtime.local_text(campaign.scheduled_at))
    return None


# ------------------------------------------------------------------ test sends


def send_test(campaign: Campaign, setup: SetupForm, language: str = "en") -> list[TestAnswer]:
    """Send the campaign, filled with sample data, to a few addresses through the first
    channel row (as typed in the form, else as saved) and report each provider answer."""
    addresses = test_sends.addresses(setup.test_to)
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
            {"test_to": _("Choose a sender and a channel in the first sending channel first.")}
        )
    return test_sends.send(
        channel,
        identity,
        addresses,
        content_of(campaign),
        name=campaign.name,
        tags={"campaign": str(campaign.id)},
        language=language,
    )


# ------------------------------------------------------------------ the campaign page


def polls(campaign: Campaign) -> bool:
    """Does the campaign page keep refreshing its live block?"""
    return CampaignStatus(campaign.status) in ACTIVE


def is_final(campaign: Campaign) -> bool:
    return CampaignStatus(campaign.status) in FINAL
