"""Results of read-only work kept while the catalog file is unchanged (a 10,000-version list costs ~0.2 s to build).

The key is the state of ``catalog.duckdb`` and its write-ahead log (inode, size, mtime), read with ``stat`` alone:
opening the catalog costs ~16 ms, and holding it open would lock out other processes' writers. A result is kept
only when the file had settled (no change for ``SETTLE`` seconds) before the work began and was unchanged after it,
so that a later write, which lands on a later clock tick, always changes the key.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
SETTLE = 0.05  # seconds; well above the file-time granularity of Linux file systems (a clock tick, ≤ 10 ms)


class ReadCache:
    """A small LRU of results keyed by what was computed and the catalog state it was computed from."""

    def __init__(self, home: Path, size: int = 64) -> None:
        self.files = (Path(home) / "catalog.duckdb", Path(home) / "catalog.duckdb.wal")
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def state(self) -> tuple[tuple[int, int, int], ...] | None:
        """The files' (inode, size, mtime ns), or None when it is too fresh to trust or there is no catalog."""
        out = []
        newest = 0
        for path in self.files:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                out.append((0, 0, 0))
                continue
            out.append((st.st_ino, st.st_size, st.st_mtime_ns))
            newest = max(newest, st.st_mtime_ns)
        if out[0] == (0, 0, 0) or time.time_ns() - newest < SETTLE * 1e9:
            return None
        return tuple(out)

    def get(self, what: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``'s result for ``what`` in the catalog's current state (computed at most once per state)."""
        before = self.state()
        if before is not None:
            with self._lock:
                key = (what, before)
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]  # type: ignore[no-any-return]
        value = compute()
        if before is not None and self.state() == before:
            with self._lock:
                self._items[(what, before)] = value
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return value
