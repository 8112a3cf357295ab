"""L–MLT maps of predicted occurrence and amplitude for a quiet and a storm index history (scorecard figures)."""

from __future__ import annotations

from typing import Any

import numpy as np

from plugins.deepech.schema import COS6_MLAT_COL, COS_MLT_COL, L_COL, N_COLUMNS, SIN_MLT_COL, current_symh

L_GRID = np.arange(2.0, 8.01, 0.5)  # 13 L values, 2 … 8
MLT_GRID = np.arange(0.5, 24.0, 1.0)  # 24 hourly MLT bin centres


def chosen_histories(rows: np.ndarray) -> dict[str, np.ndarray]:
    """A ``quiet`` row (highest current SYM-H) and a ``storm`` row (lowest) of ``rows``; their index histories
    (columns 4–223) are what the maps hold fixed."""
    symh = current_symh(rows)
    return {"quiet": rows[int(np.argmax(symh))], "storm": rows[int(np.argmin(symh))]}


def grid_rows(history: np.ndarray) -> np.ndarray:
    """``(len(L_GRID) * len(MLT_GRID), 224)`` rows at the magnetic equator (cos⁶ MLAT = 1), L-major, sharing the
    index history of ``history``."""
    ll, mm = np.meshgrid(L_GRID, MLT_GRID, indexing="ij")
    out = np.repeat(np.asarray(history, dtype=np.float64)[None, :N_COLUMNS], ll.size, axis=0)
    out[:, L_COL] = ll.ravel()
    out[:, COS_MLT_COL] = np.cos(2 * np.pi * mm.ravel() / 24.0)
    out[:, SIN_MLT_COL] = np.sin(2 * np.pi * mm.ravel() / 24.0)
    out[:, COS6_MLAT_COL] = 1.0
    return out


def _cells(z: np.ndarray, digits: int) -> list[list[float | None]]:
    return [[round(float(v), digits) if np.isfinite(v) else None for v in row] for row in z]


R_EDGES = [float(v) for v in np.r_[L_GRID - 0.25, L_GRID[-1] + 0.25]]
MLT_EDGES = [float(v) for v in np.arange(0.0, 24.01, 1.0)]


def map_figures(maps: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[dict[str, Any], ...]:
    """Two ``dials`` figures, the field's polar L–MLT plots (noon up, midnight down, dawn right; L outwards):
    occurrence probability on a fixed 0–1 scale, amplitude on one scale shared by the panels; a panel per history."""
    prob = {"kind": "dials", "title": "P(ECH present), L 2–8 × MLT", "vmin": 0.0, "vmax": 1.0,
            "zlabel": "probability", "r_edges": R_EDGES, "mlt_edges": MLT_EDGES,
            "panels": [{"title": f"{k} history", "z": _cells(v[0], 4)} for k, v in maps.items()]}
    amp = {"kind": "dials", "title": "Predicted amplitude (dB), L 2–8 × MLT", "zlabel": "dB", "r_edges": R_EDGES,
           "mlt_edges": MLT_EDGES, "panels": [{"title": f"{k} history", "z": _cells(v[1], 3)}
                                              for k, v in maps.items()]}
    return prob, amp
