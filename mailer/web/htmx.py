"""htmx helpers: one template serves both the full page and its fragments."""

from __future__ import annotations

from flask import Flask, Response, current_app, make_response, redirect, render_template
from htmx_flask import Htmx, request

htmx_ext = Htmx()


def init_app(app: Flask) -> None:
    htmx_ext.init_app(app)

    @app.context_processor
    def _ui_macros():
        # Macros as a global `ui` namespace: a block rendered alone skips the template's
        # top-level {% import %}s, so fragments could not see imported macros.
        module = app.extensions.get("mailer_ui_macros")
        if module is None:
            module = app.jinja_env.get_template("_macros.html").module
            app.extensions["mailer_ui_macros"] = module
        return {"ui": module}


def fragment_requested() -> bool:
    """An htmx request that takes a fragment: not a history restore (that needs a full page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def render(template: str, block: str | None = None, status: int = 200, **context) -> Response:
    """Render `block` of `template` for htmx requests, the full page otherwise."""
    if block and fragment_requested():
        env = current_app.jinja_env
        tmpl = env.get_template(template)
        current_app.update_template_context(context)
        body = env.concat(tmpl.blocks[block](tmpl.new_context(context)))  # type: ignore[attr-defined]
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def navigate(url: str, status: int = 200) -> Response:
    """Go to ``url``: htmx requests are told to navigate there (HX-Redirect, a whole page),
    plain requests are redirected."""
    if fragment_requested():
        response = make_response("", status)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)


def stop_polling(response: Response) -> Response:
    """htmx stops a polling element when it answers 286."""
    response.status_code = 286
    return response
