"""A campaign's failed sends: the ones that failed and the ones nobody knows were sent, with
why, filtered; marketers send them again one by one or all those shown. The rules are in
:mod:`mailer.campaigns.failed_sends`, the same as the API's."""

from __future__ import annotations

import math
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import format_number, ngettext
from flask_babel import gettext as _

from mailer.campaigns import failed_sends as review
from mailer.campaigns import localtime
from mailer.engine.campaign_state import status_name
from mailer.extensions import db
from mailer.lib.dbutil import parse_id
from mailer.lib.errors import NotAllowed
from mailer.models import Campaign, Channel, Send
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import fragment_requested, render

bp = Blueprint("failed_sends", __name__, url_prefix="/campaigns")
guard_blueprint(bp)  # viewers read, marketers retry

PER_PAGE = 50
FILTERS = ("state", "channel", "reason", "since", "until")


def _campaign(campaign_id: int) -> Campaign:
    return db.session.get(Campaign, campaign_id) or abort(404)


def _args(source) -> dict[str, str]:
    """The filters as typed (query string or the retry form's hidden fields)."""
    args = {name: (source.get(name) or "").strip() for name in FILTERS}
    if args["state"] not in review.STATES:
        args["state"] = review.FAILED
    return args


def _filter(campaign: Campaign, args: dict[str, str], errors: dict[str, str]) -> review.Filter:
    since = until = None
    for name in ("since", "until"):
        if not args[name]:
            continue
        try:
            moment = localtime.parse_local(args[name][:10] + "T00:00")
        except ValueError:
            errors[name] = _("Enter a date, e.g. 2030-06-01.")
            continue
        if name == "since":
            since = moment
        else:
            until = moment + timedelta(days=1)  # the whole day
    return review.Filter(
        campaign_id=campaign.id,
        channel_id=parse_id(args["channel"]) if args["channel"] else None,
        reason=args["reason"][:200] or None,
        since=since,
        until=until,
        state=args["state"],
    )


def _page(campaign: Campaign, args: dict[str, str], block: str | None = None, status=200):
    errors: dict[str, str] = {}
    f = _filter(campaign, args, errors)
    counts = review.counts(f) if not errors else dict.fromkeys(review.STATES, 0)
    total = counts[args["state"]]
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    sends = []
    if not errors:
        sends = list(
            db.session.scalars(
                review.sends_query(f)
                .order_by(Send.id.desc())
                .offset((page - 1) * PER_PAGE)
                .limit(PER_PAGE)
            )
        )
    channels = {c.id: c for c in db.session.scalars(db.select(Channel))}
    row_channels = review.row_channels(row.id for row in campaign.channels)
    return render(
        "campaigns/failed.html",
        block=block,
        status=422 if errors else status,
        campaign=campaign,
        args=args,
        kept={k: v for k, v in args.items() if v and k != "state"},  # filters for the links
        errors=errors,
        sends=sends,
        counts=counts,
        total=total,
        page=page,
        pages=pages,
        row_channels=row_channels,
        channels=channels,
        campaign_channels=[channels[i] for i in dict.fromkeys(row_channels.values())],
        reason_of=review.reason_of,
        reason_name=review.reason_name,
        retryable=campaign.status in review.RETRYABLE and campaign.archived_at is None,
        local_text=localtime.local_text,
        status_name=status_name,
        fragment=fragment_requested(),
    )


def _answer(campaign: Campaign, args: dict[str, str]):
    """After a retry: the results again (htmx), or back to the page with the same filters."""
    if fragment_requested():
        return _page(campaign, args, block="results")
    kept = {k: v for k, v in args.items() if v}
    return redirect(url_for(".index", campaign_id=campaign.id, **kept))


@bp.get("/<int:campaign_id>/failed")
def index(campaign_id: int):
    return _page(_campaign(campaign_id), _args(request.args), block="results")


@bp.post("/<int:campaign_id>/failed/<int:send_id>/retry")
def retry_one(campaign_id: int, send_id: int):
    campaign = _campaign(campaign_id)
    send = db.session.get(Send, send_id)
    if send is None or send.campaign_id != campaign.id:
        abort(404)
    try:
        review.retry_send(send, confirm_in_doubt=request.form.get("confirm_in_doubt") == "1")
    except NotAllowed as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("The email to %(email)s is queued again.", email=send.email), "success")
    return _answer(campaign, _args(request.form))


@bp.post("/<int:campaign_id>/failed/retry")
def retry_shown(campaign_id: int):
    campaign = _campaign(campaign_id)
    args = _args(request.form)
    errors: dict[str, str] = {}
    f = _filter(campaign, args, errors)
    if errors:
        return _page(campaign, args, block="results")
    confirmed = request.form.get("confirm_in_doubt") == "1"
    if f.state == review.IN_DOUBT and not confirmed:
        flash(_("Confirm “send again anyway”: these emails may already have arrived."), "error")
        return _answer(campaign, args)
    try:
        review.check_campaign(campaign)
        done = review.retry_sends(f, confirm_in_doubt=confirmed)
    except NotAllowed as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _answer(campaign, args)
    if done.queued:
        flash(
            _(
                "%(num)s emails are being queued again in the background: refresh in a moment.",
                num=format_number(done.matching),
            ),
            "success",
        )
    else:
        flash(
            ngettext(
                "%(count)s email is queued again.",
                "%(count)s emails are queued again.",
                done.retried,
                count=format_number(done.retried),
            ),
            "success",
        )
    return _answer(campaign, args)
