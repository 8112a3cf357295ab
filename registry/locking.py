"""Inter-process catalog lock: shared for readers, exclusive for writers, writers first, with a timeout.

Two lock files make the queue fair to writers. A writer first takes ``catalog.lock.queue`` exclusively and
only then waits for ``catalog.lock`` itself; a reader takes the queue file shared just long enough to take
``catalog.lock`` shared. So once a writer is queued no new reader gets in, and the writer waits at most for
the readers already inside (about one reader's hold time), however many readers loop. Writers queue among
themselves on the queue file.
"""

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
_POLL = 0.005  # seconds between tries; short, so that a queued writer takes the lock as soon as it is free


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


def queue_path(path: Path) -> Path:
    """The writers' queue file beside the lock file."""
    return path.with_name(path.name + ".queue")


def _take(fd: int, mode: int, deadline: float, path: Path, timeout: float) -> None:
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise CatalogBusy(
                    f"the catalog {path.parent.resolve()} stayed locked by another registry process"
                    f"{describe_holders(path)} for {timeout:g}s; try again, or raise ${TIMEOUT_ENV}"
                ) from None
            time.sleep(_POLL)


@contextlib.contextmanager
def catalog_lock(path: Path, *, exclusive: bool, timeout: float | None = None) -> Iterator[None]:
    """Hold ``path`` locked (shared or exclusive); wait up to ``timeout`` then raise ``CatalogBusy``.

    DuckDB lets only one process open a file read-write, and a second fails at once; taking this lock
    first turns that failure into an orderly wait.
    """
    timeout = lock_timeout() if timeout is None else timeout
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    queue = os.open(queue_path(path), os.O_RDWR | os.O_CREAT, 0o644)
    fd = -1
    try:
        _take(queue, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, deadline, path, timeout)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        _take(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, deadline, path, timeout)
        if exclusive:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        else:  # a reader leaves the queue at once: a writer that queues next waits only for readers inside
            os.close(queue)
            queue = -1
        try:
            yield
        finally:
            if exclusive:  # no stale pid is left for the next busy message to name
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
    finally:
        for d in (fd, queue):  # closing a descriptor releases its lock
            if d >= 0:
                os.close(d)


def _lock_holders(path: Path) -> list[int]:
    """Processes holding a lock on ``path`` according to the kernel (``/proc/locks``; Linux only)."""
    try:
        st = path.stat()
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    pids = []
    for line in lines:
        parts = line.split()
        if len(parts) < 6 or parts[1] == "->":  # "->" lines are waiters, not holders
            continue
        try:
            pid = int(parts[4])
            _major, _minor, inode = parts[5].split(":")
        except ValueError:
            continue
        if int(inode) == st.st_ino and pid != os.getpid() and pid not in pids:
            pids.append(pid)
    return pids


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    text = " ".join(Path(words[0]).name if i == 0 else w for i, w in enumerate(words[:4]))
    return "".join(c if c.isprintable() else "?" for c in text)[:80]


def describe_holders(path: Path) -> str:
    """`` (pid 123: registry list)`` naming the processes that really hold the lock, or an empty string."""
    pids = _lock_holders(path)
    if not pids:
        try:
            text = path.read_text().strip()
        except OSError:
            return ""
        pids = [int(text)] if text.isdigit() and Path(f"/proc/{text}").exists() else []
    if not pids:
        return ""
    named = [f"pid {p}" + (f": {c}" if (c := _command(p)) else "") for p in pids[:4]]
    return " (" + "; ".join(named) + (f"; {len(pids) - 4} more" if len(pids) > 4 else "") + ")"
