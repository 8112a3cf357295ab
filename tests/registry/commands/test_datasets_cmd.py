"""``registry datasets``, ``train --dataset``, ``predict --out`` and ``demo FAMILY`` for a gridded family (the toy)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from toy_gridded import DATASET, make_case, write_npy

from registry.cli import main


@pytest.fixture
def grid_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REGISTRY_PLUGINS", "toy_gridded")
    return home


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_add_list_and_add_again(grid_home, tmp_path, capsys):
    case = write_npy(make_case(), tmp_path / "case")
    code, out, _ = run(capsys, "datasets", "add", DATASET, str(case), "--tile", "8", "--synthetic", "--json")
    first = json.loads(out)
    assert code == 0 and first["created"] and first["shape"] == [6, 12, 20] and first["attrs"] == {"synthetic": True}
    code, out, _ = run(capsys, "datasets", "add", DATASET, str(case), "--tile", "8", "--synthetic", "--json")
    assert code == 0 and not json.loads(out)["created"] and json.loads(out)["digest"] == first["digest"]
    code, out, _ = run(capsys, "datasets")
    assert code == 0 and f"{DATASET:<24} {first['digest'][:16]}" in out and out.rstrip().endswith("SYNTHETIC")
    code, out, _ = run(capsys, "datasets", "--verify", DATASET)
    assert code == 0 and "all 84 chunks match" in out


@pytest.mark.parametrize(("args", "message"), [
    (["datasets", "add", "Bad", "CASE"], "dataset name 'Bad'"),
    (["datasets", "add", "x", "missing"], "missing does not exist"),
    (["datasets", "add", "x", "CASE", "--tile", "4"], "--tile must be 8…4096"),
    (["datasets", "add", "x", "CASE", "--description", "two\nlines"], "control character"),
    (["datasets", "add", "x", "CASE/a.npy", "CASE/b.npy", "CASE/lat.npy"], "need both lat and lon"),
    (["datasets", "--verify", "nothing"], "'nothing' is not registered"),
    (["datasets", "add", "x", "CASE", "--stats", "CASE/absent.json"], "absent.json does not exist"),
    (["datasets", "add", "x", "CASE", "--stats", "CASE"], "not a JSON file"),
    (["datasets", "add", "x", "ZARR2"], "a Zarr v2 group (.zgroup) is not read"),
    (["datasets", "add", "x", "ATTRS"], "attributes: description contains the control character '\\x1b'"),
])
def test_bad_requests_exit_2_with_one_line_and_register_nothing(grid_home, tmp_path, capsys, args, message):
    case = write_npy(make_case(), tmp_path / "case")
    (tmp_path / "v2.zarr").mkdir()
    (tmp_path / "v2.zarr" / ".zgroup").write_text('{"zarr_format": 2}')
    labelled = write_npy(make_case(), tmp_path / "labelled")
    (labelled / "attrs.json").write_text('{"description": "red \\u001b[31m text", "units": {"a": "K"}}')
    code, out, err = run(capsys, *[a.replace("CASE", str(case)).replace("ZARR2", str(tmp_path / "v2.zarr"))
                                   .replace("ATTRS", str(labelled)) for a in args])
    assert code == 2 and message in err and err.count("\n") == 1
    assert run(capsys, "datasets", "--json")[1] == '{\n  "datasets": []\n}\n'


def test_a_changed_chunk_fails_verify_with_exit_3(grid_home, tmp_path, capsys):
    import zarr

    run(capsys, "datasets", "add", DATASET, str(write_npy(make_case(), tmp_path / "case")), "--tile", "8")
    folder = next(p for p in (grid_home / "datasets").iterdir() if p.is_dir() and not p.name.startswith("."))
    zarr.open_group(folder, mode="r+")["a"][5, 11, 19] += 1
    code, _, err = run(capsys, "datasets", "--verify", DATASET)
    assert code == 3 and "chunk 5.1.2 no longer matches" in err


def test_demo_train_and_predict_to_a_zarr_store(grid_home, tmp_path, capsys):
    code, out, _ = run(capsys, "demo", "toygrid")
    assert code == 0 and "SYNTHETIC" in out and "toygrid@1 is now toygrid@production" in out
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"steps": 50}))
    code, out, _ = run(capsys, "train", "toygrid", "--dataset", DATASET, "--config", str(cfg), "--seed", "3", "--json")
    assert code == 0 and json.loads(out)["lineage"]["datasets"][0]["name"] == DATASET
    (listed,) = json.loads(run(capsys, "datasets", "--json")[1])["datasets"]
    assert listed["pinned_by"] == {"runs": 1, "versions": ["toygrid@1", "toygrid@2"]}
    case = grid_home / "demo" / "synthetic-case"
    ens_path = tmp_path / "ens.zarr"
    args = ["predict", "toygrid@production", "--input", str(case), "--members", "4", "--seed", "1", "--out"]
    code, out, _ = run(capsys, *args, str(ens_path), "--json")
    body = json.loads(out)
    assert code == 0 and body["shape"] == [4, 2, 12, 20] and body["identity"]["seed"] == 1
    from cache.ensembles import open_ensemble

    ens = open_ensemble(ens_path)
    assert ens is not None and ens.digest == body["digest"] and np.isfinite(ens.read()).all()
    code, _, err = run(capsys, *args, str(ens_path))
    assert code == 2 and "exists already" in err
    again = tmp_path / "again.zarr"
    assert run(capsys, *args, str(again), "--option", "time=3")[0] == 0
    assert not np.array_equal(open_ensemble(again).read(), ens.read())  # another condition, another ensemble


def test_predict_from_a_synthetic_input_labels_the_ensemble_synthetic(grid_home, tmp_path, capsys):
    assert run(capsys, "demo", "toygrid")[0] == 0
    labelled = write_npy(make_case(), tmp_path / "labelled")
    (labelled / "synthetic.json").write_text('{"description": "made up"}')
    plain = write_npy(make_case(), tmp_path / "plain")
    runs = {}
    for case in (labelled, plain):
        args = ["predict", "toygrid@production", "--input", str(case), "--members", "2", "--out"]
        code, human, _ = run(capsys, *args, str(tmp_path / f"{case.name}-h.zarr"))
        code_json, body, _ = run(capsys, *args, str(tmp_path / f"{case.name}-j.zarr"), "--json")
        assert code == code_json == 0
        runs[case.name] = (human, json.loads(body)["identity"]["input"])
    assert "SYNTHETIC" in runs["labelled"][0] and runs["labelled"][1]["synthetic"] is True
    assert "SYNTHETIC" not in runs["plain"][0] and "synthetic" not in runs["plain"][1]


def test_predict_out_is_a_described_store_that_xarray_reads(grid_home, tmp_path, capsys):
    import zarr

    assert run(capsys, "demo", "toygrid")[0] == 0
    case = write_npy(make_case(), tmp_path / "labelled")
    (case / "synthetic.json").write_text('{"description": "made up", "units": {"a": "K", "b": "m/s"}}')
    out_path = tmp_path / "ens.zarr"
    args = ["--input", str(case), "--members", "3", "--seed", "2", "--out", str(out_path), "--json"]
    code, out, _ = run(capsys, "predict", "toygrid@production", *args)
    body = json.loads(out)
    group = zarr.open_group(out_path, mode="r")
    attrs = dict(group.attrs)
    assert code == 0 and group["members"].metadata.dimension_names == ("member", "variable", "y", "x")
    assert attrs["variables"] == body["variables"] and attrs["units"] == {"a": "K", "b": "m/s"}
    assert attrs["seed"] == 2 and attrs["sampler"] == body["identity"]["sampler"] and attrs["synthetic"] is True
    assert attrs["version"] == body["version"] and attrs["input"]["name"] == "labelled"
    assert "SYNTHETIC" in attrs["title"]
    assert group["lat"].shape == group["lon"].shape == (12, 20)
    xr = pytest.importorskip("xarray")  # not a dependency; checked where installed
    ds = xr.open_zarr(out_path, consolidated=False)
    assert ds["members"].dims == ("member", "variable", "y", "x") and {"lat", "lon"} <= set(ds.coords)
    assert float(ds["lat"].max()) == pytest.approx(40.0)


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, as a person's shell is."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stderr", "flags", "bar"), [
    (_Terminal, [], True), (_Terminal, ["--no-progress"], False), (io.StringIO, [], False),
], ids=["terminal", "terminal-no-progress", "not-a-terminal"])
def test_train_progress_bar_only_on_a_terminal_and_never_with_no_progress(grid_home, tmp_path, monkeypatch, stderr,
                                                                          flags, bar):
    assert main(["datasets", "add", DATASET, str(write_npy(make_case(), tmp_path / "case")), "--tile", "8"]) == 0
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"steps": 5}))
    monkeypatch.setattr(sys, "stderr", stream := stderr())
    code = main(["train", "toygrid", "--dataset", DATASET, "--config", str(cfg), *flags])
    assert code == 0 and ("toygrid train" in stream.getvalue()) is bar and ("5/5" in stream.getvalue()) is bar


def test_predict_refuses_a_control_character_in_the_input_name(grid_home, tmp_path, capsys):
    assert run(capsys, "demo", "toygrid")[0] == 0
    case = write_npy(make_case(), tmp_path / "case\x1b[31m")
    code, _, err = run(capsys, "predict", "toygrid@production", "--input", str(case), "--out", str(tmp_path / "e.zarr"))
    assert code == 2 and "--input file name contains the control character '\\x1b'" in err and err.count("\n") == 1
    assert not (tmp_path / "e.zarr").exists() and not list(tmp_path.glob(".tmp-*"))


@pytest.mark.parametrize(("extra", "message"), [
    (["--members", "0", "--out", "OUT"], "--members must be 1…10000"),
    (["--steps", "0", "--out", "OUT"], "--steps must be ≥ 1"),
    (["--option", "time=99", "--out", "OUT"], "time must be an index in 0…5"),
    (["--out", "NOFOLDER/e.zarr"], "does not exist"),
    (["--members", "4"], "--members only apply with --out"),
    ([], "generates ensembles of arrays: give --out"),
])
def test_predict_refusals_write_nothing(grid_home, tmp_path, capsys, extra, message):
    assert run(capsys, "demo", "--family", "toygrid")[0] == 0
    case = grid_home / "demo" / "synthetic-case"
    args = [a.replace("NOFOLDER", str(tmp_path / "no")).replace("OUT", str(tmp_path / "e.zarr")) for a in extra]
    code, _, err = run(capsys, "predict", "toygrid@production", "--input", str(case), *args)
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "e.zarr").exists() and not list(tmp_path.glob(".tmp-*"))


def test_demo_refuses_two_different_families(grid_home, capsys):
    code, _, err = run(capsys, "demo", "toygrid", "--family", "ionis")
    assert code == 2 and "two families given" in err


def test_ensembles_lists_and_prunes_only_what_no_stored_run_pins(grid_home, capsys):
    from cache.ensembles import EnsembleStore, identity

    assert run(capsys, "demo", "toygrid")[0] == 0
    store = EnsembleStore(grid_home)
    ident = identity(version_id="x" * 64, condition="c", sampler={}, seed=0, device="cpu", members=2,
                     variables=["a"], grid=(3, 4))
    loose, _ = store.ensure(ident, lambda ids: np.zeros((len(ids), 1, 3, 4)))
    dead = store.root / ".tmp-999999999-abcd"  # a writer that died (no such pid)
    (dead / "members").mkdir(parents=True)
    code, out, _ = run(capsys, "ensembles", "--json")
    rows = {r["key"]: r for r in json.loads(out)["ensembles"]}
    assert code == 0 and len(rows) == 2 and not rows[loose.key]["pinned"]
    pinned = next(r for k, r in rows.items() if k != loose.key)
    assert pinned["pinned"] and pinned["version"] == "toygrid@1" and pinned["shape"] == [5, 2, 12, 20]
    code, out, _ = run(capsys, "ensembles", "--prune", "--dry-run", "--json")
    assert sorted(r["folder"] for r in json.loads(out)["removed"]) == sorted([dead.name, loose.key])
    assert loose.path.exists() and dead.exists()
    assert run(capsys, "ensembles", "--prune")[0] == 0
    assert not loose.path.exists() and not dead.exists() and store.get(pinned["key"]) is not None
    code, out, _ = run(capsys, "verify", "toygrid@production")
    assert code == 0 and "REPRODUCED" in out and len(store.list()) == 1  # verify read the pinned one from disk


def test_a_dataset_with_other_dimensions_lists_them_beside_its_shape(grid_home, capsys):
    from cache.datasets import DatasetStore
    from cache.gridded_input import GriddedInput

    table = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)  # SYNTHETIC lookup table
    DatasetStore(grid_home).register("table", GriddedInput({"v": table}, attrs={"synthetic": True},
                                                           dims=("key", "hour", "bucket")))
    DatasetStore(grid_home).register("flat", GriddedInput({"v": table}, attrs={"synthetic": True}))
    code, out, _ = run(capsys, "datasets")
    assert code == 0 and "2×3×4 (key,hour,bucket)" in out and "2×3×4 " in out.splitlines()[2]
    assert "(time" not in out
    code, out, _ = run(capsys, "datasets", "--verify", "table")
    assert code == 0 and "all 2 chunks match" in out
