"""Inter-process catalog lock: shared for readers, exclusive for writers, queued with a timeout."""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

from registry.errors import CatalogBusy, InvalidInput

TIMEOUT_ENV = "REGISTRY_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
_POLL = 0.02


def lock_timeout() -> float:
    """Seconds a writer waits for the catalog (``$REGISTRY_LOCK_TIMEOUT``, default 60)."""
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


@contextlib.contextmanager
def catalog_lock(path: Path, *, exclusive: bool, timeout: float | None = None) -> Iterator[None]:
    """Hold ``path`` locked; wait in a polling queue up to ``timeout`` then raise ``CatalogBusy``.

    DuckDB lets only one process open a file read-write, and a second fails at once; taking this lock
    first turns that failure into an orderly wait.
    """
    timeout = lock_timeout() if timeout is None else timeout
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(path)
                    raise CatalogBusy(
                        f"the catalog {path.parent} stayed locked by another registry process{holder} for "
                        f"{timeout:g}s; try again, or raise ${TIMEOUT_ENV}"
                    ) from None
                time.sleep(_POLL)
        if exclusive:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
