"""Campaign pages: the list, step 1 (what), step 2 (how, to whom), the live campaign page.

Views parse (:mod:`mailer.web.campaign_forms`), call the campaigns package (lifecycle, rules,
audience, stats) and render. Viewers read; marketers write.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import format_number, get_locale, gettext, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from mailer.campaigns import audience, lifecycle, localtime, rules, stats
from mailer.engine.campaign_send import messages as send_messages
from mailer.engine.campaign_state import status_name
from mailer.extensions import db
from mailer.lib.dbutil import parse_id
from mailer.lib.errors import NotAllowed, ValidationError
from mailer.lib.i18n import translate_stored
from mailer.models import Campaign, CampaignStatus, Role
from mailer.services import templates as templates_service
from mailer.web import campaign_forms as forms
from mailer.web.auth import guard_blueprint, role_required
from mailer.web.htmx import fragment_requested, navigate, render, stop_polling
from mailer.web.security_headers import email_frames
from mailer.web.templates_views import designer_context

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")
guard_blueprint(bp)  # viewers read, marketers write


def stored_text(message: str | None) -> str:
    """A message stored in English (marked with N_) in the reader's language. Plain text, so
    the page escapes it: Jinja's _() would take it for trusted markup, and stored messages
    may quote names people typed."""
    return translate_stored(message, send_messages.ALL, gettext)


@bp.context_processor
def _helpers():
    return {
        "local_text": localtime.local_text,
        "duration_text": forms.duration_text,
        "tz": localtime.timezone_name(),
        "status_name": status_name,
        "stored_text": stored_text,
    }


def _get(campaign_id: int) -> Campaign:
    return forms.get_campaign(campaign_id) or abort(404)


def _to_show(campaign: Campaign):
    """Leave for the campaign page; htmx requests are told to navigate there."""
    return navigate(url_for(".show", campaign_id=campaign.id))


def _not_editable(campaign: Campaign) -> str:
    return _(
        "“%(name)s” is %(status)s and can no longer be edited: duplicate it to send it again.",
        name=campaign.name,
        status=status_name(campaign.status),
    )


def _refused(campaign: Campaign, message: str):
    flash(message, "error")
    return _to_show(campaign)


def _flash_all(messages: list[str], category: str = "warning") -> None:
    for message in messages:
        flash(message, category)


def _unscheduled_notice() -> None:
    flash(_("The campaign went back to draft: use “Save and launch” when it is ready."), "info")


# ------------------------------------------------------------------ list


@bp.get("/")
def index():
    status = request.args.get("status", "")
    return render(
        "campaigns/index.html",
        block="table",
        page=stats.campaign_page(status, request.args.get("page", 1, type=int)),
        status_filter=status,
        statuses=list(CampaignStatus),
    )


# ------------------------------------------------------------------ step 1: what


def _step1(campaign: Campaign | None, form, errors=None, status=200, block=None):
    return render(
        "campaigns/step1.html",
        block=block,
        campaign=campaign,
        form=form,
        errors=errors or {},
        templates=forms.templates(),
        designed=campaign is not None and rules.own_design(campaign) and not campaign.template_id,
        status=status,
    )


@bp.get("/new")
@role_required(Role.MARKETER)
def new():
    return _step1(None, forms.step1_form())


@bp.get("/template-subject")
def template_subject():
    """htmx: step 1's subject field after a template is picked, filled with its subject."""
    if not fragment_requested():
        return redirect(url_for(".new"))
    subject = forms.subject_after_picking(
        request.args.get("template_id"), request.args.get("subject")
    )
    return _step1(None, {"subject": subject}, block="subject_field")


@bp.post("/")
def create():
    form = forms.with_template_subject(request.form)
    try:
        campaign, warnings = rules.save_step1(form, user_id=current_user.id)
    except ValidationError as exc:
        return _step1(None, form, exc.errors, 422)
    flash(
        _("Draft “%(name)s” saved. Now choose who receives it and how.", name=campaign.name),
        "success",
    )
    _flash_all(warnings)
    return redirect(_after_step1(campaign, form))


def _after_step1(campaign: Campaign, form) -> str:
    """Step 2 next, or the email editor when the person chose to design the email now."""
    if form.get("action") == "design":
        return url_for(".content", campaign_id=campaign.id)
    return url_for(".setup", campaign_id=campaign.id)


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@role_required(Role.MARKETER)
def edit(campaign_id: int):
    campaign = _get(campaign_id)
    if not lifecycle.is_editable(campaign):
        return _refused(campaign, _not_editable(campaign))
    if request.method == "GET":
        return _step1(campaign, forms.step1_form(campaign))
    form = forms.with_template_subject(request.form)
    try:
        rules.clean_step1(form, campaign)  # check before unscheduling anything
        unscheduled = lifecycle.open_for_editing(campaign)
        campaign, warnings = rules.save_step1(form, campaign)
    except ValidationError as exc:
        return _step1(campaign, form, exc.errors, 422)
    except NotAllowed as exc:
        return _refused(campaign, _(str(exc)))
    flash(_("“%(name)s” saved.", name=campaign.name), "success")
    if unscheduled:
        _unscheduled_notice()
    _flash_all(warnings)
    return redirect(_after_step1(campaign, form))


def _content_page(campaign: Campaign, form, errors=None, status=200, preview=None):
    lists = [a.list_id for a in campaign.audiences] or None
    return render(
        "campaigns/content.html",
        block="preview_output",
        status=status,
        campaign=campaign,
        form=form,
        errors=getattr(errors, "errors", errors) or {},
        details=getattr(errors, "details", {}),
        preview=preview,
        preview_email="",
        editable=True,
        **({} if fragment_requested() else designer_context(lists)),
    )


@bp.route("/<int:campaign_id>/content", methods=["GET", "POST"])
@email_frames
@role_required(Role.MARKETER)
def content(campaign_id: int):
    """The campaign's own email, in the same editor as the template library's."""
    campaign = _get(campaign_id)
    if not lifecycle.is_editable(campaign):
        return _refused(campaign, _not_editable(campaign))
    if request.method == "GET":
        form = rules.content_form(campaign)
        return _content_page(campaign, form, preview=_preview_of(campaign, form))
    try:
        unscheduled = lifecycle.open_for_editing(campaign)
        warnings = rules.save_content(campaign, request.form)
    except ValidationError as exc:
        return _content_page(campaign, request.form, exc, 422)
    except NotAllowed as exc:
        return _refused(campaign, _(str(exc)))
    flash(_("The email of “%(name)s” is saved.", name=campaign.name), "success")
    if unscheduled:
        _unscheduled_notice()
    _flash_all(warnings)
    return redirect(url_for(".setup", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/content/preview")
@email_frames
def content_preview(campaign_id: int):
    campaign = _get(campaign_id)
    return _content_page(campaign, request.form, preview=_preview_of(campaign, request.form))


def _preview_of(campaign: Campaign, form):
    return templates_service.preview(
        form.get("subject", ""),
        form.get("html", ""),
        form.get("text", ""),
        form.get("preview_email", ""),
        name=campaign.name,
        editor=form.get("editor", "html"),
        source=form.get("source", ""),
    )


@bp.post("/<int:campaign_id>/duplicate")
def duplicate(campaign_id: int):
    copy = lifecycle.duplicate(_get(campaign_id), user_id=current_user.id)
    flash(
        _("“%(name)s” created as a draft with the same audience and channels.", name=copy.name),
        "success",
    )
    return redirect(url_for(".setup", campaign_id=copy.id))


@bp.route("/<int:campaign_id>/delete", methods=["GET", "POST"])
@role_required(Role.MARKETER)
def delete(campaign_id: int):
    campaign = _get(campaign_id)
    if request.method == "GET":
        return render("campaigns/delete.html", campaign=campaign)
    name = campaign.name
    try:
        lifecycle.delete_campaign(campaign)
    except NotAllowed as exc:
        return _refused(campaign, _(str(exc)))
    flash(_("Campaign “%(name)s” deleted.", name=name), "success")
    return redirect(url_for(".index"))


# ------------------------------------------------------------------ step 2: how, to whom


def _setup_page(
    campaign: Campaign,
    setup: rules.SetupForm | None = None,
    *,
    errors=None,
    status: int = 200,
    block: str | None = None,
    answers=None,
    refused: bool = False,
):
    return render(
        "campaigns/setup.html",
        block=block,
        status=status,
        campaign=campaign,
        setup=setup or forms.setup_form_of(campaign),
        errors=errors or {},
        audience=audience.audience_view(campaign),
        lists=audience.list_choices(),
        segments_by_list=audience.all_segments(),
        identities=forms.identities(),
        channels=forms.all_channels(),
        answers=answers,
        refused=refused,
        content=rules.content_summary(campaign),
    )


@bp.route("/<int:campaign_id>/setup", methods=["GET", "POST"])
@role_required(Role.MARKETER)
def setup(campaign_id: int):
    campaign = _get(campaign_id)
    if not lifecycle.is_editable(campaign):
        return _refused(campaign, _not_editable(campaign))
    if request.method == "GET":
        return _setup_page(campaign)
    form = forms.parse_setup(request.form)
    # Without JavaScript the row and test buttons submit the whole form here.
    if request.form.get("add_row"):
        return _setup_page(campaign, forms.add_row(form))
    if request.form.get("remove_row"):
        return _setup_page(campaign, forms.remove_row(form, request.form["remove_row"]))
    if request.form.get("send_test"):
        return _test_reply(campaign, form)
    try:
        clean = rules.clean_setup(form)
    except ValidationError as exc:
        return _setup_page(campaign, form, errors=exc.errors, status=422)
    try:
        unscheduled = lifecycle.open_for_editing(campaign)
    except NotAllowed as exc:
        return _refused(campaign, _(str(exc)))
    rules.save_setup(campaign, clean)
    if request.form.get("action") != "launch":
        flash(_("“%(name)s” saved.", name=campaign.name), "success")
        if unscheduled:
            _unscheduled_notice()
        return redirect(url_for(".setup", campaign_id=campaign.id))
    try:
        lifecycle.request_launch(campaign)
    except ValidationError as exc:
        return _setup_page(campaign, errors=exc.errors, status=422, refused=True)
    except NotAllowed as exc:
        return _refused(campaign, _(str(exc)))
    if message := forms.launch_message(campaign):
        flash(message, "success")
    return redirect(url_for(".show", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/setup/rows")
def rows(campaign_id: int):
    """htmx: the channel rows re-rendered with one row added or removed (nothing saved)."""
    campaign = _get(campaign_id)
    form = forms.parse_setup(request.form)
    if request.form.get("remove_row"):
        forms.remove_row(form, request.form["remove_row"])
    else:
        forms.add_row(form)
    return _setup_page(campaign, form, block="rows")


def _test_reply(campaign: Campaign, form: rules.SetupForm):
    try:
        answers = forms.send_test(campaign, form, str(get_locale() or "en"))
    except ValidationError as exc:
        return _setup_page(campaign, form, errors=exc.errors, status=422, block="test_send")
    return _setup_page(campaign, form, answers=answers, block="test_send")


@bp.post("/<int:campaign_id>/test")
def send_test(campaign_id: int):
    return _test_reply(_get(campaign_id), forms.parse_setup(request.form))


# ------------------------------------------------------------------ step 2: audience


@bp.get("/<int:campaign_id>/segments")
def segment_options(campaign_id: int):
    """htmx: the segment picker for the list just chosen."""
    campaign = _get(campaign_id)
    if not fragment_requested():
        return redirect(url_for(".setup", campaign_id=campaign.id))
    list_id = parse_id(request.args.get("list_id"))
    return render(
        "campaigns/_segment_select.html",
        segments=audience.segments_of(list_id),
        grouped=None,
        chosen=None,
    )


@bp.get("/<int:campaign_id>/estimate")
def estimate(campaign_id: int):
    """The live audience estimate; polled while uploaded files import."""
    campaign = _get(campaign_id)
    if not fragment_requested():
        return redirect(url_for(".setup", campaign_id=campaign.id, _anchor="audience"))
    response = _setup_page(campaign, block="estimate")
    return response if audience.audience_view(campaign).importing else stop_polling(response)


def _audience_changed(campaign: Campaign, errors=None):
    status = 422 if errors else 200
    if fragment_requested():
        return _setup_page(campaign, errors=errors, status=status, block="audience")
    if errors:
        return _setup_page(campaign, errors=errors, status=status)
    return redirect(url_for(".setup", campaign_id=campaign.id, _anchor="audience"))


def _open(campaign: Campaign):
    """None when the campaign may change (unscheduling it if needed), else the refusal."""
    try:
        if lifecycle.open_for_editing(campaign):
            _unscheduled_notice()
    except NotAllowed as exc:
        return _refused(campaign, _(str(exc)))
    return None


@bp.post("/<int:campaign_id>/audiences")
def add_audience(campaign_id: int):
    campaign = _get(campaign_id)
    if refused := _open(campaign):
        return refused
    try:
        audience.add_list(campaign, request.form.get("list_id"), request.form.get("segment_id"))
    except ValidationError as exc:
        return _audience_changed(campaign, exc.errors)
    return _audience_changed(campaign)


@bp.post("/<int:campaign_id>/audiences/<int:audience_id>/remove")
def remove_audience(campaign_id: int, audience_id: int):
    campaign = _get(campaign_id)
    if refused := _open(campaign):
        return refused
    if not audience.remove_audience(campaign, audience_id):
        abort(404)
    return _audience_changed(campaign)


@bp.post("/<int:campaign_id>/uploads")
def upload(campaign_id: int):
    campaign = _get(campaign_id)
    if refused := _open(campaign):
        return refused
    file = request.files.get("file")
    try:
        record = audience.upload(
            campaign, file.stream if file else None, file.filename if file else "", current_user.id
        )
    except ValidationError as exc:
        return _audience_changed(campaign, exc.errors)
    return navigate(url_for("import_mapping.columns", import_id=record.id), 204)


# ------------------------------------------------------------------ the campaign page


def _show(campaign: Campaign, block: str | None = None):
    full = block is None or not fragment_requested()
    return render(
        "campaigns/show.html",
        block=block,
        campaign=campaign,
        progress=stats.progress(campaign),
        polling=forms.polls(campaign),
        entries=audience.audience_entries(campaign) if full else [],
        content=rules.content_summary(campaign) if full else None,
        figures=stats.campaign_figures(campaign.id) if forms.is_final(campaign) else None,
    )


@bp.get("/<int:campaign_id>")
def show(campaign_id: int):
    return _show(_get(campaign_id))


@bp.get("/<int:campaign_id>/progress")
def progress(campaign_id: int):
    campaign = _get(campaign_id)
    response = _show(campaign, block="live")
    if fragment_requested() and forms.is_final(campaign):
        return stop_polling(response)
    return response


def _act(campaign_id: int, action, done):
    """Run `action` on the campaign; `done(campaign, result)` is the flash that says it worked."""
    campaign = _get(campaign_id)
    try:
        result = action(campaign)
    except NotAllowed as exc:
        db.session.rollback()
        return _refused(campaign, _(str(exc)))
    flash(done(campaign, result), "success")
    return _to_show(campaign)


@bp.post("/<int:campaign_id>/pause")
def pause(campaign_id: int):
    return _act(
        campaign_id,
        lifecycle.pause,
        lambda c, _r: _("“%(name)s” paused: sending stops in a few seconds.", name=c.name),
    )


@bp.post("/<int:campaign_id>/resume")
def resume(campaign_id: int):
    return _act(campaign_id, lifecycle.resume, lambda c, _r: _("“%(name)s” resumed.", name=c.name))


@bp.post("/<int:campaign_id>/cancel")
def cancel(campaign_id: int):
    return _act(
        campaign_id,
        lifecycle.cancel,
        lambda c, _r: _(
            "“%(name)s” cancelled: the emails not sent yet never will be.", name=c.name
        ),
    )


@bp.post("/<int:campaign_id>/retry-in-doubt")
def retry_in_doubt(campaign_id: int):
    return _act(
        campaign_id,
        lifecycle.retry_in_doubt,
        lambda c, n: ngettext(
            "%(count)s email of “%(name)s” is queued again and will be sent once more.",
            "%(count)s emails of “%(name)s” are queued again and will be sent once more.",
            n,
            count=format_number(n),
            name=c.name,
        ),
    )
