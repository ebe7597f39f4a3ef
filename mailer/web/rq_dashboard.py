"""rq-dashboard at /admin/rq, admins only (guard in auth.py), exempt from CSRF."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    import rq_dashboard
    from rq_dashboard.web import setup_rq_connection

    from mailer.extensions import csrf
    from mailer.queue import PRIORITY, redis_url

    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", None)
    app.config["RQ_DASHBOARD_POLL_INTERVAL"] = 2500
    app.config["RQ_DASHBOARD_QUEUES"] = list(PRIORITY)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix="/admin/rq")
    csrf.exempt(rq_dashboard.blueprint)

    @app.before_request
    def _connect_rq_dashboard() -> None:
        from flask import request

        if request.blueprint == "rq_dashboard" and not app.config["RQ_DASHBOARD_REDIS_URL"]:
            app.config["RQ_DASHBOARD_REDIS_URL"] = redis_url(app)
            setup_rq_connection(app)
