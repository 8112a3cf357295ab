"""The IRI atlas as a registered dataset, through the CLI: registering V23 without it is refused naming it and the
command that builds it; a gate run pins its digest; ``verify`` re-reads exactly that content and reports a change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("PyIRI", reason="building the IRI atlas needs pyiri (a test extra)")

from plugins.ionis.release_suites import V23_SUITE  # noqa: E402  (after the skip)
from registry.cli import main  # noqa: E402

NAME = "ionis-iri-atlas.round18.70-by-10"


def _register(files: dict[str, Path]) -> int:
    return main(["register", "ionis", str(files["weights"]), "--config", str(files["config"])])


def test_registering_v23_without_its_atlas_is_refused_naming_the_dataset_and_the_command(v23_files, tmp_path,
                                                                                       monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("REGISTRY_HOME", str(home))
    (home / "ionis-atlas").mkdir(parents=True)  # an atlas file cached before the atlas was a dataset: not read
    (home / "ionis-atlas" / "0123.npz").write_bytes(b"old")
    assert _register(v23_files) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"registry: error: this version reads dataset '{NAME}', which is not registered in {home}: build it with "
        f"`python -m plugins.ionis.atlas_build --home {home} --rule round,18,70,10 --for-gates`"]
    assert main(["list", "--json"]) == 0 and '"ionis"' not in capsys.readouterr().out  # nothing registered


def test_an_atlas_file_of_the_rule_cached_before_is_named_for_import_and_then_v23_registers(v23_files, v23_atlas,
                                                                                          tmp_path, monkeypatch,
                                                                                          capsys):
    from plugins.ionis.atlas import IriAtlas
    from plugins.ionis.atlas_build import main as build_main

    home = tmp_path / "home"
    monkeypatch.setenv("REGISTRY_HOME", str(home))
    old = home / "ionis-atlas" / "5f3a.npz"  # how the atlas was cached before it was a dataset
    old.parent.mkdir(parents=True)
    old.write_bytes(IriAtlas.from_dataset(v23_atlas).to_bytes())
    assert _register(v23_files) == 2
    assert capsys.readouterr().err.strip().endswith(
        f"build it with `python -m plugins.ionis.atlas_build --home {home} --import {old}`")
    assert build_main(["--home", str(home), "--import", str(old)]) == 0
    assert capsys.readouterr().out.startswith(f"imported {old} as dataset {NAME} ")
    assert _register(v23_files) == 0


@pytest.fixture
def v23_registered(v23_files, v23_atlas_home, tmp_path, monkeypatch) -> Path:
    """A home holding the V23 atlas dataset and the SYNTHETIC V23 registered as ionis@1."""
    home = tmp_path / "home"
    shutil.copytree(v23_atlas_home, home)
    monkeypatch.setenv("REGISTRY_HOME", str(home))
    assert _register(v23_files) == 0
    return home


@pytest.fixture
def v23_home(v23_registered) -> Path:
    """``v23_registered`` with V23's own suite run once (dry run)."""
    assert main(["promote", "ionis@1", "--to", "production", "--dry-run", "--suite", V23_SUITE]) == 1  # no meta
    return v23_registered


def test_predict_reads_the_newest_atlas_and_names_a_grid_it_lacks(v23_registered, v23_files, tmp_path, capsys):
    import json

    from cache.datasets import DatasetStore
    from plugins.ionis.atlas_read import attach
    from plugins.ionis.checkpoint import load_bundle
    from plugins.ionis.predict import predict_rows

    csv = tmp_path / "paths.csv"
    csv.write_text("tx_grid,rx_grid,hour_utc,month,day_of_year,sfi,kp,band\nFM19,IO91,14,12,355,150,2,20m\n")
    capsys.readouterr()
    assert main(["predict", "ionis@1", "--input", str(csv), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    store = DatasetStore(v23_registered)
    direct = predict_rows(attach(load_bundle(v23_files), store.open(store.latest(NAME))), csv)
    assert rows[0]["sigma"] == pytest.approx(direct[0]["sigma"], abs=1e-6)
    csv.write_text("tx_grid,rx_grid,hour_utc,month,day_of_year,sfi,kp,band\nAA00,AA00,14,12,355,150,2,20m\n")
    assert main(["predict", "ionis@1", "--input", str(csv)]) == 2
    assert "has no grid AA00; add them to the atlas" in capsys.readouterr().err
    (v23_registered / "datasets").rename(v23_registered / "datasets-aside")  # the atlas is gone
    assert main(["predict", "ionis@1", "--input", str(csv)]) == 2
    assert f"reads dataset '{NAME}', which is not registered in {v23_registered}: build it with `python -m " \
           "plugins.ionis.atlas_build" in capsys.readouterr().err


def _runs(home: Path) -> list:
    from registry.store import Store

    store = Store(home)
    return list(store.evidence_for(store.resolve("ionis@1").version_id))


def test_a_gate_run_pins_the_atlas_and_verify_rereads_that_content_after_a_rebuild(v23_home, capsys):
    from dataclasses import replace

    import numpy as np

    from cache.datasets import DatasetStore
    from plugins.ionis.atlas import IriAtlas

    pinned = DatasetStore(v23_home).latest(NAME)
    [stored] = _runs(v23_home)
    assert stored.dataset_digests == {NAME: pinned.digest}
    tst = next(r for r in stored.results if r.name.startswith("tst900"))
    assert tst.details["iri_atlas_digest"] == pinned.digest and tst.status != "error"
    atlas = IriAtlas.from_dataset(DatasetStore(v23_home).open(pinned))  # a newer atlas with one more grid, whose
    wider = replace(atlas, grids=(*atlas.grids, "PM96"), provenance={**atlas.provenance, "note": "SYNTHETIC: PM96 "
                    "copies the first grid"}, **{k: np.concatenate([getattr(atlas, k), getattr(atlas, k)[:1]])
                                                 for k in ("foF2", "foE", "hmF2")})  # values SYNTHETIC (no PyIRI run)
    rebuilt, built = DatasetStore(v23_home).register(NAME, wider.to_input())
    assert built and rebuilt.digest != pinned.digest
    capsys.readouterr()
    assert main(["verify", "ionis@1"]) == 0, capsys.readouterr()  # the pinned content is read, not the newest
    assert _runs(v23_home)[-1].dataset_digests == {NAME: pinned.digest}
    assert main(["promote", "ionis@1", "--to", "production", "--dry-run", "--suite", V23_SUITE]) == 1
    assert _runs(v23_home)[-1].dataset_digests == {NAME: rebuilt.digest}  # a new run reads the newest


def test_verify_reports_a_pinned_atlas_changed_on_disk(v23_home, capsys):
    from cache.datasets import DatasetStore

    ref = DatasetStore(v23_home).latest(NAME)
    chunk = sorted(p for p in Path(ref.path, "foF2", "c").rglob("*") if p.is_file())[0]
    data = chunk.read_bytes()
    chunk.write_bytes(data[:len(data) // 2])  # the atlas's stored bytes changed after the run
    capsys.readouterr()
    assert main(["verify", "ionis@1"]) == 1
    out = capsys.readouterr().out
    assert "now error" in out and f"dataset {NAME} {ref.short} foF2: chunk 0.0.0.0 cannot be read" in out
