"""The embedded demo's data: a deterministic SYNTHETIC signature table driven by real Kp/F10.7, and its config.

The signal-to-noise values are made up from a small physical caricature (solar elevation at both ends,
an F-layer MUF that rises with SFI and daylight, D-layer absorption of the low bands by day, a Kp penalty,
distance loss, seeded noise) so that bands open and close plausibly. They are not observations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from plugins.ionis.bands import SPEC_DIAL_HZ, SPEC_WSPR_NORM
from plugins.ionis.extracts import WSPR_SIGNATURES
from plugins.ionis.geo import grid_centroid, haversine_km, initial_bearing_deg, solar_elevation_deg

DATABASE = "demo"
TABLE = "synthetic_signatures"
ROWS = 120_000
SEED = 2026
GRIDS = ("FN20", "FN31", "FN42", "EM73", "EM12", "DM79", "DN46", "CN87", "EL29", "FM18", "DM04", "EN52",
         "JO01", "JO62", "IO91", "JN48", "JN58", "KP20", "KN04", "IM58", "PM95", "QF56", "RE78", "GG66",
         "FF46", "LK04", "OL72", "BL11", "KH74", "JO20", "IN80", "KO85", "PL02", "QM06", "GF05", "KG33")
V22_FEATURES = ("distance", "freq_log", "hour_sin", "hour_cos", "az_sin", "az_cos", "lat_diff", "midpoint_lat",
                "season_sin", "season_cos", "vertex_lat", "tx_solar_dep", "rx_solar_dep", "freq_x_tx_dark",
                "freq_x_rx_dark", "sfi", "kp_penalty")
_DDL = f"""CREATE TABLE {DATABASE}.{TABLE} (
    tx_grid_4 FixedString(4), rx_grid_4 FixedString(4), band Int32, hour UInt8, month UInt8,
    median_snr Float32, spot_count UInt32, snr_std Float32, reliability Float32, avg_sfi Float32,
    avg_kp Float32, avg_distance UInt32, avg_azimuth UInt16)
ENGINE = MergeTree ORDER BY (band, hour, tx_grid_4, rx_grid_4)
COMMENT 'SYNTHETIC demo signatures made by gated-registry from real Kp/F10.7; not observations'"""


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def synthesize(days: Any, rows: int = ROWS, seed: int = SEED) -> dict[str, np.ndarray]:
    """Signature columns for ``rows`` paths; ``days`` holds real daily ``date``, ``f107_obs`` and ``kp_sum``."""
    rng = np.random.default_rng(seed)
    grids = np.array(GRIDS)
    tx = rng.integers(0, len(grids), rows)
    rx = (tx + rng.integers(1, len(grids), rows)) % len(grids)
    band = rng.integers(102, 112, rows)
    hour = rng.integers(0, 24, rows)
    pick = rng.integers(0, len(days["date"]), rows)
    dates = np.asarray(days["date"], dtype="datetime64[D]")[pick]
    month = dates.astype("datetime64[M]").astype(int) % 12 + 1
    doy = (dates - dates.astype("datetime64[Y]")).astype(int) + 1
    sfi = np.asarray(days["f107_obs"], dtype=np.float64)[pick]
    kp = np.asarray(days["kp_sum"], dtype=np.float64)[pick] / 8.0
    tlat, tlon = grid_centroid(grids[tx])
    rlat, rlon = grid_centroid(grids[rx])
    dist = haversine_km(tlat, tlon, rlat, rlon)
    az = initial_bearing_deg(tlat, tlon, rlat, rlon)
    f = np.array([SPEC_DIAL_HZ[int(b)] for b in band]) / 1e6
    light = 0.5 * (_sigmoid(solar_elevation_deg(tlat, tlon, hour, doy) / 4.0)
                   + _sigmoid(solar_elevation_deg(rlat, rlon, hour, doy) / 4.0))
    solar = np.sqrt(sfi / 150.0)
    muf = 7.0 + 26.0 * light * solar + 3.0 * (1.0 - light) * solar
    open_ = _sigmoid((muf - f) / 1.5)
    absorption = 14.0 * light * (5.0 / f) ** 1.2
    storm = (0.6 + 0.08 * f) * kp
    snr = (-24.0 + 20.0 * open_ - absorption - 5.0 * np.log10(1.0 + dist / 2000.0) - storm
           + rng.normal(0.0, 2.5, rows))
    return {
        "tx_grid_4": grids[tx], "rx_grid_4": grids[rx], "band": band.astype(np.int32),
        "hour": hour.astype(np.uint8), "month": month.astype(np.uint8),
        "median_snr": np.clip(snr, -35.0, 15.0).astype(np.float32),
        "spot_count": rng.integers(3, 200, rows).astype(np.uint32),
        "snr_std": np.abs(rng.normal(3.0, 1.0, rows)).astype(np.float32),
        "reliability": open_.astype(np.float32), "avg_sfi": sfi.astype(np.float32), "avg_kp": kp.astype(np.float32),
        "avg_distance": dist.astype(np.uint32), "avg_azimuth": az.astype(np.uint16),
    }


def load_synthetic(source: Any, rows: int = ROWS, seed: int = SEED) -> int:
    """(Re)create ``demo.synthetic_signatures`` in the ClickHouse ``source`` from the real ``indices.daily``."""
    import pyarrow as pa

    days = source.client.query_arrow(
        "SELECT date, f107_obs, kp_sum FROM indices.daily WHERE date >= {start:Date} AND date < {end:Date} "
        "AND f107_obs BETWEEN 50 AND 400 ORDER BY date", parameters={"start": "2012-01-01", "end": "2025-01-01"})
    cols = {name: days.column(name).to_numpy(zero_copy_only=False) for name in ("date", "f107_obs", "kp_sum")}
    table = pa.table(synthesize(cols, rows, seed))
    table = table.set_column(0, "tx_grid_4", pa.array([g.encode() for g in table["tx_grid_4"].to_pylist()],
                                                      pa.binary(4)))
    table = table.set_column(1, "rx_grid_4", pa.array([g.encode() for g in table["rx_grid_4"].to_pylist()],
                                                      pa.binary(4)))
    source.command(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    source.command(f"DROP TABLE IF EXISTS {DATABASE}.{TABLE}")
    source.command(_DDL)
    source.client.insert_arrow(f"{DATABASE}.{TABLE}", table)
    return table.num_rows


def demo_config() -> dict[str, Any]:
    """A V22-shaped config for the demo: the spec's features, bands and norm constants, the spec's V22
    validation thresholds, and a faster learning rate than upstream so a CPU run of a minute learns something."""
    return {
        "version": "v22-demo", "variant": "synthetic demo",
        "model": {"architecture": "IonisGate", "dnn_dim": 15, "sfi_idx": 15, "kp_penalty_idx": 16},
        "features": list(V22_FEATURES),
        "band_to_hz": {str(b): hz for b, hz in SPEC_DIAL_HZ.items()},
        "norm_constants_per_band": {str(b): {"wspr": {"mean": m, "std": s}} for b, (m, s) in SPEC_WSPR_NORM.items()},
        "training": {"epochs": 12, "batch_size": 2048, "val_split": 0.2, "trunk_lr": 2e-3, "scaler_lr": 2e-3,
                     "sidecar_lr": 2e-3, "weight_decay": 1e-5, "lambda_var": 0.001, "huber_delta": 1.0},
        "validation": {"pearson_min": 0.46, "kp_storm_min": 1.0, "sfi_benefit_min": 0.4, "tst900_min": 8},
    }


def prepare(source: Any, workdir: Path) -> tuple[Path, dict[str, Any], int]:
    """Load the synthetic table, write the demo config; return (config path, extract params, row count)."""
    n = load_synthetic(source)
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "ionis_demo_config.json"
    config.write_text(json.dumps(demo_config(), indent=2, sort_keys=True))
    return config, {"database": DATABASE, "table": TABLE, "seed": SEED, "sample_ppm": 1_000_000}, n  # every row


EXTRACT = WSPR_SIGNATURES
