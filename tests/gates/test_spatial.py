"""FSS against scores' and a brute-force sliding window; power spectra of fields with known scales."""

from __future__ import annotations

import numpy as np
import pytest

from gates.spatial import fss, power_spectrum, window_sums
from registry.errors import GateError


def brute_fss(f, o, t, w):
    fb, ob = (f > t).astype(float), (o > t).astype(float)
    rows, cols = f.shape[0] - w + 1, f.shape[1] - w + 1
    pf = np.array([[fb[i:i + w, j:j + w].mean() for j in range(cols)] for i in range(rows)])
    po = np.array([[ob[i:i + w, j:j + w].mean() for j in range(cols)] for i in range(rows)])
    return 1 - np.sum((pf - po) ** 2) / (np.sum(pf**2) + np.sum(po**2))


def fields(seed, shape=(40, 57)):
    rng = np.random.default_rng(seed)
    base = np.cumsum(np.cumsum(rng.normal(size=shape), 0), 1)
    return base + 3 * rng.normal(size=shape), base + 3 * rng.normal(size=shape)


def test_fss_matches_brute_force_and_scores():
    import scores.spatial
    import xarray as xr

    f, o = fields(0)
    t = float(np.quantile(o, 0.8))
    windows = [1, 2, 5, 9, 40]
    got = fss(f, o, t, windows)
    np.testing.assert_allclose(got, [brute_fss(f, o, t, w) for w in windows], atol=1e-12)
    fx, ox = xr.DataArray(f, dims=("y", "x")), xr.DataArray(o, dims=("y", "x"))
    peer = [float(scores.spatial.fss_2d(fx, ox, event_threshold=t, window_size=(w, w), spatial_dims=("y", "x")))
            for w in windows]
    np.testing.assert_allclose(got, peer, atol=1e-6)
    assert got[0] < got[2] < got[3]  # larger neighbourhoods forgive displacement


def test_fss_edges():
    f = np.zeros((5, 5))
    o = np.zeros((5, 5))
    f[2, 2] = o[2, 2] = 1.0
    assert fss(f, o, 0.5, [1, 3]) == [1.0, 1.0]  # a perfect forecast
    g = np.zeros((5, 5))
    g[0, 0] = 1.0
    assert fss(g, o, 0.5, 1) == [0.0]  # events never overlap at the grid scale
    assert fss(g, o, 1.0, 1)[0] != fss(g, o, 1.0, 1)[0]  # "> 1" has no event anywhere: NaN
    nan = o.copy()
    nan[1, 1] = np.nan
    assert fss(nan, o, 0.5, 1) == [1.0]  # NaN is never an event
    assert window_sums(np.ones((3, 4), dtype=np.int8), 2).tolist() == [[4, 4, 4], [4, 4, 4]]


def test_power_spectrum_finds_the_scale_of_a_wave_and_the_loss_of_small_scales():
    y, x = np.mgrid[0:64, 0:64]
    k, p = power_spectrum(np.sin(2 * np.pi * 8 * x / 64))
    assert k[0] == 1 and len(k) == 32 and k[int(np.argmax(p))] == 8
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(64, 64))
    smooth = (truth + np.roll(truth, 1, 0) + np.roll(truth, 1, 1) + np.roll(truth, 1, (0, 1))) / 4
    _, pt = power_spectrum(truth)
    _, ps = power_spectrum(smooth)
    assert ps[-8:].mean() < 0.2 * pt[-8:].mean() and ps[:4].mean() > 0.5 * pt[:4].mean()
    assert 0.8 < pt.mean() < 1.2  # white noise: flat at its variance (|F|² / N, Parseval)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: fss(np.ones(5), np.ones(5), 0.5, 1), "2-D field"),
    (lambda: fss(np.ones((4, 5)), np.ones((5, 4)), 0.5, 1), r"fcst shape \(4, 5\) does not match"),
    (lambda: fss(np.ones((4, 5)), np.ones((4, 5)), 0.5, 5), "window 5 does not fit"),
    (lambda: fss(np.ones((4, 5)), np.ones((4, 5)), 0.5, 0), "positive ints"),
    (lambda: fss(np.ones((4, 5)), np.ones((4, 5)), 0.5, [2.0]), "positive ints"),
    (lambda: fss(np.ones((4, 5)), np.ones((4, 5)), 0.5, []), "windows is empty"),
    (lambda: power_spectrum(np.ones((3, 8))), "at least 4 points"),
    (lambda: power_spectrum(np.full((8, 8), np.nan)), "non-finite"),
])
def test_bad_input_is_one_clear_error(call, message):
    with pytest.raises(GateError, match=message):
        call()


def brute_spectrum(f):
    """The definition with explicit sums: |Σ (f − mean)·e^(−2πi(ky·y/ny + kx·x/nx))|² / N averaged over rings."""
    ny, nx = f.shape
    g = f - f.mean()
    y, x = np.mgrid[0:ny, 0:nx]
    kmax = min(ny, nx) // 2
    rings: dict[int, list[float]] = {}
    for ky in range(-(ny // 2), (ny + 1) // 2):
        for kx in range(-(nx // 2), (nx + 1) // 2):
            power = abs(np.sum(g * np.exp(-2j * np.pi * (ky * y / ny + kx * x / nx)))) ** 2 / f.size
            rings.setdefault(int(np.rint(np.hypot(ky, kx))), []).append(power)
    return np.arange(1, kmax + 1), np.array([np.mean(rings[k]) for k in range(1, kmax + 1)])


@pytest.mark.parametrize("shape", [(4, 4), (6, 9), (9, 6), (8, 5)])
def test_power_spectrum_matches_its_definition_on_any_shape(shape):
    f = np.random.default_rng(sum(shape)).normal(size=shape) + 5.0
    k, p = power_spectrum(f)
    want_k, want_p = brute_spectrum(f)
    np.testing.assert_array_equal(k, want_k)
    np.testing.assert_allclose(p, want_p, rtol=1e-10)
    assert p.dtype == np.float64
    _, flat = power_spectrum(np.full(shape, 3.0, dtype=np.float32))  # a constant field: no power at any k ≥ 1
    np.testing.assert_allclose(flat, 0.0, atol=1e-20)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: fss(np.ones(5), np.ones(5), 0.5, 1), r"fcst must be a 2-D field, got shape \(5,\)"),
    (lambda: fss(np.ones((4, 5)), np.ones((5, 4)), 0.5, 1), r"fcst shape \(4, 5\) does not match obs shape \(5, 4\)"),
    (lambda: fss(np.ones((4, 5)), np.ones(20), 0.5, 1), r"fcst shape \(4, 5\) does not match obs shape \(20,\)"),
    (lambda: fss(["a"], np.ones((1, 1)), 0.5, 1), "fcst must be numeric, got <U1"),
    (lambda: fss(np.ones((1, 1)), [["a"]], 0.5, 1), "obs must be numeric, got <U1"),
    (lambda: fss(np.ones((4, 5)), np.ones((4, 5)), 0.5, [2, 5]), r"window 5 does not fit a field of shape \(4, 5\)"),
    (lambda: fss(np.ones((4, 5)), np.ones((4, 5)), 0.5, [2, 0]), "windows must be positive ints, got 0"),
    (lambda: fss(np.ones((4, 5)), np.ones((4, 5)), 0.5, True), "windows must be positive ints, got True"),
    (lambda: fss(np.ones((4, 5)), np.ones((4, 5)), 0.5, [2.0]), "windows must be positive ints, got 2.0"),
    (lambda: fss(np.ones((4, 5)), np.ones((4, 5)), 0.5, ()), "windows is empty: give at least one neighbourhood size"),
    (lambda: power_spectrum(np.ones((3, 8))), r"field must be 2-D with at least 4 points a side, got shape \(3, 8\)"),
    (lambda: power_spectrum(np.ones((8, 3))), r"field must be 2-D with at least 4 points a side, got shape \(8, 3\)"),
    (lambda: power_spectrum(np.ones(16)), r"field must be 2-D with at least 4 points a side, got shape \(16,\)"),
    (lambda: power_spectrum(np.ones((2, 4, 4))), r"field must be 2-D with at least 4 points a side, got shape "
                                                 r"\(2, 4, 4\)"),
    (lambda: power_spectrum(np.full((8, 8), np.inf)), "field holds non-finite values"),
    (lambda: power_spectrum([["a"] * 4] * 4), "field must be numeric, got <U1"),
])
def test_error_messages_in_full(call, message):
    with pytest.raises(GateError, match=f"^{message}$"):
        call()


def test_fss_events_are_strictly_above_the_threshold_and_windows_may_span_the_field():
    f = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    o = np.array([[0.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    assert fss(f, o, 2.0, 1)[0] != fss(f, o, 2.0, 1)[0]  # 2 is not above 2: no event, NaN
    assert fss(f, o, 1.999, [1, 2, np.int64(2)]) == [0.0, 0.0, 0.0]  # windows of 2 never hold both
    assert fss(f.T, o.T, 1.0, 2) == [0.0]
    # one window 2 × 3 would hold both, but windows are square: FSS at the largest square that fits, 2 × 2
    assert fss(np.ones((2, 3)), np.ones((2, 3)), 0.5, 2) == [1.0]
    half = np.array([[1.0, 1.0], [0.0, 0.0]])
    # pf = ½ over the one 2 × 2 window and po = 1: 1 − (½)² / (¼ + 1)
    assert fss(half, np.ones((2, 2)), 0.5, 2) == [1 - 0.25 / 1.25]
    assert fss(half, np.ones((2, 2)), 0.5, 1) == [1 - 2 / 6]  # per pixel: 2 misses over 2 + 4 events
    assert window_sums(np.arange(6).reshape(2, 3), 2).tolist() == [[8, 12]]
    assert window_sums(np.arange(6).reshape(2, 3), 1).tolist() == [[0, 1, 2], [3, 4, 5]]
    assert window_sums(np.ones((3, 3), dtype=np.int8), 3).dtype == np.int64  # counts, exact at any size
