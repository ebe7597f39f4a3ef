"""Signup forms (the hosted page, the snippet) and each list's confirmation email settings."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from mailer.extensions import db
from mailer.lib.errors import ValidationError
from mailer.models import Channel, Identity, MailingList, SignupForm
from mailer.services import signup
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import render

bp = Blueprint("signup_forms", __name__)
guard_blueprint(bp)


def _get_form(form_id: int) -> SignupForm:
    return db.session.get(SignupForm, form_id) or abort(404)


def _lists() -> list[MailingList]:
    return list(
        db.session.scalars(
            select(MailingList)
            .where(MailingList.for_campaign.is_(False))
            .order_by(MailingList.name)
        )
    )


def _input() -> signup.FormInput:
    chosen = []
    for raw in request.form.getlist("list"):
        if raw.isdigit():
            chosen.append((int(raw), request.form.get(f"label_{raw}", "")))
    return signup.FormInput(
        name=request.form.get("name", ""),
        title=request.form.get("title", ""),
        intro=request.form.get("intro", ""),
        lists=chosen,
        fields_text=request.form.get("fields", ""),
        ask_name=bool(request.form.get("ask_name")),
        thank_you_url=request.form.get("thank_you_url", ""),
    )


def _edit_page(form: SignupForm | None, errors=None, status=200):
    values = request.form if errors else None
    if values is not None:
        chosen = {int(i) for i in values.getlist("list") if i.isdigit()}
        labels = {i: values.get(f"label_{i}", "") for i in chosen}
    elif form is not None:
        chosen = {item["id"] for item in form.lists}
        labels = {item["id"]: item["label"] for item in form.lists}
    else:
        chosen, labels = set(), {}
    hosted = script = None
    if form is not None:  # the address visitors use, as in emails
        base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
        hosted = base + url_for("subscribe.page", public_id=form.public_id)
        script = base + url_for("static", filename="js/signup-embed.js")
    return render(
        "signup_forms/edit.html",
        signup_form=form,
        values=values,
        lists=_lists(),
        chosen=chosen,
        labels=labels,
        fields_text=values.get("fields", "")
        if values is not None
        else (signup.fields_text(form) if form else ""),
        hosted=hosted,
        snippet=signup.snippet(form, hosted, script) if form else "",
        errors=errors or {},
        status=status,
    )


@bp.get("/forms/")
def index():
    return render("signup_forms/index.html", forms=signup.all_forms(), lists=_lists())


@bp.route("/forms/new", methods=["GET", "POST"])
def new():
    if request.method == "GET":
        return _edit_page(None)
    try:
        form = signup.create_form(_input())
    except ValidationError as exc:
        return _edit_page(None, exc.errors, 422)
    flash(_("Form “%(name)s” created: copy its link or its code below.", name=form.name), "success")
    return redirect(url_for(".edit", form_id=form.id))


@bp.route("/forms/<int:form_id>", methods=["GET", "POST"])
def edit(form_id: int):
    form = _get_form(form_id)
    if request.method == "GET":
        return _edit_page(form)
    try:
        signup.update_form(form, _input())
    except ValidationError as exc:
        db.session.rollback()
        return _edit_page(form, exc.errors, 422)
    flash(_("Form “%(name)s” saved.", name=form.name), "success")
    return redirect(url_for(".edit", form_id=form.id))


@bp.post("/forms/<int:form_id>/delete")
def delete(form_id: int):
    form = _get_form(form_id)
    name = form.name
    signup.delete_form(form)
    flash(_("Form “%(name)s” deleted.", name=name), "success")
    return redirect(url_for(".index"))


# ------------------------------------------------------------------ a list's confirmation email


@bp.route("/lists/<int:list_id>/confirmation", methods=["GET", "POST"])
def confirmation(list_id: int):
    mailing_list = db.session.get(MailingList, list_id) or abort(404)
    errors, status = {}, 200
    if request.method == "POST":
        try:
            signup.save_confirmation_settings(list_id, request.form)
        except ValidationError as exc:
            errors, status = exc.errors, 422
        else:
            flash(_("Confirmation settings saved."), "success")
            return redirect(url_for(".confirmation", list_id=list_id))
    settings = signup.confirmation_settings(list_id)
    return render(
        "signup_forms/confirmation.html",
        mailing_list=mailing_list,
        confirm_settings=settings,
        values=request.form if errors else None,
        channels=list(db.session.scalars(select(Channel).order_by(Channel.name))),
        identities=list(db.session.scalars(select(Identity).order_by(Identity.name))),
        default_subject=signup.default_subject(),
        default_html=signup.default_html(),
        errors=errors,
        status=status,
    )
