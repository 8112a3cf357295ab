"""Two-stage DeepECH inference in batches: presence probability everywhere, amplitude only where a wave is present.

On CPU the batches run on a pool of one-thread workers (as many as torch's intra-op threads), each batch small
enough to stay in cache: the networks are LSTMs over 49–61 steps of 64 units, and splitting each small step's
work across threads (torch's default) spends more time synchronising than computing — 4–5× slower on a busy
2-core machine (``bench/bench_deepech_inference.py``). Outputs are the same bits either way (tested).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_THRESHOLD = 0.5
DEFAULT_BATCH = 4096  # rows per step on CUDA
CPU_BATCH = 512  # rows per worker step on CPU


@dataclass(frozen=True)
class Predictions:
    """Per row: the classifier's logit and probability, whether the probability exceeds the threshold, and the
    regressor's amplitude in dB where it does (NaN elsewhere)."""

    logit: np.ndarray
    probability: np.ndarray
    present: np.ndarray
    amplitude_db: np.ndarray

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-able dict per row; ``amplitude_db`` is None where no wave is present."""
        return [{"logit": float(lg), "probability": float(p), "present": bool(on),
                 "amplitude_db": float(a) if on else None}
                for lg, p, on, a in zip(self.logit, self.probability, self.present, self.amplitude_db, strict=True)]


class TwoStageModel:
    """The loaded pair (eval mode) and the version's recorded presence threshold."""

    def __init__(self, classifier: Any, regressor: Any, *, threshold: float = DEFAULT_THRESHOLD,
                 device: str = "cpu", workers: int | None = None) -> None:
        self.classifier = classifier.to(device).eval()
        self.regressor = regressor.to(device).eval()
        self.threshold = float(threshold)
        self.device = device
        self.workers = workers  # CPU workers; None: torch's intra-op thread count when a run starts

    @property
    def step(self) -> int:
        """Rows per forward pass: ``CPU_BATCH`` on CPU, ``DEFAULT_BATCH`` elsewhere."""
        return CPU_BATCH if self.device == "cpu" else DEFAULT_BATCH

    def _tensor(self, rows: np.ndarray) -> Any:
        import torch

        x = np.ascontiguousarray(rows, dtype=np.float32)
        if not x.flags.writeable:  # a memory-mapped or read-only batch: torch wants memory it may write
            x = x.copy()
        return torch.as_tensor(x, device=self.device)

    def _ordered(self, fn: Callable[[np.ndarray], Any], chunks: Iterable[np.ndarray]) -> Iterator[Any]:
        """``fn`` of each chunk, in order: on CPU by one-thread workers with at most two chunks per worker in
        flight (memory stays bounded however long ``chunks`` is), elsewhere one after another."""
        import torch

        def run(rows: np.ndarray) -> Any:
            with torch.inference_mode():  # thread-local: entered in the thread that runs the networks
                return fn(rows)

        if self.device != "cpu":
            yield from map(run, chunks)
            return
        before = torch.get_num_threads()
        workers = max(1, self.workers or before)
        from concurrent.futures import Future, ThreadPoolExecutor

        pending: deque[Future[Any]] = deque()
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="deepech",
                                    initializer=torch.set_num_threads, initargs=(1,)) as pool:
                for rows in chunks:
                    pending.append(pool.submit(run, rows))
                    if len(pending) > 2 * workers:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
        finally:
            for fut in pending:
                fut.cancel()
            torch.set_num_threads(before)  # a worker's setting must not leak into the caller

    def _chunks(self, rows: np.ndarray, batch_size: int | None) -> Iterator[np.ndarray]:
        step = batch_size or self.step
        return (rows[s:s + step] for s in range(0, len(rows), step))

    def logits(self, rows: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """The classifier's logits for every row."""
        out = list(self._ordered(lambda x: self.classifier(self._tensor(x)).float().cpu().numpy(),
                                 self._chunks(rows, batch_size)))
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def amplitudes(self, rows: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """The regressor's amplitude (dB) for every row, present or not (the regression gates use this)."""
        out = list(self._ordered(lambda x: self.regressor(self._tensor(x)).float().cpu().numpy(),
                                 self._chunks(rows, batch_size)))
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def _both(self, rows: np.ndarray) -> Predictions:
        import torch

        x = self._tensor(rows)
        logit = self.classifier(x).float()
        prob = torch.sigmoid(logit)
        present = prob > self.threshold
        amp = torch.full_like(prob, float("nan"))
        if bool(present.any()):
            amp[present] = self.regressor(x[present]).float()
        return Predictions(logit.cpu().numpy(), prob.cpu().numpy(), present.cpu().numpy(), amp.cpu().numpy())

    def predict_batches(self, batches: Iterable[np.ndarray], batch_size: int | None = None) -> Iterator[Predictions]:
        """Both stages on each batch in turn, one ``Predictions`` per non-empty batch (memory bounded by a few
        batches); the regressor sees only the rows whose probability exceeds the threshold. A batch is cut into
        steps of ``batch_size`` rows (default ``step``) that the workers share."""
        tagged = ((i, part) for i, rows in enumerate(batches) for part in self._chunks(rows, batch_size))
        order: deque[int] = deque()

        def steps() -> Iterator[np.ndarray]:
            for i, part in tagged:
                order.append(i)
                yield part

        current, parts = -1, list[Predictions]()
        for pred in self._ordered(self._both, steps()):
            i = order.popleft()
            if i != current and parts:
                yield _joined(parts)
                parts = []
            current = i
            parts.append(pred)
        if parts:
            yield _joined(parts)

    def predict(self, rows: np.ndarray, batch_size: int | None = None) -> Predictions:
        """Both stages on all ``rows``, ``batch_size`` rows per step."""
        parts = list(self.predict_batches([rows], batch_size))
        if not parts:
            empty = np.zeros(0, np.float32)
            return Predictions(empty, empty, np.zeros(0, bool), empty)
        return _joined(parts)


def _joined(parts: list[Predictions]) -> Predictions:
    if len(parts) == 1:
        return parts[0]
    return Predictions(*(np.concatenate([getattr(p, f) for p in parts])
                         for f in ("logit", "probability", "present", "amplitude_db")))
