"""DeepECH sanity gates: outputs in range over the L–MLT maps and the test rows, and eval-mode determinism."""

from __future__ import annotations

from typing import Any

import numpy as np

from gates.base import Outcome, Threshold
from plugins.deepech.evaluation import DEFAULT_SETUP, Setup, evaluate
from plugins.deepech.extracts import LABELLED_ROWS, table_arrays
from plugins.deepech.maps import L_GRID, MLT_GRID, chosen_histories, grid_rows, map_figures


class OutputRangeGate:
    """Probabilities in [0, 1] and finite amplitudes on the test rows and on the L (2–8) × MLT (0–24) grid for a
    quiet and a storm index history (drawn as maps of occurrence and amplitude on one shared scale each)."""

    name = "outputs-in-range"
    version = "1"
    description = ("share of outputs out of range (probability outside [0, 1] or not finite, amplitude not finite) "
                   "on the test rows and the quiet/storm L–MLT maps; must be 0")

    def __init__(self, setup: Setup = DEFAULT_SETUP) -> None:
        self.setup = setup

    def evaluate(self, ctx: Any) -> Outcome:
        ev = evaluate(ctx, self.setup)
        _times, rows, _present, _amp = table_arrays(ctx.extract(LABELLED_ROWS))
        histories = chosen_histories(rows)
        model = ctx.model
        maps: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for label, history in histories.items():
            grid = grid_rows(history)
            prob = 1.0 / (1.0 + np.exp(-model.logits(grid).astype(np.float64)))
            maps[label] = (prob.reshape(len(L_GRID), len(MLT_GRID)),
                           model.amplitudes(grid).astype(np.float64).reshape(len(L_GRID), len(MLT_GRID)))
        probs = np.concatenate([ev.prob] + [m[0].ravel() for m in maps.values()])
        amps = np.concatenate([ev.amp_pred] + [m[1].ravel() for m in maps.values()])
        bad_p = int((~(np.isfinite(probs) & (probs >= 0) & (probs <= 1))).sum())
        bad_a = int((~np.isfinite(amps)).sum())
        share = (bad_p + bad_a) / (len(probs) + len(amps))
        return Outcome.held_to(
            share, Threshold("<=", 0.0),
            message=f"{bad_p} of {len(probs)} probabilities outside [0, 1] or not finite, {bad_a} of {len(amps)} "
                    "amplitudes not finite",
            details={"histories": {k: {"symh_now_nT": float(v[101]), "sme_now_nT": float(v[52])}
                                   for k, v in histories.items()},
                     "probability_range": [float(np.nanmin(probs)), float(np.nanmax(probs))],
                     "amplitude_range_db": [float(np.nanmin(amps)), float(np.nanmax(amps))]},
            figures=map_figures(maps))


class DeterminismGate:
    """The same rows twice through both stages in eval mode (dropout off) give identical outputs."""

    name = "eval-determinism"
    version = "1"
    description = "largest |difference| of two eval-mode passes over the test rows (logit, amplitude); must be 0"

    def __init__(self, setup: Setup = DEFAULT_SETUP) -> None:
        self.setup = setup

    def evaluate(self, ctx: Any) -> Outcome:
        ev = evaluate(ctx, self.setup)
        rows = ev.rows[:512]
        again_logit = ctx.model.logits(rows).astype(np.float64)
        again_amp = ctx.model.amplitudes(rows).astype(np.float64)
        diff = max(float(np.max(np.abs(again_logit - ev.logit[:512]))),
                   float(np.max(np.abs(again_amp - ev.amp_pred[:512]))))
        return Outcome.held_to(diff, Threshold("<=", 0.0),
                               message=f"largest difference between two passes over {len(rows)} rows: {diff:.3g}")
