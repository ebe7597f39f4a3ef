"""The public archive (/archive, /archive/<id>, /archive.atom) and the campaign page's switch
that publishes a campaign there (editors). Public: auth.PUBLIC_ENDPOINT_PREFIXES."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from mailer.campaigns import archive as archive_service
from mailer.extensions import db
from mailer.models import Campaign, Role
from mailer.web.auth import role_required
from mailer.web.tracking import ONLINE_CSP

bp = Blueprint("archive", __name__)
FEED_SIZE = 20


@bp.app_template_filter("atom_time")
def atom_time(value: datetime | None) -> str:
    """RFC 3339 in UTC, as Atom wants it (stored times are naive UTC)."""
    return (value or datetime(2000, 1, 1)).strftime("%Y-%m-%dT%H:%M:%SZ")


@bp.get("/archive")
def index():
    found = archive_service.page(request.args.get("page", 1, type=int))
    response = make_response(render_template("archive/index.html", archive=found))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/archive/<int:campaign_id>")
def show(campaign_id: int):
    """The campaign as the sample person reads it: marketer-written HTML, served as an opaque
    origin without scripts (as the view-online page)."""
    issue = archive_service.issue(campaign_id)
    if issue is None:
        abort(404)
    response = make_response(issue.html)
    response.headers["Content-Security-Policy"] = ONLINE_CSP
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/archive.atom")
def feed():
    issues = archive_service.issues(FEED_SIZE)
    body = render_template("archive/feed.atom.xml", issues=issues)
    response = make_response(body)
    response.headers["Content-Type"] = "application/atom+xml; charset=utf-8"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.post("/campaigns/<int:campaign_id>/public")
@role_required(Role.MARKETER)
def set_public(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    public = request.form.get("public") == "1"
    archive_service.set_public(campaign, public)
    if public:
        flash(_("The campaign is in the public archive once it is sent."), "success")
    else:
        flash(_("The campaign is no longer in the public archive."), "success")
    return redirect(url_for("campaigns.show", campaign_id=campaign_id))
