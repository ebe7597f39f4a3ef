"""A campaign's audience: who its entries (a list, narrowed by a segment) reach, how many
recipients it has and how many are left out, and the changes the pages make to it (lists,
segments, contact files uploaded for the campaign).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import aliased

from mailer.engine.imports import importer
from mailer.extensions import db
from mailer.lib.dbutil import parse_id
from mailer.lib.errors import ValidationError
from mailer.models import (
    Campaign,
    CampaignAudience,
    Import,
    ImportStatus,
    MailingList,
    Segment,
    Subscriber,
    SubscriberStatus,
    Suppression,
)
from mailer.services import segments as segments_service

LIST_NAME_MAX = 200
PENDING_IMPORT = (ImportStatus.QUEUED.value, ImportStatus.RUNNING.value)


# ------------------------------------------------------------------ who it reaches


def audience_condition(audience: CampaignAudience):
    """Members of one audience entry: its list, narrowed by its segment."""
    condition = Subscriber.list_id == audience.list_id
    if audience.segment_id:
        segment = db.session.get(Segment, audience.segment_id)
        if segment is not None:
            condition = and_(
                condition,
                segments_service.expression(segment.conditions, segment.match, audience.list_id),
            )
    return condition


def audience_filter(campaign: Campaign):
    """Subscribed members of the campaign's lists, each list narrowed by its segment."""
    parts = [audience_condition(audience) for audience in campaign.audiences]
    return or_(*parts) if parts else literal(False)


def list_ids(campaign: Campaign) -> list[int]:
    return sorted({a.list_id for a in campaign.audiences})


def one_list(campaign: Campaign) -> bool:
    """Whether every entry is on one list: each member is then a distinct address."""
    return len(list_ids(campaign)) <= 1


def first_audience(campaign: Campaign, grouped: bool = False):
    """Per address, the id of the first audience entry (lowest id) listing it; None when no
    entry has a template of its own (every send then renders the campaign's template).
    ``grouped``: over the rows of an address grouped by address (several lists)."""
    audiences = sorted(campaign.audiences, key=lambda a: a.id)
    if not any(a.template_id or a.html for a in audiences):
        return None
    first = case(*[(audience_condition(a), a.id) for a in audiences])
    return func.min(first) if grouped else first


def not_suppressed(lists: list[int], few: bool = False):
    """Members of ``lists`` whose address is not suppressed. For many members, asked from the
    suppressions' side, by subscriber id: comparing every member's address with the
    suppression list costs about 8 µs a member under MariaDB's Unicode collation, while
    finding the suppressed members costs one index lookup per suppression (docs/scaling.md).
    For ``few`` members (a launch's first page), each address is looked up instead."""
    if few:
        return ~select(Suppression.id).where(Suppression.email == Subscriber.email).exists()
    member = aliased(Subscriber)
    suppressed = (
        select(member.id)
        .join(Suppression, Suppression.email == member.email)
        .where(member.list_id.in_(lists))
    )
    return Subscriber.id.not_in(suppressed)


@dataclass(frozen=True)
class AudienceEstimate:
    recipients: int  # distinct subscribed, unsuppressed addresses
    excluded: int  # distinct addresses left out: unsubscribed, bounced, complained, suppressed


def estimate(campaign: Campaign) -> AudienceEstimate:
    where, lists = audience_filter(campaign), list_ids(campaign)
    everyone = count_addresses(where, lists=lists)
    recipients = count_addresses(
        where,
        Subscriber.status == SubscriberStatus.SUBSCRIBED.value,
        not_suppressed(lists),
        lists=lists,
    )
    return AudienceEstimate(recipients, everyone - recipients)


def count_addresses(*where, lists: list[int]) -> int:
    """How many distinct addresses the members of ``lists`` matching ``where`` have."""
    counted = func.count() if len(lists) <= 1 else func.count(func.distinct(Subscriber.email))
    return db.session.scalar(select(counted).select_from(Subscriber).where(*where)) or 0


def add_audience(campaign: Campaign, list_id: int, segment_id: int | None = None) -> None:
    db.session.add(
        CampaignAudience(campaign_id=campaign.id, list_id=list_id, segment_id=segment_id)
    )
    db.session.commit()


# ------------------------------------------------------------------ the step-2 view and changes


@dataclass(frozen=True)
class AudienceEntry:
    audience: CampaignAudience
    mailing_list: MailingList
    segment: Segment | None
    subscribers: int  # everyone on the list or in the segment, before suppressions


@dataclass(frozen=True)
class AudienceView:
    entries: list[AudienceEntry]
    estimate: AudienceEstimate
    pending: list[Import]  # uploads still importing: not counted yet
    failed: list[Import]
    uploads: list[Import]
    waiting: list[Import] = field(default_factory=list)  # uploads waiting for their mapping

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
        AudienceEntry(
            a,
            lists[a.list_id],
            segments.get(a.segment_id),
            _segment_size(a) if a.segment_id in segments else sizes.get(a.list_id, 0),
        )
        for a in audiences
        if a.list_id in lists
    ]


def _segment_size(audience: CampaignAudience) -> int:
    """Members of a list narrowed by its segment (whatever their status, like a list's size)."""
    condition = audience_condition(audience)
    return db.session.scalar(select(func.count()).select_from(Subscriber).where(condition)) or 0


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
    waiting = [i for i in uploads if i.status == ImportStatus.MAPPING.value]
    return AudienceView(entries, estimate(campaign), pending, failed, uploads, waiting)


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
        errors["list_id"] = _("Choose a list.")
    segment = None
    if str(segment_id or "").strip():
        segment = db.session.get(Segment, parse_id(segment_id) or 0)
        if segment is None or mailing_list is None or segment.list_id != mailing_list.id:
            errors["segment_id"] = _("Choose a segment of the chosen list, or “Everyone”.")
    if not errors:
        for audience in campaign.audiences:
            if audience.list_id == mailing_list.id and audience.segment_id == (
                segment.id if segment else None
            ):
                errors["list_id"] = _("This list (with this segment) is already in the audience.")
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
    name = campaign.name[: LIST_NAME_MAX - len(suffix)] + suffix
    n = 2
    while db.session.scalar(select(MailingList.id).filter_by(name=name)):
        tail = f"{suffix} ({n})"
        name = campaign.name[: LIST_NAME_MAX - len(tail)] + tail
        n += 1
    mailing_list = MailingList(
        name=name,
        description=_("Contacts uploaded for the campaign “%(name)s”.", name=campaign.name),
        for_campaign=True,
    )
    db.session.add(mailing_list)
    db.session.flush()
    return mailing_list


def upload(campaign: Campaign, stream, filename: str, user_id: int | None) -> Import:
    """Store an uploaded contact file for the campaign's upload list (which joins the
    audience); it imports in a worker once its columns are matched (the mapping step)."""
    if stream is None or not filename:
        raise ValidationError({"file": _("Choose a JSON, NDJSON or CSV file to upload.")})
    mailing_list = _upload_list(campaign)
    record = importer.import_upload(
        stream,
        filename,
        list_id=mailing_list.id,
        mode="upsert",
        user_id=user_id,
        campaign_id=campaign.id,
        map_columns=True,
    )
    if not any(a.list_id == mailing_list.id and a.segment_id is None for a in campaign.audiences):
        db.session.add(CampaignAudience(campaign_id=campaign.id, list_id=mailing_list.id))
        db.session.commit()
    db.session.refresh(campaign)
    return record
