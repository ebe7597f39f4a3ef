"""The preference centre (/p/<token>) and the person's own data requests (/p/data/<token>).

Public (auth.PUBLIC_ENDPOINT_PREFIXES): the send token of a campaign email names the person;
an export or erasure needs more, the signed link Mailer emails to the address. Forms carry a
CSRF token (the page sets a session cookie only when shown).
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, make_response, render_template, request

from mailer.lib import dbutil, tokens
from mailer.services import preferences as preferences_service
from mailer.services import privacy
from mailer.services.privacy import requests as privacy_requests
from mailer.web.i18n import use_locale

bp = Blueprint("preferences", __name__)


def _page(template: str, status: int = 200, **context):
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"  # the token never leaves in a Referer
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _invalid():
    abort(make_response(render_template("tracking/invalid.html"), 404))


def _person(token: str) -> preferences_service.Person:
    person = preferences_service.lookup(token)
    if person is None:
        _invalid()
    use_locale(person.locale)
    return person


@bp.get("/p/<token>")
def show(token: str):
    return _page("preferences/show.html", person=_person(token))


@bp.post("/p/<token>")
def save(token: str):
    person = _person(token)
    chosen = {i for i in map(dbutil.parse_id, request.form.getlist("lists")) if i is not None}
    preferences_service.save(
        person, chosen, request.form.get("first_name", ""), request.form.get("last_name", "")
    )
    return _page("preferences/show.html", person=_person(token), saved=True)


@bp.post("/p/<token>/unsubscribe")
def unsubscribe_all(token: str):
    person = _person(token)
    preferences_service.unsubscribe_all(person)
    return _page("preferences/unsubscribed.html", person=person)


@bp.post("/p/<token>/data")
def request_data(token: str):
    """Email the person a signed link to their export or to the erasure."""
    person = _person(token)
    action = request.form.get("action", "")
    if action not in privacy_requests.ACTIONS:
        return _page("preferences/show.html", 422, person=person, data_error=True)
    sent = privacy_requests.email_link(person.send_id, person.email, action, person.locale)
    return _page("preferences/check_inbox.html", person=person, action=action, sent=sent)


def _request(link: str) -> tuple[privacy_requests.Request, preferences_service.Person]:
    """The emailed link's request and its person, else the invalid page (expired, forged,
    or the data is already erased)."""
    found = privacy_requests.read_token(link)
    if found is None:
        _invalid()
    person = preferences_service.lookup(_send_token(found.send_id))
    if person is None:
        _invalid()
    use_locale(person.locale)
    return found, person


def _send_token(send_id: int) -> str:
    return tokens.make(tokens.CAMPAIGN_SEND, send_id)


@bp.get("/p/data/<token>")
def data_page(token: str):
    """What the emailed link opens: a download button or the erase form. A GET changes
    nothing (mail scanners follow links)."""
    found, person = _request(token)
    return _page("preferences/data.html", person=person, link=token, action=found.action)


@bp.get("/p/data/<token>/export.json")
def data_export(token: str):
    found, person = _request(token)
    if found.action != "export":
        _invalid()
    body = json.dumps(privacy.export(person.email, for_person=True), indent=2, ensure_ascii=False)
    response = make_response(body)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/p/data/<token>/erase")
def data_erase(token: str):
    found, person = _request(token)
    if found.action != "erase":
        _invalid()
    privacy.erase(person.email, privacy.Actor("self"))
    return _page("preferences/erased.html")
