"""The suppression list: search, add, remove, import."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mailer.engine.imports import importer
from mailer.extensions import db
from mailer.lib.errors import ValidationError
from mailer.models import Suppression, SuppressionReason
from mailer.services import suppressions as service
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import render
from mailer.web.import_messages import import_error

bp = Blueprint("suppressions", __name__, url_prefix="/suppressions")
guard_blueprint(bp)


def _page(errors=None, form=None, status=200):
    q = request.args.get("q", "")
    reason = request.args.get("reason", "")
    rows, total, page, pages = service.search(q, reason, request.args.get("page", 1, type=int))
    return render(
        "suppressions/index.html",
        block="table",
        rows=rows,
        sources=service.source_labels(rows),
        reason_name=service.reason_name,
        total=total,
        page=page,
        pages=pages,
        q=q,
        reason=reason,
        reasons=list(SuppressionReason),
        errors=errors or {},
        form=form or {},
        status=status,
    )


@bp.get("/")
def index():
    return _page()


@bp.post("/")
def add():
    try:
        suppression = service.add_manual(
            request.form.get("email", ""), f"added by {current_user.email}"
        )
    except ValidationError as exc:
        return _page(errors=exc.errors, form=request.form, status=422)
    flash(_("%(email)s will not be mailed again.", email=suppression.email), "success")
    return redirect(url_for(".index"))


@bp.post("/<int:suppression_id>/delete")
def remove(suppression_id: int):
    suppression = db.session.get(Suppression, suppression_id) or abort(404)
    service.remove(suppression)
    flash(
        _(
            "%(email)s removed from the suppression list: it can be mailed again.",
            email=suppression.email,
        ),
        "success",
    )
    return redirect(url_for(".index"))


@bp.post("/import")
def import_file():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(errors={"file": _("Choose a file to import.")}, status=422)
    try:
        record = importer.import_upload(
            upload.stream, upload.filename, list_id=None, mode="blocklist", user_id=current_user.id
        )
    except ValidationError as exc:
        return _page(errors={k: import_error(v) for k, v in exc.errors.items()}, status=422)
    importer.enqueue_import(record)
    flash(
        _("Importing %(file)s into the suppression list.", file=record.filename),
        "info",
    )
    return redirect(url_for(".index"))
