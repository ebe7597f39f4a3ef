"""Campaign reports: the figures page (charts drawn by static/js/report.js) and the CSV export."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, stream_with_context, url_for
from flask_babel import format_number, format_percent
from werkzeug.routing import BuildError

from mailer.campaigns import reports, stats
from mailer.extensions import db
from mailer.models import Campaign, CampaignStatus
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import render

bp = Blueprint("reports", __name__, url_prefix="/reports")
guard_blueprint(bp)

LIVE = (CampaignStatus.RUNNING.value, CampaignStatus.PAUSED.value)


def _get_campaign(campaign_id: int) -> Campaign:
    return db.session.get(Campaign, campaign_id) or abort(404)


@bp.app_template_global()
def campaign_rates(campaigns) -> dict:
    """Key rates for the dashboard's recent campaigns, in two grouped queries."""
    return stats.rates(c.id for c in campaigns)


@bp.get("/campaigns/<int:campaign_id>")
def campaign(campaign_id: int):
    """The report; while the campaign runs, htmx refreshes the figures block every 15 s."""
    report = reports.campaign_report(_get_campaign(campaign_id))
    try:
        campaign_url = url_for("campaigns.show", campaign_id=campaign_id)
    except BuildError:  # the campaigns pages are not registered
        campaign_url = None
    return render(
        "reports/campaign.html",
        block="figures",
        report=report,
        live=report.campaign.status in LIVE,
        campaign_url=campaign_url,
    )


@bp.get("/campaigns/<int:campaign_id>/activity.csv")
def activity_csv(campaign_id: int):
    campaign = _get_campaign(campaign_id)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", campaign.name).strip("-").lower() or "campaign"
    return Response(
        stream_with_context(reports.activity_csv(campaign.id)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{slug}-{campaign.id}-activity.csv"',
            "X-Accel-Buffering": "no",  # let a proxy pass the stream through as it comes
        },
    )


@bp.app_template_filter("pct")
def percent(value: float | None) -> str:
    """0.1234 → "12.3%" ("12,3 %" in French); None (nothing to take a rate over) → "—"."""
    return "—" if value is None else format_percent(value, "#,##0.0%")


@bp.app_template_filter("thousands")
def thousands(value: int) -> str:
    """12345 → "12,345" ("12 345" in French)."""
    return format_number(value)
