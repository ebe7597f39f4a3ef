"""People: search across lists, a person's profile and activity, bulk actions and exports."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from mailer.extensions import db
from mailer.lib.errors import ValidationError
from mailer.models import (
    BulkAction,
    Import,
    MailingList,
    Role,
    Segment,
    Subscriber,
    SubscriberStatus,
)
from mailer.services import bulk, exports, people, signup
from mailer.services import lists as lists_service
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import fragment_requested, render, stop_polling

bp = Blueprint("people", __name__, url_prefix="/people")
guard_blueprint(bp)
# Exports change nothing: a viewer may ask for one, by link (GET) or with ticked rows (POST).
export_bp = Blueprint("people_export", __name__, url_prefix="/people/export")
guard_blueprint(export_bp, write=Role.VIEWER)

FIELD_NAMES = {
    "email": _l("Email starts with"),
    "name": _l("Name contains"),
    "attribute": _l("Attribute contains"),
}
ACTION_NAMES = {
    "add_to_list": _l("Add to a list"),
    "remove_from_list": _l("Remove from a list"),
    "unsubscribe": _l("Unsubscribe"),
    "suppress": _l("Add to suppressions"),
    "delete": _l("Delete"),
}
FORMAT_NAMES = {
    "csv": _l("CSV (UTF-8, commas)"),
    "excel": _l("CSV for Excel (semicolons)"),
    "json": _l("JSON"),
}
ACTIVITY_NAMES = {
    "sent": _l("Sent"),
    "open": _l("Opened"),
    "click": _l("Clicked"),
    "bounce": _l("Bounced"),
    "complaint": _l("Marked as spam"),
    "unsubscribe": _l("Unsubscribed"),
    "resubscribe": _l("Subscribed again"),
}
BULK_STATUS_NAMES = {
    "queued": _l("waiting to start"),
    "running": _l("running"),
    "completed": _l("done"),
    "cancelled": _l("cancelled"),
    "failed": _l("stopped"),
}


def _search_context(search: people.Search) -> dict:
    lists = db.session.execute(select(MailingList.id, MailingList.name).order_by(MailingList.name))
    segments = db.session.execute(
        select(Segment.id, Segment.name, MailingList.name)
        .join(MailingList, MailingList.id == Segment.list_id)
        .order_by(MailingList.name, Segment.name)
    )
    return {
        "search": search,
        "lists": lists.all(),
        "segments": segments.all(),
        "statuses": list(SubscriberStatus),
        "field_names": FIELD_NAMES,
        "action_names": ACTION_NAMES,
        "format_names": FORMAT_NAMES,
    }


# ------------------------------------------------------------------ search


@bp.get("/")
def index():
    search = people.Search.from_args(request.args)
    page = people.search_page(search, request.args.get("after"))
    return render(
        "people/index.html",
        block="results",
        page=page,
        after=request.args.get("after"),
        recent=bulk.recent(),
        **_search_context(search),
    )


# ------------------------------------------------------------------ one person


def _get_subscriber(subscriber_id: int) -> Subscriber:
    return db.session.get(Subscriber, subscriber_id) or abort(404)


def profile_page(
    subscriber: Subscriber,
    *,
    errors=None,
    form=None,
    status=200,
    extra_rows=0,
    block="editor",
    after: str | None = None,
):
    """The profile of one subscription (the lists view shows it too)."""
    rows = people.attribute_rows(form, subscriber, extra_rows)
    if not rows:
        rows = [("", "")]
    return render(
        "people/profile.html",
        block=block,
        status=status,
        subscriber=subscriber,
        mailing_list=db.session.get(MailingList, subscriber.list_id),
        memberships=people.memberships(subscriber.email),
        timeline=people.timeline(subscriber.email, after),
        statuses=list(SubscriberStatus),
        attribute_rows=rows,
        errors=errors or {},
        form=form or {},
        activity_names=ACTIVITY_NAMES,
        consents=signup.consents_of(subscriber.id),
        source_import=db.session.get(Import, subscriber.import_id)
        if subscriber.import_id
        else None,
    )


@bp.get("/<int:subscriber_id>")
def profile(subscriber_id: int):
    return profile_page(_get_subscriber(subscriber_id))


def save_profile(subscriber: Subscriber, *, done_url: str):
    """Save the profile form, or add/remove an attribute row (not saved yet)."""
    op = request.form.get("op", "save")
    if op == "add":
        return profile_page(subscriber, form=request.form, extra_rows=1)
    if op.startswith("remove-") and op[7:].isdigit():
        form = request.form.copy()
        index = int(op[7:])
        names, values = form.getlist("attr_name"), form.getlist("attr_value")
        if index < len(names):
            del names[index]
            del values[index : index + 1]
        form.setlist("attr_name", names)
        form.setlist("attr_value", values)
        return profile_page(subscriber, form=form)
    try:
        attributes = people.attributes_from_form(request.form, subscriber.attributes or {})
        lists_service.update_subscriber(subscriber, request.form, attributes=attributes)
    except ValidationError as exc:
        db.session.rollback()
        return profile_page(subscriber, errors=exc.errors, form=request.form, status=422)
    flash(_("%(email)s saved.", email=subscriber.email), "success")
    return redirect(done_url)


@bp.post("/<int:subscriber_id>")
def save(subscriber_id: int):
    subscriber = _get_subscriber(subscriber_id)
    return save_profile(subscriber, done_url=url_for(".profile", subscriber_id=subscriber.id))


@bp.get("/<int:subscriber_id>/activity")
def activity(subscriber_id: int):
    """Older activity: the next items for htmx, else the profile showing that page."""
    subscriber = _get_subscriber(subscriber_id)
    return profile_page(subscriber, block="activity", after=request.args.get("after"))


# ------------------------------------------------------------------ bulk actions


def _selection(form) -> bulk.Selection:
    """Every match of the search in the form (scope=all), or the ticked ids."""
    if form.get("scope") == "all":
        return bulk.Selection(search=people.Search.from_args(form))
    ids = []
    for raw in form.getlist("id"):
        if raw.isdigit() and len(raw) < 19:
            ids.append(int(raw))
    return bulk.Selection(ids=tuple(sorted(set(ids))))


@bp.post("/bulk")
def start_bulk():
    target = request.form.get("target_list", "")
    target_id = int(target) if target.isdigit() and len(target) < 12 else None
    selection = _selection(request.form)
    try:
        action = bulk.start(request.form.get("kind", ""), selection, target_id, current_user)
    except ValidationError as exc:
        for message in exc.errors.values():
            flash(message, "error")
        back = request.form.get("back", "")
        return redirect(back if back.startswith("/people") else url_for(".index"))
    return redirect(url_for(".bulk_progress", action_id=action.id))


def _get_action(action_id: int) -> BulkAction:
    return db.session.get(BulkAction, action_id) or abort(404)


@bp.get("/bulk/<int:action_id>")
def bulk_progress(action_id: int):
    action = _get_action(action_id)
    response = render(
        "people/bulk.html",
        block="progress",
        action=action,
        share=bulk.progress(action),
        target=db.session.get(MailingList, action.target_list_id)
        if action.target_list_id
        else None,
        action_names=ACTION_NAMES,
        status_names=BULK_STATUS_NAMES,
        summary=_summary(action),
    )
    if action.status in bulk.FINISHED and fragment_requested():
        return stop_polling(response)
    return response


@bp.post("/bulk/<int:action_id>/cancel")
def cancel_bulk(action_id: int):
    action = _get_action(action_id)
    bulk.cancel(action)
    if fragment_requested():
        return bulk_progress(action_id)
    flash(_("Stopping: rows already changed stay changed."), "info")
    return redirect(url_for(".bulk_progress", action_id=action.id))


def _summary(action: BulkAction) -> str:
    n = action.changed
    texts = {
        "add_to_list": ngettext("%(num)s person added.", "%(num)s people added.", n),
        "remove_from_list": ngettext("%(num)s person removed.", "%(num)s people removed.", n),
        "unsubscribe": ngettext("%(num)s subscription ended.", "%(num)s subscriptions ended.", n),
        "suppress": ngettext("%(num)s address suppressed.", "%(num)s addresses suppressed.", n),
        "delete": ngettext("%(num)s row deleted.", "%(num)s rows deleted.", n),
    }
    return texts.get(action.kind, "")


# ------------------------------------------------------------------ exports


@export_bp.route("/", methods=["GET", "POST"])
def download():
    source = request.form if request.method == "POST" else request.args
    selection = _selection(source)
    if not selection.ids:  # every match of the search (a list, a segment, or everyone)
        selection = bulk.Selection(search=people.Search.from_args(source))
    fmt = source.get("format", "csv")
    if fmt not in exports.FORMATS:
        fmt = "csv"
    name = f"subscribers-{date.today().isoformat()}.{exports.EXTENSIONS[fmt]}"
    response = Response(
        stream_with_context(exports.stream(selection, fmt)), mimetype=exports.MEDIA_TYPES[fmt]
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
