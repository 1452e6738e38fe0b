"""The export worker: writes an export's file, started by its record's arrival in the table's stream.

The file is streamed to S3 as it is written (crm.storage.files.Upload): memory holds a chunk of
contacts and a part of the file, whatever the export's size. It becomes visible under its key
only once whole, and the record says ``completed`` only after that, on the condition that it
is still running: a retry after a crash writes the whole file again under the same key, and an
export already finished is left as it is, so each export ends with one file, written once.
"""

from __future__ import annotations

from typing import Any

from crm import exports
from crm.exports import jobs, selection
from crm.exports.writers import Writer
from crm.observability import logger
from crm.storage import files

ATTEMPTS = 3  # the stream's first delivery and its retries (the template's MaximumRetryAttempts)
PROGRESS_ROWS = 5000  # rows between updates of rows_exported while it runs


def run(account_id: str, export_id: int) -> str:
    """Write the export's file; what became of it (``completed``, ``failed``, ``done already``).
    Raises on a fault storage may recover from, so that the stream delivers it again; the last
    attempt marks the export failed instead."""
    job = jobs.load(account_id, export_id)
    if job is None or job.status != exports.RUNNING:
        return "done already"
    attempt = int(job.attempts) + 1
    if attempt > ATTEMPTS:  # the earlier attempts died (a timeout) without a word
        jobs.fail(job, "The export could not be written; ask for it again")
        return exports.FAILED
    if not jobs.begin(job, attempt):
        return "done already"
    try:
        rows, size = _write(job)
    except Exception:
        logger.exception("export failed", extra={"export_id": export_id, "attempt": attempt})
        if attempt < ATTEMPTS:
            raise
        jobs.fail(job, "The export could not be written; ask for it again")
        return exports.FAILED
    return exports.COMPLETED if jobs.finish(job, rows, size) else "done already"


def _write(job: Any) -> tuple[int, int]:
    writer = Writer(jobs.principal_of(job), job.format, job.columns)
    upload = files.Upload(job.object_key, exports.FORMATS[job.format][0], exports.bucket())
    reported = 0
    try:
        upload.write(writer.head().encode())
        for chunk in selection.read_ahead(selection.chunks(writer.principal, dict(job.filters or {}))):
            upload.write(writer.rows(chunk).encode())
            if writer.written - reported >= PROGRESS_ROWS:
                jobs.progress(job, writer.written)
                reported = writer.written
        upload.write(writer.tail().encode())
        upload.finish()
    except BaseException:
        upload.abort()
        raise
    return writer.written, upload.size
