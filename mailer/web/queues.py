"""Queues overview for admins; rq-dashboard (mounted at /admin/rq) has the detail."""

from __future__ import annotations

from flask import Blueprint

from mailer.models import Role
from mailer.services import queues as queue_service
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import render

bp = Blueprint("queues", __name__, url_prefix="/queues")
guard_blueprint(bp, read=Role.ADMIN, write=Role.ADMIN)


@bp.get("/")
def index():
    return render(
        "queues.html",
        block="status",
        queues=queue_service.queue_states(),
        workers=queue_service.workers(),
        heartbeat=queue_service.seconds_since_heartbeat(),
    )
