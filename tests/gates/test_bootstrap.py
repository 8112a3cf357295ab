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


@pytest.mark.parametrize(("call", "message"), [
    (lambda: block_indices(0, 1, 5, np.random.default_rng()), "nothing to resample: no rows"),
    (lambda: block_indices(5, 6, 5, np.random.default_rng()), r"block must be an int in \[1, 5\] \(the number of "
                                                              r"rows\), got 6"),
    (lambda: block_indices(5, True, 5, np.random.default_rng()), r"block must be an int in \[1, 5\] \(the number of "
                                                                 r"rows\), got True"),
    (lambda: block_indices(5, 2.0, 5, np.random.default_rng()), r"block must be an int .*, got 2.0"),
    (lambda: block_counts(5, 0, 5, np.random.default_rng()), r"block must be an int .*, got 0"),
    (lambda: block_indices(5, 2, 0, np.random.default_rng()), "n_resamples must be a positive int, got 0"),
    (lambda: block_indices(5, 2, True, np.random.default_rng()), "n_resamples must be a positive int, got True"),
    (lambda: block_indices(5, 2, 3.0, np.random.default_rng()), "n_resamples must be a positive int, got 3.0"),
    (lambda: block_bootstrap(np.mean, rng=np.random.default_rng()), "give at least one array to resample"),
    (lambda: block_bootstrap(np.mean, np.ones(3), np.float64(1.0), rng=np.random.default_rng()),
     r"arrays must have a row axis \(axis 0\), got a scalar"),
    (lambda: block_bootstrap(np.mean, np.ones(5), np.ones(4), rng=np.random.default_rng()),
     r"arrays must have the same number of rows, got \[5, 4\]"),
    (lambda: block_bootstrap(np.mean, np.ones(5), np.ones(5), np.ones(6), rng=np.random.default_rng()),
     r"arrays must have the same number of rows, got \[5, 5, 6\]"),
    (lambda: block_bootstrap(np.mean, np.ones(5), rng=np.random.default_rng(), level=0.0),
     r"level must lie in \(0, 1\), got 0.0"),
    (lambda: paired_test(np.ones(3), np.ones(3), rng=np.random.default_rng(), level=1.0),
     r"level must lie in \(0, 1\), got 1.0"),
    (lambda: paired_test(np.ones(3), np.ones((3, 2)), rng=np.random.default_rng()),
     r"candidate_loss shape \(3,\) does not match champion_loss \(3, 2\)"),
    (lambda: paired_test([1.0, None], [1.0, 1.0], rng=np.random.default_rng()), "losses hold non-finite values"),
    (lambda: paired_test([1.0, 1.0], [np.inf, None], rng=np.random.default_rng()), "losses hold non-finite values"),
    (lambda: resampled_means([1.0, None], rng=np.random.default_rng()), "values hold non-finite entries"),
    (lambda: resampled_means([1.0, 2.0]), "give rng or counts"),
    (lambda: resampled_means(np.zeros(6), counts=np.ones((2, 5), dtype=np.float32)),
     "counts are for 5 rows, values have 6"),
])
def test_error_messages_in_full(call, message):
    with pytest.raises(GateError, match=f"^{message}$"):
        call()


def test_the_statistic_counts_the_resamples_it_was_not_finite_on():
    x = np.arange(4.0)
    idx = block_indices(4, 1, 40, np.random.default_rng(11))
    bad = int((idx[:, 0] == 0).sum())  # the statistic is infinite when a resample starts with row 0
    assert 0 < bad < 40
    with pytest.raises(GateError, match=rf"^the statistic was not finite on {bad} resample\(s\)$"):
        block_bootstrap(lambda v: np.inf if v[0] == 0 else 1.0, x, rng=np.random.default_rng(11), n_resamples=40)


def test_block_indices_are_blocks_of_consecutive_rows_from_any_start():
    idx = block_indices(7, 3, 400, np.random.default_rng(12))
    assert idx.shape == (400, 7)
    offset = np.arange(7) % 3
    starts = idx[:, np.arange(7) - offset]  # the first row of the block each position belongs to
    np.testing.assert_array_equal(idx, (starts + offset) % 7)  # consecutive rows, wrapping at the end
    assert set(idx[:, 0].tolist()) == set(range(7))  # every row can start a block (the last ones wrap)
    assert block_indices(3, 1, 5, np.random.default_rng(1)).shape == (5, 3)
    assert block_indices(5, np.int64(2), np.int64(1), np.random.default_rng(1)).shape == (1, 5)  # numpy ints


@pytest.mark.parametrize("level", [0.95, 0.8])
def test_the_interval_is_the_percentiles_of_the_resampled_statistic(level):
    x = np.random.default_rng(13).gamma(2.0, size=(40, 2))
    got = block_bootstrap(lambda v: float(v[:, 0].mean() - v[:, 1].mean()), x, rng=np.random.default_rng(14),
                          block=3, n_resamples=200, level=level)
    idx = block_indices(40, 3, 200, np.random.default_rng(14))
    stats = np.array([x[i, 0].mean() - x[i, 1].mean() for i in idx])
    tail = (1 - level) / 2
    assert (got.lower, got.upper) == tuple(np.quantile(stats, [tail, 1 - tail]))
    assert got.estimate == x[:, 0].mean() - x[:, 1].mean() and got.level == level
    # the defaults: independent rows, 1000 resamples
    default = block_bootstrap(np.mean, x[:, 0], rng=np.random.default_rng(15))
    assert default == block_bootstrap(np.mean, x[:, 0], rng=np.random.default_rng(15), block=1, n_resamples=1000)


def test_the_paired_test_is_its_bootstrap_of_the_mean_difference():
    rng = np.random.default_rng(16)
    cand, champ = rng.gamma(2.0, size=(30, 4)), rng.gamma(2.0, size=(30, 4))  # rows × points
    got = paired_test(cand, champ, rng=np.random.default_rng(17), block=2, n_resamples=300, level=0.9)
    d = (cand - champ).mean(axis=1)
    means = d[block_indices(30, 2, 300, np.random.default_rng(17))].mean(axis=1)
    assert got.mean_difference == d.mean() and got.level == 0.9
    tail = (1 - 0.9) / 2
    assert (got.lower, got.upper) == tuple(np.quantile(means, [tail, 1 - tail]))
    assert got.p_value == (np.sum(means - d.mean() <= d.mean()) + 1) / 301
    # the defaults: independent rows, 2000 resamples (the p-value is a count of 2001)
    default = paired_test(cand, champ, rng=np.random.default_rng(18))
    assert default == paired_test(cand, champ, rng=np.random.default_rng(18), block=1, n_resamples=2000)
    assert (default.p_value * 2001) == pytest.approx(round(default.p_value * 2001), abs=1e-9)
    # identical losses: no evidence at all that the candidate is better
    same = paired_test(champ, champ, rng=np.random.default_rng(19), n_resamples=50)
    assert same.p_value == 1.0 and same.mean_difference == 0.0 and same.lower == same.upper == 0.0
    ints = paired_test([1, 2, 3, 4], [2, 2, 2, 2], rng=np.random.default_rng(20), n_resamples=50)
    assert ints == paired_test([1.0, 2.0, 3.0, 4.0], [2.0] * 4, rng=np.random.default_rng(20), n_resamples=50)


def test_resampled_means_flatten_trailing_axes_and_default_to_independent_rows() -> None:
    v = np.random.default_rng(21).normal(size=(20, 2, 3))
    got = resampled_means(v, rng=np.random.default_rng(22), n_resamples=7)
    assert got.shape == (7, 6) and got.dtype == np.float64
    np.testing.assert_array_equal(got, resampled_means(v.reshape(20, 6), rng=np.random.default_rng(22),
                                                       n_resamples=7))
    counts = block_counts(20, 1, 1000, np.random.default_rng(23))  # the defaults: block 1, 1000 resamples
    np.testing.assert_array_equal(resampled_means(v[:, 0, 0], rng=np.random.default_rng(23)),
                                  resampled_means(v[:, 0, 0], counts=counts))
    assert resampled_means([1, 2, 3], counts=np.eye(3, dtype=np.float32)).tolist() == [[1 / 3], [2 / 3], [1.0]]


def test_empty_and_scalar_inputs_are_one_clear_error_and_empty_columns_are_kept() -> None:
    for call, message in [
        (lambda: paired_test([], [], rng=np.random.default_rng(0)), "^nothing to resample: no rows$"),
        (lambda: paired_test(np.ones(3), np.ones(3), rng=np.random.default_rng(0), block=4),
         r"^block must be an int in \[1, 3\]"),
        (lambda: resampled_means([], rng=np.random.default_rng(0)), "^nothing to resample: no rows$"),
        (lambda: resampled_means(np.zeros((0, 3)), rng=np.random.default_rng(0)), "^nothing to resample: no rows$"),
        (lambda: resampled_means([], counts=np.zeros((4, 0))), "^nothing to resample: no rows$"),  # not 0/0
        (lambda: resampled_means(1.0, rng=np.random.default_rng(0)),
         r"^values must have a row axis \(axis 0\), got a scalar$"),
    ]:
        with pytest.raises(GateError, match=message):
            call()
    assert resampled_means(np.zeros((5, 0)), rng=np.random.default_rng(0), n_resamples=3).shape == (3, 0)
    assert resampled_means(np.zeros((5, 0, 2)), rng=np.random.default_rng(0), n_resamples=3).shape == (3, 0)
