"""The embedded S3's objects kept on disk, so that `make run`'s photos and imports outlive a restart.

moto holds objects in memory. Each change the server makes to one of the template's buckets is
copied to a folder (``<bucket>/<key, URL-quoted>`` and its ``.meta.json``) before the client is
answered, and ``restore`` puts them all back when `make run` starts, with their version ids (an
import reads the version of the file it started on) and without notifying anyone. Only the newest
version of each object is kept; lifecycle rules (uploads never checked expire after a day) are
not applied here.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from moto.s3.models import FakeKey, s3_backends

from local_api.environment import ACCOUNT
from local_api.files import write_atomically

META = ".meta.json"


def _backend() -> Any:  # moto's S3Backend
    return s3_backends[ACCOUNT]["aws"]


class BucketMirror:
    def __init__(self, folder: Path, buckets: set[str]) -> None:
        self.folder, self.buckets = folder, buckets
        self.restored = False  # until then the store is not yet what the folder holds: nothing is copied

    def _watched(self, bucket: str) -> bool:
        return self.restored and bucket in self.buckets

    def _path(self, bucket: str, key: str) -> Path:
        return self.folder / bucket / quote(key, safe="")

    def sync(self, bucket: str, key: str) -> None:
        """Copy the object as the store now has it (gone if it is gone)."""
        if not self._watched(bucket):
            return
        path = self._path(bucket, key)
        found = _backend().get_object(bucket, key)
        if not isinstance(found, FakeKey):  # deleted, or its newest version is a delete marker
            for stale in (path, path.with_name(path.name + META)):
                stale.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, found.value)
        meta = {
            "metadata": dict(found.metadata),
            "version_id": found.version_id,
            "last_modified": found.last_modified.isoformat(),
        }
        write_atomically(path.with_name(path.name + META), json.dumps(meta).encode())

    def restore(self) -> int:
        """Put every kept object back into the store (the buckets must exist); how many there were."""
        backend, restored = _backend(), 0
        for bucket in sorted(self.buckets):
            folder = self.folder / bucket
            for path in sorted(folder.iterdir()) if folder.is_dir() else []:
                meta_path = path.with_name(path.name + META)
                if path.name.endswith(META) or path.name.startswith(".") or not meta_path.exists():
                    continue
                meta = json.loads(meta_path.read_text())
                key = backend.put_object(bucket, unquote(path.name), path.read_bytes(), disable_notification=True)
                key.set_metadata(meta["metadata"])
                with contextlib.suppress(ValueError):
                    key.last_modified = datetime.fromisoformat(meta["last_modified"])
                if meta["version_id"] != "null":
                    key._version_id = meta["version_id"]  # moto keeps it there; S3 never reissues one
                restored += 1
        self.restored = True
        return restored
