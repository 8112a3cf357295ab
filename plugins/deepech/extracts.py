"""Labelled DeepECH rows: the ClickHouse table they come from, the extract spec, and the embedded demo table.

Production table (one row per spacecraft minute; documented in the README):

    CREATE TABLE deepech.labelled_minutes (
        time DateTime,                      -- UTC minute of the measurement
        probe String,                       -- spacecraft (e.g. 'rbspa', 'rbspb')
        l_shell Float64, cos_mlt Float64, sin_mlt Float64, cos6_mlat Float64,
        sme_a_00 Float64, …, sme_a_48 Float64, symh_a_00 Float64, …, symh_a_48 Float64,
        sme_b_00 Float64, …, sme_b_60 Float64, symh_b_00 Float64, …, symh_b_60 Float64,
        wave_present UInt8,                 -- 1 where ECH waves were observed in that minute
        amplitude_db Float64                -- wave amplitude in dB where present, NaN where absent
    ) ENGINE = MergeTree ORDER BY (probe, time)

The embedded default holds the same columns: upstream's real sample rows as inputs with SYNTHETIC labels
(``plugins.deepech.synthetic``), stamped with nominal minutes of one day because the sample carries no dates.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from cache.spec import ExtractSpec
from plugins.deepech.schema import COLUMN_NAMES

LABELLED_ROWS = "deepech-labelled-rows"
DEMO_DATABASE = "deepech_demo"
DEMO_TABLE = "synthetic_labelled_minutes"
NOMINAL_DAY = datetime(2015, 1, 1)  # a stand-in: the sample rows carry no dates
TRAIN_END = NOMINAL_DAY + timedelta(hours=17)
"""Temporal split of the embedded day: training (and the climatologies) before 17:00, the held-out test after."""
LABEL_COLUMNS = (("wave_present", "UInt8"), ("amplitude_db", "Float64"))
SCHEMA: tuple[tuple[str, str], ...] = (("time", "DateTime"), ("probe", "String"),
                                        *((c, "Float64") for c in COLUMN_NAMES), *LABEL_COLUMNS)

_SQL = ("SELECT " + ", ".join(name for name, _ in SCHEMA)
        + " FROM {database:Identifier}.{table:Identifier} WHERE time >= {start:DateTime} AND time < {end:DateTime}"
        " ORDER BY time, probe")

LABELLED_ROWS_SPEC = ExtractSpec(
    name=LABELLED_ROWS,
    sql=_SQL,
    description="DeepECH labelled rows, one per spacecraft minute: the 224 input columns, wave_present and "
                "amplitude_db (NaN where absent) between start and end; the embedded default is upstream's real "
                "sample day with SYNTHETIC labels (production: --param database=deepech --param "
                "table=labelled_minutes --param start=… --param end=…)",
    params={"database": DEMO_DATABASE, "table": DEMO_TABLE, "start": NOMINAL_DAY.isoformat(sep=" "),
            "end": (NOMINAL_DAY + timedelta(days=1)).isoformat(sep=" ")},
    schema=SCHEMA,
)


def ddl(database: str, table: str, comment: str = "") -> str:
    """``CREATE TABLE`` of the labelled-rows table (identifiers are the module's constants, never user text)."""
    cols = ",\n    ".join(f"{name} {typ}" for name, typ in SCHEMA)
    tail = f"\nCOMMENT '{comment}'" if comment else ""
    return f"CREATE TABLE {database}.{table} (\n    {cols}\n) ENGINE = MergeTree ORDER BY (probe, time){tail}"


def labelled_table(rows: np.ndarray, present: np.ndarray, amplitude_db: np.ndarray, *,
                   start: datetime = NOMINAL_DAY, probe: str = "sample") -> Any:
    """An Arrow table in the extract's column order: minute stamps from ``start``, the rows and their labels."""
    import pyarrow as pa

    times = np.datetime64(start, "s") + np.arange(len(rows)).astype("timedelta64[m]")
    cols: dict[str, Any] = {"time": pa.array(times.astype("datetime64[s]"), pa.timestamp("s")),
                            "probe": pa.array([probe] * len(rows), pa.string())}
    cols |= {name: pa.array(rows[:, i].astype(np.float64)) for i, name in enumerate(COLUMN_NAMES)}
    cols["wave_present"] = pa.array(np.asarray(present, dtype=np.uint8))
    cols["amplitude_db"] = pa.array(np.asarray(amplitude_db, dtype=np.float64))
    return pa.table(cols)


def load_demo_table(source: Any, rows: np.ndarray, present: np.ndarray, amplitude_db: np.ndarray) -> int:
    """(Re)create the embedded demo table from labelled rows; returns the row count."""
    table = labelled_table(rows, present, amplitude_db)
    source.command(f"CREATE DATABASE IF NOT EXISTS {DEMO_DATABASE}")
    source.command(f"DROP TABLE IF EXISTS {DEMO_DATABASE}.{DEMO_TABLE}")
    source.command(ddl(DEMO_DATABASE, DEMO_TABLE, "SYNTHETIC labels on real DeepECH sample inputs (gated-registry "
                                                  "demo); not observations"))
    source.client.insert_arrow(f"{DEMO_DATABASE}.{DEMO_TABLE}", table)
    return table.num_rows


def table_arrays(table: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(times as datetime64[s], rows (n, 224), wave_present as bool, amplitude_db)`` of an extract."""
    times = np.asarray(table.column("time").to_numpy(zero_copy_only=False)).astype("datetime64[s]")
    rows = np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in COLUMN_NAMES]).astype(np.float64)
    present = table.column("wave_present").to_numpy(zero_copy_only=False).astype(bool)
    amp = table.column("amplitude_db").to_numpy(zero_copy_only=False).astype(np.float64)
    return times, rows, present, amp


def split_mask(times: np.ndarray, end: datetime = TRAIN_END) -> np.ndarray:
    """True for rows of the training window (before ``end``), False for the held-out test window."""
    return times < np.datetime64(end, "s")
