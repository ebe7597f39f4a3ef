"""Templates library: list, write, preview, duplicate and delete reusable emails."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mailer.engine import rendering
from mailer.lib.dbutil import parse_id
from mailer.lib.errors import ValidationError
from mailer.models import Role, Template
from mailer.services import templates as templates_service
from mailer.web.auth import guard_blueprint, role_required
from mailer.web.htmx import render
from mailer.web.security_headers import email_frames

bp = Blueprint("templates", __name__, url_prefix="/templates")
guard_blueprint(bp)  # viewers read, marketers write


def _get_template(template_id: int) -> Template:
    return templates_service.get_template(template_id) or abort(404)


def _form_of(template: Template | None) -> dict[str, str]:
    if template is None:
        return {"name": "", "subject": "", "html": "", "text": ""}
    return {
        "name": template.name,
        "subject": template.subject,
        "html": template.html,
        "text": template.text or "",
    }


def _editor(template: Template | None, form, errors=None, status=200, preview=None, email=""):
    details = getattr(errors, "details", {})  # TemplateSourceError: the raw messages
    errors = getattr(errors, "errors", errors)
    return render(
        "templates/edit.html",
        block="preview_output",
        status=status,
        tmpl=template,
        form=form,
        errors=errors or {},
        details=details,
        preview=preview,
        preview_email=email,
        editable=current_user.can(Role.MARKETER),
        variables=sorted(rendering.BASE_VARIABLES),
    )


def _flash_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        flash(warning, "warning")


@bp.get("/")
def index():
    return render("templates/index.html", templates=templates_service.list_templates())


@bp.get("/new")
@email_frames
@role_required(Role.MARKETER)
def new():
    return _editor(None, _form_of(None))


@bp.post("/")
@email_frames
def create():
    try:
        template, warnings = templates_service.create_template(request.form)
    except ValidationError as exc:
        return _editor(None, request.form, errors=exc, status=422)
    flash(_("Template “%(name)s” saved.", name=template.name), "success")
    _flash_warnings(warnings)
    return redirect(url_for(".edit", template_id=template.id))


@bp.get("/<int:template_id>")
@email_frames
def edit(template_id: int):
    template = _get_template(template_id)
    email = request.args.get("email", "")
    preview = templates_service.preview(
        template.subject, template.html, template.text, email, name=template.name
    )
    return _editor(template, _form_of(template), preview=preview, email=email)


@bp.get("/<int:template_id>/preview")
@email_frames
def preview_saved(template_id: int):
    """The saved version for sample data or a subscriber (fragment for htmx)."""
    return edit(template_id)


@bp.post("/preview")
@email_frames
def preview_draft():
    """What is in the editor right now, saved or not."""
    form = request.form
    template = None
    if template_id := parse_id(form.get("template_id")):
        template = templates_service.get_template(template_id)
    email = form.get("preview_email", "")
    preview = templates_service.preview(
        form.get("subject", ""),
        form.get("html", ""),
        form.get("text", ""),
        email,
        name=form.get("name", "").strip(),
    )
    return _editor(template, form, preview=preview, email=email)


@bp.post("/<int:template_id>")
@email_frames
def update(template_id: int):
    template = _get_template(template_id)
    try:
        warnings = templates_service.update_template(template, request.form)
    except ValidationError as exc:
        return _editor(template, request.form, errors=exc, status=422)
    flash(_("Template “%(name)s” saved.", name=template.name), "success")
    _flash_warnings(warnings)
    return redirect(url_for(".edit", template_id=template.id))


@bp.post("/<int:template_id>/duplicate")
def duplicate(template_id: int):
    copy = templates_service.duplicate_template(_get_template(template_id))
    flash(_("Created “%(name)s”.", name=copy.name), "success")
    return redirect(url_for(".edit", template_id=copy.id))


@bp.get("/<int:template_id>/delete")
@role_required(Role.MARKETER)
def confirm_delete(template_id: int):
    template = _get_template(template_id)
    return render(
        "templates/delete.html",
        tmpl=template,
        used_by=templates_service.usage_count(template),
    )


@bp.post("/<int:template_id>/delete")
def delete(template_id: int):
    template = _get_template(template_id)
    name = template.name
    templates_service.delete_template(template)
    flash(_("Template “%(name)s” deleted.", name=name), "success")
    return redirect(url_for(".index"))
