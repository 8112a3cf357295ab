"""Batched inference and the CSV front end of ``registry predict``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plugins.ionis.features import PathBatch
from plugins.ionis.physics import MONTH_START_DOY
from plugins.ionis.predict import override_summary, predict_rows, predict_sigma
from registry.errors import InvalidInput

HEADER = "tx_grid,rx_grid,band,freq_mhz,hour_utc,month,day_of_year,sfi,kp\n"
ROWS = ("DN46,JN48,10m,,2,2,45,150,2\n"      # KI7MT acid test: night on 10 m, override rule A
        "DN46,JN48,10m,,16,11,319,150,2\n"   # daytime 10 m
        "DN46,PM95,,7.0386,10,10,288,100,2\n")  # band from frequency


@pytest.fixture
def paths_csv(tmp_path):
    path = tmp_path / "paths.csv"
    path.write_text(HEADER + ROWS)
    return path


def test_v20_rows_have_sigma_and_db_but_no_override(release, paths_csv):
    rows = predict_rows(release("v20"), paths_csv)
    assert [r["band"] for r in rows] == ["10m", "10m", "40m"]
    assert rows[0]["sigma"] == pytest.approx(2.2904, abs=1e-3)  # KI7MT-005 raw, as measured by the KI7MT gate
    assert rows[0]["db"] == pytest.approx(rows[0]["sigma"] * 6.5 - 17.86, abs=1e-2)
    assert "override_rule" not in rows[0]


def test_v22_rows_report_the_override(random_bundle, paths_csv):
    rows = predict_rows(random_bundle, paths_csv)
    assert rows[0]["override_rule"] == "A" and rows[0]["override_sigma"] == -2.0
    assert rows[1]["override_rule"] is None and rows[1]["override_sigma"] == rows[1]["sigma"]
    assert override_summary(rows) == {"A": 1}


def test_batched_equals_row_by_row(random_bundle):
    rng = np.random.default_rng(1)
    n = 300
    doy = rng.integers(1, 366, n)
    month = np.searchsorted(MONTH_START_DOY, doy, side="right")
    batch = PathBatch(rng.uniform(-60, 60, n), rng.uniform(-180, 180, n), rng.uniform(-60, 60, n),
                      rng.uniform(-180, 180, n), rng.uniform(1.8, 30, n), rng.integers(0, 24, n),
                      month, doy, rng.uniform(60, 300, n), rng.uniform(0, 9, n))
    whole = predict_sigma(random_bundle, batch, chunk_rows=128)
    one = [predict_sigma(random_bundle, PathBatch(*(getattr(batch, f)[i] for f in batch.__dataclass_fields__)))[0]
           for i in range(0, n, 37)]
    assert whole[::37] == pytest.approx(one, abs=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu(random_bundle):
    batch = PathBatch(39.14, -77.01, 51.5, -0.12, np.linspace(1.9, 29, 50), 14, 12, 355, 150, 2)
    assert predict_sigma(random_bundle, batch, device="cuda") == pytest.approx(
        predict_sigma(random_bundle, batch, device="cpu"), abs=1e-4)
    random_bundle.module.to("cpu")


@pytest.mark.parametrize(("row", "message"), [
    ("DN46,JN48,10m,,2,2,45,150,12\n", r"row 1: column 'kp': 12 is outside the physical range 0–9"),
    ("DN46,XX99,10m,,2,2,45,150,2\n", r"row 1: column 'rx_grid': 'XX99' is not a Maidenhead grid"),
    ("DN46,JN48,,31.5,2,2,45,150,2\n", r"row 1: column 'freq_mhz': 31.5 is outside .* 1.8–30 MHz"),
    ("DN46,JN48,11m,,2,2,45,150,2\n", r"row 1: column 'band': unknown band '11m'"),
    ("DN46,JN48,10m,,2,2,45,abc,2\n", r"row 1: column 'sfi': 'abc' is not a number"),
    ("DN46,JN48,10m,,2,2,45,nan,2\n", r"row 1: column 'sfi': nan is outside"),
    ("DN46,JN48,,,2,2,45,150,2\n", r"row 1: needs a 'band' or a 'freq_mhz' value"),
    ("DN46,JN48,10m,,2,1,200,150,2\n", r"row 1: day_of_year 200 is not in month 1"),
])
def test_bad_rows_are_named(tmp_path, random_bundle, row, message):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + ROWS.splitlines(keepends=True)[0] + row)
    with pytest.raises(InvalidInput, match=message):
        predict_rows(random_bundle, path)


def test_missing_columns(tmp_path, random_bundle):
    path = tmp_path / "bad.csv"
    path.write_text("tx_grid,rx_grid,hour_utc\nDN46,JN48,2\n")
    with pytest.raises(InvalidInput, match="missing column.*month.*band or freq_mhz"):
        predict_rows(random_bundle, path)


def test_predict_command_reports_override_counts_by_rule(random_bundle, paths_csv, tmp_path):
    from plugins.ionis.family import IonisFamily

    rows = predict_rows(random_bundle, paths_csv)
    summary = IonisFamily().summarise(rows)
    assert summary == {"rows": 3, "override_changed": 1, "override_by_rule": "A=1"}
    assert IonisFamily().summarise([{"sigma": 0.1}]) == {"rows": 1}
