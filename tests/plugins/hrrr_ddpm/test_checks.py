"""plugins.hrrr_ddpm.checks on registered versions (untrained weights): schedule agreement, the sampler check and the
conditioning check, each through the core's real run context and a registered SYNTHETIC dataset."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hrrr_ensembles import register_series, synthetic_series

from gates.base import Threshold
from plugins.hrrr_ddpm.checks import (
    CheckLimits,
    ConditioningGate,
    SamplerCheckGate,
    ScheduleGate,
    conditioning_snr,
    spec_label,
)
from plugins.hrrr_ddpm.family import HrrrDDPMFamily
from plugins.hrrr_ddpm.forecaster import Forecaster
from plugins.hrrr_ddpm.samplers import SamplerSpec
from plugins.hrrr_ddpm.scoring import VARIABLES
from registry.errors import GateError

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
    return gate.evaluate(context(setting, net=net, **config))


def context(setting: dict[str, Any], *, net: str = "conditional", **config: Any) -> Any:
    """The core's run context of a version registered with ``net`` and ``config``."""
    from registry.gate_context import RunContext
    from registry.store import Store

    cfg = {"variables": list(VARIABLES), "stats": {v: setting["stats"][v] for v in VARIABLES},
           "samplers": [DDIM], "dataset": "case", "test_from": 8, **config}
    path = setting["home"] / f"config-{abs(hash(json.dumps(cfg, sort_keys=True)))}.json"
    path.write_text(json.dumps(cfg))
    store = Store(setting["home"])
    version, _ = store.register("hrrr_ddpm", {"weights": setting["nets"][net], "config": path})
    return RunContext(store, HrrrDDPMFamily(), version, champion=None, seed=3, device="cpu")


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
    assert ignored.message.endswith("z); misses >= 4")
    lacking = run(setting, ConditioningGate(), net="unconditional")
    assert not lacking.passed and lacking.value is None and "refused as a forecaster" in lacking.message


class ModelContext:
    """The two things the sampler and schedule checks ask of a run: the loaded version and the run's seed."""

    def __init__(self, model: Forecaster, seed: int = 3) -> None:
        self.model, self.seed = model, seed


def forecaster(samplers: list[dict[str, Any]], *, trained: int = 1000, sampled: tuple[int, float] = (1000, 0.008),
               cond: int = 7) -> Forecaster:
    """A loaded version built in memory (untrained network, unit statistics)."""
    from plugins.hrrr_ddpm.model import TinyDDPM

    net = TinyDDPM.from_config({"cond_channels": cond, "T": trained, "width": 8}, seed=0).eval()
    return Forecaster(net, VARIABLES, {v: {"mean": 0.0, "std": 1.0} for v in VARIABLES},
                      tuple(SamplerSpec.from_dict(s) for s in samplers), {"T": trained, "s": 0.008},
                      {"T": sampled[0], "s": sampled[1]})


def test_spec_label_names_only_what_differs_from_the_defaults() -> None:
    assert spec_label(SamplerSpec("ddim", 50)) == spec_label({"kind": "ddim", "steps": 50}) == "ddim-50 η=0"
    assert spec_label({"kind": "ddpm", "steps": 100, "posterior": "next-listed", "spacing": "quadratic",
                       "clamp": None}) == "ddpm-100"
    assert spec_label({"kind": "ddim", "steps": 20, "eta": 0.5, "posterior": "adjacent", "spacing": "uniform",
                       "clamp": 3}) == "ddim-20 η=0.5 adjacent uniform clamp ±3"
    assert spec_label(SamplerSpec("ddpm", 10, clamp=2.5, spacing="uniform")) == "ddpm-10 uniform clamp ±2.5"
    assert spec_label([("kind", "ddpm"), ("steps", 5), ("posterior", "adjacent")]) == "ddpm-5 adjacent"


def test_the_sampler_check_tables_each_samplers_toy_std_and_holds_its_ratio() -> None:
    from plugins.hrrr_ddpm.sampler_check import toy_sampler_std

    model = forecaster([DDIM, ADJACENT])
    gate = SamplerCheckGate(CheckLimits(toy_samples=1024))
    out = gate.evaluate(ModelContext(model))
    stds = [toy_sampler_std(model.schedule, s, sigma0=0.1, n=1024, seed=3) for s in model.samplers]
    assert out.details["table"] == {"title": "x₀ ~ N(0, 0.1²) toy", "columns": ["sampler", "std", "ratio"],
                                    "rows": [[spec_label(s), round(x, 5), round(x / 0.1, 4)]
                                             for s, x in zip(model.samplers, stds, strict=True)]}
    assert [(s["name"], s["value"]) for s in out.details["slices"]] == [
        ("ddim-50 η=0", stds[0] / 0.1), ("ddpm-100 adjacent uniform", stds[1] / 0.1)]
    assert not out.passed and out.value == stds[1] / 0.1 and (out.threshold, out.comparator) == ([0.9, 1.1], "between")
    assert out.message.startswith("toy std / 0.1 (value in [0.9, 1.1]): ddim-50 η=0 ")
    assert out.message.endswith("; fails for ddpm-100 adjacent uniform")
    other_seed = SamplerCheckGate(CheckLimits(toy_samples=1024)).evaluate(ModelContext(model, seed=4))
    assert other_seed.details["slices"][0]["value"] != out.details["slices"][0]["value"]
    assert gate.description == ("std returned / 0.1 on the N(0, 0.1²) toy with its exact denoiser, for every "
                                "sampler the version uses, in [0.9, 1.1]")
    wide = SamplerCheckGate(CheckLimits(sampler_ratio=Threshold.band(0.5, 10.0), toy_samples=256))
    assert wide.evaluate(ModelContext(model)).passed and "in [0.5, 10]" in wide.description
    with pytest.raises(GateError, match="^the version names no sampler$"):
        SamplerCheckGate().evaluate(ModelContext(forecaster([])))


def test_schedule_agreement_says_what_it_compared() -> None:
    model = forecaster([DDIM])
    alpha_bar = float(np.asarray(model.schedule.alphas_bar)[-1])
    gate = ScheduleGate()
    ok = gate.evaluate(ModelContext(model))
    assert (ok.value, ok.passed, ok.threshold, ok.comparator) == (alpha_bar, True, 0.01, "<")
    assert ok.message == f"T=1000, s=0.008 in training and sampling; ᾱ_T = {alpha_bar:.4g}"
    assert ok.details == {"training": {"T": 1000, "s": 0.008}, "sampling": {"T": 1000, "s": 0.008},
                          "alpha_bar_T": alpha_bar}
    assert gate.description == "training and sampling schedule agree (T, s) and ᾱ_T < 0.01"
    # the limit is strict: ᾱ_T equal to it is not noise enough, the next float above it is
    assert not ScheduleGate(CheckLimits(alpha_bar_max=alpha_bar)).evaluate(ModelContext(model)).passed
    above = ScheduleGate(CheckLimits(alpha_bar_max=float(np.nextafter(alpha_bar, 1.0))))
    assert above.evaluate(ModelContext(model)).passed
    assert above.description.endswith(f"< {above.limits.alpha_bar_max:g}")
    other_t = ScheduleGate().evaluate(ModelContext(forecaster([DDIM], sampled=(900, 0.008))))
    assert not other_t.passed and other_t.message.startswith(
        "trained with T=1000, s=0.008 but sampled with T=900, s=0.008")


def test_schedule_agreement_lists_every_problem_and_every_sampler_longer_than_t() -> None:
    fits = forecaster([{"kind": "ddim", "steps": 1000}])
    assert ScheduleGate().evaluate(ModelContext(fits)).passed  # as many steps as T fit
    bad = forecaster([{"kind": "ddim", "steps": 51}, {"kind": "ddim", "steps": 50},
                      {"kind": "ddpm", "steps": 60}], sampled=(50, 0.02))
    out = ScheduleGate().evaluate(ModelContext(bad))
    alpha_bar = float(np.asarray(bad.schedule.alphas_bar)[-1])
    assert not out.passed and out.value == alpha_bar
    assert out.message == ("trained with T=1000, s=0.008 but sampled with T=50, s=0.02; "
                           f"ᾱ_T = {alpha_bar:.4g} is not < 0.01: the last step is not noise; "
                           "samplers with more steps than T=50: ddim-51 η=0, ddpm-60")


def test_conditioning_snr_is_the_paired_t2_of_same_seed_members() -> None:
    model = forecaster([{"kind": "ddim", "steps": 4}])
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 6, 6)).astype(np.float32), rng.normal(size=(7, 6, 6)).astype(np.float32)
    got = conditioning_snr(model, a, b, members=4, seed=5, device="cpu")
    xa = model.sample_z(a, member_ids=range(4), seed=5, device="cpu").double().numpy()
    xb = model.sample_z(b, member_ids=range(4), seed=5, device="cpu").double().numpy()
    d = xa - xb
    t2 = d.mean(axis=0) ** 2 / (d.var(axis=0, ddof=1) / 4)
    assert got["snr"] == pytest.approx(t2.mean(), rel=1e-9) and got["snr"] > 0
    assert got["by_variable"] == pytest.approx(t2.reshape(7, -1).mean(axis=1).tolist(), rel=1e-9)
    assert got["mean_change"] == pytest.approx(np.abs(d.mean(axis=0)).mean(), rel=1e-9)
    assert got["spread"] == pytest.approx(xa.std(axis=0, ddof=1).mean(), rel=1e-9)
    same = conditioning_snr(model, a, a, members=4, seed=5, device="cpu")
    assert (same["snr"], same["mean_change"], same["by_variable"]) == (0.0, 0.0, [0.0] * 7) and same["spread"] > 0
    elsewhere = replace(model, device="meta")  # the version's default device is not where the run samples
    assert conditioning_snr(elsewhere, a, b, members=4, seed=5, device="cpu")["snr"] == got["snr"]
    two = conditioning_snr(model, a, b, members=2, seed=5, device="cpu")
    assert math.isfinite(two["snr"]) and two["snr"] != got["snr"]
    one = "^the conditioning check needs at least 2 members to measure their spread, got 1$"  # one member has no spread
    with pytest.raises(GateError, match=one):
        conditioning_snr(model, a, b, members=1, seed=5, device="cpu")


def test_the_conditioning_check_says_which_states_members_and_crop_it_compared(setting: dict[str, Any]) -> None:
    from plugins.hrrr_ddpm.evaluation import condition_pair

    ctx = context(setting, samplers=[{"kind": "ddim", "steps": 3}])
    limits = CheckLimits(conditioning_members=3, conditioning_crop=8)
    out = ConditioningGate(limits).evaluate(ctx)
    (ta, cond_a), (tb, cond_b) = condition_pair(ctx, 8)
    got = conditioning_snr(ctx.model, cond_a, cond_b, members=3, seed=3, device="cpu")
    assert (out.value, out.passed, out.threshold, out.comparator) == (got["snr"], got["snr"] >= 4, 4.0, ">=")
    assert out.message == (f"swapping the condition (times 8 and 0, 3 members with the same seeds, (8, 8) crop): "
                           f"paired t² {got['snr']:.3g} (mean |change| {got['mean_change']:.3g}, spread "
                           f"{got['spread']:.3g} z); {'meets' if got['snr'] >= 4 else 'misses'} >= 4")
    assert out.details == {"table": {"title": "", "columns": ["variable", "snr"],
                                     "rows": [[v, round(x, 3)] for v, x in zip(VARIABLES, got["by_variable"],
                                                                               strict=True)]},
                           "times": [8, 0], "members": 3, "mean_change_z": got["mean_change"],
                           "spread_z": got["spread"]}
    zero = ConditioningGate(CheckLimits(conditioning_snr=Threshold(">=", 0.0), conditioning_members=2,
                                        conditioning_crop=8))
    ignored = zero.evaluate(context(setting, samplers=[{"kind": "ddim", "steps": 3}], condition="none"))
    assert ignored.passed and ignored.value == 0 and ignored.message.endswith("z); meets >= 0")  # 0 ≥ 0 holds
    assert "(8, 8) crop" in ignored.message and zero.description.endswith(">= 0")
    lacking = ConditioningGate().evaluate(context(setting, net="unconditional"))
    assert (lacking.value, lacking.passed, lacking.threshold, lacking.comparator) == (None, False, 4.0, ">=")
    assert lacking.message == ("unconditional model (no condition channels): its ensembles are climate samples, not "
                               "forecasts; refused as a forecaster") and lacking.details == {"cond_channels": 0}
    assert ConditioningGate().description == (
        "members with the same seeds under two conditions (the first test state and the first state): mean over "
        "points of the paired t² of their differences (0 when the condition is ignored, ≈ 1 when it only "
        "reshuffles members), >= 4")
