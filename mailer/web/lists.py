"""Lists, their subscribers, and contact file imports."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from mailer.engine.imports import importer
from mailer.engine.imports.files import FORMATS
from mailer.extensions import db
from mailer.lib.errors import ValidationError
from mailer.models import (
    ConsentSource,
    Import,
    ImportStatus,
    MailingList,
    Subscriber,
    SubscriberStatus,
)
from mailer.services import lists as lists_service
from mailer.services import people as people_service
from mailer.services import signup
from mailer.web import people as people_views
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import fragment_requested, render, stop_polling
from mailer.web.import_messages import import_error

# Sent with the last answer to a polling import (HX-Trigger): the list page's counts and
# subscribers table listen for it and reload themselves.
IMPORT_FINISHED = "import-finished"

STATUS_NAMES = {
    "subscribed": _l("subscribed"),
    "unsubscribed": _l("unsubscribed"),
    "bounced": _l("bounced"),
    "complained": _l("complained"),
    "mapping": _l("waiting for its columns"),
    "unconfirmed": _l("waiting for confirmation"),
    "queued": _l("waiting to start"),
    "running": _l("importing"),
    "completed": _l("done"),
    "failed": _l("stopped"),
}
MODE_NAMES = {
    "upsert": _l("update names, merge attributes"),
    "skip": _l("leave existing subscribers untouched"),
    "blocklist": _l("suppress every address"),
    "confirm": _l("ask new people to confirm by email, leave existing ones untouched"),
}
FORMAT_NAMES = {"json": "JSON", "ndjson": "NDJSON", "csv": "CSV"}

bp = Blueprint("lists", __name__, url_prefix="/lists")
guard_blueprint(bp)
bp.add_app_template_filter(import_error, "import_error")


@bp.app_template_global()
def status_name(status: str) -> str:
    """A subscriber's or an import's status in the reader's words."""
    return str(STATUS_NAMES.get(status, status))


def _get_list(list_id: int) -> MailingList:
    return db.session.get(MailingList, list_id) or abort(404)


def _get_subscriber(mailing_list: MailingList, subscriber_id: int) -> Subscriber:
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.list_id != mailing_list.id:
        abort(404)
    return subscriber


def _id_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


def _get_import(mailing_list: MailingList, import_id: int) -> Import:
    record = db.session.get(Import, import_id)
    if record is None or record.list_id != mailing_list.id:
        abort(404)
    return record


# ------------------------------------------------------------------ lists


@bp.get("/")
def index(errors=None, form=None, status=200):
    return render(
        "lists/index.html",
        summaries=lists_service.list_summaries(),
        errors=errors or {},
        form=form or {},
        status=status,
    )


@bp.post("/")
def create():
    get_locale()  # the reader's language, before the commit expires the user it is read from
    try:
        mailing_list = lists_service.create_list(
            request.form.get("name", ""), request.form.get("description", "")
        )
    except ValidationError as exc:
        return index(errors=exc.errors, form=request.form, status=422)
    flash(
        _("List “%(name)s” created. Add subscribers or import a file.", name=mailing_list.name),
        "success",
    )
    return redirect(url_for(".show", list_id=mailing_list.id))


def _show(mailing_list: MailingList, *, block: str | None = None, status: int = 200, **extra):
    page = lists_service.browse(
        mailing_list.id,
        request.args.get("q", ""),
        request.args.get("status", ""),
        before=_id_arg("before"),
        after=_id_arg("after"),
    )
    # The counts are grouped over the whole list: on the full page and when an import ends
    # (the table reloads itself), never for turning a page.
    counts_oob = fragment_requested() and request.headers.get("HX-Trigger") == "subscriber-table"
    full = not (block and fragment_requested())
    return render(
        "lists/show.html",
        block=block,
        status=status,
        mailing_list=mailing_list,
        page=page,
        counts=lists_service.status_counts(mailing_list.id) if full or counts_oob else {},
        statuses=list(SubscriberStatus),
        imports=importer.imports_for_list(mailing_list.id),
        formats={f: FORMAT_NAMES.get(f, f) for f in FORMATS},
        modes={m: MODE_NAMES[m] for m in importer.MODES},
        q=request.args.get("q", ""),
        status_filter=request.args.get("status", ""),
        errors=extra.pop("errors", {}),
        form=extra.pop("form", {}),
        counts_oob=counts_oob,  # a refreshed table brings the counts along
        **extra,
    )


@bp.get("/<int:list_id>")
def show(list_id: int):
    return _show(_get_list(list_id), block="subscribers")


@bp.post("/<int:list_id>/rename")
def rename(list_id: int):
    mailing_list = _get_list(list_id)
    try:
        lists_service.rename_list(
            mailing_list, request.form.get("name", ""), request.form.get("description")
        )
        flash(_("List renamed."), "success")
    except ValidationError as exc:
        flash(exc.errors.get("name", str(exc)), "error")
    return redirect(url_for(".show", list_id=list_id))


@bp.post("/<int:list_id>/public")
def set_public(list_id: int):
    mailing_list = _get_list(list_id)
    try:
        lists_service.set_public(
            mailing_list,
            request.form.get("public") == "1",
            request.form.get("public_name", ""),
            request.form.get("public_description", ""),
        )
    except ValidationError as exc:
        db.session.rollback()
        return _show(mailing_list, status=422, public_errors=exc.errors)
    flash(_("Preference centre settings saved."), "success")
    return redirect(url_for(".show", list_id=list_id))


@bp.route("/<int:list_id>/delete", methods=["GET", "POST"])
def delete(list_id: int):
    mailing_list = _get_list(list_id)
    if request.method == "GET":
        return render(
            "lists/delete.html",
            mailing_list=mailing_list,
            count=importer.count_subscribers(list_id),
        )
    name = mailing_list.name
    deleted = lists_service.delete_list(mailing_list)
    flash(
        ngettext(
            "List “%(name)s” deleted with its %(num)s subscriber.",
            "List “%(name)s” deleted with its %(num)s subscribers.",
            deleted,
            name=name,
        ),
        "success",
    )
    return redirect(url_for(".index"))


# ------------------------------------------------------------------ subscribers


@bp.post("/<int:list_id>/subscribers")
def add_subscriber(list_id: int):
    mailing_list = _get_list(list_id)
    try:
        subscriber = lists_service.add_subscriber(
            list_id, request.form, people_service.attributes_from_form
        )
    except ValidationError as exc:
        return _show(
            mailing_list,
            block="add_form" if fragment_requested() else None,
            status=422,
            errors=exc.errors,
            form=request.form,
        )
    if request.form.get("confirm"):
        sent = signup.ask_to_confirm(subscriber, ConsentSource.MANUAL)
        flash(
            _("%(email)s added: a confirmation email is on its way.", email=subscriber.email)
            if sent
            else _(
                "%(email)s added, waiting for confirmation, but the email could not be sent: "
                "check the list’s confirmation settings.",
                email=subscriber.email,
            ),
            "success" if sent else "error",
        )
        return redirect(url_for(".show", list_id=list_id))
    signup.declare(subscriber, ConsentSource.MANUAL)
    flash(_("%(email)s added.", email=subscriber.email), "success")
    return redirect(url_for(".show", list_id=list_id))


@bp.route("/<int:list_id>/subscribers/<int:subscriber_id>", methods=["GET", "POST"])
def edit_subscriber(list_id: int, subscriber_id: int):
    subscriber = _get_subscriber(_get_list(list_id), subscriber_id)
    if request.method == "POST":  # the profile page (web/people.py) serves this subscriber
        return people_views.save_profile(subscriber, done_url=url_for(".show", list_id=list_id))
    return people_views.profile_page(subscriber)


@bp.post("/<int:list_id>/subscribers/<int:subscriber_id>/unsubscribe")
def unsubscribe(list_id: int, subscriber_id: int):
    subscriber = _get_subscriber(_get_list(list_id), subscriber_id)
    lists_service.set_status(subscriber, SubscriberStatus.UNSUBSCRIBED.value)
    flash(_("%(email)s unsubscribed.", email=subscriber.email), "success")
    return redirect(url_for(".show", list_id=list_id))


@bp.post("/<int:list_id>/subscribers/<int:subscriber_id>/delete")
def delete_subscriber(list_id: int, subscriber_id: int):
    subscriber = _get_subscriber(_get_list(list_id), subscriber_id)
    email = subscriber.email
    lists_service.delete_subscriber(subscriber)
    flash(_("%(email)s deleted.", email=email), "success")
    return redirect(url_for(".show", list_id=list_id))


# ------------------------------------------------------------------ imports


@bp.post("/<int:list_id>/imports")
def start_import(list_id: int):
    mailing_list = _get_list(list_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _show(mailing_list, status=422, errors={"file": _("Choose a file to import.")})
    try:
        record = importer.import_upload(
            upload.stream,
            upload.filename,
            list_id=list_id,
            mode=request.form.get("mode", "upsert"),
            fmt=request.form.get("format") or None,
            user_id=current_user.id,
            map_columns=True,
        )
    except ValidationError as exc:
        errors = {key: import_error(message) for key, message in exc.errors.items()}
        return _show(mailing_list, status=422, errors=errors, form=request.form)
    return redirect(url_for("import_mapping.columns", import_id=record.id))


@bp.get("/<int:list_id>/imports/<int:import_id>")
def import_progress(list_id: int, import_id: int):
    mailing_list = _get_list(list_id)
    record = _get_import(mailing_list, import_id)
    response = render(
        "lists/import.html",
        block="progress",
        mailing_list=mailing_list,
        record=record,
        rate=importer.rate(record),
        mode_names=MODE_NAMES,
    )
    done = record.status in (ImportStatus.COMPLETED, ImportStatus.FAILED)
    if done and fragment_requested():
        if request.args.get("watching"):  # it was running on this page until now
            response.headers["HX-Trigger"] = IMPORT_FINISHED
        return stop_polling(response)
    return response


@bp.get("/<int:list_id>/imports/<int:import_id>/rejected.csv")
def rejected_rows(list_id: int, import_id: int):
    record = _get_import(_get_list(list_id), import_id)
    report = importer.open_rejected(record)
    if report is None:
        abort(404)
    return send_file(
        report,
        mimetype="text/csv",
        as_attachment=True,
        download_name=f"import-{record.id}-rejected.csv",
    )
