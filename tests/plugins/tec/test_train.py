"""Training: temporal windows from the config (refused when they overlap), a seeded run, the split in the lineage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from plugins.tec.synthetic import synthetic_rows
from plugins.tec.train import TrainConfig, train
from registry.errors import InvalidInput

TINY = {"conv1": 4, "conv2": 4, "lstm1": 2, "attention_heads": 2, "lstm2": 2, "dense1": 4, "dense2": 4,
        "binary_hidden": 2, "probability_hidden": 2, "tec_hidden": 4, "uncertainty_hidden": 2}
WINDOWS = {"train": ["2021-01-01", "2021-02-01"], "validation": ["2021-02-01", "2021-02-15"]}


@pytest.mark.parametrize("bad, match", [
    ({"windows": {"train": ["2021-01-01", "2021-03-01"], "validation": ["2021-02-01", "2021-04-01"]}},
     "validation window must start after"),
    ({"windows": {"train": ["2021-01-01", "2021-01-01"], "validation": ["2021-02-01", "2021-04-01"]}}, "empty"),
    ({"windows": {"train": ["2021-01-01", "2021-02-01"]}}, "validation"),
    ({"windows": WINDOWS, "epochs": 0}, "epochs 1-1000"),
    ({"windows": WINDOWS, "model": {"conv9": 3}}, "unknown TecConfig"),
])
def test_bad_configs_are_one_error(bad: dict, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        TrainConfig.from_json(bad)


def test_a_seeded_run_records_a_temporal_split_that_ends_before_validation() -> None:
    rows = synthetic_rows("2021-01-01", "2021-02-15", seed=1)
    config = TrainConfig.from_json({"windows": WINDOWS, "model": TINY, "epochs": 1, "batch_size": 64, "stride": 4})
    model, facts = train(rows, config, epochs=None, seed=3, device="cpu", progress=False)
    split = facts["split"]
    assert split["method"] == "temporal" and split["train"]["first"] >= "2021-01-01T23"
    assert split["train"]["last"] <= "2021-02-01T00:00:00" < split["validation"]["first"] + "Z"
    assert facts["epochs_run"] == 1 and np.isfinite(facts["metrics"]["validation_rmse_tecu"])
    again, _ = train(rows, config, epochs=None, seed=3, device="cpu", progress=False)
    for (k, a), b in zip(model.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


@pytest.fixture(scope="module")
def boundary_tables(engine: Any) -> dict[str, str]:
    """Real Kp/F10.7 and SYNTHETIC TEC and solar wind for 2021-12-01 … 2022-01-12: 31 days of the extract's
    training window and 11 of its validation window, one station."""
    import pyarrow as pa

    from cache.indices import load_indices
    from plugins.tec.synthetic import synthetic_drivers, synthetic_tec

    db = "tec_windows"
    if not engine.client.query("EXISTS TABLE indices.kp3h").result_rows[0][0]:
        load_indices(engine)
    engine.command(f"DROP DATABASE IF EXISTS {db}")
    engine.command(f"CREATE DATABASE {db}")
    for t, col in (("kp3h", "time"), ("daily", "date")):
        engine.command(f"CREATE TABLE {db}.{t} AS indices.{t}")
        engine.command(f"INSERT INTO {db}.{t} SELECT * FROM indices.{t} WHERE {col} >= '2021-11-01' "
                       f"AND {col} < '2022-03-01'")
    engine.command(f"CREATE TABLE {db}.tec (time DateTime64(0, 'UTC'), station String, lat Float64, lon Float64, "
                   "tec Float32, tec_std Float32) ENGINE = MergeTree ORDER BY (station, time)")
    engine.command(f"CREATE TABLE {db}.omni (time DateTime64(0, 'UTC'), dst Nullable(Float32), flow_speed "
                   "Nullable(Float32), proton_density Nullable(Float32), bz_gsm Nullable(Float32)) "
                   "ENGINE = MergeTree ORDER BY time")
    hours = np.arange(np.datetime64("2021-12-01", "h").astype(np.int64),
                      np.datetime64("2022-01-12", "h").astype(np.int64))
    d = synthetic_drivers(hours, seed=1)
    tec, std = synthetic_tec(hours, 45.0, 10.0, d, seed=2)
    time = pa.array(hours.astype("datetime64[h]").astype("datetime64[s]"), pa.timestamp("s", tz="UTC"))
    engine.client.insert_arrow(f"{db}.tec", pa.table({
        "time": time, "station": ["SYN1"] * len(hours), "lat": np.full(len(hours), 45.0),
        "lon": np.full(len(hours), 10.0), "tec": tec.astype(np.float32), "tec_std": std.astype(np.float32)}))
    engine.client.insert_arrow(f"{db}.omni", pa.table({"time": time, **{c: d[k].astype(np.float32) for c, k in (
        ("dst", "dst"), ("flow_speed", "sw_speed"), ("proton_density", "sw_density"), ("bz_gsm", "bz"))}}))
    return {"database": db, "table": "tec", "omni_database": db, "omni_table": "omni", "indices_database": db}


def test_registry_train_hands_the_extracts_train_and_validation_windows_and_records_both(
        home: Path, tmp_path: Path, boundary_tables: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    from cache.store import ExtractCache
    from registry.cli import main
    from registry.store import Store

    config = tmp_path / "tec.json"
    config.write_text(json.dumps({"model": TINY, "epochs": 1, "batch_size": 64, "stride": 4}))
    params = [a for k, v in boundary_tables.items() for a in ("--param", f"{k}={v}")]
    assert main(["train", "tec", "--config", str(config), "--extract", "tec-hourly", *params]) == 0
    capsys.readouterr()
    (version,) = Store(home).versions()
    extracts = version.lineage["extracts"]
    assert [(e["split"], e["rows"]) for e in extracts] == [("train", 31 * 24), ("validation", 11 * 24)]
    for e in extracts:
        ref = ExtractCache(home).by_key(e["key"])
        assert ref is not None and ref.digest == e["digest"] and ref.meta["split"] == e["split"]
    split = version.lineage["training"]["split"]
    assert split["windows_from"] == "extract" and "window" not in split["validation"]
    # each window is cut at its bounds: the first issue hour has its 24 inputs and the hour before inside it
    assert split["train"]["first"] == "2021-12-02T00:00:00" and split["train"]["last"] <= "2022-01-01T00:00:00"
    assert split["validation"]["first"] == "2022-01-02T00:00:00"
    assert split["validation"]["last"] == "2022-01-11T23:00:00"
    assert split["validation"]["samples"] == 11 * 24 - 25 - 24 + 1


def test_registry_train_refuses_an_extract_without_the_windows_and_a_config_naming_its_own(
        home: Path, tmp_path: Path, boundary_tables: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    from registry.cli import main
    from registry.store import Store

    config = tmp_path / "tec.json"
    config.write_text(json.dumps({"model": TINY, "windows": WINDOWS}))
    assert main(["train", "tec", "--config", str(config), "--extract", "toy-obs"]) == 2
    err = capsys.readouterr().err
    assert "extract 'toy-obs' declares no split window 'train', 'validation', which family 'tec' trains on" in err
    params = [a for k, v in boundary_tables.items() for a in ("--param", f"{k}={v}")]
    assert main(["train", "tec", "--config", str(config), "--extract", "tec-hourly", *params]) == 2
    assert "remove `windows` from the config" in capsys.readouterr().err
    assert not (home / "catalog.duckdb").exists() or not Store(home).versions()
