"""The tec family through the core: registered as a built-in, validation facts, predict on Parquet and CSV drivers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
import torch
from tec_keras_fixture import TINY, keras_arrays

from plugins.tec.checkpoint import save_checkpoint
from plugins.tec.family import TecFamily
from plugins.tec.model import TecV21
from plugins.tec.synthetic import synthetic_rows
from registry.errors import InvalidCheckpoint, InvalidInput
from registry.family import DescribedInputs, Family, TrainableFamily
from registry.plugins import get_plugin_manager


def test_registered_as_a_built_in_with_its_suite_extract_and_input_columns() -> None:
    plugins = get_plugin_manager(entry_points=False)
    family = plugins.family("tec")
    assert isinstance(family, Family) and isinstance(family, TrainableFamily) and isinstance(family, DescribedInputs)
    assert family.default_suite == "tec-release" and "tec-hourly" in plugins.extracts()
    names = [c.name for c in family.input_columns]
    assert names[:4] == ["time", "lat", "lon", "tec"] and "f107_81" in names


def _drivers(tmp_path: Path, hours: int, suffix: str) -> Path:
    rows = synthetic_rows("2021-03-01", "2021-06-01", seed=2)
    table = pa.table({k: pa.array(v[:hours]) for k, v in rows.items()})
    table = table.set_column(0, "time", pa.array(rows["time"][:hours], pa.timestamp("s", tz="UTC")))
    path = tmp_path / f"drivers{suffix}"
    (pq.write_table if suffix == ".parquet" else pcsv.write_csv)(table, path)
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_predict_gives_24_leads_per_complete_window(tmp_path: Path, suffix: str) -> None:
    torch.manual_seed(0)
    weights = save_checkpoint(TecV21(TINY), tmp_path / "w.safetensors")
    family = TecFamily()
    facts = family.validate({"weights": weights})
    assert facts["parameters"] == sum(p.numel() for p in TecV21(TINY).parameters())
    bundle = family.load({"weights": weights})
    rows = family.predict(bundle, _drivers(tmp_path, 27, suffix))
    assert len(rows) == 3  # 27 hours: the first gives the differences, then windows ending at hours 24, 25, 26
    assert rows[0]["issue_time"] == "2021-03-02T00:00:00Z" and "tec_+24h" in rows[0] and "storm_p_+1h" in rows[0]
    assert all(np.isfinite(rows[0][f"tec_+{k}h"]) for k in range(1, 25))
    with pytest.raises(InvalidInput, match="24 consecutive hours"):
        family.predict(bundle, _drivers(tmp_path, 24, suffix))


def test_keras_weights_register_and_bad_files_are_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "upstream.npz", **keras_arrays())
    facts = TecFamily().validate({"weights": tmp_path / "upstream.npz"})
    assert facts["weights_source"] == "keras" and facts["parameter_convention"].startswith("keras")
    (tmp_path / "w.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(InvalidCheckpoint, match="not a readable safetensors"):
        TecFamily().validate({"weights": tmp_path / "w.safetensors"})
    with pytest.raises(InvalidInput, match="must be .parquet or .csv"):
        TecFamily().predict(None, tmp_path / "upstream.npz")
