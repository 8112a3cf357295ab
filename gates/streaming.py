"""Accumulators that score a case far larger than memory tile by tile: ``update(tile)`` … ``result()``.

Each gives the result of scoring the whole array at once (tested); only sums live between tiles.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gates.ensemble import as_float_array, crps_ensemble, ensemble_pair, member_mean_var, rank_histogram_test, ranks
from gates.probabilistic import BrierDecomposition, ProbabilityBins, ReliabilityDiagram, bin_edges
from gates.spatial import field_pair, fss_terms, windows_of
from registry.errors import GateError


def _sum_by(values: np.ndarray, by: int | None) -> np.ndarray:
    if by is None:
        return np.asarray(values.sum(dtype=np.float64))
    if not -values.ndim <= by < values.ndim:
        raise GateError(f"by axis {by} is out of range for obs of shape {values.shape}")
    return np.asarray(np.moveaxis(values, by, 0).reshape(values.shape[by], -1).sum(axis=1, dtype=np.float64))


class _Sums:
    """Running sums, one per index along ``by`` (or one in all); tiles must span that axis whole."""

    def __init__(self, by: int | None) -> None:
        self.by = by
        self.sums: dict[str, np.ndarray] = {}

    def add(self, **terms: np.ndarray) -> None:
        for key, values in terms.items():
            s = _sum_by(values, self.by)
            if key in self.sums and self.sums[key].shape != s.shape:
                raise GateError(f"tile has {s.shape} entries along by axis {self.by}, earlier tiles "
                                f"{self.sums[key].shape}")
            self.sums[key] = self.sums.get(key, 0) + s

    def get(self, key: str) -> np.ndarray:
        if key not in self.sums:
            raise GateError("no tile was added: nothing to score")
        return self.sums[key]


def _out(value: np.ndarray, by: int | None) -> Any:
    return float(value) if by is None else np.asarray(value)


class CRPSAccumulator:
    """Mean ensemble CRPS over all tiles (per index along ``by`` of obs, e.g. the variable axis)."""

    def __init__(self, *, member_axis: int = 0, fair: bool = False, by: int | None = None) -> None:
        self.member_axis, self.fair, self._sums = member_axis, fair, _Sums(by)

    def update(self, members: Any, obs: Any) -> None:
        """Score one tile (members and obs as ``crps_ensemble`` takes them)."""
        crps = crps_ensemble(members, obs, member_axis=self.member_axis, fair=self.fair)
        self._sums.add(crps=crps, n=np.ones_like(crps))

    def result(self) -> Any:
        """Mean CRPS: a float, or an array along ``by``."""
        return _out(self._sums.get("crps") / self._sums.get("n"), self._sums.by)


class RankHistogramAccumulator:
    """Rank histogram of ``members`` members over all tiles; ties broken with a generator seeded by ``seed``."""

    def __init__(self, members: int, *, seed: int | np.random.Generator = 0, member_axis: int = 0) -> None:
        if isinstance(members, bool) or not isinstance(members, int | np.integer) or members < 1:
            raise GateError(f"members must be a positive int, got {members!r}")
        self.m, self.member_axis = int(members), member_axis
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.counts = np.zeros(self.m + 1, dtype=np.int64)

    def update(self, members: Any, obs: Any) -> None:
        """Count the ranks of one tile."""
        x, _, axis = ensemble_pair(members, obs, self.member_axis)
        if x.shape[axis] != self.m:
            raise GateError(f"tile has {x.shape[axis]} members, the accumulator {self.m}")
        self.counts += np.bincount(ranks(x, obs, self.rng, member_axis=axis).ravel(), minlength=self.m + 1)

    def result(self) -> np.ndarray:
        """Counts per rank (m + 1 bins)."""
        if not self.counts.any():
            raise GateError("no tile was added: nothing to score")
        return self.counts.copy()

    def result_test(self) -> tuple[float, float]:
        """``(χ², p)`` of the counts against a flat histogram."""
        return rank_histogram_test(self.result())


class SpreadSkillAccumulator:
    """Spread/skill ratio (as ``spread_skill_ratio``) over all tiles, per index along ``by`` of obs."""

    def __init__(self, *, member_axis: int = 0, by: int | None = None) -> None:
        self.member_axis, self._sums, self.m = member_axis, _Sums(by), 0

    def update(self, members: Any, obs: Any) -> None:
        """Add one tile's ensemble variance and squared error of the ensemble mean."""
        x, y, axis = ensemble_pair(members, obs, self.member_axis)
        if x.shape[axis] < 2 or (self.m and x.shape[axis] != self.m):
            raise GateError(f"tile has {x.shape[axis]} members; spread needs ≥ 2, the same in every tile")
        if not (np.isfinite(y).all() and np.isfinite(x).all()):
            raise GateError("members or obs hold non-finite values: spread/skill needs finite input")
        self.m = x.shape[axis]
        mean, var = member_mean_var(x, axis)
        self._sums.add(var=var, se=(mean - y) ** 2, n=np.ones_like(mean))

    def result(self) -> Any:
        """√(mean variance · (m + 1)/m) / RMSE of the ensemble mean: a float or an array along ``by``."""
        n, se = self._sums.get("n"), self._sums.get("se")
        if (se == 0).any():
            raise GateError("the ensemble mean is exact on every case: spread/skill is undefined")
        ratio = np.sqrt(self._sums.get("var") / n * (self.m + 1) / self.m) / np.sqrt(se / n)
        return _out(ratio, self._sums.by)


class BrierAccumulator:
    """Brier score, its decomposition and reliability counts over all tiles of (probability, event)."""

    def __init__(self, bins: int | Any = 10) -> None:
        self.bins = ProbabilityBins(bin_edges(bins))

    def update(self, prob: Any, event: Any) -> None:
        """Count one tile."""
        self.bins.add(prob, event)

    def result(self) -> BrierDecomposition:
        """The Brier score and its decomposition."""
        return self.bins.decomposition()

    def reliability(self, level: float = 0.9) -> ReliabilityDiagram:
        """Reliability diagram data with consistency bars."""
        return self.bins.reliability(level)


class FSSAccumulator:
    """Fractions skill score of ``field > threshold`` over bands of consecutive rows, full width, top to bottom:
    the last rows of each band are kept so that windows across band borders count exactly once."""

    def __init__(self, threshold: float, windows: int | tuple[int, ...] | list[int]) -> None:
        self.threshold = float(threshold)
        self.windows = windows_of(windows, (1 << 62, 1 << 62))
        self.keep = max(self.windows) - 1
        self.carry: tuple[np.ndarray, np.ndarray] | None = None
        self.num = np.zeros(len(self.windows))
        self.den = np.zeros(len(self.windows))
        self.rows = 0

    def update(self, fcst: Any, obs: Any) -> None:
        """Add the next band of rows."""
        f, o = field_pair(fcst, obs)
        fb, ob = (f > self.threshold).astype(np.int8), (o > self.threshold).astype(np.int8)
        carried = 0
        if self.carry is not None:
            if self.carry[0].shape[1] != fb.shape[1]:
                raise GateError(f"band has {fb.shape[1]} columns, earlier bands {self.carry[0].shape[1]}")
            carried = len(self.carry[0])
            fb, ob = np.concatenate([self.carry[0], fb]), np.concatenate([self.carry[1], ob])
        for k, w in enumerate(self.windows):
            first = max(0, carried - w + 1)  # windows ending in a new row; earlier ones were counted
            if len(fb) - first >= w and w <= fb.shape[1]:
                num, den = fss_terms(fb[first:], ob[first:], w)
                self.num[k] += num
                self.den[k] += den
        self.rows += len(f)
        start = max(0, len(fb) - self.keep)
        self.carry = (fb[start:], ob[start:]) if self.keep else (fb[:0], ob[:0])

    def result(self) -> list[float]:
        """FSS per window (NaN where neither field had an event)."""
        if self.carry is None:
            raise GateError("no band was added: nothing to score")
        if any(w > min(self.rows, self.carry[0].shape[1]) for w in self.windows):
            raise GateError(f"a window of {max(self.windows)} does not fit the {self.rows} rows × "
                            f"{self.carry[0].shape[1]} columns added")
        return [1 - n / d if d > 0 else float("nan") for n, d in zip(self.num, self.den, strict=True)]


class QuantileAccumulator:
    """Quantiles of values far larger than memory from counts on fixed ``edges`` (plus one bin below and one above
    them) and the exact minimum and maximum: the same counts whatever the tiling, and a quantile exact to within
    one bin, linearly interpolated inside it (beyond the edges, between the edge and the extreme seen)."""

    def __init__(self, edges: Any) -> None:
        e = np.asarray(edges, dtype=np.float64)
        if e.ndim != 1 or len(e) < 2 or not np.isfinite(e).all() or not (np.diff(e) > 0).all():
            raise GateError("edges must be at least two strictly increasing finite values")
        self.edges = e
        self.counts = np.zeros(len(e) + 1, dtype=np.int64)  # [below e0, e0..e1, …, above e_last]
        self.low, self.high = np.inf, -np.inf
        step = (e[-1] - e[0]) / (len(e) - 1)
        self._step = step if np.allclose(np.diff(e), step, rtol=1e-9, atol=0) else None  # equal bins: no search

    def update(self, values: Any) -> None:
        """Count one tile (any shape; a non-finite value is a ``GateError``)."""
        v = as_float_array("values", values)  # integers too: the arithmetic path needs a float 1/step
        if v.size == 0:
            return
        if not np.isfinite(v).all():
            raise GateError(f"values hold {int((~np.isfinite(v)).sum())} non-finite entries")
        flat = v.ravel()
        if self._step is None:
            index = np.searchsorted(self.edges, flat, side="right")
        else:  # the bin by arithmetic, in the values' own precision (a value on an edge may fall either side)
            index = np.floor((flat - flat.dtype.type(self.edges[0])) * flat.dtype.type(1 / self._step))
            index = np.clip(index, -1, len(self.edges) - 1).astype(np.intp) + 1
        self.counts += np.bincount(index, minlength=len(self.counts))
        self.low, self.high = min(self.low, float(flat.min())), max(self.high, float(flat.max()))

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (0 ≤ q ≤ 1) of every value added."""
        if not 0 <= q <= 1:
            raise GateError(f"q must lie in [0, 1], got {q}")
        total = int(self.counts.sum())
        if total == 0:
            raise GateError("no values were added: nothing to score")
        target = q * total
        cum = np.cumsum(self.counts)
        k = min(int(np.searchsorted(cum, target, side="left")), len(self.counts) - 1)
        while self.counts[k] == 0:  # target 0 lands before the first filled bin
            k += 1
        lo = max(self.low, self.edges[k - 1]) if k > 0 else self.low
        hi = min(self.high, self.edges[k]) if k < len(self.edges) else self.high
        before = cum[k] - self.counts[k]
        return float(lo + (hi - lo) * (target - before) / self.counts[k])
