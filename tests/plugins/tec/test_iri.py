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


def test_fixed_reader_reads_every_coefficient_line_as_fortranformat_does() -> None:
    from pathlib import Path

    import PyIRI
    from fortranformat import FortranRecordReader

    from plugins.tec.iri import FixedE15Reader

    general, fixed = FortranRecordReader("(1X,4E15.8)"), FixedE15Reader("(1X,4E15.8)")
    files = sorted(Path(PyIRI.coeff_dir).glob("CCIR/*.asc")) + sorted(Path(PyIRI.coeff_dir).glob("URSI/*.asc"))
    assert len(files) == 24
    lines = [line for f in files for line in f.read_text().splitlines(keepends=True)]
    assert [fixed.read(x) for x in lines] == [general.read(x) for x in lines]
    assert any(None in fixed.read(x) for x in lines)  # the short last lines: fields past the end are None
    assert fixed.read(" -0.10000000D+01 0.25000000E+00               0.50000000E+00\n") == [-1.0, 0.25, 0.0, 0.5]


def test_fast_coefficients_read_each_month_once_give_copies_and_restore() -> None:
    import PyIRI
    import PyIRI.main_library as iri

    from plugins.tec.iri import FixedE15Reader, fast_coefficients

    original, reader = iri.read_ccir_ursi_coeff, iri.FortranRecordReader
    reference = original(3, PyIRI.coeff_dir)
    with fast_coefficients() as lib:
        assert lib.FortranRecordReader is FixedE15Reader
        first = lib.read_ccir_ursi_coeff(3, PyIRI.coeff_dir)
        for got, want in zip(first, reference, strict=True):
            np.testing.assert_array_equal(got, want)
        first[0][...] = -1.0  # a caller that writes into its arrays does not change the next caller's
        again = lib.read_ccir_ursi_coeff(3, PyIRI.coeff_dir)
        np.testing.assert_array_equal(again[0], reference[0])
    assert iri.read_ccir_ursi_coeff is original and iri.FortranRecordReader is reader


def test_pyiri_is_imported_without_its_plotting_module_which_stays_importable() -> None:
    import subprocess
    import sys

    code = ("import sys; from plugins.tec.iri import import_pyiri; m = import_pyiri(); "
            "assert 'matplotlib.pyplot' not in sys.modules and 'PyIRI.plotting' not in sys.modules; "
            "assert m.coeff_dir and not hasattr(m, 'plotting'); import PyIRI.plotting as p; "
            "assert callable(p.PyIRI_plot_mag_dip_lat) and m.plotting is p; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
