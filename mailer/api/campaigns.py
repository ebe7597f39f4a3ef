"""Campaign scheduling: create a campaign from a campaign document, list, describe, change
its date, delete, pause/resume/cancel, stats. The rules live in mailer/campaigns (documents,
lifecycle, stats), the same as the campaign pages'."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import request

from mailer.api.core import bp, idempotent, json_body, not_found, paginate, scope
from mailer.campaigns import documents as campaign_documents
from mailer.campaigns import lifecycle, stats
from mailer.extensions import db
from mailer.models import Campaign, Channel, Identity, MailingList, Template


def _campaign(ref: str) -> Campaign:
    campaign = campaign_documents.find(ref)
    if campaign is None:
        raise not_found("campaign")
    return campaign


def _document_schema(body) -> str:
    """Our field names or the client teams' (the spec's oneOf of the two)."""
    if campaign_documents.is_client_shape(body):
        return "ClientCampaignDocument"
    return "CampaignDocument"


@bp.post("/campaigns")
@scope("campaigns")
@idempotent
def create_campaign():
    campaign = campaign_documents.create(json_body(_document_schema))
    return serialize(campaign), 201


@bp.get("/campaigns")
@scope("campaigns", "read")
def list_campaigns():
    stmt = campaign_documents.listing(request.args.get("status"))
    return paginate(stmt, Campaign.id, serialize)


@bp.get("/campaigns/<ref>")
@scope("campaigns", "read")
def get_campaign(ref: str):
    return serialize(_campaign(ref))


@bp.patch("/campaigns/<ref>")
@scope("campaigns")
def update_campaign(ref: str):
    campaign = _campaign(ref)
    body = json_body("CampaignUpdate")
    return serialize(campaign_documents.reschedule(campaign, body["date"]))


@bp.delete("/campaigns/<ref>")
@scope("campaigns")
def delete_campaign(ref: str):
    campaign_documents.delete(_campaign(ref))
    return "", 204


@bp.post("/campaigns/<ref>/pause")
@scope("campaigns")
def pause_campaign(ref: str):
    return serialize(lifecycle.pause(_campaign(ref)))


@bp.post("/campaigns/<ref>/resume")
@scope("campaigns")
def resume_campaign(ref: str):
    return serialize(lifecycle.resume(_campaign(ref)))


@bp.post("/campaigns/<ref>/cancel")
@scope("campaigns")
def cancel_campaign(ref: str):
    return serialize(lifecycle.cancel(_campaign(ref)))


@bp.get("/campaigns/<ref>/stats")
@scope("campaigns", "read")
def campaign_stats(ref: str):
    return _stats(_campaign(ref))


# ------------------------------------------------------------------ the resource


def _time(value: datetime | None) -> str | None:
    return value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if value else None


def _template(template_id: int | None) -> dict[str, Any] | None:
    template = db.session.get(Template, template_id) if template_id else None
    return {"id": template.id, "name": template.name} if template else None


def _stats(campaign: Campaign) -> dict[str, Any]:
    """Where every recipient stands, and what they did, from the campaign report's figures."""
    counts = stats.status_counts(campaign.id)
    figures = stats.campaign_figures(campaign.id)
    remaining = sum(counts[s] for s in ("pending", "claimed", "sending"))
    sent = counts["sent"]

    def rate(count: int, over: int) -> float | None:
        return round(count / over, 4) if over else None

    return {
        "campaign_id": campaign.id,
        "status": campaign.status,
        "audience": campaign.audience_size,
        "excluded": campaign.excluded_count,
        "sent": sent,
        "failed": counts["failed"],
        "suppressed": counts["suppressed"],
        "in_doubt": counts["in_doubt"],
        "cancelled": counts["cancelled"],
        "remaining": remaining,
        "delivered": figures.delivered,
        "bounced": figures.bounced,
        "complained": figures.complained,
        "unsubscribed": figures.unsubscribed,
        "opens": {
            "total": figures.opens.total,
            "unique": figures.opens.unique,
            "unique_human": figures.opens.unique_human,
        },
        "clicks": {
            "total": figures.clicks.total,
            "unique": figures.clicks.unique,
            "unique_human": figures.clicks.unique_human,
        },
        "rates": {
            "delivery": rate(figures.delivered, sent),
            "open": figures.open_rate,
            "click": figures.click_rate,
            "click_to_open": figures.click_to_open,
            "bounce": rate(figures.bounced, sent),
            "complaint": rate(figures.complained, figures.base),
            "unsubscribe": rate(figures.unsubscribed, figures.base),
        },
    }


def serialize(campaign: Campaign) -> dict[str, Any]:
    segments = []
    for audience in campaign.audiences:
        mailing_list = db.session.get(MailingList, audience.list_id)
        segments.append(
            {
                "list": mailing_list.name if mailing_list else None,
                "list_id": audience.list_id,
                "template": _template(audience.template_id),
            }
        )
    channels = []
    for row in campaign.channels:
        channel = db.session.get(Channel, row.channel_id)
        identity = db.session.get(Identity, row.identity_id)
        channels.append(
            {
                "id": row.id,
                "channel": {"id": channel.id, "name": channel.name},
                "sender": {"id": identity.id, "email": identity.from_email},
                "per_day": row.daily_max,
                "frequency_minutes": row.frequency_minutes,
                "loops": row.loops,
                "start_at": _time(row.start_at),
                "sent": row.sent_count,
                "failed": row.failed_count,
                "waiting_reason": row.waiting_reason,
                "paused_reason": row.paused_reason,
            }
        )
    return {
        "id": campaign.id,
        "external_id": campaign.external_id,
        "name": campaign.name,
        "subject": campaign.subject,
        "status": campaign.status,
        "template": _template(campaign.template_id),
        "date": _time(campaign.scheduled_at),
        "started_at": _time(campaign.started_at),
        "finished_at": _time(campaign.finished_at),
        "created_at": _time(campaign.created_at),
        "audience_size": campaign.audience_size,
        "excluded_count": campaign.excluded_count,
        "error": campaign.error,
        "segments": segments,
        "channels": channels,
    }
