"""Contact file imports."""

from __future__ import annotations

from mailer.models import ImportStatus
from mailer.queue import app_job, job_logger
from mailer.services import importer

log = job_logger(__name__)


@app_job
def run_import(import_id: int) -> dict:
    record = importer.run_import(import_id)
    if record.campaign_id:
        from mailer.services.campaigns import on_import_finished

        on_import_finished(record.campaign_id)
    log.info("import %s %s: %s rows read", record.id, record.status, record.rows_read)
    if record.status == ImportStatus.FAILED:
        # The import row holds the message the user sees; the job result says it too.
        return {"status": record.status, "error": record.error}
    return {"status": record.status, "rows_read": record.rows_read}
