"""Samples of 24 hourly feature rows and the 24 TEC targets after them, matched by timestamp per location."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plugins.tec.features import Features
from registry.errors import InvalidInput


@dataclass(frozen=True)
class Samples:
    """``x`` (m, steps, 24) inputs; ``target`` (m, leads) TEC in TECU at issue hour + 1 … + leads (NaN where no
    truth exists: serving); ``target_row`` the row of each target hour (-1 where absent); ``issue_row`` the row
    of the last input hour; ``issue_hour`` its hour since 1970; ``location`` its location id."""

    x: np.ndarray
    target: np.ndarray
    target_row: np.ndarray
    issue_row: np.ndarray
    issue_hour: np.ndarray
    location: np.ndarray

    def __len__(self) -> int:
        return len(self.issue_row)


def _lookup(location: np.ndarray, hours: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    key = location.astype(np.int64) * 10**8 + hours
    order = np.argsort(key, kind="stable")
    return key, order, key[order]


def _at(sorted_keys: np.ndarray, order: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    pos = np.clip(np.searchsorted(sorted_keys, wanted), 0, len(sorted_keys) - 1)
    return np.where(sorted_keys[pos] == wanted, order[pos], -1)


def build_samples(features: Features, tec: np.ndarray, *, steps: int = 24, leads: int = 24,
                  need_targets: bool = True) -> Samples:
    """Every window whose ``steps`` input hours are all present (and have their hour-to-hour differences) and,
    with ``need_targets``, whose ``leads`` following hours all have a TEC value; a missing hour breaks a window,
    it never shifts one. Windows are returned in (location, issue hour) order.
    """
    tec = np.asarray(tec, dtype=np.float64)
    if len(tec) != len(features.values):
        raise InvalidInput(f"{len(tec)} TEC values for {len(features.values)} feature rows")
    key, order, sorted_keys = _lookup(features.location, features.hours)
    inputs = np.stack([_at(sorted_keys, order, key - (steps - 1 - s)) for s in range(steps)], axis=1)
    ok: np.ndarray = np.asarray((inputs >= 0).all(axis=1))
    ok[ok] &= features.complete[inputs[ok]].all(axis=1)
    targets = np.stack([_at(sorted_keys, order, key + lead) for lead in range(1, leads + 1)], axis=1)
    if need_targets:
        ok &= (targets >= 0).all(axis=1)
    anchors = order[ok[order]]  # sorted by (location, hour)
    if anchors.size == 0:
        raise InvalidInput(f"no complete window: every sample needs {steps} consecutive hours"
                           + (f" and {leads} hours of TEC after them" if need_targets else "")
                           + f" ({steps + 1} with the first hour's differences)")
    t_idx = targets[anchors]
    target = np.where(t_idx >= 0, tec[np.maximum(t_idx, 0)], np.nan)
    return Samples(features.values[inputs[anchors]], target, t_idx, anchors, features.hours[anchors],
                   features.location[anchors])
