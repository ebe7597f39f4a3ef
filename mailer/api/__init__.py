"""The REST API for client apps, under /api/v1: JSON in, JSON out, API keys, one OpenAPI file.

Each resource module registers its routes on ``bp``; ``core`` holds what they share (key
authentication and scopes, JSON bodies checked against the OpenAPI schemas, stable errors,
cursors, idempotency). The OpenAPI document is assembled from ``openapi/*.yaml``.
"""

from __future__ import annotations

from flask import Flask

from mailer.api.core import bp


def init_app(app: Flask) -> None:
    from mailer.api import (  # noqa: F401  (routes)
        campaigns,
        docs,
        failed_sends,
        messages,
        privacy,
        resources,
        webhooks,
    )
    from mailer.extensions import csrf

    csrf.exempt(bp)  # keys, not cookies: no cross-site request can carry one
    app.register_blueprint(bp)
