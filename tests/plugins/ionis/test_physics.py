"""Structural physics gates: pass on sound models, fail on a broken one, reproducible from the seed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from plugins.ionis.features import PathBatch
from plugins.ionis.physics import MONTH_START_DOY, DecompositionGate, GateRangeGate, MonotoneGate, random_paths
from plugins.ionis.predict import predict_sigma

GATES = [MonotoneGate("physics-kp-monotone", "kp"), MonotoneGate("physics-sfi-monotone", "sfi"),
         GateRangeGate(), DecompositionGate()]


class _Inverted(nn.Module):
    """A sidecar that falls with its input: what the abs() weights exist to prevent."""

    def forward(self, u):
        return -3.0 * u


@pytest.mark.parametrize("gate", GATES, ids=lambda g: g.name)
@pytest.mark.parametrize("name", ["v20", "v21-alpha", "v21-beta"])
def test_released_versions_pass(gate, name, context_for):
    outcome = gate.evaluate(context_for(name))
    assert outcome.passed, outcome.message


@pytest.mark.parametrize("gate", GATES, ids=lambda g: g.name)
@pytest.mark.parametrize("seed", [0, 1])
def test_random_init_models_pass(gate, seed, make_random_bundle, make_context):
    assert gate.evaluate(make_context(make_random_bundle(seed))).passed


@pytest.mark.parametrize(("column", "part"), [("kp", "storm_sidecar"), ("sfi", "sun_sidecar")])
def test_an_inverted_sidecar_fails(column, part, make_random_bundle, make_context):
    bundle = make_random_bundle(3)
    setattr(bundle.module, part, _Inverted())
    outcome = MonotoneGate(f"physics-{column}-monotone", column).evaluate(make_context(bundle))
    assert not outcome.passed and outcome.details["steps_against_physics"] > 0


def test_a_module_that_drifted_from_the_spec_fails_the_decomposition_gate(make_random_bundle, make_context):
    import torch

    bundle = make_random_bundle(4)
    assert DecompositionGate().evaluate(make_context(bundle)).passed
    bundle.module.trunk[1] = nn.ReLU()  # e.g. a port that swapped Mish for ReLU: every part still adds up
    with torch.inference_mode():
        x = torch.randn(4, bundle.dnn_dim + 2)
        assert torch.allclose(bundle.module(x), bundle.module.decompose(x).total)
    outcome = DecompositionGate().evaluate(make_context(bundle))
    assert not outcome.passed and outcome.value > 1e-3


def test_same_seed_same_outcome_other_seed_other_paths(release, make_context):
    gate = MonotoneGate("physics-kp-monotone", "kp")
    one = gate.evaluate(make_context(release("v20"), seed=7))
    two = gate.evaluate(make_context(release("v20"), seed=7))
    other = gate.evaluate(make_context(release("v20"), seed=8))
    assert dataclasses.asdict(one) == dataclasses.asdict(two)
    assert one.details != other.details


def test_random_paths_cover_the_physical_ranges(random_bundle, make_context):
    batch = random_paths(make_context(random_bundle).rng("x"), 4000, bundle=random_bundle)
    assert batch.tx_lat.min() < -60 and batch.tx_lat.max() > 60
    assert batch.sfi.min() < 60 and batch.sfi.max() > 390 and set(batch.month.astype(int)) == set(range(1, 13))


paths = st.fixed_dictionaries({
    "tx_lat": st.floats(-89, 89), "tx_lon": st.floats(-180, 180), "rx_lat": st.floats(-89, 89),
    "rx_lon": st.floats(-180, 180), "freq_mhz": st.sampled_from([1.8366, 3.5686, 7.0386, 14.0971, 21.0946, 28.1246]),
    "hour_utc": st.floats(0, 23.99), "day_of_year": st.integers(1, 365),
}).map(lambda p: {**p, "month": int(np.searchsorted(MONTH_START_DOY, p["day_of_year"], side="right"))})
levels = st.lists(st.floats(0, 1), min_size=2, max_size=6, unique=True)


@pytest.mark.parametrize("name", ["v20", "v21-alpha", "v21-beta"])
@settings(max_examples=40, deadline=None)
@given(path=paths, kp=levels, sfi=levels)
def test_real_checkpoints_are_monotone(name, path, kp, sfi, release):
    bundle = release(name)
    kp_values = np.sort(np.array(kp)) * 9.0
    sfi_values = 50.0 + np.sort(np.array(sfi)) * 350.0
    by_kp = predict_sigma(bundle, PathBatch(**path, sfi=150.0, kp=kp_values))
    by_sfi = predict_sigma(bundle, PathBatch(**path, sfi=sfi_values, kp=2.0))
    assert (np.diff(by_kp) <= 1e-5).all()  # σ never rises with Kp
    assert (np.diff(by_sfi) >= -1e-5).all()  # σ never falls with SFI
