"""plugins.deepech.inputs and `registry predict deepech@…`: pickle (arrays only), .npy, Parquet and CSV rows."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from clirun import REPO, run_cli

from plugins.deepech.inputs import read_rows
from plugins.deepech.schema import COLUMN_NAMES
from registry.errors import InvalidInput


class _Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch pwned-by-deepech-rows",))


def test_every_format_gives_the_same_rows(tmp_path: Path, sample_rows: np.ndarray) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = sample_rows[:5]
    (tmp_path / "r.pkl").write_bytes(pickle.dumps(rows))
    np.save(tmp_path / "r.npy", rows)
    pq.write_table(pa.table({c: rows[:, i] for i, c in enumerate(COLUMN_NAMES)} | {"time": list(range(5))}),
                   tmp_path / "r.parquet")
    np.savetxt(tmp_path / "r.csv", rows, delimiter=",", header=",".join(COLUMN_NAMES), comments="", fmt="%.17g")
    np.savetxt(tmp_path / "plain.csv", rows, delimiter=",", fmt="%.17g")
    for name in ("r.pkl", "r.npy", "r.parquet", "r.csv", "plain.csv"):
        np.testing.assert_array_equal(read_rows(tmp_path / name), rows, err_msg=name)


def test_bad_files_are_one_clear_error(tmp_path: Path, sample_rows: np.ndarray) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    np.save(tmp_path / "obj.npy", np.array([None] * 224, dtype=object)[None, :])
    pq.write_table(pa.table({c: [1.0] for c in COLUMN_NAMES[:-1]}), tmp_path / "short.parquet")
    (tmp_path / "hdr.csv").write_text("a,b\n1,2\n")
    (tmp_path / "rows.txt").write_text("1\n")
    (tmp_path / "dict.pkl").write_bytes(pickle.dumps({"rows": sample_rows[:2]}))
    cases = {"obj.npy": "not a plain .npy", "short.parquet": "1 input column\\(s\\) missing, first 'symh_b_60'",
             "hdr.csv": "header must name", "rows.txt": "inputs are", "dict.pkl": "holds a dict"}
    for name, msg in cases.items():
        with pytest.raises(InvalidInput, match=msg):
            read_rows(tmp_path / name)


def test_code_carrying_pickle_is_refused_by_predict_and_nothing_runs(tmp_path: Path, home: Path,
                                                                      majority_pair: dict[str, Path],
                                                                      sample_rows: np.ndarray) -> None:
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps([sample_rows[:2], _Boom()]))
    reg = run_cli("register", "deepech", str(majority_pair["classifier"]), f"regressor={majority_pair['regressor']}")
    assert reg.returncode == 0, reg.stderr
    out = run_cli("predict", "deepech@1", "--input", str(tmp_path / "evil.pkl"), "--json", env={"HOME": str(tmp_path)})
    assert out.returncode == 2
    assert "evil.pkl: refused, the pickle would import posix.system" in out.stdout + out.stderr
    assert not (REPO / "pwned-by-deepech-rows").exists()  # the child's working folder


def test_real_pickle_predicts_through_the_cli(home: Path, majority_pair: dict[str, Path], sample_path: Path) -> None:
    assert run_cli("register", "deepech", str(majority_pair["classifier"]),
                   f"regressor={majority_pair['regressor']}").returncode == 0
    out = run_cli("predict", "deepech@1", "--input", str(sample_path), "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert len(body["rows"]) == 1440 and body["summary"] == {"rows": 1440, "present": 0}
    assert all(r["amplitude_db"] is None and r["logit"] == pytest.approx(-4.0) for r in body["rows"])
