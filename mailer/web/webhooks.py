"""Provider feedback webhooks: ``POST /webhooks/<provider>/<token>``, one URL per channel.

Public (auth.PUBLIC_ENDPOINT_PREFIXES) and exempt from CSRF: providers post without a session.
The token in the URL finds the channel; the provider's own scheme (SNS signature, SendGrid
ECDSA, Mailgun HMAC, Mailjet/Brevo credentials) proves the request. The view only reads the
bounded body and hands it to feedback intake: verify, store, enqueue, answer 200.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

from mailer.engine.feedback import intake
from mailer.engine.feedback.base import Malformed, Rejected
from mailer.engine.feedback.health import Health, channel_health
from mailer.extensions import csrf
from mailer.models import Channel

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)


@bp.post("/<provider>/<token>")
def receive(provider: str, token: str):
    # Checked against Content-Length before reading, and while reading a chunked body (413).
    request.max_content_length = current_app.config["MAILER_WEBHOOK_MAX_BYTES"]
    raw = request.get_data(cache=False)
    try:
        intake.receive(provider, token, raw, request.headers)
    except intake.UnknownWebhook:
        abort(404, "No feedback webhook for this provider and channel: check the URL.")
    except Rejected:
        return _plain("forbidden", 403)
    except Malformed:
        return _plain("malformed", 400)
    return _plain("ok", 200)


def _plain(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="text/plain")


@bp.app_template_global("feedback_health")
def feedback_health(channel: Channel) -> Health:
    """For the channel page (admin-only): the numbers come from the feedback service."""
    return channel_health(channel)
