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


LATER_PARAMETERS = {("IonisGate", 18): 207_157, ("IonisGateV24", 15): 189_083, ("IonisGateV25", 15): 205_629,
                    ("IonisGateV25Beta", 15): 205_621, ("IonisGateV26", 15): 469_821}
"""ionis.md "Releases after V22": V23 (trunk 18), V24, V25-α, V25-β, V26-α."""


@pytest.mark.parametrize(("arch", "dnn", "count"), [(a, d, c) for (a, d), c in sorted(LATER_PARAMETERS.items())])
def test_later_parameter_counts_follow_the_spec(arch, dnn, count):
    from plugins.ionis.architectures import ARCHITECTURES

    module = IonisGate(dnn, ARCHITECTURES[arch])
    assert count_parameters(module) == expected_parameters(dnn, ARCHITECTURES[arch]) == count
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == expected_shapes(dnn, ARCHITECTURES[arch])


def test_v24_has_no_sun_tensors_and_its_sfi_column_is_unused():
    from plugins.ionis.architectures import ARCHITECTURES

    module = IonisGate(15, ARCHITECTURES["IonisGateV24"]).eval()
    assert not any(k.startswith(("sun_sidecar", "sun_scaler_head")) for k in module.state_dict())
    x = torch.randn(8, 17)
    y = x.clone()
    y[:, 15] += 3.0
    with torch.no_grad():
        assert torch.equal(module(x), module(y))
        parts = module.decompose(x)
    assert parts.g_sun is None and parts.sun_sidecar is None
    with pytest.raises(ValueError, match="no sun sidecar"):
        module.sfi_benefit()


def _with_any_sign_sidecars(module: IonisGate, seed: int) -> IonisGate:
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "_sidecar." in name:
                p.normal_(0.0, 2.0)
    return module.eval()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), sfi=st.lists(st.floats(0.1, 1.4), min_size=2, max_size=6),
       freq=st.lists(st.floats(0.7, 0.95), min_size=2, max_size=6))
def test_v25_alpha_sun_sidecar_is_monotone_in_sfi_and_in_frequency(seed, sfi, freq):
    from plugins.ionis.architectures import ARCHITECTURES

    module = _with_any_sign_sidecars(IonisGate(15, ARCHITECTURES["IonisGateV25"]), seed)
    grid = torch.tensor([[s, f] for s in sorted(sfi) for f in sorted(freq)], dtype=torch.float32)
    with torch.no_grad():
        out = module.sun_sidecar(grid)[:, 0].reshape(len(sfi), len(freq))
    tol = 1e-6 * float(out.abs().max().clamp(min=1))
    assert (torch.diff(out, dim=0) >= -tol).all()  # SFI up, same frequency
    assert (torch.diff(out, dim=1) >= -tol).all()  # frequency up, same SFI


def test_v26_picks_its_head_by_band_and_60m_shares_40m():
    from plugins.ionis.architectures import ARCHITECTURES
    from plugins.ionis.demo import V22_FEATURES
    from plugins.ionis.features import PathBatch, build_features

    torch.manual_seed(3)
    module = IonisGate(15, ARCHITECTURES["IonisGateV26"], V22_FEATURES + ("band_idx",)).eval()
    freqs = np.array([1.8366, 3.5686, 5.2872, 7.0386, 10.1387, 14.0971, 18.1046, 21.0946, 24.9246, 28.1246])
    batch = PathBatch(39.14, -77.01, 51.5, -0.12, freqs, 14.0, 12, 355, 150.0, 2.0)
    x = torch.from_numpy(build_features(V22_FEATURES + ("band_idx",), batch))
    assert x[:, 17].tolist() == [0, 1, 2, 2, 3, 4, 5, 6, 7, 8]
    with torch.no_grad():
        base = module.decompose(x).base[:, 0]
        h = module.trunk(x[:, :15])
        for row, head in enumerate(x[:, 17].long().tolist()):
            own = module.band_heads[head](h[row : row + 1])[0, 0]
            assert float(base[row]) == pytest.approx(float(own), abs=1e-6)
            others = [float(module.band_heads[i](h[row : row + 1])[0, 0]) for i in range(9) if i != head]
            assert all(abs(o - float(own)) > 1e-4 for o in others)
        x_other = x.clone()
        x_other[:, 17] = 8.0  # every row through the 10 m head
        assert not torch.allclose(module.decompose(x_other).base[:9], base[:9])


def _mish64(v: np.ndarray) -> np.ndarray:
    return v * np.tanh(np.log1p(np.exp(v)))


def test_v25_beta_predictions_follow_its_own_forward_pass(later_release):
    """A float64 reference written from the spec (ionis.md, V25-β): σ = base + g_sun·sun((SFI/300)·(log10 f/8))
    + g_storm·storm(1 − Kp/9); the same weights run as V22 give other numbers."""
    from plugins.ionis.checkpoint import load_bundle
    from plugins.ionis.features import PathBatch
    from plugins.ionis.predict import predict_sigma

    bundle = load_bundle(later_release("v25-beta"))
    rng = np.random.default_rng(11)
    n = 64
    freq = rng.choice([1.8366, 3.5686, 7.0386, 14.0971, 21.0946, 28.1246], n)
    month = rng.integers(1, 13, n)
    batch = PathBatch(rng.uniform(-60, 60, n), rng.uniform(-170, 170, n), rng.uniform(-60, 60, n),
                      rng.uniform(-170, 170, n), freq, rng.integers(0, 24, n).astype(float), month,
                      np.array([1, 32, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335])[month - 1] + 3,
                      rng.uniform(60, 300, n), rng.uniform(0, 9, n))
    got = predict_sigma(bundle, batch)

    w = {k: v.double().numpy() for k, v in bundle.module.state_dict().items()}
    x = bundle.inputs(batch).astype(np.float64)

    def lin(name, v, absolute=False):
        weight = np.abs(w[f"{name}.weight"]) if absolute else w[f"{name}.weight"]
        return v @ weight.T + w[f"{name}.bias"]

    h = _mish64(lin("trunk.2", _mish64(lin("trunk.0", x[:, :15]))))
    base = lin("base_head.2", _mish64(lin("base_head.0", h)))[:, 0]
    g_sun = 0.5 + 1.5 / (1 + np.exp(-lin("sun_scaler_head.2", _mish64(lin("sun_scaler_head.0", h)))[:, 0]))
    g_storm = 0.5 + 1.5 / (1 + np.exp(-lin("storm_scaler_head.2", _mish64(lin("storm_scaler_head.0", h)))[:, 0]))
    u_sun = (batch.sfi / 300.0) * (np.log10(freq * 1e6) / 8.0)
    u_storm = 1.0 - batch.kp / 9.0
    sun = lin("sun_sidecar.fc2", np.log1p(np.exp(lin("sun_sidecar.fc1", u_sun[:, None], True))), True)[:, 0]
    storm = lin("storm_sidecar.fc2", np.log1p(np.exp(lin("storm_sidecar.fc1", u_storm[:, None], True))), True)[:, 0]
    reference = base + g_sun * sun + g_storm * storm
    assert np.abs(got - reference).max() < 1e-4

    as_v22 = IonisGate(15)
    as_v22.load_state_dict(bundle.module.state_dict(), strict=True)  # the shapes fit: that is the trap
    with torch.no_grad():
        wrong = as_v22.eval()(torch.from_numpy(x.astype(np.float32)))[:, 0].double().numpy()
    assert np.abs(wrong - reference).max() > 1e-2
