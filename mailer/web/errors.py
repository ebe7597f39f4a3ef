"""Friendly error pages; JSON with a stable shape under /api/."""

from __future__ import annotations

from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    413: "Too large",
    429: "Too many attempts",
    500: "Something went wrong",
}

# Stable machine-readable codes of the JSON errors under /api/.
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
    title = TITLES.get(code, "Error")
    if request.path.startswith("/api/"):
        code_name = API_CODES.get(code, title.lower().replace(" ", "_"))
        response = jsonify(
            {"error": {"code": code_name, "message": error.description, "details": {}}}
        )
    else:
        response = make_response(
            render_template("error.html", code=code, title=title, description=error.description)
        )
    response.status_code = code
    # Keep what the exception says about itself, e.g. Retry-After on 429 and Allow on 405.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
