"""plugins.deepech.amplitude_gates: R² and RMSE skill against the per-(L, MLT) mean amplitude, storm slice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from gates.bootstrap import block_bootstrap
from gates.classification import regression_scores
from plugins.deepech.amplitude_gates import AmplitudeR2Gate, AmplitudeSkillGate
from plugins.deepech.evaluation import DEFAULT_SETUP, Setup, evaluate
from plugins.deepech.extracts import NOMINAL_DAY, TRAIN_END, labelled_table, table_arrays
from registry.errors import GateError


def relabel(labelled: Any, present: np.ndarray | None = None, amp: np.ndarray | None = None) -> Any:
    """The same rows with other SYNTHETIC labels (wave presence, amplitude in dB)."""
    _times, rows, p, a = table_arrays(labelled)
    p = p if present is None else present
    return labelled_table(rows, p, np.where(p, a if amp is None else amp, np.nan))


def r2(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(1 - np.mean((pred - truth) ** 2) / np.var(truth))


def rmse(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - truth) ** 2)))


def amplitudes(ctx: Any, setup: Setup = DEFAULT_SETUP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(predicted, labelled, climatology) amplitude on the wave-present test rows."""
    ev = evaluate(ctx, setup)
    return ev.amp_pred[ev.present], ev.amplitude_db[ev.present], ev.clim_amp[ev.present]


def interval_of(ctx: Any, stream: str, statistic: Any, n: int) -> dict[str, float]:
    """The recipe the gates promise: 300 resamples of half-hour blocks (at most a fifth of the rows), drawn from
    the run's seeded stream named after the gate."""
    idx = np.arange(n)
    return block_bootstrap(statistic, idx, rng=ctx.rng(stream), block=min(30, n // 5), n_resamples=300).as_json()


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


def test_r2_gate_reports_its_scores_interval_and_density_figure(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    ctx = make_ctx(oracle(), labelled)
    pred, truth, clim = amplitudes(ctx)
    out = AmplitudeR2Gate().evaluate(ctx)
    assert out.details["scores"] == pytest.approx(regression_scores(pred, truth, reference=clim))
    assert out.details["scores"]["r2_skill"] > 0  # against the climatology given as the reference
    assert out.details["climatology"] == pytest.approx(regression_scores(clim, truth))
    expected = interval_of(ctx, "amplitude-r2", lambda i: r2(pred[i], truth[i]), len(truth))
    assert out.details["interval"] == pytest.approx(expected)
    assert out.interval == pytest.approx(expected)
    assert out.figures == ({"kind": "density", "title": "Amplitude (dB), wave-present test rows",
                            "x": pred.tolist(), "y": truth.tolist(), "xlabel": "predicted dB",
                            "ylabel": "labelled dB"},)


def test_skill_gate_reports_its_value_interval_table_and_message(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    ctx = make_ctx(oracle(amp_offset=1.0), labelled)
    pred, truth, clim = amplitudes(ctx)
    out = AmplitudeSkillGate().evaluate(ctx)
    n = len(truth)
    skill = 1 - rmse(pred, truth) / rmse(clim, truth)
    assert out.value == pytest.approx(skill) and 0 < skill < 1
    expected = interval_of(ctx, "amplitude-rmse-skill",
                           lambda i: 1 - rmse(pred[i], truth[i]) / rmse(clim[i], truth[i]), n)
    assert out.details["interval"] == pytest.approx(expected)
    assert out.details["table"] == {
        "title": f"amplitude on {n} rows", "columns": ["forecast", "rmse_db", "r2"],
        "rows": [["candidate", pytest.approx(rmse(pred, truth)), pytest.approx(r2(pred, truth))],
                 ["lmlt_climatology", pytest.approx(rmse(clim, truth)), pytest.approx(r2(clim, truth))]]}
    assert out.details["events"] == n == 80
    assert out.details["climatology_fallbacks"] == evaluate(ctx).clim_amp_fallbacks > 0
    assert out.message == (
        f"RMSE {rmse(pred, truth):.3f} dB vs climatology {rmse(clim, truth):.3f} dB on {n} wave-present rows: skill "
        f"{skill:.4f} [{expected['lower']:.4f}, {expected['upper']:.4f}] at 95 %")


def test_skill_gate_holds_the_lower_bound_not_the_value(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    out = AmplitudeSkillGate().evaluate(make_ctx(oracle(amp_offset=5.0), labelled))  # 5 dB biased
    assert out.value > 0 > out.details["interval"]["lower"]  # better than climatology on the value, not surely
    assert not out.passed


def test_skill_gate_names_and_descriptions() -> None:
    assert AmplitudeSkillGate().name == "amplitude-rmse-skill"
    assert AmplitudeSkillGate().description == (
        "1 − RMSE/RMSE of the (L, MLT) mean-amplitude climatology on wave-present test rows; lower 95 % bound > 0")
    storm = AmplitudeSkillGate(storm_only=True, min_events=25, setup=Setup(storm_symh_nt=-80.0))
    assert storm.name == "storm-amplitude-rmse-skill"
    assert storm.description == (
        "1 − RMSE/RMSE of the (L, MLT) mean-amplitude climatology on storm-time (SYM-H ≤ -80 nT) wave-present "
        "test rows; lower 95 % bound > 0; at least 25 events")


def test_amplitude_gates_use_the_suites_test_window(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    setup = Setup(test_from=NOMINAL_DAY + timedelta(hours=12))
    ctx = make_ctx(oracle(), labelled)
    pred, truth, _clim = amplitudes(ctx, setup)
    assert len(truth) != len(amplitudes(ctx)[1])
    assert AmplitudeSkillGate(setup=setup).evaluate(ctx).details["events"] == len(truth)
    out = AmplitudeR2Gate(setup=setup).evaluate(ctx)
    assert out.details["rows"] == len(truth) and out.value == pytest.approx(r2(pred, truth))


def test_two_wave_present_rows_are_judged_one_is_refused(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    times, _rows, present, _amp = table_arrays(labelled)
    test_waves = np.flatnonzero(present & (times >= np.datetime64(TRAIN_END, "s")))
    for keep, judged in ((2, True), (1, False)):
        only = present.copy()
        only[test_waves[keep:]] = False
        ctx = make_ctx(oracle(), relabel(labelled, only))
        if judged:
            assert AmplitudeSkillGate().evaluate(ctx).details["events"] == 2
            # resamples of two rows that draw one row twice leave R² undefined: the R² gate fails closed
            with pytest.raises(GateError, match="statistic was not finite"):
                AmplitudeR2Gate().evaluate(ctx)
        else:
            for gate in (AmplitudeSkillGate(), AmplitudeR2Gate()):
                with pytest.raises(GateError, match=f"^{gate.name}: 1 wave-present test rows; needs at least 2$"):
                    gate.evaluate(ctx)


def test_constant_amplitude_leaves_both_scores_undefined(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    # every wave 12 dB: R² has no variance to explain, and the climatology (12 dB everywhere) has RMSE 0
    ctx = make_ctx(oracle(), relabel(labelled, amp=np.full(labelled.num_rows, 12.0)))
    for gate in (AmplitudeR2Gate(), AmplitudeSkillGate()):
        with pytest.raises(GateError, match="statistic was not finite"):
            gate.evaluate(ctx)


def test_scores_do_not_depend_on_the_amplitude_unit(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    # a tenth of the dB values (a spread well below 1) gives the same R² and skill, intervals included
    class Tenth(oracle):  # type: ignore[misc, valid-type]
        def amplitudes(self, rows: np.ndarray) -> np.ndarray:
            return super().amplitudes(rows) / 10

    _times, _rows, _present, amp = table_arrays(labelled)
    tenth = make_ctx(Tenth(), relabel(labelled, amp=amp / 10))
    whole = make_ctx(oracle(), labelled)
    _pred, truth, clim = amplitudes(tenth)
    assert np.var(truth) < 1 and rmse(clim, truth) < 1
    for gate in (AmplitudeR2Gate(), AmplitudeSkillGate()):
        a, b = gate.evaluate(tenth), gate.evaluate(whole)
        assert a.value == pytest.approx(b.value) and a.details["interval"] == pytest.approx(b.details["interval"])
