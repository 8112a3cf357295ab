"""The streaming pipeline of one extract: source blocks → stored types → digest, read ahead in a thread.

A producer thread pulls blocks from the source, re-cuts them into batches of ``batch_rows``, converts
them and feeds the digest, and hands them to the consumer (the cache, which inserts each into DuckDB)
through a queue of ``depth`` batches. Memory stays at a few batches, and on two or more cores
fetching/converting overlaps with DuckDB compressing.
An error on either side stops both; the producer's exception is re-raised unchanged to the caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cache.digest import TableDigest

if TYPE_CHECKING:
    from cache.sources import ClickHouseSource
    from cache.spec import BoundQuery
    from cache.types import Converter

_END = object()
ROW_GROUP = 122_880
BATCH_ROWS = 4 * ROW_GROUP
"""Rows per converted batch: four DuckDB row groups, so that each insert fills whole row groups (measured on
10 M signature rows: 4.3 s; batches of 2**17 or 2**18 rows, which split row groups, took 6.7–7.0 s)."""
BATCH_BYTES = 128 << 20
"""At most this many bytes per batch (estimated from the first block): wide rows (long text, arrays) get
fewer rows per batch, whole row groups where they fit, so memory stays at a few batches whatever the width."""


class Stopped(Exception):
    """The consumer's side of ``Pipeline.stop``: the stream ended early on purpose (Ctrl-C)."""


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Pipeline:
    """``with Pipeline(source, query, converter) as p:`` then iterate ``p`` once for the converted batches.

    After the stream is consumed, ``p.digest`` holds the content digest of every row that passed.
    """

    def __init__(self, source: ClickHouseSource, query: BoundQuery, converter: Converter, *,
                 depth: int = 4, batch_rows: int = BATCH_ROWS, batch_bytes: int = BATCH_BYTES,
                 on_batch: Any = None) -> None:
        self.source, self.query, self.converter = source, query, converter
        self.batch_rows, self.batch_bytes = batch_rows, batch_bytes
        self.digest = TableDigest([(n, t) for n, t, _ in converter.columns()])
        self.on_batch = on_batch
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="extract-producer", daemon=True)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _rows_for(self, sample: pa.RecordBatch) -> int:
        """Rows per batch for rows as wide as ``sample``'s: ``batch_rows``, fewer if that exceeds ``batch_bytes``."""
        width = max(1, sample.nbytes // max(1, sample.num_rows))
        fit = self.batch_bytes // width
        if fit >= self.batch_rows:
            return self.batch_rows
        return fit // ROW_GROUP * ROW_GROUP if fit >= ROW_GROUP else max(1, fit)

    def _coalesced(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Re-cut the source's blocks into batches of exactly one size (the last one shorter)."""
        pending: list[pa.RecordBatch] = []
        rows = 0
        size = 0
        for batch in batches:
            if self._stop.is_set():  # a slow source may take long to fill a batch: stop between its blocks
                return
            if not size and batch.num_rows:
                size = self._rows_for(batch)
            pending.append(batch)
            rows += batch.num_rows
            while size and rows >= size:
                joined = pending[0] if len(pending) == 1 else pa.concat_batches(pending)
                yield joined.slice(0, size)
                rest = joined.slice(size)
                pending, rows = ([rest] if rest.num_rows else []), rest.num_rows
        if pending:
            yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)

    def _produce(self) -> None:
        try:
            with self.source.stream(self.query) as batches:
                for batch in self._coalesced(batches):
                    out = self.converter.convert(batch)
                    self.digest.update(out)
                    if not self._put(out):
                        return
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, which re-raises it in the caller's thread
            self._put(_Failed(exc))

    def stop(self) -> None:
        """Stop the producer and end the consumer's iteration with ``Stopped`` (callable from any thread)."""
        self._stopped.set()
        self._stop.set()

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._stopped.is_set():
                    raise Stopped("the extract was stopped") from None
                continue
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            if self.on_batch is not None:
                self.on_batch(item)
            yield item

    def __enter__(self) -> Pipeline:
        self._thread.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                self._thread.join(timeout=0.05)
