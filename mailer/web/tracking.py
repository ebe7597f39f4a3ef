"""Recipient-facing URLs: open pixel, click redirect, unsubscribe, view online.

Public (no login: auth.PUBLIC_ENDPOINT_PREFIXES). Every URL carries a signed send token that is
checked before anything else. The pixel and click paths do no database write in production
(engine/tracking/hits.py buffers them); the unsubscribe POST writes at once, and is the one route
exempt from CSRF: a mailbox provider's RFC 8058 one-click POST carries no cookie and no token.
With buffering on, ``FastHits`` (installed by ``create_app``) answers pixel and click hits
before Flask's request machinery, through the same engine functions as the views below.
"""

from __future__ import annotations

import re

from flask import Blueprint, Flask, abort, make_response, redirect, render_template, request

from mailer.engine.rendering import RenderError
from mailer.engine.tracking import hits, online
from mailer.extensions import csrf, db
from mailer.lib import tokens
from mailer.services import unsubscribe as unsubscribe_service
from mailer.web.i18n import use_locale

bp = Blueprint("tracking", __name__)

# The view-online page is marketer-written HTML: serve it as an opaque origin with no scripts.
ONLINE_CSP = (
    "sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation; "
    "default-src 'none'; img-src * data:; style-src * 'unsafe-inline'; font-src * data:"
)


def _send_id(token: str) -> int | None:
    parsed = tokens.parse(token)
    if parsed is None or parsed[0] != tokens.CAMPAIGN_SEND:
        return None
    return parsed[1]


@bp.get("/t/o/<token>.gif")
def pixel(token: str):
    hits.track_open(token, _user_agent(), head=request.method == "HEAD")
    return hits.pixel_response()


@bp.get("/t/c/<token>/<link>", merge_slashes=False)  # "//" is no link: no redirect to one
def click(token: str, link: str):
    """A click link: "<link id>-<mac>", or a bare "<link id>" in mail sent before links were
    signed (resolved only when the URL is provably in the message: see hits.track_click)."""
    url = hits.track_click(token, link, _user_agent(), head=request.method == "HEAD")
    if url is None:
        _invalid()
    response = redirect(url, 302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token stays with us
    return response


def _user_agent() -> str:
    return request.headers.get("User-Agent", "")


def _invalid():
    """404 with a page meant for recipients (not the app's error page with its navigation)."""
    abort(make_response(render_template("tracking/invalid.html"), 404))


def _target(token: str) -> unsubscribe_service.Target:
    """The token's recipient; the page then speaks their ``locale`` attribute when Mailer
    speaks it (else the browser's language)."""
    target = unsubscribe_service.lookup(token)
    if target is None:
        _invalid()
    use_locale(target.locale)
    return target


def _page(template: str, **context):
    response = make_response(render_template(template, **context))
    response.headers["Cache-Control"] = "no-store"
    # The token never leaves in a Referer, but our own forms keep theirs (CSRF checks it
    # on HTTPS).
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.get("/u/<token>")
def unsubscribe_page(token: str):
    """Shows the list and the address with a button; never unsubscribes (scanners GET links)."""
    return _page(
        "tracking/unsubscribe.html",
        target=_target(token),
        reasons=unsubscribe_service.REASONS,
    )


@bp.post("/u/<token>")
@csrf.exempt
def unsubscribe(token: str):
    """The page's form or an RFC 8058 one-click POST: unsubscribe now, answer 200, no redirect."""
    target = _target(token)
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    reason = request.form.get("reason", "")
    if reason not in unsubscribe_service.REASONS:
        reason = ""
    unsubscribe_service.unsubscribe(target, reason=reason, one_click=one_click)
    return _page("tracking/unsubscribed.html", target=target)


@bp.post("/u/<token>/resubscribe")
def resubscribe(token: str):
    target = _target(token)
    unsubscribe_service.resubscribe(target)
    return _page("tracking/resubscribed.html", target=target)


@bp.get("/v/<token>")
def view_online(token: str):
    send_id = _send_id(token)
    try:
        html = online.render_online(send_id) if send_id is not None else None
    except RenderError:
        html = None
    if html is None:
        _invalid()
    response = make_response(html)
    response.headers["Content-Security-Policy"] = ONLINE_CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


# ------------------------------------------------------------------ the hot path


class FastHits:
    """WSGI middleware: pixel and click hits answered without Flask's request machinery.

    With buffering on (production) a hit is one HMAC check, one Redis push (and for a click one
    indexed read), so Flask's per-request work (request context, session, URL matching, hooks,
    response object) would be most of its cost. This answers exactly the two routes above, the
    same way, through the same engine functions (``hits.track_open``, ``hits.track_click``);
    anything else, and any hit it cannot answer (unknown link, an unsigned link of older mail,
    direct-write mode), goes on to Flask unchanged. ``create_app`` installs it.
    """

    PIXEL = re.compile(r"/t/o/([^/]+)\.gif")
    CLICK = re.compile(r"/t/c/([^/]+)/([0-9]{1,19}-[0-9a-f]{16})")  # signed links only
    PIXEL_HEADERS = [
        ("Content-Type", "image/gif"),
        ("Content-Length", str(len(hits.PIXEL))),
        *hits.PIXEL_HEADERS.items(),
    ]

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if (
            path.startswith("/t/")
            and method in ("GET", "HEAD")
            and self.app.config["MAILER_TRACKING_BUFFER"]
        ):
            answer = self._answer(path, environ.get("HTTP_USER_AGENT", ""), method == "HEAD")
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [] if method == "HEAD" else [body]
        return self.wsgi_app(environ, start_response)

    def _answer(self, path: str, user_agent: str, head: bool):
        with self.app.app_context():
            if match := self.PIXEL.fullmatch(path):
                hits.track_open(match[1], user_agent, head=head)
                return "200 OK", self.PIXEL_HEADERS, hits.PIXEL
            if match := self.CLICK.fullmatch(path):
                try:
                    url = hits.track_click(match[1], match[2], user_agent, head=head)
                finally:
                    db.session.remove()
                if url is None:
                    return None  # Flask answers with the page for an invalid link
                headers = [
                    ("Location", url),
                    ("Content-Length", "0"),
                    ("Cache-Control", "no-store"),
                    ("Referrer-Policy", "no-referrer"),
                ]
                return "302 Found", headers, b""
        return None
