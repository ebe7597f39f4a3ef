"""What people do to a campaign: edit, schedule and launch, pause, resume, cancel, retry
the sends in doubt, duplicate, delete. Status changes go through
:func:`mailer.engine.campaign_state.transition`; the orchestrator is in
:mod:`mailer.campaigns.launch`.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from mailer.campaigns import audience, launch, rules
from mailer.campaigns.rules import EDITABLE
from mailer.engine.campaign_state import transition
from mailer.engine.rendering.content import template_body
from mailer.extensions import db
from mailer.lib.errors import NotAllowed, ValidationError
from mailer.lib.i18n import N_
from mailer.models import (
    Campaign,
    CampaignAudience,
    CampaignChannel,
    CampaignStatus,
    Import,
    ImportStatus,
    Send,
    SendStatus,
)
from mailer.models.base import utcnow

S = CampaignStatus


# ------------------------------------------------------------------ editing


def is_editable(campaign: Campaign) -> bool:
    return CampaignStatus(campaign.status) in EDITABLE


def open_for_editing(campaign: Campaign) -> bool:
    """Before a change is saved: a scheduled or processing campaign goes back to draft (it is
    launched again with "Save and launch"). True when it was unscheduled; NotAllowed when the
    campaign can no longer be edited (it started meanwhile)."""
    status = CampaignStatus(campaign.status)
    if status == S.DRAFT:
        return False
    if status not in EDITABLE:
        raise NotAllowed(
            _(
                "“%(name)s” has started meanwhile and can no longer be edited: duplicate it.",
                name=campaign.name,
            )
        )
    transition(campaign, S.DRAFT, expect=status)
    return True


def _copy_name(name: str) -> str:
    return _("Copy of %(name)s", name=name)[: rules.NAME_MAX]


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
    for entry in campaign.audiences:
        db.session.add(
            CampaignAudience(
                campaign_id=copy.id, list_id=entry.list_id, segment_id=entry.segment_id
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
                loops=row.loops,
            )
        )
    db.session.commit()
    return copy


def deletable(campaign: Campaign) -> bool:
    """Only a campaign that never started may be deleted (its sends and figures are its
    history), or one whose figures retention archived (its sends are pruned anyway)."""
    return campaign.started_at is None or campaign.archived_at is not None


def delete_campaign(campaign: Campaign) -> None:
    """Delete a campaign; a scheduled one is unscheduled first; running and paused ones are
    refused, so are started ones not archived (:func:`deletable`), and uploads still
    importing must finish first (their import rows belong to the campaign)."""
    if CampaignStatus(campaign.status) not in (S.RUNNING, S.PAUSED) and not deletable(campaign):
        raise NotAllowed(
            _(
                "“%(name)s” has started: deleting it would erase who received it and its "
                "statistics. It can be deleted once retention has archived its figures.",
                name=campaign.name,
            )
        )
    pending = db.session.scalar(
        select(func.count())
        .select_from(Import)
        .where(Import.campaign_id == campaign.id, Import.status.in_(audience.PENDING_IMPORT))
    )
    if pending:
        raise NotAllowed(_("Its uploaded files are still importing: delete it once they are done."))
    if CampaignStatus(campaign.status) in (S.SCHEDULED, S.PROCESSING):
        open_for_editing(campaign)
    if CampaignStatus(campaign.status) not in (S.DRAFT, S.CANCELLED, S.COMPLETED, S.FAILED):
        raise NotAllowed(_("Pause or cancel the campaign before deleting it."))
    db.session.execute(delete(Send).where(Send.campaign_id == campaign.id))
    db.session.delete(campaign)
    db.session.commit()


# ------------------------------------------------------------------ launching


def request_launch(campaign: Campaign) -> None:
    """Launch a saved draft: 'processing' while its uploads import, else scheduled (and
    started at once when due); ValidationError when it is not ready (`rules.launch_problems`)."""
    problems = rules.launch_problems(campaign)
    if problems:
        raise ValidationError(problems)
    if campaign.template_id:
        # The campaign keeps its own copy: editing the template does not change a send.
        campaign.html, campaign.text = template_body(campaign.template_id)
    campaign.error = None
    db.session.commit()
    pending = db.session.scalar(
        select(func.count())
        .select_from(Import)
        .where(Import.campaign_id == campaign.id, Import.status.in_(audience.PENDING_IMPORT))
    )
    if pending:
        transition(campaign, S.PROCESSING)
        try:  # the files may have finished between the check and the transition
            on_import_finished(campaign.id)
        except NotAllowed:
            db.session.rollback()  # the import job scheduled it meanwhile
        db.session.refresh(campaign)
    else:
        schedule(campaign, campaign.scheduled_at)


def schedule(campaign: Campaign, when: datetime | None = None) -> Campaign:
    """Ready to go: at `when` (naive UTC) or at the next tick / at once."""
    db.session.execute(update(Campaign).where(Campaign.id == campaign.id).values(scheduled_at=when))
    transition(campaign, S.SCHEDULED)
    if when is None or when <= utcnow():
        launch.enqueue_launch(campaign)
    return campaign


def on_import_finished(campaign_id: int) -> None:
    """A file uploaded for a processing campaign finished importing: when all have, the
    campaign is scheduled (and launched if due); a failed import sends it back to draft."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != S.PROCESSING.value:
        return
    states = set(db.session.scalars(select(Import.status).where(Import.campaign_id == campaign_id)))
    if states & {ImportStatus.QUEUED.value, ImportStatus.RUNNING.value}:
        return
    try:
        _after_imports(campaign, states)
    except NotAllowed:
        db.session.rollback()  # another caller moved it first (the launch view or a 2nd job)


def _after_imports(campaign: Campaign, states: set[str]) -> None:
    campaign_id = campaign.id
    if ImportStatus.FAILED.value in states:
        db.session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(
                error=N_("An uploaded contact file could not be imported: see its import report.")
            )
        )
        transition(campaign, S.DRAFT, expect=S.PROCESSING)
        return
    transition(campaign, S.SCHEDULED, expect=S.PROCESSING)
    if campaign.scheduled_at is None or campaign.scheduled_at <= utcnow():
        launch.enqueue_launch(campaign)


# ------------------------------------------------------------------ while it runs


def pause(campaign: Campaign) -> Campaign:
    return transition(campaign, S.PAUSED)


def resume(campaign: Campaign) -> Campaign:
    """Resume a paused campaign; rows that stopped themselves on errors start again too."""
    if campaign.status == S.RUNNING.value:
        if not any(row.paused_reason for row in campaign.channels):
            raise NotAllowed(_("The campaign is already running."))
        resume_rows(campaign)
        return campaign
    transition(campaign, S.RUNNING, commit=False)
    resume_rows(campaign)
    return campaign


def resume_rows(campaign: Campaign) -> None:
    db.session.execute(
        update(CampaignChannel)
        .where(CampaignChannel.campaign_id == campaign.id)
        .values(paused_reason=None, retry_at=None, self_pauses=0)  # a person's resume is whole
    )
    db.session.commit()
    launch.start_channel_workers(campaign)


def cancel(campaign: Campaign) -> Campaign:
    transition(campaign, S.CANCELLED, commit=False)
    db.session.execute(
        update(Send)
        .where(Send.campaign_id == campaign.id, Send.status == SendStatus.PENDING.value)
        .values(status=SendStatus.CANCELLED.value)
    )
    db.session.commit()
    return campaign


def retry_in_doubt(campaign: Campaign) -> int:
    """The operator checked the provider: send the in-doubt ones again."""
    if campaign.archived_at is not None:
        raise NotAllowed("This campaign's figures are archived: it cannot send again.")
    n = db.session.execute(
        update(Send)
        .where(Send.campaign_id == campaign.id, Send.status == SendStatus.IN_DOUBT.value)
        .values(status=SendStatus.PENDING.value, next_attempt_at=None, failed_at=None)
    ).rowcount
    db.session.commit()
    if n and campaign.status == S.COMPLETED.value:
        transition(campaign, S.RUNNING)  # completed with in-doubt sends: runs again for them
    if n and campaign.status in (S.RUNNING.value, S.COMPLETED.value):
        launch.start_channel_workers(campaign)
    return n
