"""What the DeepECH gates share in one run: the split extract, the candidate's outputs and the two baselines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from gates.baselines import Climatology
from plugins.deepech.extracts import LABELLED_ROWS, TRAIN_END, split_mask, table_arrays
from plugins.deepech.schema import L_COL, current_symh, mlt_hours
from registry.errors import DataMissing, GateError

L_BIN = 1.0  # climatology bins: 1 L × 2 h MLT
MLT_BIN_H = 2.0
STORM_SYMH_NT = -50.0
BOOTSTRAP_BLOCK = 30  # one-minute rows: keep half an hour together (the orbit and the indices change slowly)
BOOTSTRAP_RESAMPLES = 300


@dataclass(frozen=True)
class Setup:
    """How a suite run cuts the extract, beside its thresholds (suite options ``test_from``, ``storm_symh_nt``):
    rows before ``test_from`` are the training window (the baselines' fit), rows from it on the test window;
    storm rows have SYM-H at or below ``storm_symh_nt``."""

    test_from: datetime = TRAIN_END
    storm_symh_nt: float = STORM_SYMH_NT

    def to_json(self) -> dict[str, Any]:
        return {"test_from": self.test_from.isoformat(), "storm_symh_nt": self.storm_symh_nt}


DEFAULT_SETUP = Setup()


def bootstrap_block(n: int) -> int:
    """Rows kept together by the block bootstrap: half an hour, but at most a fifth of the rows."""
    return max(1, min(BOOTSTRAP_BLOCK, n // 5))


def lmlt_keys(rows: np.ndarray) -> np.ndarray:
    """``(n, 2)`` integer (L bin, MLT bin) keys of the climatologies."""
    return np.column_stack([np.floor(rows[:, L_COL] / L_BIN), np.floor(mlt_hours(rows) / MLT_BIN_H)]).astype(int)


@dataclass(frozen=True)
class Evaluation:
    """Test-window rows, labels and outputs, with the baselines fitted on the training window.

    ``majority_prob`` is the training base rate for every row (the majority class is its rounding);
    ``clim_prob`` the training occurrence rate of the row's (L, MLT) bin; ``clim_amp`` the training mean
    amplitude of wave-present rows in the bin. ``*_fallbacks`` count test rows whose bin had no training rows.
    """

    rows: np.ndarray
    present: np.ndarray
    amplitude_db: np.ndarray
    logit: np.ndarray
    prob: np.ndarray
    amp_pred: np.ndarray
    threshold: float
    majority_prob: np.ndarray
    clim_prob: np.ndarray
    clim_amp: np.ndarray
    clim_fallbacks: int
    clim_amp_fallbacks: int
    training_rows: int
    training_rate: float
    setup: Setup = DEFAULT_SETUP

    @property
    def storm(self) -> np.ndarray:
        return current_symh(self.rows) <= self.setup.storm_symh_nt

    @property
    def predicted(self) -> np.ndarray:
        return self.prob > self.threshold

    def baselines(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``name → (predicted class, probability)`` of each baseline on the test rows."""
        return {"majority": (np.full(len(self.rows), self.training_rate > 0.5), self.majority_prob),
                "lmlt_climatology": (self.clim_prob > self.threshold, self.clim_prob)}


def evaluate(ctx: Any, setup: Setup = DEFAULT_SETUP) -> Evaluation:
    """The shared product of a run (through ``ctx.memo``): reads the extract once, runs the candidate once."""
    key = f"deepech-evaluation:{setup.test_from.isoformat()}:{setup.storm_symh_nt!r}"
    return ctx.memo(key, lambda: _compute(ctx, ctx.model, setup))


def trained_until(ctx: Any) -> datetime | None:
    """Where the version's own training recorded its test window to start (``registry train`` lineage), if it did."""
    split = ((getattr(ctx.version, "lineage", None) or {}).get("training") or {}).get("split") or {}
    text = split.get("test_window_from") if isinstance(split, dict) else None
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        raise GateError(f"the version's lineage records an unreadable training split end {text!r}") from None


def _compute(ctx: Any, model: Any, setup: Setup) -> Evaluation:
    until = trained_until(ctx)
    if until is not None and until > setup.test_from:
        raise GateError(f"the version was trained on rows up to {until.isoformat()}, after this suite's test window "
                        f"starts ({setup.test_from.isoformat()}): its test rows would include training rows")
    times, rows, present, amp = table_arrays(ctx.extract(LABELLED_ROWS))
    train = split_mask(times, setup.test_from)
    if train.sum() == 0 or (~train).sum() == 0:
        raise DataMissing(f"extract {LABELLED_ROWS!r} needs rows on both sides of the temporal split at "
                          f"{setup.test_from.isoformat()} (training {int(train.sum())}, test {int((~train).sum())})")
    tr_rows, te_rows = rows[train], rows[~train]
    rate = float(present[train].mean())
    occ = Climatology.fit(lmlt_keys(tr_rows), present[train].astype(np.float64))
    clim_prob, fallbacks = occ.predict(lmlt_keys(te_rows))
    wave = train & present
    if wave.sum() == 0:
        raise DataMissing("no wave-present rows in the training window: the amplitude climatology cannot be built")
    amp_clim = Climatology.fit(lmlt_keys(rows[wave]), amp[wave])
    clim_amp, amp_fallbacks = amp_clim.predict(lmlt_keys(te_rows))
    logit = model.logits(te_rows).astype(np.float64)
    return Evaluation(
        rows=te_rows, present=present[~train], amplitude_db=amp[~train], logit=logit,
        prob=1.0 / (1.0 + np.exp(-logit)), amp_pred=model.amplitudes(te_rows).astype(np.float64),
        threshold=model.threshold, majority_prob=np.full(len(te_rows), rate), clim_prob=clim_prob,
        clim_amp=clim_amp, clim_fallbacks=fallbacks, clim_amp_fallbacks=amp_fallbacks,
        training_rows=int(train.sum()), training_rate=rate, setup=setup)
