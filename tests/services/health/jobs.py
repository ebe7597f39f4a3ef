"""A job for the log tests: it logs through the jobs' logger."""

from __future__ import annotations

from jobs.runtime import app_job
from mailer.queue import job_logger

log = job_logger(__name__)


@app_job
def log_a_line(text: str) -> str:
    log.info("working on %s", text)
    return text
