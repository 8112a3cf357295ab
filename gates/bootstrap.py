"""Uncertainty of a verdict: circular block-bootstrap confidence intervals and a paired candidate-vs-champion test."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from registry.errors import GateError


@dataclass(frozen=True)
class Interval:
    """A score and its percentile bootstrap interval at ``level``."""

    estimate: float
    lower: float
    upper: float
    level: float

    def as_json(self) -> dict[str, float]:
        """The fields for evidence (``Outcome.interval``)."""
        return {"lower": self.lower, "upper": self.upper, "level": self.level}


@dataclass(frozen=True)
class PairedTest:
    """Mean of candidate − champion losses on the same rows (negative: the candidate is better), its interval,
    and the one-sided p-value of "the candidate is not better" (small: it is better beyond resampling noise)."""

    mean_difference: float
    lower: float
    upper: float
    level: float
    p_value: float


def _block_starts(n: int, block: int, n_resamples: int, rng: np.random.Generator) -> tuple[int, np.ndarray]:
    """Blocks per resample and their random starts, after checking the arguments (one draw for both layouts)."""
    if n < 1:
        raise GateError("nothing to resample: no rows")
    if isinstance(block, bool) or not isinstance(block, int | np.integer) or not 1 <= block <= n:
        raise GateError(f"block must be an int in [1, {n}] (the number of rows), got {block!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer) or n_resamples < 1:
        raise GateError(f"n_resamples must be a positive int, got {n_resamples!r}")
    k = math.ceil(n / block)
    starts = rng.integers(0, n, size=(n_resamples, k))
    return k, starts


def block_indices(n: int, block: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_resamples, n)`` row indices of circular block resamples: blocks of ``block`` consecutive rows (wrapping
    at the end) from random starts, so that autocorrelation within a block is kept."""
    k, starts = _block_starts(n, block, n_resamples, rng)
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]) % n
    return idx.reshape(n_resamples, k * block)[:, :n]


def _rows(arrays: tuple[Any, ...]) -> tuple[list[np.ndarray], int]:
    if not arrays:
        raise GateError("give at least one array to resample")
    arrs = [np.asarray(a) for a in arrays]
    if any(a.ndim == 0 for a in arrs):
        raise GateError("arrays must have a row axis (axis 0), got a scalar")
    n = len(arrs[0])
    if any(len(a) != n for a in arrs):
        raise GateError(f"arrays must have the same number of rows, got {[len(a) for a in arrs]}")
    return arrs, n


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise GateError(f"level must lie in (0, 1), got {level}")


def block_bootstrap(statistic: Callable[..., float], *arrays: Any, rng: np.random.Generator, block: int = 1,
                    n_resamples: int = 1000, level: float = 0.95) -> Interval:
    """Percentile interval of ``statistic(*arrays)`` from circular block resamples of the rows (axis 0), the same
    rows for every array (a skill score resamples model and baseline errors together).

    :param statistic: a function of the arrays' rows returning a float (a score, a skill score).
    :param rng: the run's generator (``ctx.rng("bootstrap")``), so a verdict is reproducible.
    :param block: consecutive rows kept together: about the autocorrelation length of a series (1 for
        independent rows).
    """
    _check_level(level)
    arrs, n = _rows(arrays)
    idx = block_indices(n, block, n_resamples, rng)
    estimate = float(statistic(*arrs))
    stats = np.array([float(statistic(*(a[i] for a in arrs))) for i in idx])
    if not np.isfinite(stats).all():
        raise GateError(f"the statistic was not finite on {int((~np.isfinite(stats)).sum())} resample(s)")
    tail = (1 - level) / 2
    lo, hi = np.quantile(stats, [tail, 1 - tail])
    return Interval(estimate, float(lo), float(hi), level)


def paired_test(candidate_loss: Any, champion_loss: Any, *, rng: np.random.Generator, block: int = 1,
                n_resamples: int = 2000, level: float = 0.95) -> PairedTest:
    """Compare per-row losses of candidate and champion on the same rows by block-bootstrapping their mean
    difference; the p-value is the share of resamples centred on zero difference whose mean is at least as
    favourable to the candidate as the observed one."""
    _check_level(level)
    arrs, n = _rows((np.asarray(candidate_loss, dtype=np.float64), np.asarray(champion_loss, dtype=np.float64)))
    if arrs[0].shape != arrs[1].shape:
        raise GateError(f"candidate_loss shape {arrs[0].shape} does not match champion_loss {arrs[1].shape}")
    idx = block_indices(n, block, n_resamples, rng)  # checks the arguments (and n ≥ 1) before any arithmetic
    d = (arrs[0] - arrs[1]).reshape(n, -1).mean(axis=1)
    if not np.isfinite(d).all():
        raise GateError("losses hold non-finite values")
    observed = float(d.mean())
    means = d[idx].mean(axis=1)
    tail = (1 - level) / 2
    lo, hi = np.quantile(means, [tail, 1 - tail])
    p = float((np.sum(means - observed <= observed) + 1) / (n_resamples + 1))
    return PairedTest(observed, float(lo), float(hi), level, p)


def block_counts(n: int, block: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_resamples, n)`` float32: how often each row occurs in each circular block resample — the same resamples
    as ``block_indices`` with the same ``rng`` state, built from the block starts (``n / block`` random numbers per
    resample instead of ``n`` indices)."""
    k, starts = _block_starts(n, block, n_resamples, rng)
    lengths = np.full(k, block)
    lengths[-1] = n - (k - 1) * block  # block_indices cuts the last block so that n rows are drawn
    ends = starts + lengths[None, :]
    width = n + block + 1
    counts = np.empty((n_resamples, n), dtype=np.float32)
    step = max(1, 2**20 // width)  # resamples per pass: the integer work stays in cache (5× faster on a cold start)
    for lo in range(0, n_resamples, step):
        hi = min(n_resamples, lo + step)
        offsets = np.arange(hi - lo)[:, None] * width
        diff = (np.bincount((offsets + starts[lo:hi]).ravel(), minlength=(hi - lo) * width)
                - np.bincount((offsets + ends[lo:hi]).ravel(), minlength=(hi - lo) * width))
        unwrapped = np.cumsum(diff.reshape(hi - lo, width), axis=1)
        part = counts[lo:hi]
        part[:] = unwrapped[:, :n]
        part[:, :block] += unwrapped[:, n:n + block]  # blocks that ran past the end wrap to the start
    return counts


def resampled_means(values: Any, *, rng: np.random.Generator | None = None, block: int = 1, n_resamples: int = 1000,
                    counts: np.ndarray | None = None) -> np.ndarray:
    """``(n_resamples, k)`` column means of ``values`` (``(n, k)`` or ``(n,)``) over circular block resamples of its
    rows: a per-lead score's sampling distribution in one matrix product, without materialising the resampled
    arrays. Give ``counts`` (from ``block_counts``) to resample the same rows for several scores."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 0:
        raise GateError("values must have a row axis (axis 0), got a scalar")
    v = v.reshape(len(v), math.prod(v.shape[1:]))  # (n,) → (n, 1); trailing axes become columns, empty ones too
    if not np.isfinite(v).all():
        raise GateError("values hold non-finite entries")
    n = len(v)
    if n == 0:
        raise GateError("nothing to resample: no rows")
    if counts is None:
        if rng is None:
            raise GateError("give rng or counts")
        counts = block_counts(n, block, n_resamples, rng)
    if counts.shape[1] != n:
        raise GateError(f"counts are for {counts.shape[1]} rows, values have {n}")
    return np.asarray(counts @ v.astype(np.float32), dtype=np.float64) / n
