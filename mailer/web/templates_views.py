"""Templates library: list, write, preview, duplicate and delete reusable emails."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from mailer.engine import rendering
from mailer.lib.dbutil import parse_id
from mailer.lib.errors import ValidationError
from mailer.models import Editor, Role, Template
from mailer.services import templates as templates_service
from mailer.web import campaign_forms
from mailer.web.auth import guard_blueprint, role_required
from mailer.web.htmx import fragment_requested, render
from mailer.web.security_headers import email_frames

bp = Blueprint("templates", __name__, url_prefix="/templates")
guard_blueprint(bp)  # viewers read, marketers write


def _get_template(template_id: int) -> Template:
    return templates_service.get_template(template_id) or abort(404)


def _form_of(template: Template | None, editor: str = Editor.VISUAL.value) -> dict[str, str]:
    if template is None:
        editor = editor if editor in templates_service.EDITORS else Editor.VISUAL.value
        return {"name": "", "subject": "", "html": "", "text": "", "editor": editor}
    return {
        "name": template.name,
        "subject": template.subject,
        "html": template.html,
        "text": template.text or "",
        "editor": template.editor,
        "source": template.source or "",
        "design": template.design or "",
    }


def designer_context(list_ids: list[int] | None = None) -> dict:
    """What the email editor needs besides the form: merge tags, the image library's
    addresses, and the channels and senders a test can go through."""
    views = current_app.view_functions
    return {
        "merge_tags": templates_service.merge_tags(list_ids),
        "asset_urls": {
            "browse": url_for("assets.browse_json") if "assets.browse_json" in views else None,
            "upload": url_for("assets.upload_json") if "assets.upload_json" in views else None,
        },
        "channels": campaign_forms.all_channels(),
        "identities": campaign_forms.identities(),
    }


def _editor(
    template: Template | None,
    form,
    errors=None,
    status=200,
    preview=None,
    email="",
    block="preview_output",
    **extra,
):
    details = getattr(errors, "details", {})  # TemplateSourceError: the raw messages
    errors = getattr(errors, "errors", errors)
    extra.setdefault("test_form", {})
    return render(
        "templates/edit.html",
        block=block,
        status=status,
        tmpl=template,
        form=form,
        errors=errors or {},
        details=details,
        preview=preview,
        preview_email=email,
        editable=current_user.can(Role.MARKETER),
        variables=sorted(rendering.BASE_VARIABLES),
        # An htmx preview renders only its block: no menus or senders to look up for it.
        **({} if fragment_requested() else designer_context()),
        **extra,
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
    return _editor(None, _form_of(None, request.args.get("editor", "")))


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
        editor=form.get("editor", Editor.HTML.value),
        source=form.get("source", ""),
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


@bp.post("/compile")
def compile_source():
    """The HTML an MJML source compiles to, for switching an email to HTML code (one way):
    JSON ``{"html": ...}``, or 422 ``{"error": ...}`` in plain words."""
    try:
        html = rendering.compile_mjml(request.form.get("source", ""))
    except rendering.MjmlProblem as exc:
        return jsonify(error=templates_service.explain_mjml(exc)), 422
    return jsonify(html=html)


@bp.post("/<int:template_id>/test")
@email_frames
def send_test(template_id: int):
    """Send what is in the editor (the saved template when nothing is posted), filled with
    sample data, through the chosen channel and sender."""
    template = _get_template(template_id)
    form = request.form
    answers, errors = [], {}
    try:
        answers = templates_service.send_test(template, form, str(get_locale() or "en"))
    except ValidationError as exc:
        errors = exc.errors
    status = 422 if errors else 200
    extra = {"answers": answers, "test_form": form, "errors": errors, "tmpl": template}
    if fragment_requested():
        body = render_template("templates/_test_send.html", **designer_context(), **extra)
        return body, status
    return _editor(template, _form_of(template), errors, status, answers=answers, test_form=form)


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
