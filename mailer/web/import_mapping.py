"""The mapping step of an upload: preview the first rows, say what each column becomes."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mailer.engine.imports import importer
from mailer.engine.imports import mapping as mapping_engine
from mailer.engine.imports.files import ImportFileError
from mailer.extensions import db
from mailer.lib.errors import ValidationError
from mailer.models import Import, ImportStatus, MailingList, Role
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import render
from mailer.web.import_messages import import_error

bp = Blueprint("import_mapping", __name__, url_prefix="/imports")
guard_blueprint(bp, read=Role.MARKETER)

TARGET_NAMES = {
    "email": _l("Email address"),
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "name": _l("Full name"),
    "attribute": _l("An attribute"),
    "merge": _l("Its fields become attributes"),
    "skip": _l("Skip this column"),
}
TYPE_NAMES = {
    "text": _l("Text"),
    "number": _l("Number"),
    "date": _l("Date"),
    "bool": _l("Yes/no"),
}
ERRORS = {
    "choose": _l("Choose one of the options."),
    "role-twice": _l("Another column already fills this field: choose one of them."),
    "bad-name": _l(
        'Use at most 100 characters, without quotes ("), backslashes (\\) or control characters.'
    ),
    "attribute-twice": _l("Another column already has this attribute name."),
    "no-email": _l("Choose the column that holds the email addresses."),
}


def _get_waiting(import_id: int) -> Import:
    record = db.session.get(Import, import_id)
    if record is None or record.list_id is None:
        abort(404)
    return record


def _done_url(record: Import) -> str:
    if record.campaign_id:
        return url_for("campaigns.setup", campaign_id=record.campaign_id, _anchor="audience")
    return url_for("lists.show", list_id=record.list_id, _anchor=f"import-{record.id}")


def _page(record: Import, columns=None, errors=None, remembered=False, status=200):
    try:
        preview = importer.read_preview(record)
    except (ImportFileError, FileNotFoundError):
        flash(_("This file can no longer be read. Upload it again."), "error")
        return redirect(_done_url(record))
    if columns is None:
        columns, remembered = mapping_engine.suggest(preview)
    samples = [
        mapping_engine.sample(column, [row[i] for row in preview.rows])
        for i, column in enumerate(columns)
    ]
    return render(
        "imports/mapping.html",
        status=status,
        record=record,
        mailing_list=db.session.get(MailingList, record.list_id),
        preview=preview,
        columns=columns,
        samples=samples,
        remembered=remembered,
        errors={key: ERRORS.get(code, code) for key, code in (errors or {}).items()},
        targets=TARGET_NAMES,
        types=TYPE_NAMES,
    )


@bp.get("/<int:import_id>/columns")
def columns(import_id: int):
    record = _get_waiting(import_id)
    if record.status != ImportStatus.MAPPING.value:
        return redirect(_done_url(record))
    return _page(record)


@bp.post("/<int:import_id>/columns")
def confirm(import_id: int):
    record = _get_waiting(import_id)
    if record.status != ImportStatus.MAPPING.value:
        flash(_("This import has already started."), "info")
        return redirect(_done_url(record))
    try:
        fields = importer.read_preview(record).fields
    except (ImportFileError, FileNotFoundError):
        flash(_("This file can no longer be read. Upload it again."), "error")
        return redirect(_done_url(record))
    chosen, errors = mapping_engine.parse(fields, request.form)
    if errors:
        return _page(record, chosen, errors, status=422)
    try:
        importer.confirm_mapping(record, chosen, fields)
    except ValidationError as exc:
        flash(import_error(exc.errors["mapping"]), "error")
        return redirect(_done_url(record))
    importer.enqueue_import(record)
    if record.campaign_id:
        message = _(
            "Importing %(file)s: the estimate counts it once it is imported.", file=record.filename
        )
    else:
        message = _("Importing %(file)s: progress below.", file=record.filename)
    flash(message, "info")
    return redirect(_done_url(record))


@bp.post("/<int:import_id>/cancel")
def cancel(import_id: int):
    record = _get_waiting(import_id)
    if record.status == ImportStatus.MAPPING.value:
        importer.cancel_waiting(record)
        flash(_("Import of %(file)s cancelled.", file=record.filename), "info")
    return redirect(_done_url(record))
