"""Failed-send review: retry every failed send or message of a filter too large for one
request (campaigns/failed_sends.py), a batch at a time."""

from __future__ import annotations

from jobs.runtime import app_job
from mailer.campaigns import failed_sends
from mailer.queue import job_logger

log = job_logger(__name__)


@app_job
def retry_failed(kind: str, filter_data: dict, confirm_in_doubt: bool) -> dict:
    done = failed_sends.retry_all(kind, filter_data, confirm_in_doubt)
    log.info("retried %s failed %s", done.retried, kind)
    return {"kind": kind, "retried": done.retried}
