"""Scorecard maps of one case: truth, ensemble mean, spread, exceedance probability and a paintball of members."""

from __future__ import annotations

from typing import Any

import numpy as np

from plugins.hrrr_ddpm.scoring import UNITS, Sums


def _rows(z: np.ndarray, digits: int = 3) -> list[list[float | None]]:
    return [[round(float(v), digits) if np.isfinite(v) else None for v in row] for row in z]


def case_maps(sums: Sums) -> tuple[dict[str, Any], ...]:
    """Four figures of the first case on its subsampled grid, for the FSS event's variable (REFC > 35 dBZ):
    truth beside the ensemble mean on one scale, the spread, P(event) on 0–1 and a paintball of up to six members
    with the truth's event area outlined, each title led by the data's label (``sums.source``, e.g. SYNTHETIC).
    Empty when no case was scored."""
    maps = sums.maps
    if maps is None or not maps.truth:
        return ()
    name, thr = sums.plan.fss_event
    unit = UNITS.get(name, "")
    truth, mean, spread, prob = (np.concatenate(part, axis=0) for part in (maps.truth, maps.mean, maps.spread,
                                                                            maps.prob))
    members = np.concatenate(maps.members, axis=1)
    note = f"first case, every {maps.stride}th pixel" if maps.stride > 1 else "first case"
    label = f"{sums.source} " if sums.source else ""
    return (
        {"kind": "maps", "title": f"{label}{name}: truth and ensemble mean ({note})", "zlabel": unit, "scale": "fixed",
         "vmin": round(float(np.nanmin(truth)), 3), "vmax": round(float(np.nanmax(truth)), 3),  # the truth's range
         "panels": [{"title": "truth", "z": _rows(truth)}, {"title": "ensemble mean", "z": _rows(mean)}]},
        {"kind": "maps", "title": f"{label}{name}: ensemble spread", "zlabel": unit, "vmin": 0.0,
         "panels": [{"title": "standard deviation", "z": _rows(spread)}]},
        {"kind": "maps", "title": f"{label}P({name} > {thr:g} {unit})", "zlabel": "probability", "vmin": 0.0,
         "vmax": 1.0,
         "panels": [{"title": "share of members", "z": _rows(prob)}]},
        {"kind": "paintball", "title": f"{label}{name} > {thr:g} {unit}: {len(members)} members",
         "truth": (truth > thr).astype(int).tolist(),
         "members": [{"name": f"member {k}", "mask": (m > thr).astype(int).tolist()} for k, m in enumerate(members)]},
    )
