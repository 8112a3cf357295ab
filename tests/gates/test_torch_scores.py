"""Torch ensemble scores: equal to the NumPy path to 1e-6 on CPU tensors (and on CUDA when a GPU is there)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gates.torch_scores as ts
from gates.ensemble import crps_ensemble, rank_histogram, ranks, spread_skill_ratio, twcrps_ensemble
from gates.torch_scores import (
    crps_ensemble_torch,
    rank_histogram_torch,
    ranks_torch,
    spread_skill_ratio_torch,
)
from registry.errors import GateError

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA GPU on this machine: the torch path ran on CPU only"))]


def case(dtype: type, shape: tuple[int, ...] = (7, 11, 13), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic members (13 on the last axis) around synthetic observations."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape).astype(dtype), rng.normal(size=shape[:-1]).astype(dtype)


def test_chunks_cover_the_points_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ts, "CHUNK_VALUES", 9)
    assert [(c.start, c.stop) for c in ts._chunks(10, 3)] == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert [(c.start, c.stop) for c in ts._chunks(2, 20)] == [(0, 1), (1, 2)]  # at least one point per chunk


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fair", [False, True])
def test_crps_equals_numpy_path(device: str, dtype: type, fair: bool) -> None:
    x, y = case(dtype)
    want = crps_ensemble(x, y, member_axis=-1, fair=fair)
    got = crps_ensemble_torch(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device), member_axis=-1,
                              fair=fair)
    assert got.device.type == device and got.dtype == torch.float64 and tuple(got.shape) == y.shape
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=0, atol=1e-6)
    first = np.moveaxis(x, -1, 0)  # the numpy path's default member axis, same values
    np.testing.assert_allclose(crps_ensemble_torch(torch.from_numpy(first).to(device), y).cpu().numpy(),
                               crps_ensemble(first, y), rtol=0, atol=1e-6)
    twc = crps_ensemble_torch(torch.from_numpy(x).to(device), y, member_axis=-1, fair=fair, threshold=0.5)
    np.testing.assert_allclose(twc.cpu().numpy(), twcrps_ensemble(x, y, 0.5, member_axis=-1, fair=fair),
                               rtol=0, atol=1e-6)


def test_crps_closed_forms_and_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    members = torch.tensor([1.0, 2.0, 3.0, 4.0])[:, None]
    assert crps_ensemble_torch(members, torch.tensor([2.5])).item() == pytest.approx(0.375, abs=1e-12)
    assert crps_ensemble_torch(members, torch.tensor([2.5]), fair=True).item() == pytest.approx(1 / 6, abs=1e-12)
    assert crps_ensemble_torch(torch.tensor([[3.0, -1.0]]), torch.tensor([1.0, 1.0])).tolist() == [2.0, 2.0]
    # Python floats stay float64, as on the NumPy path (0.1 in float32 is off by 1.5e-9)
    assert crps_ensemble_torch([[0.1]], [0.0]).item() == crps_ensemble([[0.1]], [0.0]).item() == 0.1
    x, y = case(np.float64, (301, 9))
    monkeypatch.setattr(ts, "CHUNK_VALUES", 9 * 7)  # 7 points per chunk: 43 chunks, the last one of 0 … 6 left
    np.testing.assert_allclose(crps_ensemble_torch(x, y, member_axis=1).numpy(),
                               crps_ensemble(x, y, member_axis=1), rtol=0, atol=1e-12)


def test_crps_nan_policies_match_numpy_path() -> None:
    x, y = case(np.float64, (6, 5))
    x[0, 1] = x[2, :] = math.nan
    x[3, 0], y[4] = math.inf, math.nan
    for policy in ("propagate", "omit"):
        want = crps_ensemble(x, y, member_axis=1, nan_policy=policy)
        got = crps_ensemble_torch(torch.from_numpy(x), torch.from_numpy(y), member_axis=1, nan_policy=policy)
        np.testing.assert_array_equal(np.isnan(got.numpy()), np.isnan(want))
        np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-12, equal_nan=True)
    omitted = crps_ensemble_torch(torch.from_numpy(x), torch.from_numpy(y), member_axis=1, nan_policy="omit")
    assert math.isfinite(omitted[0]) and math.isnan(omitted[2]) and math.isnan(omitted[4])
    with pytest.raises(GateError, match="^members hold non-finite values at 3 of 6 point\\(s\\); remove them or pass "
                                        "nan_policy='omit' \\(NaN members dropped\\) or 'propagate' \\(NaN for"):
        crps_ensemble_torch(x, np.nan_to_num(y), member_axis=1)
    with pytest.raises(GateError, match="^obs holds 1 non-finite value\\(s\\) of 6; remove them or pass "
                                        "nan_policy='omit'$"):
        crps_ensemble_torch(np.zeros((6, 5)), y, member_axis=1)
    one = np.array([[1.0, math.nan, math.nan], [1.0, math.nan, 2.0]])  # fair with one member left is NaN
    fair = crps_ensemble_torch(one, [0.0, 0.0], member_axis=1, fair=True, nan_policy="omit")
    assert math.isnan(fair[0]) and fair[1] == 1.5 - 0.5
    assert crps_ensemble_torch([[math.nan, 2.0]], [0.5], member_axis=1, nan_policy="omit")[0] == 1.5


@pytest.mark.parametrize("device", DEVICES)
def test_ranks_and_histogram_equal_numpy_path(device: str) -> None:
    x, y = case(np.float32, (40, 30, 9))
    gen = torch.Generator(device=device).manual_seed(0)
    got = ranks_torch(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device), gen, member_axis=-1)
    want = ranks(x, y, np.random.default_rng(0), member_axis=-1)  # continuous data: no ties, no draws matter
    np.testing.assert_array_equal(got.cpu().numpy(), want)
    hist = rank_histogram_torch(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device), gen, member_axis=-1)
    np.testing.assert_array_equal(hist.cpu().numpy(), rank_histogram(x, y, np.random.default_rng(0), member_axis=-1))
    assert hist.shape == (10,)


def test_ranks_break_ties_at_random() -> None:
    members, obs = torch.zeros(4, 5000), torch.zeros(5000)  # all tied: each rank 0 … 4 equally likely
    counts = rank_histogram_torch(members, obs, torch.Generator().manual_seed(1))
    assert counts.sum() == 5000 and counts.shape == (5,)
    assert (counts - 1000).abs().max() < 150  # 5 standard deviations
    assert ranks_torch(torch.tensor([[1.0], [3.0]]), torch.tensor([2.0])).tolist() == [1]
    assert ranks_torch(torch.tensor([[1.0], [2.0]]), torch.tensor([2.0]), torch.Generator()).item() in (1, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine: device mismatch untestable")
def test_a_generator_on_another_device_is_refused() -> None:
    with pytest.raises(GateError, match="generator is on cpu"):
        ranks_torch(torch.zeros(3, 4, device="cuda"), torch.ones(4, device="cuda"), torch.Generator())


@pytest.mark.parametrize("device", DEVICES)
def test_spread_skill_equals_numpy_path(device: str) -> None:
    x, y = case(np.float32, (3, 40, 12))
    xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    assert spread_skill_ratio_torch(xt, yt, member_axis=-1) == pytest.approx(
        spread_skill_ratio(x, y, member_axis=-1), abs=1e-6)
    for by in (0, (0, 1), -1):
        got = spread_skill_ratio_torch(xt, yt, member_axis=-1, by=by)
        np.testing.assert_allclose(got.cpu().numpy(), spread_skill_ratio(x, y, member_axis=-1, by=by),
                                   rtol=0, atol=1e-6)


def test_bad_input_is_one_error_naming_the_argument() -> None:
    x = torch.zeros(3, 4)
    with pytest.raises(GateError, match="obs shape"):
        crps_ensemble_torch(x, torch.zeros(3))
    with pytest.raises(GateError, match="empty ensemble"):
        crps_ensemble_torch(torch.zeros(0, 4), torch.zeros(4))
    with pytest.raises(GateError, match="^members is an empty ensemble \\(0 members\\)$"):
        crps_ensemble_torch(torch.zeros(0, 4), torch.zeros(4))
    with pytest.raises(GateError, match="^obs is empty: nothing to score$"):
        crps_ensemble_torch(torch.zeros(3, 0), torch.zeros(0))
    with pytest.raises(GateError, match="^members must have a member axis, got a scalar$"):
        crps_ensemble_torch(torch.tensor(1.0), torch.tensor(1.0))
    with pytest.raises(GateError, match="member_axis 2 is out of range"):
        crps_ensemble_torch(x, torch.zeros(4), member_axis=2)
    with pytest.raises(GateError, match="member_axis must be an int"):
        ranks_torch(x, torch.zeros(4), member_axis=True)  # type: ignore[arg-type]
    with pytest.raises(GateError, match="^nan_policy must be one of raise, propagate, omit, got 'drop'$"):
        crps_ensemble_torch(x, torch.zeros(4), nan_policy="drop")
    with pytest.raises(GateError, match="^the fair CRPS needs at least two members$"):
        crps_ensemble_torch(torch.zeros(1, 4), torch.zeros(4), fair=True)
    with pytest.raises(GateError, match="threshold must be finite"):
        crps_ensemble_torch(x, torch.zeros(4), threshold=math.inf)
    with pytest.raises(GateError, match="obs must be numeric"):
        crps_ensemble_torch(x, ["a", "b", "c", "d"])
    with pytest.raises(GateError, match="members must be real"):
        crps_ensemble_torch(torch.zeros(3, 4, dtype=torch.complex64), torch.zeros(4))
    with pytest.raises(GateError, match="^spread needs at least two members$"):
        spread_skill_ratio_torch(torch.zeros(1, 4), torch.zeros(4))
    with pytest.raises(GateError, match="by axis"):
        spread_skill_ratio_torch(torch.rand(3, 4), torch.zeros(4), by=1)
    with pytest.raises(GateError, match="^the ensemble mean is exact on every case: spread/skill is undefined$"):
        spread_skill_ratio_torch(torch.ones(3, 4), torch.ones(4))
    with pytest.raises(GateError, match="^members or obs hold non-finite values: ranks need finite input$"):
        rank_histogram_torch(torch.full((3, 4), math.nan), torch.zeros(4))
    with pytest.raises(GateError, match="^members or obs hold non-finite values: spread/skill needs finite input$"):
        spread_skill_ratio_torch(torch.tensor([[1.0, math.inf], [2.0, 0.0]]), torch.zeros(2))  # obs finite
    with pytest.raises(GateError, match="^obs must be numeric, got list$"):
        crps_ensemble_torch(x, ["a", "b", "c", "d"])


def test_smallest_ensembles_edge_axes_and_return_types() -> None:
    pair = torch.tensor([[0.0, 2.0]])  # two members: the fewest the fair CRPS and the spread accept
    assert crps_ensemble_torch(pair, [1.0], member_axis=1, fair=True).item() == 0.0
    assert crps_ensemble_torch(pair, [1.0], member_axis=-1).item() == 0.5
    x, y = case(np.float64, (5, 2))
    assert spread_skill_ratio_torch(x, y, member_axis=1) == pytest.approx(spread_skill_ratio(x, y, member_axis=1))
    assert isinstance(spread_skill_ratio_torch(x, y, member_axis=1), float)
    first = x.T  # member_axis = −ndim is the first axis
    np.testing.assert_allclose(crps_ensemble_torch(first, y, member_axis=-2).numpy(), crps_ensemble(first, y))
    by = spread_skill_ratio_torch(case(np.float64, (3, 4, 6))[0], case(np.float64, (3, 4, 6))[1], member_axis=-1,
                                  by=-2)
    assert isinstance(by, torch.Tensor) and by.shape == (3,)
    assert crps_ensemble_torch(torch.tensor([1.0, 3.0]), torch.tensor(2.0)).item() == 0.5  # 1-D members


def test_ties_follow_the_generator() -> None:
    members, obs = torch.zeros(4, 500), torch.zeros(500)

    def seeded(seed: int) -> torch.Generator:
        return torch.Generator().manual_seed(seed)

    assert torch.equal(ranks_torch(members, obs, seeded(3)), ranks_torch(members, obs, seeded(3)))
    assert not torch.equal(ranks_torch(members, obs, seeded(3)), ranks_torch(members, obs, seeded(4)))
    assert torch.equal(rank_histogram_torch(members, obs, seeded(3)), rank_histogram_torch(members, obs, seeded(3)))
    assert not torch.equal(rank_histogram_torch(members, obs, seeded(3)),
                           rank_histogram_torch(members, obs, seeded(4)))
    below = rank_histogram_torch(torch.ones(6, 10), torch.zeros(10))  # every obs below every member
    assert below.tolist() == [10, 0, 0, 0, 0, 0, 0]
