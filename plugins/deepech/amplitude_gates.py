"""DeepECH amplitude gates: R² and RMSE (dB) on wave-present test rows against a per-(L, MLT) mean climatology."""

from __future__ import annotations

from typing import Any

import numpy as np

from gates.base import Outcome, Threshold, table
from gates.bootstrap import block_bootstrap
from gates.classification import regression_scores
from plugins.deepech.evaluation import BOOTSTRAP_RESAMPLES, DEFAULT_SETUP, Setup, bootstrap_block, evaluate
from registry.errors import GateError


def _present_rows(ctx: Any, storm_only: bool, min_events: int, name: str,
                  setup: Setup) -> tuple[Any, np.ndarray]:
    ev = evaluate(ctx, setup)
    keep = ev.present & (ev.storm if storm_only else True)
    if keep.sum() < max(min_events, 2):
        where = "storm-time wave-present" if storm_only else "wave-present"
        raise GateError(f"{name}: {int(keep.sum())} {where} test rows; needs at least {max(min_events, 2)}")
    return ev, keep


class AmplitudeR2Gate:
    """R² of the regressor's amplitude on wave-present test rows, held to the published 0.7094 (configurable)."""

    name = "amplitude-r2"
    version = "1"

    def __init__(self, minimum: float = 0.7094, setup: Setup = DEFAULT_SETUP) -> None:
        self.minimum, self.setup = minimum, setup
        self.description = f"R² of amplitude (dB) on wave-present test rows ≥ {minimum:g} (upstream published 0.7094)"

    def evaluate(self, ctx: Any) -> Outcome:
        ev, keep = _present_rows(ctx, False, 2, self.name, self.setup)
        pred, truth, clim = ev.amp_pred[keep], ev.amplitude_db[keep], ev.clim_amp[keep]
        scores = regression_scores(pred, truth, reference=clim)
        idx = np.arange(len(truth))
        interval = block_bootstrap(lambda i: _r2(pred[i], truth[i]), idx, rng=ctx.rng(self.name),
                                   block=bootstrap_block(len(idx)), n_resamples=BOOTSTRAP_RESAMPLES)
        return Outcome.held_to(
            scores["r2"], Threshold(">=", self.minimum), interval=interval.as_json(),
            details={"scores": scores, "climatology": regression_scores(clim, truth), "rows": len(truth)},
            figures=({"kind": "density", "title": "Amplitude (dB), wave-present test rows", "x": pred.tolist(),
                      "y": truth.tolist(), "xlabel": "predicted dB", "ylabel": "labelled dB"},))


def _r2(pred: np.ndarray, truth: np.ndarray) -> float:
    var = float(np.var(truth))
    return 1.0 - float(np.mean((pred - truth) ** 2)) / var if var > 0 else float("nan")


class AmplitudeSkillGate:
    """RMSE skill 1 − RMSE/RMSE_clim of the amplitude against the per-(L, MLT) mean amplitude of the training
    window's wave-present rows, held above 0 on its lower 95 % bootstrap bound."""

    version = "1"

    def __init__(self, *, storm_only: bool = False, min_events: int = 0, setup: Setup = DEFAULT_SETUP) -> None:
        self.storm_only, self.min_events, self.setup = storm_only, min_events, setup
        self.name = "storm-amplitude-rmse-skill" if storm_only else "amplitude-rmse-skill"
        where = f"storm-time (SYM-H ≤ {setup.storm_symh_nt:g} nT) " if storm_only else ""
        self.description = (f"1 − RMSE/RMSE of the (L, MLT) mean-amplitude climatology on {where}wave-present test "
                            f"rows; lower 95 % bound > 0" + (f"; at least {min_events} events" if min_events else ""))

    def evaluate(self, ctx: Any) -> Outcome:
        ev, keep = _present_rows(ctx, self.storm_only, self.min_events, self.name, self.setup)
        pred, truth, clim = ev.amp_pred[keep], ev.amplitude_db[keep], ev.clim_amp[keep]

        def skill(i: np.ndarray) -> float:
            ref = float(np.sqrt(np.mean((clim[i] - truth[i]) ** 2)))
            return 1.0 - float(np.sqrt(np.mean((pred[i] - truth[i]) ** 2))) / ref if ref > 0 else float("nan")

        idx = np.arange(len(truth))
        interval = block_bootstrap(skill, idx, rng=ctx.rng(self.name), block=bootstrap_block(len(idx)),
                                   n_resamples=BOOTSTRAP_RESAMPLES)
        rmse = float(np.sqrt(np.mean((pred - truth) ** 2)))
        rmse_clim = float(np.sqrt(np.mean((clim - truth) ** 2)))
        rows = [{"forecast": "candidate", "rmse_db": rmse, "r2": _r2(pred, truth)},
                {"forecast": "lmlt_climatology", "rmse_db": rmse_clim, "r2": _r2(clim, truth)}]
        return Outcome.held_to(
            skill(idx), Threshold(">", 0.0, on="lower"), interval=interval.as_json(),
            message=f"RMSE {rmse:.3f} dB vs climatology {rmse_clim:.3f} dB on {len(truth)} wave-present rows: skill "
                    f"{skill(idx):.4f} [{interval.lower:.4f}, {interval.upper:.4f}] at 95 %",
            details={"table": table(rows, ["forecast", "rmse_db", "r2"], f"amplitude on {len(truth)} rows"),
                     "events": len(truth), "climatology_fallbacks": ev.clim_amp_fallbacks})
