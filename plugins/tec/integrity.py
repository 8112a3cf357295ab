"""Checks of the rows and the split a TEC verdict rests on: physical ranges, fill values, stuck drivers, leakage."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from registry.errors import GateError

# physical ranges from the spec (Dst "roughly"), except F10.7's upper end: the observed daily flux reached 400.7 sfu
# on 48 hours' days of 2023-2024 (flare-contaminated readings in CelesTrak's f107_obs), so the spec's 400 would refuse
# real data; 500 still catches the 999.9 fill value and the ×10 mis-parse
RANGES: dict[str, tuple[float, float]] = {
    "kp": (0, 9), "dst": (-600, 100), "f107": (50, 500), "f107_81": (50, 400), "sw_speed": (200, 1200),
    "sw_density": (0, 150), "bz": (-100, 100), "tec": (0, 300), "tec_std": (0, 150)}
SENTINELS: dict[str, tuple[float, ...]] = {  # fill values of OMNI2 and the index files that mis-parsing lets through
    "kp": (99.9, 99.0), "dst": (99999.0, 9999.0), "f107": (999.9, 9999.0), "f107_81": (999.9,),
    "sw_speed": (9999.0,), "sw_density": (999.9, 99.99), "bz": (999.9,), "tec": (999.9, 9999.0)}
DRIVERS = ("kp", "dst", "f107", "f107_81", "sw_speed", "sw_density", "bz")


def row_problems(columns: Mapping[str, np.ndarray], *, label: str, max_mode_share: float = 0.5,
                 max_storm_share: float = 0.2) -> list[str]:
    """One line per problem of the rows: NULLs, fill values, values outside physical ranges, a driver stuck at one
    value, an implausible share of Kp ≥ 5 hours."""
    problems: list[str] = []
    n = len(columns["tec"])
    if n == 0:
        return [f"{label}: no rows"]
    for name, (lo, hi) in RANGES.items():
        v = np.asarray(columns[name], dtype=np.float64)
        missing = int((~np.isfinite(v)).sum())
        if missing:
            problems.append(f"{label} {name}: {missing:,} NULL/missing value(s) (a fill value turned NULL)")
        for fill in SENTINELS.get(name, ()):
            hits = int(np.isclose(v, fill, rtol=0, atol=1e-3).sum())
            if hits:
                problems.append(f"{label} {name}: {hits:,} row(s) hold the fill value {fill:g}")
        finite = v[np.isfinite(v)]
        outside = int(((finite < lo) | (finite > hi)).sum())
        if outside:
            problems.append(f"{label} {name}: {outside:,} value(s) outside the physical range [{lo:g}, {hi:g}] "
                            f"(min {finite.min():.4g}, max {finite.max():.4g})")
    for name in DRIVERS:
        v = np.asarray(columns[name], dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size:
            values, counts = np.unique(v, return_counts=True)
            share = counts.max() / v.size
            if share > max_mode_share:
                problems.append(f"{label} {name} is stuck at {values[counts.argmax()]:g} in {share:.0%} of rows")
    kp = np.asarray(columns["kp"], dtype=np.float64)
    storm = float(np.mean(kp[np.isfinite(kp)] >= 5)) if np.isfinite(kp).any() else 0.0
    if storm > max_storm_share:
        problems.append(f"{label}: {storm:.0%} of rows claim Kp ≥ 5 (more than {max_storm_share:.0%} is not "
                        "plausible; mis-read drivers?)")
    return problems


def _instant(text: Any, what: str) -> np.datetime64:
    try:
        return np.datetime64(datetime.fromisoformat(str(text)).replace(tzinfo=None), "s")
    except ValueError:
        raise GateError(f"the version's lineage has an unreadable {what}: {text!r}") from None


def split_problems(lineage: Mapping[str, Any], test_times: np.ndarray) -> tuple[int, list[str], dict[str, Any]]:
    """``(test hours inside the training span, problems, facts)`` from the training split recorded in the lineage.

    :raises GateError: the lineage records no training split (nothing to prove the evaluation is held out).
    """
    split = (lineage.get("training") or {}).get("split")
    if not isinstance(split, Mapping) or not isinstance(split.get("train"), Mapping):
        raise GateError("the version's lineage records no training split (training.split.train first/last): "
                        "nothing shows the evaluation rows were held out")
    train = split["train"]
    first, last = _instant(train.get("first"), "training start"), _instant(train.get("last"), "training end")
    t = np.asarray(test_times).astype("datetime64[s]")
    inside = int(((t >= first) & (t <= last)).sum())
    problems: list[str] = []
    method = split.get("method")
    if method != "temporal":
        problems.append(f"the training split was {method or 'not recorded as'} temporal")
    if inside:
        problems.append(f"{inside:,} of {len(t):,} evaluation hours ({t.min()} … {t.max()}) lie inside the training "
                        f"span {first} … {last}: the test years were seen in training")
    elif t.size and t.min() <= last:
        problems.append(f"evaluation starts {t.min()}, not after the training end {last}")
    facts = {"train_first": str(first), "train_last": str(last), "test_first": str(t.min()) if t.size else None,
             "test_last": str(t.max()) if t.size else None, "method": method}
    return inside, problems, facts
