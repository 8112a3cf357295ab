"""IonisGate: parameter counts, strict loading, decomposition and monotonicity by construction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from plugins.ionis.model import (
    IonisGate,
    count_parameters,
    expected_parameters,
    expected_shapes,
)

RELEASED = {"v20": 11, "v21-alpha": 12, "v21-beta": 13}
PARAMETERS = {11: 203_573, 12: 204_085, 13: 204_597, 15: 205_621}

# upstream verify_v20 fixed 20 m mid-latitude daytime trunk vector (features 0–10)
VERIFY_TRUNK = [0.16, 0.87, -0.5, -0.8, 0.0, 1.0, 0.1, 0.4, 0.5, 0.5, 1.0]


@pytest.mark.parametrize(("dnn", "count"), sorted(PARAMETERS.items()))
def test_parameter_count_formula(dnn, count):
    assert count_parameters(IonisGate(dnn)) == expected_parameters(dnn) == count
    assert sum(int(np.prod(s)) for s in expected_shapes(dnn).values()) == count


@pytest.mark.parametrize("name", sorted(RELEASED))
def test_upstream_weights_load_strictly(name, release_files):
    state = load_file(str(release_files(name)["weights"]))
    module = IonisGate(RELEASED[name])
    module.load_state_dict(state, strict=True)
    assert {k: tuple(v.shape) for k, v in state.items()} == expected_shapes(RELEASED[name])


def test_wrong_width_does_not_load(release_files):
    with pytest.raises(RuntimeError, match="size mismatch"):
        IonisGate(13).load_state_dict(load_file(str(release_files("v20")["weights"])), strict=True)


def test_training_reported_effects_come_from_the_weights(release):
    module = release("v20").module
    assert module.sfi_benefit() == pytest.approx(0.48183202743530273, abs=1e-6)
    assert module.storm_cost() == pytest.approx(3.486898422241211, abs=1e-5)


def test_verify_battery_on_v20(release):
    """Kp 0 → 9 lowers and SFI 70 → 200 raises the full-model output (upstream: +1.743σ and +0.295σ)."""
    module = release("v20").module

    def sigma(sfi: float, kp: float) -> float:
        x = torch.tensor([VERIFY_TRUNK + [sfi / 300.0, 1.0 - kp / 9.0]])
        with torch.no_grad():
            return float(module(x))

    storm_cost = sigma(150, 0) - sigma(150, 9)
    sun_benefit = sigma(200, 2) - sigma(70, 2)
    assert storm_cost > 0 and sun_benefit > 0
    assert storm_cost == pytest.approx(1.743, abs=5e-3)
    assert sun_benefit == pytest.approx(0.295, abs=5e-3)


def _random_model(seed: int, dnn: int = 15) -> IonisGate:
    torch.manual_seed(seed)
    module = IonisGate(dnn)
    with torch.no_grad():  # sidecar weights of any sign: the abs() in forward must still make them monotone
        for car in (module.sun_sidecar, module.storm_sidecar):
            for p in car.parameters():
                p.normal_(0.0, 2.0)
    return module.eval()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), u=st.lists(st.floats(0.0, 1.5), min_size=2, max_size=8))
def test_random_init_is_monotone_in_both_sidecar_inputs(seed, u):
    module = _random_model(seed)
    x = torch.randn(1, 17).repeat(len(u), 1)
    levels = torch.tensor(sorted(u))
    up = x.clone()
    up[:, 15] = levels
    down = x.clone()
    down[:, 16] = levels
    with torch.no_grad():
        sun, storm = module(up)[:, 0], module(down)[:, 0]
    # rows of one batch may round differently in the last float32 bit, hence the tolerance
    assert (torch.diff(sun) >= -1e-6 * sun.abs().max().clamp(min=1)).all()  # SFI up → σ never falls
    assert (torch.diff(storm) >= -1e-6 * storm.abs().max().clamp(min=1)).all()  # Kp down → σ never falls


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_decomposition_reproduces_forward(seed):
    module = _random_model(seed, dnn=11)
    x = torch.randn(64, 13)
    with torch.no_grad():
        parts = module.decompose(x)
        assert torch.allclose(parts.total, module(x), atol=1e-6)
        assert ((parts.g_sun > 0.5) & (parts.g_sun < 2.0)).all()
        assert ((parts.g_storm >= 0.5) & (parts.g_storm <= 2.0)).all()
