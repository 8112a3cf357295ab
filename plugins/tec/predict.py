"""``registry predict tec@…``: 24 TEC leads and storm probabilities per window of a drivers file (Parquet or CSV)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from plugins.tec.bundle import TecBundle
from plugins.tec.features import DRIVER_COLUMNS, compute_features
from plugins.tec.sequences import build_samples
from registry.errors import InvalidInput

MAX_ROWS = 5_000_000


def read_drivers(path: Path) -> dict[str, np.ndarray]:
    """The driver columns of a ``.parquet`` or ``.csv`` file (``InvalidInput`` on a missing column or bad value)."""
    import pyarrow as pa

    path = Path(path)
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        elif path.suffix == ".csv":
            import pyarrow.csv as pcsv

            table = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(
                column_types={"time": pa.timestamp("s", tz="UTC")}))
        else:
            raise InvalidInput(f"{path.name}: drivers must be .parquet or .csv")
    except (OSError, pa.ArrowInvalid) as exc:
        raise InvalidInput(f"{path.name}: not a readable drivers file ({str(exc).splitlines()[0][:200]})") from None
    if table.num_rows > MAX_ROWS:
        raise InvalidInput(f"{path.name}: {table.num_rows:,} rows, more than {MAX_ROWS:,}")
    missing = [c.name for c in DRIVER_COLUMNS if c.name not in table.column_names]
    if missing:
        raise InvalidInput(f"{path.name}: lacks column(s) {', '.join(missing)}")
    from plugins.tec.evaluation import arrow_columns

    try:
        return arrow_columns(table)
    except (ValueError, TypeError, pa.ArrowInvalid) as exc:
        raise InvalidInput(f"{path.name}: a column does not hold numbers ({exc})") from None


def predict_rows(bundle: TecBundle, path: Path) -> list[dict[str, Any]]:
    """One dict per complete window (24 consecutive hours after a first hour that gives the differences): the
    location, issue time, ``tec_+1h`` … ``tec_+24h`` (TECU), ``storm_p_+1h`` … and the storm and uncertainty heads."""
    columns = read_drivers(path)
    features = compute_features(columns)
    config = bundle.model.config
    samples = build_samples(features, columns["tec"], steps=config.steps, leads=config.leads, need_targets=False)
    out = bundle.forecast(samples.x)
    rows = []
    for i, r in enumerate(samples.issue_row.tolist()):
        row: dict[str, Any] = {"lat": float(columns["lat"][r]), "lon": float(columns["lon"][r]),
                               "issue_time": str(columns["time"][r]) + "Z"}
        row.update({f"tec_+{k + 1}h": round(float(v), 3) for k, v in enumerate(out["tec"][i])})
        row.update({f"storm_p_+{k + 1}h": round(float(v), 4) for k, v in enumerate(out["storm_probability"][i])})
        row.update(storm=round(float(out["storm"][i]), 4), uncertainty=round(float(out["uncertainty"][i]), 4))
        rows.append(row)
    return rows
