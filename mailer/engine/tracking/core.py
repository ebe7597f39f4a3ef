"""Merge scaffolding, to delete: the names other parts of issue 17 still import from here.

campaign_send (Instrumenter, instrumenter), feedback (OPEN, CLICK, machine_reason),
services.metrics (pending) and the sending section of transactional/core.py (pixel_url,
_before_body_end) import them from their modules once merged: see the table in
docs/architecture.md.
"""

from mailer.engine.tracking.flush import pending
from mailer.engine.tracking.hits import CLICK, OPEN, machine_reason
from mailer.engine.tracking.links import Instrumenter, instrumenter, pixel_url
from mailer.engine.tracking.links import insert_before_body_end as _before_body_end

__all__ = [
    "CLICK",
    "OPEN",
    "Instrumenter",
    "_before_body_end",
    "instrumenter",
    "machine_reason",
    "pending",
    "pixel_url",
]
