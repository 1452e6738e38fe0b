"""Files that become contacts (imports from S3): each format is read as a stream of rows, each row
the body ``POST /contacts`` takes, so a row is validated as the API validates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Row:
    line: int  # where the row starts: a line of a CSV file (1 is its header), a vCard's number
    body: dict[str, Any]
    uid: str | None = None  # the source's own id of the contact (a vCard's UID), for re-imports
    error: str | None = None  # why the row is no contact at all (a JSON number where one was due)
