"""The starter gallery: begin a template from a ready-made email, or from a blank one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _

from mailer.lib.errors import ValidationError
from mailer.models import Role
from mailer.services import starters
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import fragment_requested, navigate, render
from mailer.web.security_headers import email_frames

bp = Blueprint("template_starters", __name__, url_prefix="/templates/gallery")
guard_blueprint(bp, read=Role.MARKETER)  # the gallery only serves to create templates


def _cards() -> list[tuple[starters.Starter, str]]:
    return starters.previews(url_for("static", filename="starters/"))


@bp.get("")
@email_frames
def gallery():
    return render("templates/gallery.html", cards=_cards(), errors={}, form={})


@bp.post("/<key>")
@email_frames
def create(key: str):
    starter = starters.get_starter(key) or abort(404)
    name = request.form.get("name", "")
    try:
        template = starters.create_from_starter(key, name)
    except ValidationError as exc:
        if fragment_requested():  # the card's form alone, its error next to the field
            return render(
                "templates/_starter_form.html",
                status=422,
                starter=starter,
                name=name,
                error=exc.errors.get("name"),
            )
        return render(
            "templates/gallery.html",
            status=422,
            cards=_cards(),
            errors={key: exc.errors.get("name")},
            form={key: name},
        )
    flash(
        _(
            "Template “%(name)s” created from the “%(starter)s” starter.",
            name=template.name,
            starter=starter.name,
        ),
        "success",
    )
    return navigate(url_for("templates.edit", template_id=template.id))
