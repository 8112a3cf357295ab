"""IRI-2020 TEC from PyIRI: plausible magnitudes, a diurnal cycle, more TEC at higher F10.7, aligned per target."""

from __future__ import annotations

import numpy as np

from plugins.tec.iri import iri_forecast, iri_tec_table


def test_iri_tec_has_a_day_night_cycle_and_grows_with_f107() -> None:
    low = iri_tec_table(2023, 3, 70.0, np.array([45.0]), np.array([10.0]))[:, 0]
    high = iri_tec_table(2023, 3, 200.0, np.array([45.0]), np.array([10.0]))[:, 0]
    assert low.shape == (24,) and 1 < low.min() < low.max() < 100
    assert low[12] > 2 * low[2]  # noon vs 02 UT at 10° E
    assert (high > low).all()


def test_forecast_maps_each_target_hour_and_location() -> None:
    t = np.datetime64("2023-03-01T00", "h").astype(np.int64) + np.arange(24 * 3)
    test = {"time": t.astype("datetime64[h]").astype("datetime64[s]"), "f107": np.full(len(t), 150.0)}
    latlon = np.array([[45.0, 10.0], [-33.0, 151.0]])
    target = np.array([[t[0] + 12], [t[0] + 12]])
    got = iri_forecast(test, latlon, target)
    table = iri_tec_table(2023, 3, 150.0, latlon[:, 0], latlon[:, 1])
    np.testing.assert_allclose(got[:, 0], [table[12, 0], table[12, 1]])
