"""API: templates, lists and subscribers, imports, suppressions and events.

Thin views over the services the UI uses, so the API validates exactly as the pages do.
Reads need the ``read`` scope, writes ``campaigns``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from flask import g, request, send_file, url_for

from mailer.api.core import (
    ApiError,
    bp,
    field_errors,
    get_or_404,
    json_body,
    not_found,
    paginate,
    scope,
)
from mailer.engine.imports import importer
from mailer.extensions import db
from mailer.lib.dbutil import parse_id
from mailer.lib.errors import ValidationError
from mailer.models import (
    ConsentSource,
    Event,
    EventType,
    Import,
    MailingList,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
    Template,
)
from mailer.services import event_feed, signup, suppressions
from mailer.services import lists as lists_service
from mailer.services import templates as templates_service

IMPORT_FIELDS = frozenset({"file", "format", "mode"})


def _time(value: datetime | None) -> str | None:
    """Naive UTC from the database as ISO 8601 with its zone."""
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def _deleted():
    return "", 204


# --- query parameters -------------------------------------------------------------------------


def _bad_param(name: str, message: str) -> ApiError:
    return field_errors([{"path": name, "message": message}], "Invalid query parameter.")


def _choice_arg(name: str, choices: list[str]) -> str:
    value = request.args.get(name)
    if value is None:
        return ""
    if value not in choices:
        raise _bad_param(name, f"Choose one of: {', '.join(choices)}.")
    return value


def _id_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None:
        return None
    ident = parse_id(value)
    if ident is None:
        raise _bad_param(name, "A positive whole number (an id).")
    return ident


def _time_arg(name: str) -> datetime | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _bad_param(name, "An ISO 8601 time, e.g. 2025-03-01T12:00:00Z.") from None
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise _bad_param(name, "A time between the years 1 and 9999.") from None
    return moment


# --- templates --------------------------------------------------------------------------------


def _template_json(template: Template) -> dict[str, Any]:
    return {
        "id": template.id,
        "name": template.name,
        "subject": template.subject,
        "editor": template.editor,
        "mjml": template.source,
        "html": template.html,
        "text": template.text,
        "created_at": _time(template.created_at),
        "updated_at": _time(template.updated_at),
    }


@bp.get("/templates")
def list_templates():
    return paginate(sa.select(Template), Template.id, _template_json)


def _write_template(write, body: dict[str, Any]):
    """A template written in HTML, or in MJML (compiled to HTML; its mistakes under $.mjml)."""
    if "mjml" in body:
        body = {**body, "editor": "mjml", "source": body["mjml"]}
    try:
        return write(body)
    except ValidationError as exc:
        if "source" in exc.errors:
            exc.errors["mjml"] = exc.errors.pop("source")
        raise


@bp.post("/templates")
@scope("campaigns")
def create_template():
    template, warnings = _write_template(
        templates_service.create_template, json_body("TemplateInput")
    )
    return {**_template_json(template), "warnings": warnings}, 201


@bp.get("/templates/<int:template_id>")
def get_template(template_id: int):
    template = get_or_404(Template, template_id, "template")
    used_by = templates_service.usage_count(template)
    return {**_template_json(template), "used_by_campaigns": used_by}


@bp.put("/templates/<int:template_id>")
@scope("campaigns")
def update_template(template_id: int):
    template = get_or_404(Template, template_id, "template")
    body = json_body("TemplateInput")
    try:
        warnings = _write_template(partial(templates_service.update_template, template), body)
    except ValidationError:
        db.session.rollback()
        raise
    return {**_template_json(template), "warnings": warnings}


@bp.delete("/templates/<int:template_id>")
@scope("campaigns")
def delete_template(template_id: int):
    """Like the UI: draft campaigns using it lose the link, launched ones keep their copy."""
    templates_service.delete_template(get_or_404(Template, template_id, "template"))
    return _deleted()


# --- lists ------------------------------------------------------------------------------------


def _counts(by_status: dict[str, int]) -> dict[str, int]:
    counts = {status.value: by_status.get(status.value, 0) for status in SubscriberStatus}
    return {"total": sum(by_status.values()), **counts}


def _list_json(mailing_list: MailingList, by_status: dict[str, int]) -> dict[str, Any]:
    return {
        "id": mailing_list.id,
        "name": mailing_list.name,
        "description": mailing_list.description,
        "for_campaign": mailing_list.for_campaign,
        "created_at": _time(mailing_list.created_at),
        "subscribers": _counts(by_status),
    }


@bp.get("/lists")
def list_lists():
    page = paginate(sa.select(MailingList), MailingList.id, lambda row: row)
    counts = lists_service.counts_by_list([m.id for m in page["data"]])
    page["data"] = [_list_json(m, counts[m.id]) for m in page["data"]]
    return page


@bp.post("/lists")
@scope("campaigns")
def create_list():
    body = json_body("ListInput")
    mailing_list = lists_service.create_list(body["name"], body.get("description") or "")
    return _list_json(mailing_list, {}), 201


@bp.get("/lists/<int:list_id>")
def get_list(list_id: int):
    mailing_list = get_or_404(MailingList, list_id, "list")
    return _list_json(mailing_list, lists_service.status_counts(list_id))


@bp.patch("/lists/<int:list_id>")
@scope("campaigns")
def update_list(list_id: int):
    mailing_list = get_or_404(MailingList, list_id, "list")
    body = json_body("ListPatch")
    try:
        lists_service.rename_list(
            mailing_list, body.get("name", mailing_list.name), body.get("description")
        )
    except ValidationError:
        db.session.rollback()
        raise
    return _list_json(mailing_list, lists_service.status_counts(list_id))


@bp.delete("/lists/<int:list_id>")
@scope("campaigns")
def delete_list(list_id: int):
    """The list goes with all its subscribers (deleted in chunks, as in the UI)."""
    lists_service.delete_list(get_or_404(MailingList, list_id, "list"))
    return _deleted()


# --- subscribers ------------------------------------------------------------------------------


def _subscriber_json(subscriber: Subscriber) -> dict[str, Any]:
    return {
        "id": subscriber.id,
        "list_id": subscriber.list_id,
        "email": subscriber.email,
        "first_name": subscriber.first_name,
        "last_name": subscriber.last_name,
        "name": subscriber.name,
        "status": subscriber.status,
        "attributes": subscriber.attributes or {},
        "created_at": _time(subscriber.created_at),
        "updated_at": _time(subscriber.updated_at),
        "unsubscribed_at": _time(subscriber.unsubscribed_at),
    }


def _get_subscriber(list_id: int, subscriber_id: int) -> Subscriber:
    get_or_404(MailingList, list_id, "list")
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.list_id != list_id:
        raise not_found("subscriber on this list")
    return subscriber


def _one_subscriber(subscriber: Subscriber) -> dict[str, Any]:
    return {
        **_subscriber_json(subscriber),
        "suppressed": suppressions.is_suppressed(subscriber.email),
    }


def _subscriber_form(body: dict[str, Any], current: Subscriber | None = None) -> dict[str, Any]:
    """The API body in the form the list service reads (as the UI posts it)."""
    form: dict[str, Any] = {}
    for key in ("first_name", "last_name", "name"):
        value = body[key] if key in body else getattr(current, key, None)
        form[key] = value or ""
    attributes = body.get("attributes", current.attributes if current else {})
    form["attributes"] = json.dumps(attributes or {})
    if "email" in body:
        form["email"] = body["email"]
    if "status" in body:
        form["status"] = body["status"]
    return form


@bp.get("/lists/<int:list_id>/subscribers")
def list_subscribers(list_id: int):
    get_or_404(MailingList, list_id, "list")
    status = _choice_arg("status", [s.value for s in SubscriberStatus])
    stmt = lists_service.subscribers_query(list_id, request.args.get("email", ""), status)
    return paginate(stmt, Subscriber.id, _subscriber_json)


@bp.post("/lists/<int:list_id>/subscribers")
@scope("campaigns")
def add_subscriber(list_id: int):
    get_or_404(MailingList, list_id, "list")
    body = json_body("SubscriberInput")
    subscriber = lists_service.add_subscriber(list_id, _subscriber_form(body))
    if body.get("confirm"):  # unconfirmed until they click the emailed link
        signup.ask_to_confirm(subscriber, ConsentSource.API)
        return _one_subscriber(subscriber), 201
    if body.get("status", SubscriberStatus.SUBSCRIBED) != subscriber.status:
        lists_service.set_status(subscriber, body["status"])
    signup.declare(subscriber, ConsentSource.API)  # the client declares consent
    return _one_subscriber(subscriber), 201


@bp.get("/lists/<int:list_id>/subscribers/<int:subscriber_id>")
def get_subscriber(list_id: int, subscriber_id: int):
    return _one_subscriber(_get_subscriber(list_id, subscriber_id))


@bp.patch("/lists/<int:list_id>/subscribers/<int:subscriber_id>")
@scope("campaigns")
def update_subscriber(list_id: int, subscriber_id: int):
    subscriber = _get_subscriber(list_id, subscriber_id)
    body = json_body("SubscriberPatch")
    try:
        lists_service.update_subscriber(subscriber, _subscriber_form(body, subscriber))
    except ValidationError:
        db.session.rollback()
        raise
    return _one_subscriber(subscriber)


@bp.delete("/lists/<int:list_id>/subscribers/<int:subscriber_id>")
@scope("campaigns")
def delete_subscriber(list_id: int, subscriber_id: int):
    lists_service.delete_subscriber(_get_subscriber(list_id, subscriber_id))
    return _deleted()


# --- imports ----------------------------------------------------------------------------------


def _import_json(record: Import) -> dict[str, Any]:
    done = record.status == "completed"
    progress = 1.0 if done else (record.bytes_read / record.size_bytes if record.size_bytes else 0)
    rate = importer.rate(record)
    rejected_url = None
    if record.status in ("completed", "failed") and importer.has_rejected(record):
        rejected_url = url_for("api.import_rejected_rows", import_id=record.id)
    return {
        "id": record.id,
        "list_id": record.list_id,
        "filename": record.filename,
        "format": record.format,
        "mode": record.mode,
        "status": record.status,
        "progress": round(min(progress, 1.0), 4),
        "size_bytes": record.size_bytes,
        "bytes_read": record.bytes_read,
        "rows_read": record.rows_read,
        "inserted": record.inserted,
        "updated": record.updated,
        "skipped": record.skipped,
        "duplicates": record.duplicates,
        "rejected": record.rejected,
        "rows_per_second": round(rate, 1) if rate is not None else None,
        "error": record.error,
        "created_at": _time(record.created_at),
        "started_at": _time(record.started_at),
        "finished_at": _time(record.finished_at),
        "links": {
            "self": url_for("api.get_import", import_id=record.id),
            "rejected_rows": rejected_url,
        },
    }


@bp.post("/lists/<int:list_id>/imports")
@scope("campaigns")
def start_import(list_id: int):
    """Stream the uploaded file to disk, then hand it to the import job (as the UI does)."""
    get_or_404(MailingList, list_id, "list")
    if request.mimetype != "multipart/form-data":
        raise ApiError(
            415,
            "unsupported_media_type",
            "Upload the file as multipart/form-data (fields: file, format, mode).",
        )
    unknown = sorted((set(request.form) | set(request.files)) - IMPORT_FIELDS)
    if unknown:
        raise field_errors([{"path": f"$.{name}", "message": "Unknown field."} for name in unknown])
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError({"file": "Attach the file to import (a file part named 'file')."})
    record = importer.import_upload(
        upload.stream,
        upload.filename,
        list_id=list_id,
        mode=request.form.get("mode") or "upsert",
        fmt=request.form.get("format") or None,
    )
    importer.enqueue_import(record)
    body = _import_json(record)
    return body, 202, {"Location": body["links"]["self"]}


@bp.get("/imports/<int:import_id>")
def get_import(import_id: int):
    return _import_json(get_or_404(Import, import_id, "import"))


@bp.get("/imports/<int:import_id>/rejected.csv")
def import_rejected_rows(import_id: int):
    record = get_or_404(Import, import_id, "import")
    report = importer.open_rejected(record)
    if report is None:
        raise ApiError(404, "not_found", "This import has no rejected-rows report (yet).")
    return send_file(
        report,
        mimetype="text/csv",
        as_attachment=True,
        download_name=f"import-{record.id}-rejected.csv",
    )


# --- suppressions -----------------------------------------------------------------------------


def _suppression_json(suppression: Suppression) -> dict[str, Any]:
    return {
        "id": suppression.id,
        "email": suppression.email,
        "reason": suppression.reason,
        "note": suppression.source,
        "created_at": _time(suppression.created_at),
    }


@bp.get("/suppressions")
def list_suppressions():
    reason = _choice_arg("reason", [r.value for r in SuppressionReason])
    stmt = suppressions.query(request.args.get("email", ""), reason)
    return paginate(stmt, Suppression.id, _suppression_json)


@bp.post("/suppressions")
@scope("campaigns")
def add_suppression():
    body = json_body("SuppressionInput")
    note = (body.get("note") or "").strip() or f"added with API key {g.api_key.prefix}"
    suppression = suppressions.add_manual(body["email"], note)
    return _suppression_json(suppression), 201


@bp.delete("/suppressions/<string:email>")
@scope("campaigns")
def remove_suppression(email: str):
    suppression = suppressions.find(email)
    if suppression is None:
        raise ApiError(404, "not_found", "This address is not on the suppression list.")
    suppressions.remove(suppression)
    return _deleted()


# --- events -----------------------------------------------------------------------------------


def _event_types() -> tuple[str, ...]:
    wanted = [t.strip() for value in request.args.getlist("type") for t in value.split(",")]
    wanted = [t for t in wanted if t]
    known = [t.value for t in EventType]
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise _bad_param("type", f"Unknown type {unknown[0]!r}; choose from: {', '.join(known)}.")
    return tuple(dict.fromkeys(wanted))


@bp.get("/events")
def list_events():
    filters = event_feed.EventFilter(
        campaign_id=_id_arg("campaign_id"),
        message_id=_id_arg("message_id"),
        types=_event_types(),
        since=_time_arg("since"),
        until=_time_arg("until"),
    )
    page = paginate(event_feed.query(filters), Event.id, lambda row: row)
    details = event_feed.details(page["data"])
    page["data"] = [
        {
            "id": e.id,
            "type": e.type,
            "occurred_at": _time(e.occurred_at),
            "email": details.email(e),
            "campaign_id": e.campaign_id,
            "send_id": e.send_id,
            "message_id": e.message_id,
            "url": details.url(e),
            "machine": e.machine,
            "data": e.data or {},
        }
        for e in page["data"]
    ]
    return page
