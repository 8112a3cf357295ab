"""plugins.deepech.extracts: the labelled-rows table in the embedded ClickHouse, through the extract cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from plugins.deepech.extracts import (
    DEMO_DATABASE,
    DEMO_TABLE,
    LABELLED_ROWS_SPEC,
    SCHEMA,
    ddl,
    load_demo_table,
    split_mask,
    table_arrays,
)


def test_ddl_names_every_column_once() -> None:
    text = ddl("db", "t", "SYNTHETIC")
    assert len(SCHEMA) == 228 and text.count("Float64") == 225
    assert "ORDER BY (probe, time)" in text and "COMMENT 'SYNTHETIC'" in text
    assert set(LABELLED_ROWS_SPEC.placeholders()) == {"database", "table", "start", "end"}


def test_round_trip_through_the_engine_and_cache(engine: Any, tmp_path: Path, sample_rows: np.ndarray) -> None:
    from cache.store import ExtractCache

    rows = sample_rows[:90]
    present = (np.arange(90) % 3 == 0).astype(np.uint8)
    amp = np.where(present == 1, 20.0 + np.arange(90) / 10, np.nan)
    assert load_demo_table(engine, rows, present, amp) == 90
    assert "SYNTHETIC" in str(engine.client.query(
        "SELECT comment FROM system.tables WHERE database = {d:String} AND name = {t:String}",
        parameters={"d": DEMO_DATABASE, "t": DEMO_TABLE}).result_rows[0][0])
    cache = ExtractCache(tmp_path / "home")
    ref = cache.materialise(LABELLED_ROWS_SPEC, {"end": "2015-01-01 01:00:00"}, source=engine, progress=False)
    assert ref.rows == 60  # one hour of minutes: the end is exclusive
    times, got, got_present, got_amp = table_arrays(cache.read(ref, verify=True))
    np.testing.assert_array_equal(got, rows[:60])
    np.testing.assert_array_equal(got_present, present[:60].astype(bool))
    np.testing.assert_array_equal(np.isnan(got_amp), np.isnan(amp[:60]))
    assert str(times[0]) == "2015-01-01T00:00:00" and str(times[59]) == "2015-01-01T00:59:00"
    engine.command(f"DROP DATABASE IF EXISTS {DEMO_DATABASE}")


def test_split_is_temporal() -> None:
    t = np.array(["2015-01-01T16:59:59", "2015-01-01T17:00:00"], dtype="datetime64[s]")
    assert split_mask(t).tolist() == [True, False]
