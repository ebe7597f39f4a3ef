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
from flask_login import current_user

from mailer.engine.imports import importer
from mailer.engine.imports.files import FORMATS
from mailer.extensions import db
from mailer.lib.errors import ValidationError
from mailer.models import Import, ImportStatus, MailingList, Subscriber, SubscriberStatus
from mailer.services import lists as lists_service
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import fragment_requested, render, stop_polling

bp = Blueprint("lists", __name__, url_prefix="/lists")
guard_blueprint(bp)


def _get_list(list_id: int) -> MailingList:
    return db.session.get(MailingList, list_id) or abort(404)


def _get_subscriber(mailing_list: MailingList, subscriber_id: int) -> Subscriber:
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.list_id != mailing_list.id:
        abort(404)
    return subscriber


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
    try:
        mailing_list = lists_service.create_list(
            request.form.get("name", ""), request.form.get("description", "")
        )
    except ValidationError as exc:
        return index(errors=exc.errors, form=request.form, status=422)
    flash(f"List “{mailing_list.name}” created. Add subscribers or import a file.", "success")
    return redirect(url_for(".show", list_id=mailing_list.id))


def _show(mailing_list: MailingList, *, block: str | None = None, status: int = 200, **extra):
    page = lists_service.browse(
        mailing_list.id,
        request.args.get("q", ""),
        request.args.get("status", ""),
        request.args.get("page", 1, type=int),
    )
    return render(
        "lists/show.html",
        block=block,
        status=status,
        mailing_list=mailing_list,
        page=page,
        counts=lists_service.status_counts(mailing_list.id),
        statuses=list(SubscriberStatus),
        imports=importer.imports_for_list(mailing_list.id),
        formats=FORMATS,
        modes=importer.MODES,
        q=request.args.get("q", ""),
        status_filter=request.args.get("status", ""),
        errors=extra.pop("errors", {}),
        form=extra.pop("form", {}),
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
        flash("List renamed.", "success")
    except ValidationError as exc:
        flash(exc.errors.get("name", str(exc)), "error")
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
    flash(f"List “{name}” deleted with its {deleted:,} subscribers.", "success")
    return redirect(url_for(".index"))


# ------------------------------------------------------------------ subscribers


@bp.post("/<int:list_id>/subscribers")
def add_subscriber(list_id: int):
    mailing_list = _get_list(list_id)
    try:
        subscriber = lists_service.add_subscriber(list_id, request.form)
    except ValidationError as exc:
        return _show(
            mailing_list,
            block="add_form" if fragment_requested() else None,
            status=422,
            errors=exc.errors,
            form=request.form,
        )
    flash(f"{subscriber.email} added.", "success")
    return redirect(url_for(".show", list_id=list_id))


@bp.route("/<int:list_id>/subscribers/<int:subscriber_id>", methods=["GET", "POST"])
def edit_subscriber(list_id: int, subscriber_id: int):
    mailing_list = _get_list(list_id)
    subscriber = _get_subscriber(mailing_list, subscriber_id)
    errors, status = {}, 200
    if request.method == "POST":
        try:
            lists_service.update_subscriber(subscriber, request.form)
            flash(f"{subscriber.email} saved.", "success")
            return redirect(url_for(".show", list_id=list_id))
        except ValidationError as exc:
            db.session.rollback()
            errors, status = exc.errors, 422
    return render(
        "lists/subscriber.html",
        mailing_list=mailing_list,
        subscriber=subscriber,
        statuses=list(SubscriberStatus),
        errors=errors,
        form=request.form,
        status=status,
    )


@bp.post("/<int:list_id>/subscribers/<int:subscriber_id>/unsubscribe")
def unsubscribe(list_id: int, subscriber_id: int):
    subscriber = _get_subscriber(_get_list(list_id), subscriber_id)
    lists_service.set_status(subscriber, SubscriberStatus.UNSUBSCRIBED.value)
    flash(f"{subscriber.email} unsubscribed.", "success")
    return redirect(url_for(".show", list_id=list_id))


@bp.post("/<int:list_id>/subscribers/<int:subscriber_id>/delete")
def delete_subscriber(list_id: int, subscriber_id: int):
    subscriber = _get_subscriber(_get_list(list_id), subscriber_id)
    email = subscriber.email
    lists_service.delete_subscriber(subscriber)
    flash(f"{email} deleted.", "success")
    return redirect(url_for(".show", list_id=list_id))


# ------------------------------------------------------------------ imports


@bp.post("/<int:list_id>/imports")
def start_import(list_id: int):
    mailing_list = _get_list(list_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _show(mailing_list, status=422, errors={"file": "Choose a file to import."})
    try:
        record = importer.import_upload(
            upload.stream,
            upload.filename,
            list_id=list_id,
            mode=request.form.get("mode", "upsert"),
            fmt=request.form.get("format") or None,
            user_id=current_user.id,
        )
    except ValidationError as exc:
        return _show(mailing_list, status=422, errors=exc.errors, form=request.form)
    importer.enqueue_import(record)
    flash(f"Importing {record.filename}: progress below.", "info")
    return redirect(url_for(".show", list_id=list_id, _anchor=f"import-{record.id}"))


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
    )
    done = record.status in (ImportStatus.COMPLETED, ImportStatus.FAILED)
    return stop_polling(response) if done and fragment_requested() else response


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
