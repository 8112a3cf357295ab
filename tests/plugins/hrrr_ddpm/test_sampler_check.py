"""The sampler check's toy reproduces the specified numbers: correct samplers ≈ σ₀, upstream's strided ones far off.

Tolerances: the std of n values estimates σ with relative sd ≈ 1/√(2n) (0.8 % at n = 8192, 0.55 % at 16384, 0.4 % at
32768); each assertion allows more than four of those around the value a float64 reference computation gives.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from plugins.hrrr_ddpm.sampler_check import optimal_denoiser, sampler_within_tolerance, toy_sampler_std
from plugins.hrrr_ddpm.samplers import SamplerSpec
from plugins.hrrr_ddpm.schedule import cosine_schedule

SCHEDULE = cosine_schedule()


def test_correct_1000_step_sampler_returns_about_0_097() -> None:
    std = toy_sampler_std(SCHEDULE, SamplerSpec("ddpm", 1000, spacing="uniform"), n=8192)
    assert std == pytest.approx(0.0976, abs=0.003) and sampler_within_tolerance(std)


@pytest.mark.parametrize("steps, expected", [(100, 0.639), (50, 0.794)])
def test_upstreams_adjacent_alpha_bar_sampler_returns_0_64_and_0_80(steps: int, expected: float) -> None:
    spec = SamplerSpec("ddpm", steps, posterior="adjacent", spacing="uniform")
    std = toy_sampler_std(SCHEDULE, spec, n=32768)
    assert std == pytest.approx(expected, abs=0.012) and not sampler_within_tolerance(std)


@pytest.mark.parametrize("spec, expected", [
    (SamplerSpec("ddim", 50), 0.0962), (SamplerSpec("ddim", 50, eta=1.0), 0.0917), (SamplerSpec("ddpm", 100), 0.0955),
    (SamplerSpec("ddim", 100, spacing="uniform"), 0.0939),
])
def test_correct_strided_samplers_are_within_ten_percent(spec: SamplerSpec, expected: float) -> None:
    std = toy_sampler_std(SCHEDULE, spec, n=16384)
    assert std == pytest.approx(expected, abs=0.003) and sampler_within_tolerance(std)


def test_coarse_uniform_steps_are_caught_even_with_the_correct_posterior() -> None:
    # 50 uniform steps (stride 20) leave only three steps where 1 − ᾱ is below σ₀²: the returned std is ≈ 0.080
    std = toy_sampler_std(SCHEDULE, SamplerSpec("ddpm", 50, spacing="uniform"), n=16384)
    assert std == pytest.approx(0.0799, abs=0.003) and not sampler_within_tolerance(std)


def test_with_unit_variance_data_every_variant_returns_about_one() -> None:
    for spec in (SamplerSpec("ddpm", 50, posterior="adjacent", spacing="uniform"), SamplerSpec("ddim", 50)):
        assert toy_sampler_std(SCHEDULE, spec, sigma0=1.0, n=8192) == pytest.approx(1.0, abs=0.04)


def test_the_optimal_denoiser_is_the_regression_of_noise_on_x_t() -> None:
    rng = np.random.default_rng(0)
    x0, eps = 0.1 * rng.standard_normal(400_000), rng.standard_normal(400_000)
    denoiser = optimal_denoiser(SCHEDULE, 0.1)
    for t in (150, 400, 999):  # near t = 0 the slope's estimate is too noisy to compare
        a = SCHEDULE.alphas_bar[t]
        x_t = math.sqrt(a) * x0 + math.sqrt(1 - a) * eps
        slope = float(np.dot(x_t, eps) / np.dot(x_t, x_t))
        gain = float(denoiser(torch.ones(1, 1), torch.tensor([t]))[0, 0])
        assert gain == pytest.approx(slope, rel=0.02)


@pytest.mark.parametrize("std, ok", [(0.0901, True), (0.1099, True), (0.0899, False), (0.1101, False),
                                     (math.nan, False), (math.inf, False)])
def test_tolerance_around_ten_percent(std: float, ok: bool) -> None:
    assert sampler_within_tolerance(std) is ok


@pytest.mark.parametrize("std, ok", [(0.75, True), (1.25, True), (0.7499999, False), (1.2500001, False)])
def test_tolerance_edge_is_inclusive(std: float, ok: bool) -> None:
    assert sampler_within_tolerance(std, sigma0=1.0, tolerance=0.25) is ok  # exact in binary floating point


@pytest.mark.parametrize("sigma0", [0.0, -0.1, math.nan, math.inf])
def test_bad_toy_sigma_is_refused(sigma0: float) -> None:
    with pytest.raises(ValueError, match="sigma0"):
        toy_sampler_std(SCHEDULE, SamplerSpec("ddim", 2), sigma0=sigma0)
