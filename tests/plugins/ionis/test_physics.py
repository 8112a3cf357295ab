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


# ---------------------------------------------------------------- what each gate measures, at its boundaries

LATER_TAGS = ("v24", "v25-alpha", "v25-beta", "v26-alpha")


@pytest.fixture(scope="module")
def later(later_release):
    """The SYNTHETIC later releases, one loaded bundle each (V24 has no sun sidecar, V26-α has band heads)."""
    from plugins.ionis.checkpoint import load_bundle

    return lambda tag: load_bundle(later_release(tag))


def test_month_start_doy_is_the_non_leap_calendar():
    days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    assert MONTH_START_DOY.tolist() == (1 + np.cumsum([0] + days[:-1])).tolist()


def test_random_paths_span_every_input_to_its_edges(random_bundle, make_context):
    b = random_paths(make_context(random_bundle).rng("edges"), 4000, bundle=random_bundle)
    for lat, lon in ((b.tx_lat, b.tx_lon), (b.rx_lat, b.rx_lon)):
        assert np.abs(lat).max() <= 87.5 and lat.min() < -80 and lat.max() > 80  # arcsin of ±0.999: 87.4°
        assert 0.45 < np.mean(np.abs(lat) < 30) < 0.55  # uniform on the sphere: half the area within 30° lat
        assert -180 <= lon.min() < -179.5 and 179.5 < lon.max() <= 180
    assert (b.tx_lat != b.rx_lat).all() and (b.tx_lon != b.rx_lon).all()  # two independent endpoints
    assert 0 <= b.hour_utc.min() < 0.05 and 23.95 < b.hour_utc.max() < 24
    assert 50 <= b.sfi.min() < 50.5 and 399.5 < b.sfi.max() <= 400
    assert 0 <= b.kp.min() < 0.05 and 8.95 < b.kp.max() <= 9
    month = b.month.astype(int)
    assert set(month) == set(range(1, 13))
    assert set((b.day_of_year - MONTH_START_DOY[month - 1]).astype(int)) == set(range(28))  # days 1–28 of each
    assert set(np.round(b.freq_mhz, 6)) == {round(hz / 1e6, 6) for hz in random_bundle.bands.dial_hz.values()}


def _synthetic_atlas(grids: tuple[str, ...]):
    """A SYNTHETIC IRI atlas over ``grids`` (values vary with the SFI bucket, so SFI moves the IRI features)."""
    from plugins.ionis.atlas import AtlasRule, IriAtlas

    rule = AtlasRule()
    shape = (len(grids), 24, 12, rule.buckets)
    rising = np.broadcast_to(np.arange(rule.buckets, dtype=np.float32), shape)
    return IriAtlas(grids, 3.0 + 0.5 * rising, 1.0 + 0.1 * rising, 250.0 + 5 * rising, rule,
                    {"note": "SYNTHETIC test atlas"}, digest="synthetic")


def test_paths_of_an_atlas_version_centre_on_its_grids(random_bundle, make_context):
    from plugins.ionis.geo import grid_centroid

    grids = ("FN20", "JQ05", "BJ00")  # mid-latitude; 75.5°N (latitude room 13.5°); 159°W near the dateline (20°)
    bundle = dataclasses.replace(random_bundle, atlas=_synthetic_atlas(grids))
    b = random_paths(make_context(bundle).rng("atlas"), 900, bundle=bundle)
    mid_lat, mid_lon = (b.tx_lat + b.rx_lat) / 2, (b.tx_lon + b.rx_lon) / 2
    lat, lon = grid_centroid(list(grids))
    for i, grid in enumerate(grids):
        at = (np.abs(mid_lat - lat[i]) < 1e-9) & (np.abs(mid_lon - lon[i]) < 1e-9)
        assert at.sum() > 200, grid  # every grid is drawn, and a path's midpoint is exactly its centroid
        lat_room, lon_room = min(25.0, 89.0 - abs(lat[i])), min(60.0, 179.0 - abs(lon[i]))
        dlat, dlon = (b.tx_lat[at] - lat[i]) / lat_room, (b.tx_lon[at] - lon[i]) / lon_room
        assert -1 <= dlat.min() < -0.9 and 0.9 < dlat.max() <= 1, grid
        assert -1 <= dlon.min() < -0.9 and 0.9 < dlon.max() <= 1, grid
    assert len(b) == 900 and np.isin(np.round(mid_lat, 6), np.round(lat, 6)).all()


def test_a_malformed_atlas_grid_is_named_as_the_atlas_grid_column(random_bundle, make_context):
    from registry.errors import InvalidInput

    bundle = dataclasses.replace(random_bundle, atlas=_synthetic_atlas(("FN20", "Z?99")))
    with pytest.raises(InvalidInput, match=r"column 'grid': 'Z\?99' is not a Maidenhead grid"):
        random_paths(make_context(bundle).rng("atlas"), 64, bundle=bundle)


def test_sweep_rebuilds_every_path_at_every_level(random_bundle, make_context):
    from plugins.ionis.physics import KP_LEVELS, SFI_LEVELS, _sweep

    paths = random_paths(make_context(random_bundle).rng("sweep"), 5, bundle=random_bundle)
    for column, levels in (("kp", KP_LEVELS), ("sfi", SFI_LEVELS)):
        sigma = _sweep(random_bundle, paths, column, levels)
        assert sigma.shape == (5, len(levels))
        for j, level in enumerate(levels):
            one = predict_sigma(random_bundle, dataclasses.replace(paths, **{column: np.full(5, level)}))
            np.testing.assert_allclose(sigma[:, j], one, atol=1e-5)


def test_monotone_gate_reports_what_it_swept(random_bundle, make_context):
    for column, levels, what, lo, hi in (("kp", "0 → 1 → 2 → 3 → 4 → 5 → 6 → 7 → 8 → 9", "Kp 0 → 9 storm cost", 0, 9),
                                         ("sfi", "50 → 70 → 100 → 130 → 160 → 200 → 250 → 300 → 400",
                                          "SFI 50 → 400 benefit", 400, 50)):
        gate = MonotoneGate(f"physics-{column}-monotone", column, paths=64)
        ctx = make_context(random_bundle)
        out = gate.evaluate(ctx)
        paths = random_paths(ctx.rng(gate.name), 64, bundle=random_bundle)
        span = (predict_sigma(random_bundle, dataclasses.replace(paths, **{column: np.full(64, float(lo))}))
                - predict_sigma(random_bundle, dataclasses.replace(paths, **{column: np.full(64, float(hi))})))
        d = out.details
        assert d["levels"] == levels and d["paths"] == 64 and d["steps_against_physics"] == 0
        stats = d[f"{what} per path (σ)"]
        assert stats == pytest.approx({"mean": span.mean(), "min": span.min(), "max": span.max()}, abs=2e-4)
        assert all(round(v, 4) == v for v in stats.values())  # shown to 4 decimals
        assert out.value == d["largest_step_against_physics_sigma"] <= 0 and out.threshold == 1e-5
        n = len(levels.split(" → "))
        assert out.message.startswith(f"0 step(s) against physics over 64 paths × {n} levels (largest -")
        assert out.message.endswith(f"σ; ≤ 0 means none); mean {what} {span.mean():+.3f}σ")
        (fig,) = out.figures
        assert fig["kind"] == "histogram" and fig["title"] == f"{what} over 64 random paths"
        assert (fig["xlabel"], fig["ylabel"]) == (f"{what} (σ)", "paths")
        assert sum(fig["counts"]) == 64 and len(fig["counts"]) == 12 and len(fig["edges"]) == 13
        assert fig["edges"][0] == pytest.approx(span.min(), abs=2e-3)
        assert fig["edges"][-1] == pytest.approx(span.max(), abs=2e-3)
        assert all(round(e, 3) == e for e in fig["edges"])  # shown to 3 decimals


def test_monotone_gate_defaults_to_512_paths(random_bundle, make_context):
    out = MonotoneGate("physics-kp-monotone", "kp").evaluate(make_context(random_bundle))
    assert out.details["paths"] == 512 and " over 512 paths × 10 levels " in out.message


def test_a_step_exactly_at_the_tolerance_is_allowed_and_not_counted(make_random_bundle, make_context):
    bundle = make_random_bundle(3)
    bundle.module.storm_sidecar = _Inverted()
    worst = MonotoneGate("physics-kp-monotone", "kp", paths=16).evaluate(make_context(bundle)).value
    assert worst > 0
    at = MonotoneGate("physics-kp-monotone", "kp", paths=16, tolerance=worst).evaluate(make_context(bundle))
    assert at.passed and at.details["steps_against_physics"] == 0 and at.value == worst
    below = MonotoneGate("physics-kp-monotone", "kp", paths=16,
                         tolerance=float(np.nextafter(worst, -np.inf))).evaluate(make_context(bundle))
    assert not below.passed and below.details["steps_against_physics"] >= 1
    assert below.message.startswith(f"{below.details['steps_against_physics']} step(s) against physics")


def test_sfi_monotone_refuses_an_architecture_without_a_sun_sidecar(later, make_context):
    from registry.errors import GateError

    v24 = later("v24")
    with pytest.raises(GateError, match=r"^physics-sfi-monotone does not apply to IonisGateV24: it has no sun "
                                        r"sidecar, so SFI has no path into σ \(its own suite checks that SFI is "
                                        r"ignored\)$"):
        MonotoneGate("physics-sfi-monotone", "sfi", paths=8).evaluate(make_context(v24))
    assert MonotoneGate("physics-kp-monotone", "kp", paths=8).evaluate(make_context(v24)).passed


def _saturated(make_random_bundle, sun_bias: float, storm_bias: float):
    """A random model whose scaler heads are constant: a gate exactly at an end of [0.5, 2.0]."""
    import torch

    bundle = make_random_bundle(5)
    with torch.no_grad():
        for head, bias in ((bundle.module.sun_scaler_head, sun_bias), (bundle.module.storm_scaler_head, storm_bias)):
            head[2].weight.zero_()
            head[2].bias.fill_(bias)
    return bundle


def test_gates_exactly_at_the_ends_of_the_range_pass(make_random_bundle, make_context):
    bundle = _saturated(make_random_bundle, 50.0, -200.0)  # sigmoid rounds to 1 and to 0 in float32
    out = GateRangeGate(paths=32).evaluate(make_context(bundle))
    assert out.passed and out.value == 0 and out.message == "0 sun and storm gate values outside [0.5, 2.0]"
    assert out.details["table"]["rows"] == [["sun", 2.0, 2.0, 0.0], ["storm", 0.5, 0.5, 0.0]]
    assert out.details["inputs"] == "32 random paths + 32 N(0, 1) feature vectors"
    assert out.details["table"]["title"] == "gate values"
    assert "not_applicable" not in out.details


@pytest.mark.parametrize(("part", "shift"), [("g_sun", 1e-6), ("g_storm", -1e-6)])
def test_a_gate_just_outside_the_range_is_counted(part, shift, make_random_bundle, make_context):
    bundle = _saturated(make_random_bundle, 50.0, -200.0)
    decompose = bundle.module.decompose
    bundle.module.decompose = lambda x: decompose(x)._replace(**{part: getattr(decompose(x), part) + shift})
    out = GateRangeGate(paths=32).evaluate(make_context(bundle))
    assert not out.passed and out.value == 64  # every row of one gate, none of the other
    assert out.message == "64 sun and storm gate values outside [0.5, 2.0]"


def test_gate_range_table_and_default_inputs(random_bundle, make_context):
    out = GateRangeGate().evaluate(make_context(random_bundle))
    assert out.passed and out.details["inputs"] == "1000 random paths + 1000 N(0, 1) feature vectors"
    rows = out.details["table"]["rows"]
    assert [r[0] for r in rows] == ["sun", "storm"] and out.details["table"]["columns"] == ["gate", "min", "max",
                                                                                          "variance"]
    for _, low, high, var in rows:
        assert 0.5 <= low < high <= 2.0 and var > 0
        assert (round(low, 4), round(high, 4), round(var, 5)) == (low, high, var)


def test_gate_range_checks_only_the_storm_gate_without_a_sun_sidecar(later, make_context):
    out = GateRangeGate(paths=16).evaluate(make_context(later("v24")))
    assert out.passed and [r[0] for r in out.details["table"]["rows"]] == ["storm"]
    assert out.message == "0 storm gate values outside [0.5, 2.0] (no sun gate in this architecture)"
    assert out.details["not_applicable"] == "IonisGateV24 has no sun gate; only the storm gate is checked"


def test_gate_range_feeds_band_heads_a_valid_head_index(later, make_context):
    out = GateRangeGate(paths=16).evaluate(make_context(later("v26-alpha")))  # a float there would fail to route
    assert out.passed and out.message == "0 sun and storm gate values outside [0.5, 2.0]"


@pytest.mark.parametrize("tag", LATER_TAGS)
def test_decomposition_reference_follows_each_architecture(tag, later, make_context):
    bundle = later(tag)
    out = DecompositionGate(paths=32).evaluate(make_context(bundle))
    assert out.passed and out.value == out.details["max_abs_error"] < 1e-4
    terms = {"v24": "base + g_storm·storm_sidecar", "v26-alpha": "band head + g_sun·sun_sidecar + "
             "g_storm·storm_sidecar"}.get(tag, "base + g_sun·sun_sidecar + g_storm·storm_sidecar")
    assert out.message == f"max |forward − spec formula ({terms})| = {out.value:.2e}σ over 32 paths"
    assert out.details["architecture"] == bundle.arch.name and out.details["paths"] == 32
    assert out.details["reference"] == "float64 numpy from the state_dict, written from the spec"


def test_decomposition_tolerance_is_strict(random_bundle, make_context):
    error = DecompositionGate(paths=16).evaluate(make_context(random_bundle)).value
    assert 0 < error < 1e-4
    assert not DecompositionGate(paths=16, tolerance=error).evaluate(make_context(random_bundle)).passed
    nudged = DecompositionGate(paths=16, tolerance=float(np.nextafter(error, np.inf)))
    assert nudged.evaluate(make_context(random_bundle)).passed
    assert DecompositionGate().evaluate(make_context(random_bundle)).details["paths"] == 512
