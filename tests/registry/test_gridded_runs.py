"""Gate runs of a gridded family: datasets pinned by digest, one ensemble on disk shared by every gate, the champion
comparison and verify; verify on other hardware compares within the run's recorded tolerance."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from toy_gridded import DATASET, ToyGridFamily, make_case, write_npy

from cache.datasets import DatasetStore
from cache.ensembles import EnsembleStore
from cache.gridded_input import open_input
from registry.promotion import compare_runs, promote, verify
from registry.records import Evidence, GateResult
from registry.training import train_from_datasets


@pytest.fixture
def grid_app(home: Path, tmp_path: Path) -> Iterator[Any]:
    import toy_gridded

    from registry.app import App
    from registry.plugins import get_plugin_manager

    pm = get_plugin_manager(entry_points=False)
    if not pm.pm.has_plugin("toy_gridded"):
        pm.register(toy_gridded, name="toy_gridded")
    app = App(home, plugins=pm)
    DatasetStore(home).register(DATASET, open_input([write_npy(make_case(), tmp_path / "case")]), tile=8)
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"steps": 120}))
    app.config = config
    yield app
    pm.unregister("toy_gridded")


def _train(app: Any, seed: int = 0, steps: int = 120) -> Any:
    version, _ = train_from_datasets(app, "toygrid", app.config, [DATASET], epochs=steps, seed=seed,
                                     progress=False)
    return version


def test_training_lineage_names_the_datasets_digest_and_statistics(grid_app):
    version = _train(grid_app)
    (entry,) = version.lineage["datasets"]
    ref = DatasetStore(grid_app.home).latest(DATASET)
    assert entry["digest"] == ref.digest and entry["stats"] == ref.header["stats"] and entry["shape"] == [6, 12, 20]


def test_one_ensemble_is_generated_for_all_gates_and_pinned_with_the_dataset(grid_app):
    decision = promote(grid_app, _train(grid_app).ref, "production")
    ev = decision.evidence
    assert decision.verdict == "promoted", [r.message for r in ev.results]
    ensembles = EnsembleStore(grid_app.home).list()
    assert len(ensembles) == 1  # three gates read it, one generated it
    (label, digest), = ev.ensemble_digests.items()
    assert label.startswith("candidate:") and digest == ensembles[0].digest
    assert ev.dataset_digests == {DATASET: DatasetStore(grid_app.home).latest(DATASET).digest}
    assert ev.tolerance == {"atol": 1e-6, "rtol": 1e-3}
    assert set(ev.content()) >= {"dataset_digests", "ensemble_digests", "tolerance"}
    card = Path(decision.scorecard).read_text()
    assert "Dataset digests" in card and ev.dataset_digests[DATASET] in card and digest in card


def test_the_champion_comparison_reads_the_champions_ensemble_from_disk(grid_app):
    first = promote(grid_app, _train(grid_app).ref, "production")
    first_ensemble = EnsembleStore(grid_app.home).list()[0]
    second = promote(grid_app, _train(grid_app, seed=1, steps=100).ref, "production")
    assert {k.split(":")[0] for k in second.evidence.ensemble_digests} == {"candidate", "champion"}
    champion = next(v for k, v in second.evidence.ensemble_digests.items() if k.startswith("champion"))
    assert champion == first_ensemble.digest == next(iter(first.evidence.ensemble_digests.values()))
    assert len(EnsembleStore(grid_app.home).list()) == 2


def test_verify_reuses_the_ensemble_and_reads_the_pinned_dataset_after_a_newer_one(grid_app, tmp_path):
    version = _train(grid_app)
    stored = promote(grid_app, version.ref, "production").evidence
    case = make_case(seed=5)
    DatasetStore(grid_app.home).register(DATASET, open_input([write_npy(case, tmp_path / "newer")]), tile=8)
    check = verify(grid_app, version.ref)
    assert check.drift == [] and check.rerun.dataset_digests == stored.dataset_digests
    assert len(EnsembleStore(grid_app.home).list()) == 1


def test_verify_fails_closed_when_the_pinned_dataset_is_gone(grid_app):
    version = _train(grid_app)
    promote(grid_app, version.ref, "production")
    ref = DatasetStore(grid_app.home).latest(DATASET)
    Path(ref.path + ".json").unlink()
    check = verify(grid_app, version.ref)
    assert any("was pass, now error" in d for d in check.drift)
    assert any(f"dataset {DATASET!r} is not registered" in r.message for r in check.rerun.results)


def test_an_ensemble_changed_on_disk_makes_the_gates_error_not_pass(grid_app):
    import zarr

    version = _train(grid_app)
    promote(grid_app, version.ref, "production")
    ens = EnsembleStore(grid_app.home).list()[0]
    zarr.open_array(ens.path / "members", mode="r+")[0, 0, 0, 0] = 99.0
    check = verify(grid_app, version.ref)
    assert {r.status for r in check.rerun.results} == {"error"}
    assert "no longer matches its digest" in check.rerun.results[0].message


def _evidence(device: str, values: list[float], ensemble: str = "e1", **env: str) -> Evidence:
    results = tuple(GateResult(f"g{i}", "1", "pass", v, 1.0, "<", "") for i, v in enumerate(values))
    return Evidence("", "toygrid", "v", "grid", "1", results, {}, {}, None, 1, {"device": device, **env}, "", 0.0,
                    dataset_digests={"d": "x"}, ensemble_digests={"candidate:k": ensemble},
                    tolerance={"rtol": 1e-3, "atol": 1e-6})


def test_on_other_hardware_values_within_the_recorded_tolerance_are_not_drift():
    stored = _evidence("cuda:0", [0.5, 0.0], gpu="NVIDIA H200", cuda="12.8")
    assert compare_runs(stored, _evidence("cpu", [0.5004, 9e-7], ensemble="e2")) == []
    drift = compare_runs(stored, _evidence("cpu", [0.5006, 0.0], ensemble="e2"))
    assert drift == ["gate g0: value was 0.5, now 0.5006 (beyond the recorded device tolerance rtol 0.001, atol 1e-06)"]
    assert compare_runs(stored, _evidence("cpu", [0.5, 2e-6]))[0].startswith("gate g1")
    same_device_other_gpu = _evidence("cuda:0", [0.5001, 0.0], ensemble="e2", gpu="NVIDIA A100", cuda="12.8")
    assert compare_runs(stored, same_device_other_gpu) == []


def test_on_the_same_hardware_any_difference_is_drift():
    stored = _evidence("cpu", [0.5, 0.0])
    assert compare_runs(stored, _evidence("cpu", [0.5, 0.0])) == []
    assert compare_runs(stored, _evidence("cpu", [0.5000001, 0.0]))[0].startswith("gate g0: value was 0.5")
    assert compare_runs(stored, _evidence("cpu", [0.5, 0.0], ensemble="e2")) == [
        "the generated ensembles differ from the stored run's on the same device"]
    other_data = dataclasses.replace(_evidence("cuda", [0.5, 0.0]), dataset_digests={"d": "y"})
    assert "dataset digests differ from the stored run" in compare_runs(stored, other_data)


def test_other_hardware_allows_only_the_tolerance_the_stored_run_recorded():
    none_recorded = dataclasses.replace(_evidence("cuda:0", [0.5, 0.0]), tolerance={})
    assert compare_runs(none_recorded, _evidence("cpu", [0.5, 0.0], ensemble="e2")) == []
    assert compare_runs(none_recorded, _evidence("cpu", [0.5000001, 0.0], ensemble="e2")) == [
        "gate g0: value was 0.5, now 0.5000001 (beyond the recorded device tolerance rtol 0, atol 0)"]
    rtol_only = dataclasses.replace(none_recorded, tolerance={"rtol": 0.5})
    assert compare_runs(rtol_only, _evidence("cpu", [0.7, 0.0], ensemble="e2")) == []
    assert compare_runs(rtol_only, _evidence("cpu", [0.5, 1e-9], ensemble="e2")) == [
        "gate g1: value was 0.0, now 1e-09 (beyond the recorded device tolerance rtol 0.5, atol 0)"]


def test_gates_added_or_removed_since_the_stored_run_are_named_as_such():
    stored = _evidence("cpu", [0.5, 0.0])
    extra = GateResult("g9", "1", "pass", 1.0, 1.0, "<", "")
    rerun = dataclasses.replace(stored, results=(stored.results[0], extra))
    assert compare_runs(stored, rerun) == ["gate g1: removed since the stored run",
                                           "gate g9: added since the stored run"]


def test_on_other_hardware_only_a_different_set_of_ensembles_is_drift():
    stored = _evidence("cuda:0", [0.5])
    assert compare_runs(stored, _evidence("cpu", [0.5], ensemble="e2")) == []  # regenerated: other bits, same keys
    other_keys = dataclasses.replace(_evidence("cpu", [0.5]), ensemble_digests={"candidate:k2": "e1"})
    assert compare_runs(stored, other_keys) == ["the generated ensembles differ from the stored run's"]


def test_evidence_without_gridded_data_keeps_its_hash():
    ev = dataclasses.replace(_evidence("cpu", [0.5]), dataset_digests={}, ensemble_digests={}, tolerance={})
    assert not {"dataset_digests", "ensemble_digests", "tolerance", "synthetic_datasets"} & set(ev.content())
    assert "synthetic_datasets" not in _evidence("cpu", [0.5]).content()  # gridded but not synthetic: as before


def test_a_synthetic_dataset_is_labelled_in_the_evidence_and_its_scorecard(grid_app, tmp_path):
    folder = write_npy(make_case(), tmp_path / "labelled")
    (folder / "synthetic.json").write_text(json.dumps({"description": "toy fields"}))
    DatasetStore(grid_app.home).register(DATASET, open_input([folder]), tile=8)
    decision = promote(grid_app, _train(grid_app).ref, "production")
    ev = decision.evidence
    assert ev.synthetic_datasets == (DATASET,) and ev.content()["synthetic_datasets"] == [DATASET]
    stored = Evidence.from_stored(ev.evidence_id, json.dumps(ev.content()))
    assert stored.synthetic_datasets == (DATASET,)
    card = Path(decision.scorecard).read_text()
    assert "SYNTHETIC DATA" in card.split("</header>")[0] and f"SYNTHETIC · {ev.dataset_digests[DATASET]}" in card


def test_a_plan_for_another_time_is_another_ensemble(grid_app):
    version = _train(grid_app)
    family = ToyGridFamily()
    ds = DatasetStore(grid_app.home)
    case = ds.open(ds.latest(DATASET))
    model = family.load(grid_app.store.checkout(version))
    plans = [family.ensemble_plan(model, case, members=3, seed=0, steps=None, device="cpu", options={"time": t})
             for t in ("1", "2")]
    assert plans[0].condition != plans[1].condition
    first = np.asarray(plans[0].generate([0, 1, 2]))
    assert np.array_equal(first[1:], np.asarray(plans[0].generate([1, 2])))  # member i depends on (seed, i) only


def test_verify_on_another_device_generates_its_own_ensemble_and_compares_within_the_tolerance(grid_app):
    version = _train(grid_app)
    stored = promote(grid_app, version.ref, "production").evidence
    check = verify(grid_app, version.ref, device="cpu:0")  # torch's name for the same CPU: another device label
    assert check.drift == [] and check.rerun.environment["device"] == "cpu:0"
    assert check.rerun.ensemble_digests.keys() == stored.ensemble_digests.keys()
    assert {e.identity["device"] for e in EnsembleStore(grid_app.home).list()} == {"cpu", "cpu:0"}
