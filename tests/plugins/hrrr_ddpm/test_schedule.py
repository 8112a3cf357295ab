"""The cosine schedule: clipping, cumulative product, its last ᾱ, and refused parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plugins.hrrr_ddpm.schedule import ALPHA_BAR_T_LIMIT, BETA_MAX, BETA_MIN, cosine_schedule


def test_alpha_bar_T_is_about_0_0032_and_below_the_limit() -> None:
    schedule = cosine_schedule()
    assert schedule.T == 1000 and schedule.alphas_bar.shape == (1000,)
    assert schedule.alphas_bar[-1] == pytest.approx(0.0032, abs=5e-5)
    assert schedule.alphas_bar[-1] < ALPHA_BAR_T_LIMIT


def test_betas_are_clipped_at_both_ends_and_alpha_bar_is_their_cumulative_product() -> None:
    schedule = cosine_schedule()
    assert schedule.betas.dtype == np.float64
    assert schedule.betas.min() == BETA_MIN and schedule.betas[0] == BETA_MIN  # the first unclipped β is ~4e-5
    assert schedule.betas.max() == BETA_MAX and schedule.betas[-1] == BETA_MAX  # the last unclipped β is 1
    np.testing.assert_array_equal(schedule.alphas, 1.0 - schedule.betas)
    np.testing.assert_allclose(schedule.alphas_bar, np.cumprod(1.0 - schedule.betas), rtol=0, atol=0)
    assert np.all(np.diff(schedule.alphas_bar) < 0)


def test_unclipped_middle_follows_the_cosine_formula() -> None:
    schedule = cosine_schedule(1000, 0.008)
    f = [math.cos(((k / 1000) + 0.008) / 1.008 * math.pi / 2) ** 2 for k in (499, 500)]
    assert schedule.betas[499] == pytest.approx(1 - f[1] / f[0], rel=1e-12)


def test_alpha_bar_accessor_has_a_clean_end_and_refuses_outside_steps() -> None:
    schedule = cosine_schedule(10)
    assert schedule.alpha_bar(-1) == 1.0
    assert schedule.alpha_bar(9) == schedule.alphas_bar[9]
    for bad in (10, -2):
        with pytest.raises(ValueError, match="outside"):
            schedule.alpha_bar(bad)


@pytest.mark.parametrize("T, s", [(0, 0.008), (True, 0.008), (10.0, 0.008), (10, -0.1), (10, math.nan), (10, math.inf)])
def test_bad_parameters_are_refused(T: object, s: float) -> None:
    with pytest.raises(ValueError):
        cosine_schedule(T, s)  # type: ignore[arg-type]


def test_to_dict_names_the_schedule() -> None:
    d = cosine_schedule(100).to_dict()
    assert d["kind"] == "cosine" and d["T"] == 100 and d["s"] == 0.008 and 0 < d["alpha_bar_T"] < 1
