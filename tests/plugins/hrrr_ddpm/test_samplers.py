"""Samplers: the spec's validation and round trip, the listed steps, member seeding, conditions, clamping, devices."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.hrrr_ddpm.model import TinyDDPM
from plugins.hrrr_ddpm.samplers import SamplerSpec, member_seed, sample, timesteps
from plugins.hrrr_ddpm.schedule import cosine_schedule

SHAPE = (7, 8, 8)
SCHEDULE = cosine_schedule()


@pytest.fixture(scope="module")
def model() -> TinyDDPM:
    return TinyDDPM.from_config(TinyDDPM(width=8, cond_channels=7).config, seed=0).eval()


@pytest.fixture(scope="module")
def cond() -> torch.Tensor:
    return torch.randn(7, 8, 8, generator=torch.Generator().manual_seed(1))


def _run(model: TinyDDPM, cond: torch.Tensor | None, spec: SamplerSpec, ids: list[int], **kw: object) -> torch.Tensor:
    return sample(model, shape=SHAPE, schedule=SCHEDULE, spec=spec, seed=7, member_ids=ids, cond=cond, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "euler", "steps": 5}, "kind"), ({"kind": "ddim", "steps": 0}, "steps"),
    ({"kind": "ddim", "steps": True}, "steps"), ({"kind": "ddim", "steps": 5.0}, "steps"),
    ({"kind": "ddim", "steps": 5, "eta": -0.1}, "eta"), ({"kind": "ddim", "steps": 5, "eta": 1.01}, "eta"),
    ({"kind": "ddim", "steps": 5, "eta": math.nan}, "eta"), ({"kind": "ddpm", "steps": 5, "eta": 1.0}, "eta"),
    ({"kind": "ddim", "steps": 5, "clamp": 0.0}, "clamp"), ({"kind": "ddim", "steps": 5, "clamp": math.inf}, "clamp"),
    ({"kind": "ddim", "steps": 5, "clamp": math.nan}, "clamp"), ({"kind": "ddim", "steps": 5, "clamp": -3.0}, "clamp"),
    ({"kind": "ddim", "steps": 5, "posterior": "previous"}, "posterior"),
    ({"kind": "ddim", "steps": 5, "spacing": "linear"}, "spacing"),
    ({"kind": "ddim", "steps": 5, "noise": "gpu"}, "noise"),
])
def test_bad_specs_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SamplerSpec(**kwargs)  # type: ignore[arg-type]


def test_spec_round_trips_and_records_every_choice() -> None:
    spec = SamplerSpec("ddpm", 100, clamp=3.0, posterior="adjacent", spacing="uniform")
    d = spec.to_dict()
    assert d == {"kind": "ddpm", "steps": 100, "eta": 0.0, "clamp": 3.0, "posterior": "adjacent", "spacing": "uniform",
                 "noise": "cpu"}
    assert SamplerSpec.from_dict(d) == spec
    assert SamplerSpec("ddim", 50).to_dict()["clamp"] is None  # clamping is off by default
    with pytest.raises(ValueError, match="unknown sampler fields \\['seed'\\]"):
        SamplerSpec.from_dict({**d, "seed": 1})
    assert spec.label() == "ddpm-100-adjacent-uniform-clamp3"
    assert SamplerSpec("ddim", 50, eta=1.0).label() == "ddim-50-eta1"
    assert SamplerSpec("ddim", 50, noise="device").label() == "ddim-50-eta0-device-noise"


def test_uniform_steps_are_upstreams_stride() -> None:
    listed = timesteps(SamplerSpec("ddim", 100, spacing="uniform"), 1000)
    assert listed == list(range(990, -1, -10))


@pytest.mark.parametrize("steps", [1, 2, 10, 50, 333, 999, 1000])
@pytest.mark.parametrize("spacing", ["quadratic", "uniform"])
def test_listed_steps_are_distinct_descending_and_end_at_zero(steps: int, spacing: str) -> None:
    listed = timesteps(SamplerSpec("ddim", steps, spacing=spacing), 1000)
    assert len(listed) == steps and listed[-1] == 0 and listed[0] <= 999
    assert all(a > b for a, b in zip(listed, listed[1:], strict=False))
    if spacing == "quadratic" and steps > 1:
        assert listed[0] == 999  # starts from the last trained step
    if steps == 1000:
        assert listed == list(range(999, -1, -1))


@settings(max_examples=200, deadline=None)
@given(T=st.integers(1, 3000), fraction=st.floats(0, 1), spacing=st.sampled_from(["quadratic", "uniform"]))
def test_any_step_count_up_to_T_lists_distinct_steps_from_below_T_to_zero(T: int, fraction: float,
                                                                          spacing: str) -> None:
    steps = max(1, round(fraction * T))
    listed = timesteps(SamplerSpec("ddpm", steps, spacing=spacing), T)
    assert len(listed) == steps and listed[-1] == 0 and listed[0] <= T - 1
    assert all(a > b for a, b in zip(listed, listed[1:], strict=False))


def test_quadratic_spacing_puts_more_steps_near_zero() -> None:
    quadratic = timesteps(SamplerSpec("ddim", 50), 1000)
    uniform = timesteps(SamplerSpec("ddim", 50, spacing="uniform"), 1000)
    assert sum(t < 100 for t in quadratic) > 10 > sum(t < 100 for t in uniform)


def test_more_steps_than_the_schedule_are_refused() -> None:
    with pytest.raises(ValueError, match="exceed"):
        timesteps(SamplerSpec("ddim", 11), 10)


def test_member_seeds_depend_on_seed_and_member_only() -> None:
    seeds = {member_seed(s, m) for s in range(5) for m in range(50)}
    assert len(seeds) == 250 and member_seed(3, 4) == member_seed(3, 4) and all(0 <= s < 2**63 for s in seeds)


@pytest.mark.parametrize("spec", [SamplerSpec("ddim", 3), SamplerSpec("ddpm", 3)])
def test_a_subset_of_members_regenerates_bit_for_bit(model: TinyDDPM, cond: torch.Tensor, spec: SamplerSpec) -> None:
    full = _run(model, cond, spec, list(range(5)), batch_size=3)
    again = _run(model, cond, spec, list(range(5)), batch_size=3)
    assert torch.equal(full, again)
    assert torch.equal(_run(model, cond, spec, [4, 1], batch_size=3), full[[4, 1]])
    assert torch.equal(_run(model, cond, spec, [2], batch_size=3), full[[2]])  # a batch of one, padded
    assert not torch.equal(full[0], full[1])


def test_another_seed_gives_other_members(model: TinyDDPM, cond: torch.Tensor) -> None:
    spec = SamplerSpec("ddim", 3)
    a = _run(model, cond, spec, [0])
    b = sample(model, shape=SHAPE, schedule=SCHEDULE, spec=spec, seed=8, member_ids=[0], cond=cond)
    assert not torch.equal(a, b)


def test_per_member_conditions_go_to_their_members(model: TinyDDPM, cond: torch.Tensor) -> None:
    spec = SamplerSpec("ddpm", 3)
    both = _run(model, torch.stack([cond, -cond]), spec, [0, 1], batch_size=2)
    assert torch.equal(both[0], _run(model, cond, spec, [0], batch_size=2)[0])
    assert torch.equal(both[1], _run(model, -cond, spec, [1], batch_size=2)[0])


def test_ddpm_is_ddim_with_eta_one(model: TinyDDPM, cond: torch.Tensor) -> None:
    # the ancestral posterior N(μ̃, β̃) and DDIM at η = 1 are the same distribution and draw the same noise
    ddpm = _run(model, cond, SamplerSpec("ddpm", 4), [0, 1])
    ddim = _run(model, cond, SamplerSpec("ddim", 4, 1.0), [0, 1])
    torch.testing.assert_close(ddpm, ddim, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(ddpm, _run(model, cond, SamplerSpec("ddim", 4), [0, 1]), atol=1e-2)


def test_clamping_bounds_the_last_estimate_and_is_off_by_default(model: TinyDDPM, cond: torch.Tensor) -> None:
    free = _run(model, cond, SamplerSpec("ddim", 3), [0, 1])
    clamped = _run(model, cond, SamplerSpec("ddim", 3, clamp=0.5), [0, 1])
    assert free.abs().max() > 0.5 and clamped.abs().max() <= 0.5


@pytest.mark.parametrize("bad, match", [
    ({"member_ids": []}, "member_ids"), ({"member_ids": [1, 1]}, "member_ids"), ({"member_ids": [-1]}, "member_ids"),
    ({"batch_size": 0}, "batch_size"), ({"cond": torch.zeros(3, 7, 8, 8)}, "3 members' conditions for 2"),
    ({"cond": torch.zeros(8, 8)}, "cond must be"),
])
def test_bad_requests_are_refused(model: TinyDDPM, cond: torch.Tensor, bad: dict[str, object], match: str) -> None:
    kwargs: dict[str, object] = {"member_ids": [0, 1], "cond": cond, **bad}
    with pytest.raises(ValueError, match=match):
        sample(model, shape=SHAPE, schedule=SCHEDULE, spec=SamplerSpec("ddim", 2), seed=0, **kwargs)  # type: ignore[arg-type]


def test_an_unconditional_model_samples_without_a_condition(capsys: pytest.CaptureFixture[str]) -> None:
    model = TinyDDPM(width=8).eval()
    out = sample(model, shape=SHAPE, schedule=SCHEDULE, spec=SamplerSpec("ddim", 2), seed=0, member_ids=[0, 1, 2],
                 progress=True)
    assert out.shape == (3, *SHAPE) and out.dtype == torch.float32 and torch.isfinite(out).all()
    assert "6/6" in capsys.readouterr().err  # the progress bar counts member-steps


def test_on_the_cpu_device_noise_is_cpu_noise(model: TinyDDPM, cond: torch.Tensor) -> None:
    device_noise = _run(model, cond, SamplerSpec("ddpm", 3, noise="device"), [0, 2])
    assert torch.equal(_run(model, cond, SamplerSpec("ddpm", 3), [0, 2]), device_noise)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_the_same_code_runs_on_cuda_and_cpu_noise_gives_the_cpu_members(model: TinyDDPM, cond: torch.Tensor) -> None:
    gpu = TinyDDPM.from_config(model.config).eval().cuda()
    gpu.load_state_dict(model.state_dict())
    for spec in (SamplerSpec("ddpm", 4), SamplerSpec("ddpm", 4, noise="device")):
        full = sample(gpu, shape=SHAPE, schedule=SCHEDULE, spec=spec, seed=7, member_ids=range(5), cond=cond,
                      device="cuda")
        sub = sample(gpu, shape=SHAPE, schedule=SCHEDULE, spec=spec, seed=7, member_ids=[3], cond=cond, device="cuda")
        assert full.device.type == "cpu" and torch.equal(sub, full[[3]])
    on_cpu = _run(model, cond, SamplerSpec("ddim", 4), [0, 1])
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # with TF32 convolutions the tolerance would have to be far wider
    try:
        on_gpu = sample(gpu, shape=SHAPE, schedule=SCHEDULE, spec=SamplerSpec("ddim", 4), seed=7, member_ids=[0, 1],
                        cond=cond, device="cuda")
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    torch.testing.assert_close(on_gpu, on_cpu, rtol=1e-3, atol=1e-3)  # kernel order differs, the draws do not
