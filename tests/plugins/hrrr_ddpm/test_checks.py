"""plugins.hrrr_ddpm.checks on registered versions (untrained weights): schedule agreement, the sampler check and the
conditioning check, each through the core's real run context and a registered SYNTHETIC dataset."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hrrr_ensembles import register_series, synthetic_series

from plugins.hrrr_ddpm.checks import ConditioningGate, SamplerCheckGate, ScheduleGate, spec_label
from plugins.hrrr_ddpm.family import HrrrDDPMFamily
from plugins.hrrr_ddpm.scoring import VARIABLES

DDIM = {"kind": "ddim", "steps": 50}
ADJACENT = {"kind": "ddpm", "steps": 100, "posterior": "adjacent", "spacing": "uniform"}


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A registry home with the SYNTHETIC dataset ``case`` (12 states of 24 × 24) and saved untrained networks."""
    from plugins.hrrr_ddpm.model import TinyDDPM, save_model

    home = tmp_path_factory.mktemp("hrrr-checks")
    ds = register_series(home, "case", synthetic_series(12, 24, 24))
    nets = {}
    for name, arch in (("conditional", {"cond_channels": 7}), ("unconditional", {}),
                       ("short", {"cond_channels": 7, "T": 50})):
        nets[name] = home / f"{name}.safetensors"
        save_model(TinyDDPM.from_config(arch, seed=0), nets[name])
    return {"home": home, "stats": ds.stats, "nets": nets}


def run(setting: dict[str, Any], gate: Any, *, net: str = "conditional", **config: Any) -> Any:
    from registry.gate_context import RunContext
    from registry.store import Store

    cfg = {"variables": list(VARIABLES), "stats": {v: setting["stats"][v] for v in VARIABLES},
           "samplers": [DDIM], "dataset": "case", "test_from": 8, **config}
    path = setting["home"] / f"config-{abs(hash(json.dumps(cfg, sort_keys=True)))}.json"
    path.write_text(json.dumps(cfg))
    store = Store(setting["home"])
    version, _ = store.register("hrrr_ddpm", {"weights": setting["nets"][net], "config": path})
    ctx = RunContext(store, HrrrDDPMFamily(), version, champion=None, seed=3, device="cpu")
    return gate.evaluate(ctx)


def test_the_sampler_check_passes_ddim_and_refuses_upstreams_adjacent_posterior(setting: dict[str, Any]) -> None:
    good = run(setting, SamplerCheckGate(), samplers=[DDIM, {"kind": "ddim", "steps": 50, "eta": 1.0}])
    assert good.passed and [s["name"] for s in good.details["slices"]] == ["ddim-50 η=0", "ddim-50 η=1"]
    assert all(0.9 <= s["value"] <= 1.1 for s in good.details["slices"]) and "every sampler meets it" in good.message
    bad = run(setting, SamplerCheckGate(), samplers=[DDIM, ADJACENT])
    assert not bad.passed and "fails for ddpm-100 adjacent uniform" in bad.message
    assert bad.value > 5  # upstream's 100-step sampler returns ≈ 0.64 for σ₀ = 0.1
    assert spec_label(ADJACENT) == "ddpm-100 adjacent uniform"


def test_schedule_agreement(setting: dict[str, Any]) -> None:
    ok = run(setting, ScheduleGate())
    assert ok.passed and ok.value < 0.0033 and "T=1000, s=0.008 in training and sampling" in ok.message
    other = run(setting, ScheduleGate(), sampling_schedule={"T": 1000, "s": 0.02})
    assert not other.passed and "trained with T=1000, s=0.008 but sampled with T=1000, s=0.02" in other.message
    short = run(setting, ScheduleGate(), net="short", samplers=[{"kind": "ddim", "steps": 10}])
    assert not short.passed and "is not < 0.01: the last step is not noise" in short.message


def test_the_conditioning_check_refuses_a_model_that_ignores_or_lacks_its_condition(setting: dict[str, Any]) -> None:
    # untrained weights sit near the threshold (t² ≈ 3.7); a trained model passes (test_acceptance)
    ignored = run(setting, ConditioningGate(), samplers=[{"kind": "ddim", "steps": 10}], condition="none")
    assert not ignored.passed and ignored.value == 0, ignored.message  # same seeds, condition zeroed: no change
    assert "times 8 and 0" in ignored.message and len(ignored.details["table"]["rows"]) == 7
    lacking = run(setting, ConditioningGate(), net="unconditional")
    assert not lacking.passed and lacking.value is None and "refused as a forecaster" in lacking.message
