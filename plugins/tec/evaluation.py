"""The pairs every TEC gate scores: model, climatology and persistence per lead, aligned by target time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gates.baselines import Climatology, persistence_by_time
from plugins.tec.features import DRIVER_COLUMNS, Features, compute_features
from plugins.tec.sequences import Samples, build_samples

HOUR = 3600


def arrow_columns(table: Any) -> dict[str, np.ndarray]:
    """An Arrow table's driver columns as NumPy (NULL → NaN; ``time`` as datetime64[s])."""
    out: dict[str, np.ndarray] = {}
    for column in DRIVER_COLUMNS:
        if column.name not in table.column_names:
            continue
        col = table.column(column.name)
        if column.name == "time":
            out["time"] = np.asarray(col.to_numpy(zero_copy_only=False)).astype("datetime64[s]")
        else:
            out[column.name] = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    return out


def day_of_year(hours: np.ndarray) -> np.ndarray:
    t = hours.astype("datetime64[h]")
    return (t.astype("datetime64[D]") - t.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64) + 1


@dataclass(frozen=True)
class ClimatologyFit:
    """Mean TEC of the training rows keyed by (location, day of year, ⌊Kp⌋); unseen keys take the global mean."""

    climatology: Climatology
    locations: dict[tuple[float, float], int]

    @classmethod
    def fit(cls, train: Mapping[str, np.ndarray]) -> ClimatologyFit:
        locations: dict[tuple[float, float], int] = {}
        loc = np.array([locations.setdefault((round(a, 6), round(b, 6)), len(locations))
                        for a, b in zip(train["lat"].tolist(), train["lon"].tolist(), strict=True)])
        hours = train["time"].astype("datetime64[h]").astype(np.int64)
        keys = np.stack([loc, day_of_year(hours), np.floor(train["kp"]).astype(np.int64)], axis=1)
        return cls(Climatology.fit(keys, train["tec"]), locations)

    def predict(self, latlon: np.ndarray, target_hours: np.ndarray,
                kp_now: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forecasts (m, leads) for samples at ``latlon`` (m, 2) and where they fell back to the global mean."""
        loc = np.array([self.locations.get((round(a, 6), round(b, 6)), -1) for a, b in latlon.tolist()])
        m, leads = target_hours.shape
        keys = np.stack([np.repeat(loc, leads), day_of_year(target_hours.ravel()),
                         np.repeat(np.floor(kp_now).astype(np.int64), leads)], axis=1)
        uniq, inverse = unique_rows(keys)
        values, _ = self.climatology.predict(uniq)
        fallback = np.array([tuple(u) not in self.climatology.means for u in uniq.tolist()])
        forecast = values[inverse.reshape(-1)].reshape(m, leads)
        return forecast, fallback[inverse.reshape(-1)].reshape(m, leads)


def unique_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, axis=0, return_inverse=True)`` for an ``(n, k)`` integer array, by one 1-D unique of a
    mixed-radix code of each column's rank (the same rows in the same order; ~10× faster on 420,000 rows)."""
    code = np.zeros(len(keys), dtype=np.int64)
    for column in keys.T:
        values, rank = np.unique(column, return_inverse=True)
        code = code * len(values) + rank.reshape(-1)
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    return keys[first], inverse.reshape(-1)


@dataclass(frozen=True)
class EvaluationSet:
    """Per sample (issue hour, location) and lead: truth, model and baselines, all at the same target time."""

    samples: Samples
    truth: np.ndarray
    model: np.ndarray
    climatology: np.ndarray
    persistence: np.ndarray
    kp_now: np.ndarray
    climatology_fallbacks: int
    storm_probability: np.ndarray


def diurnal_persistence(columns: Mapping[str, np.ndarray], features: Features, samples: Samples) -> np.ndarray:
    """TEC 24 h before each target time at the same location (known at issue time for every lead ≤ 24)."""
    by_row = np.full(len(features.hours), np.nan)
    forecast, _truth, rows = persistence_by_time(features.hours, columns["tec"], 24, groups=features.location)
    by_row[rows] = forecast
    return np.where(samples.target_row >= 0, by_row[np.maximum(samples.target_row, 0)], np.nan)


def evaluation_set(bundle: Any, test: Mapping[str, np.ndarray], train: Mapping[str, np.ndarray]) -> EvaluationSet:
    """Score inputs for ``bundle`` on the test rows with baselines from the training rows (both pinned extracts)."""
    features = compute_features(test)
    samples = build_samples(features, test["tec"], steps=bundle.model.config.steps, leads=bundle.model.config.leads)
    out = bundle.forecast(samples.x)
    leads = samples.target.shape[1]
    target_hours = samples.issue_hour[:, None] + np.arange(1, leads + 1)[None, :]
    kp_now = test["kp"][samples.issue_row]
    latlon = np.stack([test["lat"][samples.issue_row], test["lon"][samples.issue_row]], axis=1)
    clim, fallbacks = ClimatologyFit.fit(train).predict(latlon, target_hours, kp_now)
    persistence = diurnal_persistence(test, features, samples)
    keep = np.isfinite(persistence).all(axis=1)  # the first day of each location has no value 24 h earlier
    pick = np.flatnonzero(keep)
    trimmed = Samples(samples.x[pick], samples.target[pick], samples.target_row[pick], samples.issue_row[pick],
                      samples.issue_hour[pick], samples.location[pick])
    return EvaluationSet(trimmed, samples.target[pick], out["tec"][pick], clim[pick], persistence[pick],
                         kp_now[pick], int(fallbacks[pick].sum()), out["storm_probability"][pick])
