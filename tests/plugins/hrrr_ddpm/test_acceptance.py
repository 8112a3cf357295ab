"""Issue 15's acceptance: a conditional model trained on the SYNTHETIC case passes the sampler and conditioning checks;
the same weights wired as upstream's unconditional form are refused by the conditioning check, and configured with
upstream's strided sampler (adjacent ᾱ) by the sampler check; the whole suite runs from on-disk ensembles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from plugins.hrrr_ddpm.family import HrrrDDPMFamily

pytestmark = pytest.mark.slow

ADJACENT = {"kind": "ddpm", "steps": 100, "posterior": "adjacent", "spacing": "uniform"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One registry home: the demo's SYNTHETIC case registered as a dataset and the demo's conditional model trained
    on its first 18 states through the family (shared by every test here)."""
    from cache.datasets import DatasetStore
    from cache.gridded_input import open_input
    from plugins.hrrr_ddpm.demo import DATASET, prepare
    from registry.store import Store

    home = tmp_path_factory.mktemp("hrrr-acceptance")
    plan = prepare(home / "demo")
    store = DatasetStore(home)
    ref, _ = store.register(DATASET, open_input(list(plan.datasets[DATASET])))
    files, facts = HrrrDDPMFamily().train_datasets({DATASET: store.open(ref)}, plan.config, out_dir=home / "trained",
                                                   epochs=None, seed=0, device="cpu", progress=False)
    version, _ = Store(home).register("hrrr_ddpm", files, lineage=facts)
    return {"home": home, "files": files, "facts": facts, "version": version}


def rewired(trained: dict[str, Any], name: str, **change: Any) -> Any:
    """The same weights registered with a changed config."""
    from registry.store import Store

    cfg = json.loads(Path(trained["files"]["config"]).read_text())
    path = trained["home"] / f"{name}.json"
    path.write_text(json.dumps({**cfg, **change}))
    version, _ = Store(trained["home"]).register("hrrr_ddpm", {**trained["files"], "config": path})
    return version


def run(trained: dict[str, Any], version: Any, gates: tuple[Any, ...]) -> dict[str, Any]:
    from gates.suite import GateSuite
    from registry.store import Store
    from registry.suite_run import run_suite

    suite = GateSuite("acceptance", "1", "hrrr_ddpm", gates)
    evidence = run_suite(Store(trained["home"]), HrrrDDPMFamily(), suite, version, seed=0)
    return {r.name: r for r in evidence.results}


def test_the_trained_model_passes_the_sampler_and_conditioning_checks(trained: dict[str, Any]) -> None:
    from plugins.hrrr_ddpm.checks import ConditioningGate, SamplerCheckGate, ScheduleGate

    got = run(trained, trained["version"], (ScheduleGate(), SamplerCheckGate(), ConditioningGate()))
    assert all(r.status == "pass" for r in got.values()), {k: r.message for k, r in got.items()}
    assert got["conditioning-check"].value > 4
    assert trained["facts"]["normalisation"]["T2M"]["std"] > 0 and trained["facts"]["dataset"] == "hrrr-synthetic"


def test_the_same_weights_as_upstreams_unconditional_form_are_refused(trained: dict[str, Any]) -> None:
    from plugins.hrrr_ddpm.checks import ConditioningGate

    got = run(trained, rewired(trained, "upstream-wiring", condition="none"), (ConditioningGate(),))
    result = got["conditioning-check"]
    assert result.status == "fail" and result.value == 0, result.message  # same seeds, condition zeroed


def test_the_adjacent_alpha_strided_sampler_is_refused(trained: dict[str, Any]) -> None:
    from plugins.hrrr_ddpm.checks import SamplerCheckGate

    got = run(trained, rewired(trained, "upstream-sampler", samplers=[{"kind": "ddim", "steps": 50}, ADJACENT]),
              (SamplerCheckGate(),))
    result = got["sampler-check"]
    assert result.status == "fail" and "fails for ddpm-100 adjacent uniform" in result.message
    ratios = {s["name"]: s["value"] for s in result.details["slices"]}
    assert 0.9 <= ratios["ddim-50 η=0"] <= 1.1 and ratios["ddpm-100 adjacent uniform"] > 5


def test_the_release_suite_scores_on_disk_ensembles_shared_by_its_gates(trained: dict[str, Any]) -> None:
    from cache.ensembles import EnsembleStore
    from plugins.hrrr_ddpm.suites import release_suite
    from registry.store import Store
    from registry.suite_run import run_suite

    suite = release_suite(members=6, cases=2, resamples=200)
    evidence = run_suite(Store(trained["home"]), HrrrDDPMFamily(), suite, trained["version"], seed=0)
    statuses = {r.name: r.status for r in evidence.results}
    assert "error" not in statuses.values(), {r.name: r.message for r in evidence.results if r.status == "error"}
    assert len(evidence.ensemble_digests) == 2 and set(evidence.dataset_digests) == {"hrrr-synthetic"}
    assert len(EnsembleStore(trained["home"]).list()) == 2  # one per case, written once, read by every gate
    fss = next(r for r in evidence.results if r.name == "fss")
    assert [f["kind"] for f in fss.figures][-1] == "paintball"
    assert all(f["title"].startswith("SYNTHETIC ") for f in fss.figures[1:])  # the dataset is labelled synthetic
