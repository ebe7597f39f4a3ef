"""Segments of a list: conditions edited with a live count."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from mailer.extensions import db
from mailer.lib.errors import ValidationError
from mailer.models import MailingList, Role, Segment, SubscriberStatus
from mailer.services import segments as segments_service
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import render

bp = Blueprint("segments", __name__, url_prefix="/lists/<int:list_id>/segments")
guard_blueprint(bp)

BLANK = {"field": "attribute", "op": "eq", "value": "", "attribute": ""}
KIND_NAMES = {"number": _l("number"), "date": _l("date"), "bool": _l("yes/no")}


def _get_list(list_id: int) -> MailingList:
    return db.session.get(MailingList, list_id) or abort(404)


def _get_segment(mailing_list: MailingList, segment_id: int) -> Segment:
    segment = db.session.get(Segment, segment_id)
    if segment is None or segment.list_id != mailing_list.id:
        abort(404)
    return segment


def _editor(
    mailing_list, segment=None, conditions=None, match="all", name="", errors=None, status=200
):
    conditions = conditions if conditions is not None else [dict(BLANK)]
    return render(
        "segments/edit.html",
        mailing_list=mailing_list,
        segment=segment,
        conditions=conditions,
        match=match,
        name=name,
        errors=errors or {},
        status=status,
        **_vocabulary(),
        count=_safe_count(mailing_list.id, conditions, match),
    )


def _vocabulary() -> dict:
    return {
        "field_labels": segments_service.FIELD_LABELS,
        "ops": segments_service.OPS,
        "op_labels": segments_service.OP_LABELS,
        "kind_names": KIND_NAMES,
        "statuses": list(SubscriberStatus),
        "editable": current_user.can(Role.MARKETER),
    }


def _safe_count(list_id: int, conditions: list[dict], match: str):
    try:
        return segments_service.count(list_id, segments_service.validate(conditions, match), match)
    except ValidationError as exc:
        return exc.errors


@bp.get("/")
def index(list_id: int):
    mailing_list = _get_list(list_id)
    rows = [
        (s, segments_service.count(list_id, s.conditions, s.match)) for s in mailing_list.segments
    ]
    return render("segments/index.html", mailing_list=mailing_list, rows=rows, **_vocabulary())


@bp.get("/new")
def new(list_id: int):
    return _editor(_get_list(list_id))


@bp.get("/<int:segment_id>")
def edit(list_id: int, segment_id: int):
    mailing_list = _get_list(list_id)
    segment = _get_segment(mailing_list, segment_id)
    return _editor(
        mailing_list, segment, segment.conditions or [dict(BLANK)], segment.match, segment.name
    )


@bp.get("/count")
def count(list_id: int):
    """Live count while editing (a read: GET with the editor's fields as query parameters)."""
    mailing_list = _get_list(list_id)
    conditions = segments_service.conditions_from_form(request.args)
    match = request.args.get("match", "all")
    return render(
        "segments/edit.html",
        block="count",
        mailing_list=mailing_list,
        count=_safe_count(mailing_list.id, conditions, match),
    )


@bp.get("/row")
def row(list_id: int):
    """One more blank condition row for the editor."""
    return render(
        "segments/edit.html",
        block="new_row",
        mailing_list=_get_list(list_id),
        condition=dict(BLANK),
        errors={},
        index=request.args.get("i", 0, type=int),
        **_vocabulary(),
    )


@bp.post("/")
@bp.post("/<int:segment_id>")
def save(list_id: int, segment_id: int | None = None):
    mailing_list = _get_list(list_id)
    segment = _get_segment(mailing_list, segment_id) if segment_id else None
    conditions = segments_service.conditions_from_form(request.form)
    match = request.form.get("match", "all")
    name = request.form.get("name", "")
    try:
        segment = segments_service.save(mailing_list, name, conditions, match, segment)
    except ValidationError as exc:
        db.session.rollback()
        return _editor(mailing_list, segment, conditions, match, name, exc.errors, 422)
    flash(_("Segment “%(name)s” saved.", name=segment.name), "success")
    return redirect(url_for(".index", list_id=list_id))


@bp.post("/<int:segment_id>/delete")
def delete(list_id: int, segment_id: int):
    segment = _get_segment(_get_list(list_id), segment_id)
    db.session.delete(segment)
    db.session.commit()
    flash(_("Segment deleted."), "success")
    return redirect(url_for(".index", list_id=list_id))
