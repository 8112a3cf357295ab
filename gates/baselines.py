"""Reference forecasts a model must beat: persistence and a keyed climatology fitted on training rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gates.metrics import finite_array
from registry.errors import GateError


def persistence(series: Any, lead: int) -> tuple[np.ndarray, np.ndarray]:
    """``(forecast, truth)`` pairs of ``series[t + lead] = series[t]`` for a regularly sampled series.

    ``lead`` is in samples (24 for a day ahead of hourly data); the pairs are aligned here, once, so a
    gate cannot score a +1 h forecast against the +24 h truth.
    """
    x = finite_array("series", series, ndim=1)
    if lead < 1 or lead >= len(x):
        raise GateError(f"lead {lead} needs a series longer than it (got {len(x)} samples)")
    return x[:-lead], x[lead:]


@dataclass(frozen=True)
class Climatology:
    """Mean of the training values per key (e.g. (day of year, ⌊Kp⌋)); unseen keys get the global mean,
    and how often that happened is counted so the scorecard can say how much of the baseline was a guess."""

    means: dict[tuple[Any, ...], float]
    global_mean: float
    training_rows: int

    @classmethod
    def fit(cls, keys: Any, values: Any) -> Climatology:
        """``keys``: shape (n, k) (one row of key columns per training value); ``values``: shape (n,)."""
        k = np.asarray(keys)
        v = finite_array("training values", values, ndim=1)
        k = k.reshape(len(k), -1)
        if len(k) != len(v):
            raise GateError(f"{len(k)} key rows for {len(v)} training values")
        uniq, inverse = np.unique(k, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        sums = np.bincount(inverse, weights=v, minlength=len(uniq))
        counts = np.bincount(inverse, minlength=len(uniq))
        means = {tuple(u.tolist()): float(s / c) for u, s, c in zip(uniq, sums, counts, strict=True)}
        return cls(means, float(v.mean()), len(v))

    def predict(self, keys: Any) -> tuple[np.ndarray, int]:
        """Forecasts for ``keys`` (shape (n, k)) and the number that fell back to the global mean."""
        k = np.asarray(keys)
        k = k.reshape(len(k), -1)
        out = np.empty(len(k))
        fallbacks = 0
        for i, row in enumerate(k.tolist()):
            value = self.means.get(tuple(row))
            if value is None:
                value, fallbacks = self.global_mean, fallbacks + 1
            out[i] = value
        return out, fallbacks


def persistence_by_time(times: Any, values: Any, lead: Any, *, groups: Any = None) -> tuple[np.ndarray, np.ndarray,
                                                                                         np.ndarray]:
    """``(forecast, truth, target_rows)`` of persistence matched by timestamp: the forecast for the sample at time
    ``t`` is the value at ``t − lead`` in the same group (station, grid cell), and a target whose issue time is
    absent has no pair (a missing sample drops a pair; it never shifts the series).

    :param times: one timestamp per sample (integers or ``datetime64``); unique within a group.
    :param lead: in the units of ``times`` (``24`` hours as integers, or ``np.timedelta64(24, "h")``).
    :param groups: an integer group per sample, or None for one series.
    """
    t = np.asarray(times)
    v = finite_array("series", values, ndim=1)
    if t.shape != v.shape:
        raise GateError(f"{t.shape[0] if t.ndim else 0} times for {len(v)} values")
    g = np.zeros(len(v), dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    if g.shape != v.shape:
        raise GateError(f"{len(g)} group labels for {len(v)} values")
    if t.dtype.kind == "M":
        t, lead = t.astype("datetime64[s]").astype(np.int64), np.timedelta64(lead, "s").astype(np.int64)
    t = t.astype(np.int64)
    if int(lead) < 1:
        raise GateError(f"lead must be positive, got {lead}")
    order = np.lexsort((t, g))
    keys = np.stack([g[order], t[order]], axis=1)
    if len(keys) > 1 and (np.diff(keys, axis=0) == 0).all(axis=1).any():
        raise GateError("two samples share a group and a time: persistence needs one value per time")
    combined = g[order] * (int(np.ptp(t)) + int(lead) + 1) + (t[order] - t.min())
    issue = g * (int(np.ptp(t)) + int(lead) + 1) + (t - int(lead) - t.min())
    pos = np.clip(np.searchsorted(combined, issue), 0, len(combined) - 1)
    found = combined[pos] == issue
    rows = np.flatnonzero(found)
    if rows.size == 0:
        raise GateError(f"no sample has a value {lead} earlier in its group: nothing to pair")
    return v[order[pos[found]]], v[rows], rows
