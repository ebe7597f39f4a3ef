"""Friendly error pages in the reader's language; JSON with a stable shape under /api/ and
/webhooks/ (programs read those)."""

from __future__ import annotations

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import HTTPException, InternalServerError

from mailer.services.users import admin_emails

TITLES = {
    400: _l("Something in the request was wrong"),
    401: _l("Please log in"),
    403: _l("Your role does not allow this"),
    404: _l("Page not found"),
    405: _l("This action is not available here"),
    413: _l("Too large"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
}

# What the page says when the view gave no reason of its own (Werkzeug's stock texts).
EXPLANATIONS = {
    400: _l(
        "The form or link was not what Mailer expected. Go back, reload the page and try again."
    ),
    401: _l("Log in to see this page."),
    404: _l(
        "There is nothing at this address: the link may be old, or what it pointed to was "
        "deleted. Use the menu to find your way."
    ),
    405: _l("Go back and use the page's own buttons."),
    413: _l("What you sent is larger than Mailer accepts. Try a smaller file."),
    429: _l("Wait a little, then try again."),
    500: _l("Mailer ran into a problem and noted it for the administrators. Try again shortly."),
}

# What each role may do, for the 403 page.
ROLE_ABILITIES = {
    "viewer": _l("As a viewer you can look at everything, but not change anything."),
    "marketer": _l(
        "As a marketer you can run lists, templates and campaigns; users, channels, API keys "
        "and queues are for admins."
    ),
    "admin": _l("As an admin you can do everything."),
}

# Programs read these paths (the REST API, providers' feedback webhooks): errors are JSON.
JSON_PREFIXES = ("/api/", "/webhooks/")

# Stable machine-readable codes of the JSON errors under JSON_PREFIXES.
API_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
}


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        return _render(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _render(InternalServerError("The error was logged. Please try again shortly."))


def _render(error: HTTPException):
    code = error.code or 500
    if request.path.startswith(JSON_PREFIXES):
        title = str(TITLES.get(code, "Error"))
        code_name = API_CODES.get(code, title.lower().replace(" ", "_"))
        response = jsonify(
            {"error": {"code": code_name, "message": error.description, "details": {}}}
        )
    else:
        response = make_response(
            render_template(
                "error.html",
                code=code,
                title=TITLES.get(code, _("Something went wrong")),
                description=_description(error, code),
                admins=admin_emails() if code == 403 and current_user.is_authenticated else [],
            )
        )
    response.status_code = code
    # Keep what the exception says about itself, e.g. Retry-After on 429 and Allow on 405.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _description(error: HTTPException, code: int) -> str:
    """The view's own reason when it gave one, else a plain explanation of the code."""
    if code == 500:
        return str(EXPLANATIONS[500])
    if error.description and error.description != type(error).description:
        return error.description
    if code == 403:
        if current_user.is_authenticated:
            return str(ROLE_ABILITIES.get(current_user.role, ""))
        return str(EXPLANATIONS[401])
    return str(EXPLANATIONS.get(code, error.description or ""))
