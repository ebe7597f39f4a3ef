"""Probes and metrics for operators and orchestrators: ``/healthz``, ``/readyz``, ``/metrics``.

No login (auth.PUBLIC_ENDPOINT_PREFIXES): probes carry no session. /metrics has its own rule:
with ``MAILER_METRICS_TOKEN`` set it needs ``Authorization: Bearer <token>``; unset, it answers
only requests from loopback that did not come through a proxy.
"""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Response, current_app, jsonify, request

from mailer.services import health, metrics

bp = Blueprint("health", __name__)

NO_STORE = {"Cache-Control": "no-store"}
PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


@bp.get("/healthz")
def healthz():
    """The process is up and serving requests; touches neither the database nor Redis."""
    return jsonify({"status": "ok"}), 200, NO_STORE


@bp.get("/readyz")
def readyz():
    result = health.readiness()
    return jsonify(result.as_dict()), 200 if result.ok else 503, NO_STORE


@bp.get("/metrics")
def metrics_view():
    refused = _refuse_metrics()
    if refused is not None:
        return refused
    return Response(metrics.render(), content_type=metrics.CONTENT_TYPE, headers=NO_STORE)


def _refuse_metrics() -> Response | None:
    token = current_app.config["MAILER_METRICS_TOKEN"]
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return None
        return _plain(
            "401 Unauthorized: send Authorization: Bearer <MAILER_METRICS_TOKEN>.\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    if _from_loopback():
        return None
    return _plain(
        "403 Forbidden: without MAILER_METRICS_TOKEN, /metrics answers only local requests.\n",
        403,
    )


def _from_loopback() -> bool:
    if any(request.headers.get(name) for name in PROXY_HEADERS):
        return False  # a local reverse proxy forwards everyone's requests from 127.0.0.1
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def _plain(body: str, status: int, headers: dict | None = None) -> Response:
    return Response(body, status=status, mimetype="text/plain", headers=headers)
