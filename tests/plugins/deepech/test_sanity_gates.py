"""plugins.deepech.sanity_gates: outputs in range on rows and L–MLT maps, and eval-mode determinism."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from plugins.deepech.evaluation import Setup, evaluate
from plugins.deepech.extracts import NOMINAL_DAY, table_arrays
from plugins.deepech.maps import L_GRID, MLT_GRID, chosen_histories, grid_rows
from plugins.deepech.sanity_gates import DeterminismGate, OutputRangeGate
from plugins.deepech.schema import current_sme, current_symh


def test_range_gate_draws_two_shared_scale_dials(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    out = OutputRangeGate().evaluate(make_ctx(oracle(), labelled))
    assert out.passed and out.value == 0
    prob, amp = out.figures
    assert prob["kind"] == amp["kind"] == "dials" and (prob["vmin"], prob["vmax"]) == (0.0, 1.0)
    assert prob["r_edges"][0] == 1.75 and prob["r_edges"][-1] == 8.25 and prob["mlt_edges"][-1] == 24.0
    assert [p["title"] for p in prob["panels"]] == ["quiet history", "storm history"]
    assert np.shape(prob["panels"][0]["z"]) == (len(L_GRID), len(MLT_GRID)) == (13, 24)
    from registry.figures import render_figure

    assert render_figure(prob).count("<image ") == 3
    hist = out.details["histories"]
    assert hist["storm"]["symh_now_nT"] < -100 < hist["quiet"]["symh_now_nT"]


def test_range_gate_fails_on_a_non_finite_amplitude(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    class Broken(oracle):  # type: ignore[misc, valid-type]
        def amplitudes(self, rows: np.ndarray) -> np.ndarray:
            out = super().amplitudes(rows)
            out[rows[:, 0] > 7.9] = np.nan  # only at the outer edge of the maps
            return out

    out = OutputRangeGate().evaluate(make_ctx(Broken(), labelled))
    assert out.figures[1]["panels"][0]["z"][-1] == [None] * 24  # stored as JSON null, not NaN
    assert not out.passed and "48 of 1044 amplitudes not finite" in out.message  # 24 per map
    assert "0 of 1044 probabilities" in out.message
    assert out.value == pytest.approx(48 / (1044 + 1044))  # the share of all outputs checked
    assert np.isfinite(out.details["amplitude_range_db"]).all()  # the range of the finite ones


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def test_range_gate_reports_the_outputs_it_measured(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    model = oracle()
    ctx = make_ctx(model, labelled)
    out = OutputRangeGate().evaluate(ctx)
    ev = evaluate(ctx)
    hist = chosen_histories(table_arrays(labelled)[1])
    grids = [grid_rows(hist[k]) for k in ("quiet", "storm")]
    probs = np.concatenate([ev.prob, *(_sigmoid(model.logits(g)) for g in grids)])
    amps = np.concatenate([ev.amp_pred, *(model.amplitudes(g) for g in grids)])
    assert out.details["probability_range"] == pytest.approx([probs.min(), probs.max()])
    assert out.details["probability_range"][1] > 0.9  # the maps' probabilities are the logits' sigmoid
    assert out.details["amplitude_range_db"] == pytest.approx([amps.min(), amps.max()])
    for label, row in hist.items():
        assert out.details["histories"][label] == {"symh_now_nT": float(current_symh(row[None])[0]),
                                                   "sme_now_nT": float(current_sme(row[None])[0])}
    prob_fig, amp_fig = out.figures
    for panel, grid in zip(prob_fig["panels"], grids, strict=True):
        np.testing.assert_allclose(np.array(panel["z"], float).ravel(), _sigmoid(model.logits(grid)), atol=6e-5)
    for panel, grid in zip(amp_fig["panels"], grids, strict=True):
        np.testing.assert_allclose(np.array(panel["z"], float).ravel(), model.amplitudes(grid), atol=6e-4)
    assert out.message == "0 of 1044 probabilities outside [0, 1] or not finite, 0 of 1044 amplitudes not finite"


def test_range_gate_accepts_certainty_at_exactly_0_and_1(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    class Certain(oracle):  # type: ignore[misc, valid-type]
        def logits(self, rows: np.ndarray) -> np.ndarray:
            return np.where(super().logits(rows) > 0, np.inf, -np.inf)  # probability exactly 1 or exactly 0

    out = OutputRangeGate().evaluate(make_ctx(Certain(), labelled))
    assert out.details["probability_range"] == [0.0, 1.0]
    assert out.passed and out.value == 0, out.message


def test_range_gate_fails_on_a_non_finite_logit(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    class Broken(oracle):  # type: ignore[misc, valid-type]
        def logits(self, rows: np.ndarray) -> np.ndarray:
            out = super().logits(rows)
            out[rows[:, 0] < 2.1] = np.nan  # the inner edge of the maps, and test rows that low
            return out

    ctx = make_ctx(Broken(), labelled)
    out = OutputRangeGate().evaluate(ctx)
    low = int((evaluate(ctx).rows[:, 0] < 2.1).sum())
    assert low > 0 and not out.passed
    assert out.message.startswith(f"{48 + low} of 1044 probabilities outside [0, 1] or not finite, 0 of")


def test_grid_rows_keep_the_history_and_set_position() -> None:
    history = np.arange(224, dtype=float)
    g = grid_rows(history)
    assert g.shape == (13 * 24, 224)
    np.testing.assert_array_equal(g[:, 4:], np.repeat(history[None, 4:], len(g), axis=0))
    np.testing.assert_allclose(g[:, 1] ** 2 + g[:, 2] ** 2, 1.0)
    assert (g[:, 3] == 1.0).all() and g[0, 0] == 2.0 and g[-1, 0] == 8.0


def test_determinism_gate_catches_dropout_left_on(small_labelled: Any, majority_pair: Any, make_ctx: Any) -> None:
    from plugins.deepech.checkpoint import load_pair

    model = load_pair(majority_pair)
    assert DeterminismGate().evaluate(make_ctx(model, small_labelled)).passed
    model.regressor.train()  # dropout active: two passes differ
    out = DeterminismGate().evaluate(make_ctx(model, small_labelled))
    assert not out.passed and out.value > 0


def test_determinism_gate_compares_the_first_512_rows_of_the_suites_test_window(labelled: Any, make_ctx: Any,
                                                                                oracle: Any) -> None:
    setup = Setup(test_from=NOMINAL_DAY + timedelta(hours=6))  # 1080 test rows, not the default 420
    out = DeterminismGate(setup).evaluate(make_ctx(oracle(), labelled))
    assert out.passed and out.value == 0
    assert out.message == "largest difference between two passes over 512 rows: 0"
    short = DeterminismGate().evaluate(make_ctx(oracle(), labelled))
    assert short.message == "largest difference between two passes over 420 rows: 0"
    out = OutputRangeGate(setup).evaluate(make_ctx(oracle(), labelled))  # 1080 test rows and 2 × 312 map cells
    assert out.passed and out.message.startswith("0 of 1704 probabilities outside [0, 1] or not finite, 0 of 1704")
