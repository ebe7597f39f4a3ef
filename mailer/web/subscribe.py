"""The public signup page (``/subscribe/<form>``) and the confirmation link.

Public (auth.PUBLIC_ENDPOINT_PREFIXES). The form's POST is exempt from CSRF, since the snippet
posts from other websites without our cookie; bots are kept out by a hidden field, a signed
timestamp (not too fast, not too old) and hourly counts per address and per client address.
A fetch() caller asking for JSON gets JSON.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, make_response, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _

from mailer.extensions import csrf
from mailer.lib import branding
from mailer.lib.errors import ValidationError
from mailer.models import SignupForm
from mailer.services import signup
from mailer.web.branding import recipient_policy
from mailer.web.i18n import use_locale

bp = Blueprint("subscribe", __name__)


def _form(public_id: str) -> SignupForm:
    form = signup.by_public_id(public_id)
    if form is None:
        abort(make_response(render_template("tracking/invalid.html"), 404))
    return form


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _page(template: str, status: int = 200, **context):
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _show(form: SignupForm, *, values=None, errors=None, notice=None, status=200):
    response = _page(
        "subscribe/form.html",
        status,
        signup_form=form,
        values=values or {},
        chosen=set(values.getlist("list")) if values else {str(i["id"]) for i in form.lists},
        errors=errors or {},
        notice=notice,
        stamp=signup.stamp(form),
    )
    # The page's own form may send people on to the form's thank-you address.
    response.headers["Content-Security-Policy"] = recipient_policy(form.thank_you_url)
    return response


def _json(code: int, **body):
    response = jsonify(body)
    response.status_code = code
    response.headers["Access-Control-Allow-Origin"] = "*"  # fetch() from the form's own site
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/subscribe/brand.css")
def brand_css():
    """The brand colour as Pico's primary colour (no inline style: the CSP forbids it)."""
    color = branding.load().color or branding.DEFAULT_COLOR
    css = (
        f":root:not(#brand){{--pico-primary:{color};--pico-primary-background:{color};"
        f"--pico-primary-border:{color};--pico-primary-hover:{color};"
        f"--pico-primary-hover-background:{color};--pico-primary-underline:{color}80;"
        f"--pico-primary-focus:{color}40}}"
        f".brand-bar{{border-top:4px solid {color}}}\n"
    )
    response = make_response(css)
    response.mimetype = "text/css"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/subscribe/<public_id>")
def page(public_id: str):
    return _show(_form(public_id))


@bp.get("/subscribe/<public_id>/stamp")
def fresh_stamp(public_id: str):
    """A fresh timestamp for a snippet on another website (static/js/signup-embed.js)."""
    return _json(200, stamp=signup.stamp(_form(public_id)))


STAMP_NOTICES = {
    "missing": "finish",  # the snippet's post: ask once more, on our page
    "invalid": "finish",
    "too_fast": "too_fast",
    "expired": "expired",
}


@bp.post("/subscribe/<public_id>")
@csrf.exempt
def submit(public_id: str):
    form = _form(public_id)
    json = _wants_json()
    if request.form.get(signup.HONEYPOT):
        # A bot: answer as if it worked, store and send nothing.
        return _json(200, status="ok") if json else _page("subscribe/thanks.html", confirm=True)
    try:
        clean = signup.clean_post(form, request.form, request.form.getlist("list"))
    except ValidationError as exc:
        if json:
            return _json(422, status="invalid", errors=exc.errors)
        return _show(form, values=request.form, errors=exc.errors, status=422)
    try:
        signup.check_stamp(form, request.form.get(signup.STAMP))
    except signup.StampProblem as exc:
        if json:
            return _json(400, status=exc.kind, message=_("Please reload the page and try again."))
        return _show(form, values=request.form, notice=STAMP_NOTICES[exc.kind], status=400)
    ip = request.remote_addr or ""
    if signup.over_rate_limit(clean["email"], ip):
        message = _("Too many attempts. Please try again in an hour.")
        if json:
            return _json(429, status="rate_limited", message=message)
        return _show(form, values=request.form, notice="rate_limited", status=429)
    outcome = signup.submit(form, clean, ip, str(get_locale() or "en"))
    if json:
        return _json(200, status="confirm" if outcome.confirm else "subscribed")
    if form.thank_you_url:
        return redirect(form.thank_you_url, 303)  # only the address stored with the form
    return _page("subscribe/thanks.html", signup_form=form, confirm=outcome.confirm)


@bp.get("/subscribe/confirm/<token>")
def confirm_page(token: str):
    """Shows a button: mail scanners open links, only a person presses it."""
    consents = _pending(token)
    return _page("subscribe/confirm.html", token=token, done=all(c.confirmed_at for c in consents))


@bp.post("/subscribe/confirm/<token>")
def confirm(token: str):
    consents = _pending(token)
    signup.confirm(consents, request.remote_addr or "")
    return _page("subscribe/confirmed.html")


def _pending(token: str):
    consents = signup.pending(token)
    if consents is None:
        abort(make_response(render_template("subscribe/expired.html"), 404))
    use_locale(signup.subscriber_locale(consents))
    return consents
