"""Content-addressed object store: files named by their sha256, written atomically, re-hashed on load."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

from registry.errors import IntegrityError, InvalidInput
from registry.hashing import CHUNK, sha256_file


def fsync_path(path: Path) -> None:
    """fsync a file, or a folder so that a rename inside it is durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ObjectStore:
    """``root/ab/abcdef…`` holds the bytes whose sha256 is ``abcdef…``; ``root/tmp`` holds writes in flight."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, src: Path) -> tuple[str, int]:
        """Copy ``src`` in (temp file, fsync, rename); return ``(sha256, size)``. Idempotent."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp / f"{uuid.uuid4().hex}.part"
        h = hashlib.sha256()
        size = 0
        try:
            with open(src, "rb") as fin, open(tmp, "wb") as fout:
                while chunk := fin.read(CHUNK):
                    h.update(chunk)
                    fout.write(chunk)
                    size += len(chunk)
                fout.flush()
                os.fsync(fout.fileno())
        except FileNotFoundError:
            tmp.unlink(missing_ok=True)
            raise InvalidInput(f"no such file: {src}") from None
        sha = h.hexdigest()
        final = self.path(sha)
        if final.exists() and sha256_file(final) == sha:
            tmp.unlink()
            return sha, size  # an altered copy falls through and is replaced by the good bytes
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        fsync_path(final.parent)
        return sha, size

    def verified(self, sha256: str) -> Path:
        """Path of the object after re-hashing it; ``IntegrityError`` if missing or altered."""
        path = self.path(sha256)
        if not path.exists():
            raise IntegrityError(f"object {sha256[:12]} is missing from {self.root}")
        actual = sha256_file(path)
        if actual != sha256:
            raise IntegrityError(f"object {sha256[:12]} was altered on disk (now hashes to {actual[:12]})")
        return path

    def all_hashes(self) -> Iterable[str]:
        if not self.root.exists():
            return
        for sub in self.root.iterdir():
            if sub.is_dir() and len(sub.name) == 2:
                for f in sub.iterdir():
                    yield f.name

    def sweep(self, referenced: set[str]) -> int:
        """Delete writes in flight and objects no version references (left by a crashed writer).

        Only safe while holding the exclusive catalog lock, which every writer takes before ``put``.
        """
        removed = 0
        if self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)
        for sha in list(self.all_hashes()):
            if sha not in referenced:
                self.path(sha).unlink(missing_ok=True)
                removed += 1
        return removed
