"""The cache's single-writer lock: an ``flock`` that waiters poll until a timeout, released if the holder dies."""

from __future__ import annotations

import fcntl
import math
import os
import time
from pathlib import Path
from types import TracebackType

from registry.errors import CatalogBusy, InvalidInput

TIMEOUT_ENV = "REGISTRY_CACHE_TIMEOUT"  # seconds a writer waits for the lock (default 600)
DEFAULT_TIMEOUT = 600.0


def default_timeout() -> float:
    """``$REGISTRY_CACHE_TIMEOUT`` seconds, else 600; anything but a finite number ≥ 0 is ``InvalidInput``."""
    raw = os.environ.get(TIMEOUT_ENV)
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(f"${TIMEOUT_ENV}={raw!r} is not a number of seconds")
    return value


class WriterLock:
    """Exclusive lock on ``path``; ``with WriterLock(p, timeout, what):`` waits, then raises ``CatalogBusy``.

    The kernel drops an ``flock`` when its holder exits or is killed, so a crashed writer never leaves
    a stale lock behind. The holder writes its pid and task into the file for the waiters' message.
    """

    def __init__(self, path: Path, timeout: float | None = None, what: str = "") -> None:
        self.path = Path(path)
        self.timeout = default_timeout() if timeout is None else timeout
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> None:
        """Wait up to ``timeout`` seconds for the lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        delay = 0.02
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self._holder(fd)
                    os.close(fd)
                    raise CatalogBusy(
                        f"the extract cache at {self.path.parent} is being written by {holder}; waited "
                        f"{self.timeout:g} s (set {TIMEOUT_ENV} to wait longer, or try again later)") from None
                time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
                delay = min(delay * 2, 0.5)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} {self.what}".strip().encode(), 0)
        self._fd = fd

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            text = os.pread(fd, 200, 0).decode(errors="replace").strip()
        except OSError:
            text = ""
        return f"another process ({text})" if text else "another process"

    def release(self) -> None:
        """Give the lock back (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.ftruncate(fd, 0)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
