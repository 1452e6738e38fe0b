"""Exports: the account's contacts (those a key may see, as GET /contacts filters them) written to
a file in S3, which its asker downloads with a signed URL. ``jobs`` keeps the record, ``selection``
finds the contacts, ``writers`` spells them in each format, ``worker`` writes the file.

The file's key names its account, as every table key does, in the imports bucket:

    exports/<account>/<export id:010>.<extension>   expires with its record, after KEPT_DAYS
"""

from __future__ import annotations

from crm import config
from crm.storage.items import ID_WIDTH

RUNNING, COMPLETED, FAILED = "running", "completed", "failed"
STATUSES = (RUNNING, COMPLETED, FAILED)
# Format: (Content-Type of the file, its extension).
FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json", "json"),
    "xml": ("application/xml", "xml"),
    "vcard": ("text/vcard; charset=utf-8", "vcf"),
}
COLUMNS = ("ours", "outlook", "google")  # a CSV's layouts: the ones crm.imports.csv_rows reads
KEPT_DAYS = 7
DOWNLOAD_SECONDS = 900
EXPORTS = "exports/"


def bucket() -> str:
    return config.settings.imports_bucket


def object_key(account_id: str, export_id: int, fmt: str) -> str:
    return f"{EXPORTS}{account_id}/{export_id:0{ID_WIDTH}d}.{FORMATS[fmt][1]}"
