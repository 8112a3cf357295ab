"""plugins.deepech.amplitude_gates: R² and RMSE skill against the per-(L, MLT) mean amplitude, storm slice."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from plugins.deepech.amplitude_gates import AmplitudeR2Gate, AmplitudeSkillGate
from plugins.deepech.evaluation import evaluate
from registry.errors import GateError


def test_oracle_amplitude_beats_climatology_and_offset_one_does_not(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    good = make_ctx(oracle(), labelled)
    out = AmplitudeSkillGate().evaluate(good)
    assert out.passed and out.details["interval"]["lower"] > 0
    bad = make_ctx(oracle(amp_offset=8.0), labelled)  # 8 dB biased
    worse = AmplitudeSkillGate().evaluate(bad)
    assert not worse.passed and worse.value < 0


def test_r2_is_on_wave_present_rows_only(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    ctx = make_ctx(oracle(), labelled)
    ev = evaluate(ctx)
    keep = ev.present
    pred, truth = ev.amp_pred[keep], ev.amplitude_db[keep]
    r2 = 1 - np.mean((pred - truth) ** 2) / np.var(truth)
    out = AmplitudeR2Gate(0.1).evaluate(ctx)
    assert out.value == pytest.approx(r2) and out.details["rows"] == int(keep.sum())
    assert AmplitudeR2Gate().evaluate(ctx).threshold == 0.7094


def test_storm_amplitude_needs_events(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    ctx = make_ctx(oracle(), labelled)
    ev = evaluate(ctx)
    n = int((ev.present & ev.storm).sum())
    assert AmplitudeSkillGate(storm_only=True, min_events=n).evaluate(ctx).details["events"] == n
    with pytest.raises(GateError, match=f"{n} storm-time wave-present test rows; needs at least {n + 1}"):
        AmplitudeSkillGate(storm_only=True, min_events=n + 1).evaluate(ctx)
