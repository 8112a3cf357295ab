"""Block bootstrap: reproducible from the seed, right coverage on independent rows, wider on autocorrelated ones."""

from __future__ import annotations

import numpy as np
import pytest

from gates.bootstrap import block_bootstrap, block_counts, block_indices, paired_test, resampled_means
from registry.errors import GateError


def test_block_indices_keep_consecutive_rows_and_wrap():
    idx = block_indices(10, 4, 50, np.random.default_rng(0))
    assert idx.shape == (50, 10) and idx.min() >= 0 and idx.max() <= 9
    steps = np.diff(idx, axis=1)[:, :3]  # within the first block: consecutive rows, 9 → 0 wraps
    assert np.isin(steps, (1, -9)).all()
    assert (block_indices(5, 5, 3, np.random.default_rng(1)) == block_indices(5, 5, 3, np.random.default_rng(1))).all()
    one = block_indices(1, 1, 4, np.random.default_rng(2))
    assert one.tolist() == [[0]] * 4


def test_the_interval_is_seeded_and_covers_the_truth_about_as_often_as_it_says():
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(60):
        x = rng.normal(size=80)
        ci = block_bootstrap(np.mean, x, rng=rng, n_resamples=300, level=0.9)
        assert ci.lower <= ci.estimate <= ci.upper and ci.estimate == x.mean()
        hits += ci.lower <= 0.0 <= ci.upper
    assert 45 <= hits <= 60  # about 90 % of 60
    x = np.arange(30.0)
    a = block_bootstrap(np.mean, x, rng=np.random.default_rng(9), n_resamples=50)
    assert a == block_bootstrap(np.mean, x, rng=np.random.default_rng(9), n_resamples=50)
    assert a.as_json() == {"lower": a.lower, "upper": a.upper, "level": 0.95}


def test_blocks_widen_the_interval_of_an_autocorrelated_series():
    rng = np.random.default_rng(4)
    e = rng.normal(size=2000)
    series = np.empty(2000)
    series[0] = e[0]
    for i in range(1, 2000):  # AR(1), φ = 0.9: the effective sample is ~19× smaller
        series[i] = 0.9 * series[i - 1] + e[i]
    naive = block_bootstrap(np.mean, series, rng=np.random.default_rng(5), n_resamples=400)
    blocked = block_bootstrap(np.mean, series, rng=np.random.default_rng(5), n_resamples=400, block=50)
    assert (blocked.upper - blocked.lower) > 2.5 * (naive.upper - naive.lower)


def test_skill_scores_resample_model_and_baseline_rows_together():
    rng = np.random.default_rng(6)
    truth = rng.normal(size=300)
    model, base = truth + 0.5 * rng.normal(size=300), np.zeros(300)

    def skill(m, b, t):
        return 1 - np.sqrt(np.mean((m - t) ** 2)) / np.sqrt(np.mean((b - t) ** 2))

    ci = block_bootstrap(skill, model, base, truth, rng=np.random.default_rng(7), n_resamples=300)
    assert 0 < ci.lower < ci.estimate < ci.upper < 1


def test_paired_test_tells_a_better_candidate_from_noise():
    rng = np.random.default_rng(8)
    champion = rng.gamma(2.0, size=500)
    better = champion - 0.2 + 0.1 * rng.normal(size=500)
    t = paired_test(better, champion, rng=np.random.default_rng(0), n_resamples=1000)
    assert t.mean_difference == pytest.approx(np.mean(better - champion)) and t.upper < 0 and t.p_value < 0.01
    same = paired_test(champion + 0.3 * rng.normal(size=500), champion, rng=np.random.default_rng(0))
    assert same.lower < 0 < same.upper and same.p_value > 0.05
    worse = paired_test(champion + 0.2, champion, rng=np.random.default_rng(0), n_resamples=200)
    assert worse.lower > 0 and worse.p_value > 0.9


@pytest.mark.parametrize(("call", "message"), [
    (lambda: block_bootstrap(np.mean, np.ones(5), rng=np.random.default_rng(), block=6),
     r"block must be an int in \[1, 5\]"),
    (lambda: block_bootstrap(np.mean, np.ones(5), rng=np.random.default_rng(), block=0), "block must be"),
    (lambda: block_bootstrap(np.mean, np.ones(5), rng=np.random.default_rng(), n_resamples=0), "n_resamples"),
    (lambda: block_bootstrap(np.mean, np.ones(5), rng=np.random.default_rng(), level=1.0), "level"),
    (lambda: block_bootstrap(np.mean, np.ones(5), np.ones(4), rng=np.random.default_rng()), "same number of rows"),
    (lambda: block_bootstrap(np.mean, rng=np.random.default_rng()), "at least one array"),
    (lambda: block_bootstrap(np.mean, np.float64(1.0), rng=np.random.default_rng()), "row axis"),
    (lambda: block_bootstrap(np.mean, np.ones(0), rng=np.random.default_rng()), "no rows"),
    (lambda: block_bootstrap(lambda x: np.nan, np.ones(3), rng=np.random.default_rng()), "not finite"),
    (lambda: paired_test(np.ones(3), np.ones((3, 2)), rng=np.random.default_rng()), "does not match"),
    (lambda: paired_test([1.0, np.nan], [1.0, 1.0], rng=np.random.default_rng()), "non-finite"),
])
def test_bad_input_is_one_clear_error(call, message):
    with pytest.raises(GateError, match=message):
        call()


def test_resampled_means_equal_the_means_of_the_resampled_rows() -> None:
    v = np.random.default_rng(1).normal(size=(50, 3))
    got = resampled_means(v, rng=np.random.default_rng(7), block=4, n_resamples=30)
    idx = block_indices(50, 4, 30, np.random.default_rng(7))
    np.testing.assert_allclose(got, v[idx].mean(axis=1), rtol=1e-5)
    assert resampled_means(v[:, 0], rng=np.random.default_rng(7), n_resamples=5).shape == (5, 1)
    with pytest.raises(GateError, match="non-finite"):
        resampled_means([1.0, np.nan], rng=np.random.default_rng(0))


@pytest.mark.parametrize("n, block", [(50, 4), (7, 7), (10, 3), (1, 1), (9, 1)])
def test_block_counts_match_block_indices(n: int, block: int) -> None:
    counts = block_counts(n, block, 20, np.random.default_rng(3))
    idx = block_indices(n, block, 20, np.random.default_rng(3))
    expected = np.stack([np.bincount(row, minlength=n) for row in idx])
    np.testing.assert_array_equal(counts, expected)
    assert (counts.sum(axis=1) == n).all()
    with pytest.raises(GateError, match="counts are for"):
        resampled_means(np.zeros(n + 1), counts=counts)


def test_block_counts_built_in_several_passes_match_block_indices() -> None:
    """20,000 rows: a pass holds 52 resamples, so 130 take three passes (the last one short)."""
    n, block = 20_000, 24
    counts = block_counts(n, block, 130, np.random.default_rng(4))
    idx = block_indices(n, block, 130, np.random.default_rng(4))
    for r in (0, 51, 52, 103, 104, 129):  # each side of each pass boundary
        np.testing.assert_array_equal(counts[r], np.bincount(idx[r], minlength=n), err_msg=str(r))
    assert (counts.sum(axis=1) == n).all() and counts.dtype == np.float32
