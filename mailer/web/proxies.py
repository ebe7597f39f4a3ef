"""The client's address behind reverse proxies: ``MAILER_TRUSTED_PROXIES`` of them are believed."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Call last: it wraps the WSGI app as it stands, middleware included."""
    proxies = app.config["MAILER_TRUSTED_PROXIES"]
    if proxies:  # the client's address, as set by that many proxies in front
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=0, x_host=0)
