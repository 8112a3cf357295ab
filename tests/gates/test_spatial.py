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
