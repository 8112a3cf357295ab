"""plugins.hrrr_ddpm.scoring and .scores: a tiled or chunked pass gives the whole case's scores; known ensembles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hrrr_ensembles import synthetic_case
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.hrrr_ddpm import scores
from plugins.hrrr_ddpm.scoring import Case, ScoringPlan, score_cases
from registry.errors import GateError


def _all_stats(sums: Any) -> dict[str, Any]:
    counts = scores.resample_counts(sums, np.random.default_rng(3), 200)
    out: dict[str, Any] = {"crps": scores.crps(sums)}
    for ref in ("persistence", "climatology"):
        out[ref] = {v: (e.value, e.interval) for v, e in scores.crps_skill(sums, ref, counts).items()}
    out["spread"] = {v: (e.value, e.interval) for v, e in scores.spread_skill(sums, counts).items()}
    out["brier"] = [(e.value, e.interval) for e in (scores.brier_skill(sums, i, counts) for i in range(2))]
    out["reliability"] = [scores.brier_parts(sums, i)[0] for i in range(2)]
    out["ranks"] = {v: r["counts"].tolist() for v, r in scores.rank_flatness(sums).items()}
    out["fss"] = scores.fss(sums)
    out["spectra"] = scores.spectrum_ratio(sums)
    out["tails"] = scores.tails(sums)
    return out


def _close(a: Any, b: Any) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _close(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _close(x, y)
    elif hasattr(a, "__dataclass_fields__"):
        _close(vars(a), vars(b))
    elif a is None or isinstance(a, str):
        assert a == b
    else:
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@pytest.fixture(scope="module")
def two_cases() -> list[dict[str, np.ndarray]]:
    return [synthetic_case(1), synthetic_case(2)]


def test_a_tiled_pass_gives_the_whole_cases_scores(two_cases: list[dict[str, np.ndarray]], tmp_path: Path) -> None:
    import zarr

    plan = ScoringPlan(fss_windows=(1, 3, 7), block_rows=4)
    whole = _all_stats(score_cases([Case(**c, band_rows=24) for c in two_cases], plan))
    banded = _all_stats(score_cases([Case(**c, band_rows=5) for c in two_cases], plan))
    one_row = _all_stats(score_cases([Case(**c, band_rows=1) for c in two_cases], plan))
    stored = []
    for i, c in enumerate(two_cases):  # chunked on disk: a Zarr v3 ensemble and a memory-mapped truth
        z = zarr.create_array(tmp_path / f"ens{i}.zarr", shape=c["members"].shape, chunks=(8, 7, 7, 20),
                              dtype="float32")
        z[...] = c["members"]
        np.save(tmp_path / f"truth{i}.npy", c["truth"])
        stored.append(Case(z, np.load(tmp_path / f"truth{i}.npy", mmap_mode="r"), c["persistence"],
                           c["climatology"], band_rows=7))
    chunked = _all_stats(score_cases(stored, plan))
    for other in (banded, one_row, chunked):
        _close(whole, other)
    assert whole["fss"]["windows"] == [1, 3, 7] and all(0 <= f <= 1 for f in whole["fss"]["fss"])
    assert sum(whole["ranks"]["REFC"]) == pytest.approx(2 * 24 * 20)


def test_a_calibrated_ensemble_scores_as_one(two_cases: list[dict[str, np.ndarray]]) -> None:
    cases = [synthetic_case(s, m=10, h=32, w=32) for s in range(3, 7)]
    sums = score_cases([Case(**c) for c in cases], ScoringPlan(block_rows=8))
    counts = scores.resample_counts(sums, np.random.default_rng(0), 300)
    ss = scores.spread_skill(sums, counts)
    assert all(0.85 < ss[v].value < 1.15 for v in ("T2M", "U10")), {v: e.value for v, e in ss.items()}
    flat = scores.rank_flatness(sums)
    assert flat["T2M"]["reliability_index"] < 0.15
    clim = scores.crps_skill(sums, "climatology", counts)
    assert clim["T2M"].value > 0.1 and clim["T2M"].interval["lower"] > 0  # type: ignore[index]
    narrow = score_cases([Case(**synthetic_case(s, m=10, h=32, w=32, spread=0.3)) for s in range(3, 7)],
                         ScoringPlan(block_rows=8))
    assert scores.spread_skill(narrow, counts)["T2M"].value < 0.5
    assert scores.rank_flatness(narrow)["T2M"]["reliability_index"] > 2 * flat["T2M"]["reliability_index"]


def test_tails_and_spectra_see_a_biased_smooth_ensemble() -> None:
    good = synthetic_case(8, m=6, h=48, w=48)
    biased = synthetic_case(8, m=6, h=48, w=48, bias=2.0)  # 6 K warmer: about 1.4 of the truth's spread
    assert abs(scores.tails(score_cases([Case(**good)]))["T2M"]["difference"]) < 0.5
    assert scores.tails(score_cases([Case(**biased)]))["T2M"]["difference"] > 1.0
    smoothed = dict(good)
    from scipy.ndimage import uniform_filter

    smoothed["members"] = uniform_filter(good["members"], size=(1, 1, 5, 5), mode="wrap")  # small scales lost
    ratio_good = scores.spectrum_ratio(score_cases([Case(**good)]))["T2M"]["upper_half"]
    ratio_smooth = scores.spectrum_ratio(score_cases([Case(**smoothed)]))["T2M"]["upper_half"]
    assert 0.5 < ratio_good < 2.0 and ratio_smooth < 0.5 * ratio_good


def test_one_clear_error_on_inputs_that_do_not_fit(two_cases: list[dict[str, np.ndarray]]) -> None:
    c = two_cases[0]
    with pytest.raises(GateError, match="truth shape"):
        score_cases([Case(c["members"], c["truth"][:, :-1])])
    with pytest.raises(GateError, match="members hold 6 variables"):
        score_cases([Case(c["members"][:, :6], c["truth"][:6])])
    with pytest.raises(GateError, match="at least two members"):
        score_cases([Case(c["members"][:1], c["truth"])])
    with pytest.raises(GateError, match="case 1 has 4 members"):
        score_cases([Case(c["members"], c["truth"]), Case(c["members"][:4], c["truth"])])
    bad = c["members"].copy()
    bad[3, 2, 5, 5] = np.nan
    with pytest.raises(GateError, match="non-finite"):
        score_cases([Case(bad, c["truth"])])
    with pytest.raises(GateError, match="no crps_persistence"):
        scores.crps_skill(score_cases([Case(c["members"], c["truth"])]), "persistence", np.ones((2, 6)))


def test_scores_from_a_stored_ensemble_and_dataset_equal_the_in_memory_case(tmp_path: Path) -> None:
    """The views the gates use — ``cache.ensembles`` (chunk-verified, 1 × 1 × 8 × 8 chunks here) and a registered
    ``cache.datasets`` dataset — give the scores of the same arrays held in memory."""
    from hrrr_ensembles import register_series, synthetic_series

    from cache.ensembles import identity, write_ensemble
    from plugins.hrrr_ddpm.evaluation import EnsembleView, StatesView
    from plugins.hrrr_ddpm.scoring import VARIABLES

    series = synthetic_series(6, 20, 18, seed=4)
    ds = register_series(tmp_path, "case", series)
    members = synthetic_case(9, m=5, h=20, w=18)["members"]
    ident = identity(version_id="v", condition="c", sampler={"kind": "synthetic"}, seed=0, device="cpu",
                     members=5, variables=list(VARIABLES), grid=(20, 18))
    ens = write_ensemble(tmp_path / "ens", ident, lambda ids: members[list(ids)], batch=2, tile=8)
    view = EnsembleView(ens)
    assert view.chunks == (1, 1, 8, 8)
    plan = ScoringPlan(fss_windows=(1, 3), block_rows=4)
    states = np.stack([series[v] for v in VARIABLES], axis=1)  # (N, C, H, W)
    stored = Case(view, StatesView(ds, VARIABLES, [4], squeeze=True), StatesView(ds, VARIABLES, [3], squeeze=True),
                  StatesView(ds, VARIABLES, [0, 1, 2]))
    in_memory = Case(members, states[4], states[3], states[:3], band_rows=20)
    _close(_all_stats(score_cases([in_memory], plan)), _all_stats(score_cases([stored], plan)))


@settings(max_examples=6, deadline=None)
@given(band=st.integers(1, 13), seed=st.integers(0, 3))
def test_any_band_height_gives_the_whole_cases_scores(band: int, seed: int) -> None:
    case = synthetic_case(40 + seed, m=4, h=13, w=11, k=3)
    plan = ScoringPlan(fss_windows=(1, 3), block_rows=5, spectrum_members=2)
    whole = _all_stats(score_cases([Case(**case, band_rows=13)], plan))
    _close(whole, _all_stats(score_cases([Case(**case, band_rows=band)], plan)))


def test_one_row_block_gives_no_interval_a_gate_could_pass_on() -> None:
    """One case of one block of rows: every resample is that block, so an interval would have zero width."""
    one = score_cases([Case(**synthetic_case(5, m=4, h=8, w=8))], ScoringPlan(block_rows=8))
    with pytest.raises(GateError, match="1 block of rows was scored; an interval needs at least 2"):
        scores.resample_counts(one, np.random.default_rng(0), 50)
    two = score_cases([Case(**synthetic_case(5, m=4, h=8, w=8))], ScoringPlan(block_rows=4))
    assert scores.resample_counts(two, np.random.default_rng(0), 50).shape == (50, 2)
