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
