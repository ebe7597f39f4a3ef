"""Security headers on every response: a Content-Security-Policy without inline script, no
framing, no MIME sniffing, a same-origin Referer, and HSTS when cookies are HTTPS-only.

A header a view sets itself wins. Pages showing emails in sandboxed frames
(:func:`email_frames`, the email designer's too) and rq-dashboard
(/admin/rq: its inline scripts allowed by hash) get a wider policy, still without inline event
handlers or injected scripts.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, Response, request

APP_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Same sources as the view-online page (tracking.ONLINE_CSP) grants an email.
EMAIL_FRAME_POLICY = {
    **APP_POLICY,
    "style-src": "* 'unsafe-inline'",
    "img-src": "* data:",
    "font-src": "* data:",
}
# The email designer's pages (GrapesJS) use it too: they preview emails, and the canvas (an
# about:blank frame, under the page's policy) shows the email being built, with the <style>
# elements and style attributes GrapesJS writes; scripts still only from 'self'.
RQ_DASHBOARD_POLICY = {
    **APP_POLICY,
    "script-src": "'self' 'unsafe-eval'",  # underscore's _.template compiles with new Function
    "style-src": "'self' 'unsafe-inline'",  # style="display: none" and the like in its markup
}
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # HTTPS CSRF checks need a same-origin Referer
}
HSTS = "max-age=31536000"

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
_NOT_INLINE_JS = re.compile(r"\bsrc\s*=|\btype\s*=\s*(?![\"']?(text|application)/javascript)", re.I)

View = TypeVar("View", bound=Callable)


def email_frames(view: View) -> View:
    """Mark a view whose page shows emails in sandboxed srcdoc frames."""
    view.csp_email_frames = True  # type: ignore[attr-defined]
    return view


def _policy_text(policy: dict[str, str]) -> str:
    return "; ".join(f"{name} {sources}" for name, sources in policy.items())


def init_app(app: Flask) -> None:
    app_policy = _policy_text(APP_POLICY)
    email_policy = _policy_text(EMAIL_FRAME_POLICY)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        if "Content-Security-Policy" not in headers:
            if request.blueprint == "rq_dashboard":
                headers["Content-Security-Policy"] = _rq_dashboard_policy(response)
            elif getattr(app.view_functions.get(request.endpoint), "csp_email_frames", False):
                headers["Content-Security-Policy"] = email_policy
            else:
                headers["Content-Security-Policy"] = app_policy
        for name, value in HEADERS.items():
            headers.setdefault(name, value)
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response


def _rq_dashboard_policy(response: Response) -> str:
    """rq-dashboard's policy, allowing the inline scripts of this very page by their hash."""
    policy = dict(RQ_DASHBOARD_POLICY)
    if response.mimetype == "text/html" and not response.direct_passthrough:
        hashes = [
            f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
            for attrs, body in _SCRIPT.findall(response.get_data(as_text=True))
            if not _NOT_INLINE_JS.search(attrs)
        ]
        policy["script-src"] = " ".join([policy["script-src"], *hashes])
    return _policy_text(policy)
