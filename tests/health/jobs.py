"""A job for the log tests: it logs through the jobs' logger."""

from __future__ import annotations

from mailer.queue import app_job, job_logger

log = job_logger(__name__)


@app_job
def log_a_line(text: str) -> str:
    log.info("working on %s", text)
    return text
