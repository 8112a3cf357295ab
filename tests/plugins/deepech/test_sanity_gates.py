"""plugins.deepech.sanity_gates: outputs in range on rows and L–MLT maps, and eval-mode determinism."""

from __future__ import annotations

from typing import Any

import numpy as np

from plugins.deepech.maps import L_GRID, MLT_GRID, grid_rows
from plugins.deepech.sanity_gates import DeterminismGate, OutputRangeGate


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
