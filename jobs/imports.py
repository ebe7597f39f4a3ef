"""Contact file imports."""

from __future__ import annotations

from jobs.runtime import app_job
from mailer.campaigns import lifecycle
from mailer.engine.imports import importer
from mailer.queue import job_logger
from mailer.services import signup

log = job_logger(__name__)


@app_job
def run_import(import_id: int) -> dict:
    record = importer.run_import(import_id)
    if record.mode == "confirm" and record.status == "completed":
        asked = signup.ask_imported_to_confirm(record.id)
        log.info("import %s: %s people asked to confirm", record.id, asked)
    if record.campaign_id:
        lifecycle.on_import_finished(record.campaign_id)
    log.info("import %s %s: %s rows read", record.id, record.status, record.rows_read)
    # Ids and counts only: why an import failed (it may quote the file) is on its row.
    return {"import_id": record.id, "status": record.status, "rows_read": record.rows_read}
