"""GDPR for one address through the API (admin scope): export everything, or erase it."""

from __future__ import annotations

from flask import g

from mailer.api.core import bp, json_body, scope
from mailer.services import privacy


@bp.post("/people/export")
@scope("admin")
def export_person():
    body = json_body("PersonRef")
    return privacy.export(body["email"])


@bp.post("/people/erase")
@scope("admin")
def erase_person():
    body = json_body("PersonRef")
    record = privacy.erase(body["email"], privacy.Actor("api_key", api_key_id=g.api_key.id))
    return {
        "erased": True,
        "erased_at": record.erased_at.isoformat() + "Z",
        "records": record.counts,
    }
