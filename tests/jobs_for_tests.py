"""Jobs used by the tests to exercise the real queue plumbing."""

from __future__ import annotations

import os

from flask import current_app

from jobs.runtime import app_job
from mailer.extensions import db
from mailer.models import MailingList


@app_job
def create_list(name: str) -> int:
    """Writes a row, proving the job ran with an app context and its own DB connection."""
    mailing_list = MailingList(
        name=f"{name} (pid {os.getpid()})", description=current_app.config["PUBLIC_BASE_URL"]
    )
    db.session.add(mailing_list)
    db.session.commit()
    return mailing_list.id


@app_job
def fail_loudly() -> None:
    raise RuntimeError("boom")


def echo(value):
    """Returns what it was given, as a job that leaked user text into its result would."""
    return value


@app_job
def fail_with(text: str) -> None:
    """Fails the way a job whose exception quotes user data would."""
    raise ValueError(f"bad row: {text}")


@app_job
def fail_plainly(import_id: int) -> None:
    from jobs.runtime import JobError

    raise JobError(f"import {import_id} failed")
