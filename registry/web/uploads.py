"""Uploads streamed into the home's staging folder, hashed on the way, bounded in size, found only by their id."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from registry.errors import InvalidInput, UnknownName

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
STALE_SECONDS = 24 * 3600


class TooLarge(InvalidInput):
    """A request body over the server's limit."""


@dataclass(frozen=True)
class Upload:
    """A staged upload: its id, size and sha256, computed while it arrived."""

    upload_id: str
    size: int
    sha256: str


class Uploads:
    """The staging folder ``<home>/uploads``: ``<id>/data`` plus ``<id>/meta.json`` once complete."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    async def receive(self, chunks: AsyncIterator[bytes], declared: int | None) -> Upload:
        """Stream ``chunks`` to disk; refuse (and remove the partial file) past the limit, on a body shorter
        than ``declared`` or a client that goes away (the exception propagates)."""
        if declared is not None and declared > self.max_bytes:
            raise TooLarge(f"upload of {declared} bytes is over this server's limit of {self.max_bytes} bytes")
        self._sweep()
        upload_id = secrets.token_hex(16)
        folder = self.root / upload_id
        folder.mkdir(parents=True)
        digest, size = hashlib.sha256(), 0
        try:
            with open(folder / "data.part", "wb") as fh:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise TooLarge(f"upload is over this server's limit of {self.max_bytes} bytes")
                    digest.update(chunk)
                    fh.write(chunk)
            if declared is not None and size != declared:
                raise InvalidInput(f"upload truncated: {size} of {declared} bytes arrived")
            os.replace(folder / "data.part", folder / "data")
            upload = Upload(upload_id, size, digest.hexdigest())
            (folder / "meta.json").write_text(json.dumps(upload.__dict__))
            return upload
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def path(self, upload_id: str) -> Path:
        """The data of a complete upload; ``UnknownName`` for anything else (ids are never paths)."""
        if not isinstance(upload_id, str) or not _UPLOAD_ID.match(upload_id):
            raise InvalidInput(f"{str(upload_id)[:80]!r} is not an upload id")
        folder = self.root / upload_id
        if not (folder / "meta.json").is_file():
            raise UnknownName(f"no upload {upload_id}")
        return folder / "data"

    def discard(self, upload_id: str) -> None:
        if _UPLOAD_ID.match(upload_id):
            shutil.rmtree(self.root / upload_id, ignore_errors=True)

    def _sweep(self) -> None:
        """Remove uploads never used for a day."""
        if not self.root.is_dir():
            return
        cutoff = time.time() - STALE_SECONDS
        for folder in self.root.iterdir():
            try:
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue
