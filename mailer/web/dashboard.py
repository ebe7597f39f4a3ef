"""The home page: what is going on at a glance."""

from __future__ import annotations

from flask import Blueprint

from mailer.services import overview
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import render

bp = Blueprint("dashboard", __name__)
guard_blueprint(bp)


@bp.get("/")
def index():
    return render("dashboard.html", stats=overview.counts(), campaigns=overview.recent_campaigns())
