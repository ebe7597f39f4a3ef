"""The Outbox: messages "sent" through sandbox channels, kept whole for inspection."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import format_number, ngettext

from mailer.services import channels as channels_service
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import render
from mailer.web.security_headers import email_frames

bp = Blueprint("outbox", __name__, url_prefix="/outbox")
guard_blueprint(bp)  # viewers read, marketers clear


@bp.get("/")
def index():
    page = request.args.get("page", 1, type=int) or 1
    return render("outbox/index.html", block="list", outbox=channels_service.outbox_page(page))


@bp.get("/<int:message_id>")
@email_frames
def show(message_id: int):
    message = channels_service.get_outbox_message(message_id) or abort(404)
    return render(
        "outbox/show.html",
        message=message,
        campaign_name=channels_service.campaign_names(
            {message.campaign_id} if message.campaign_id else set()
        ).get(message.campaign_id),
        parsed=channels_service.parse_stored_message(message.raw),
    )


@bp.post("/clear")
def clear():
    deleted = channels_service.clear_outbox()
    note = ngettext(
        "Outbox cleared (%(count)s email deleted).",
        "Outbox cleared (%(count)s emails deleted).",
        deleted,
        count=format_number(deleted),
    )
    flash(note, "success")
    return redirect(url_for(".index"))
