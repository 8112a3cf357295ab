"""The TEC suite on SYNTHETIC rows: a genuinely better forecaster passes; upstream's validation bugs are refused
each by a gate whose message names the cause."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from plugins.tec.features import compute_features
from plugins.tec.gates import TecThresholds
from plugins.tec.model import TecConfig
from plugins.tec.sequences import build_samples
from plugins.tec.suites import tec_suite
from plugins.tec.synthetic import synthetic_rows
from registry.errors import GateError

STATIONS = (("SYN1", 45.0, 10.0), ("SYN2", -20.0, 130.0))
LIMITS = TecThresholds(n_resamples=200, min_storm_hours=5)


@dataclass
class Version:
    lineage: dict[str, Any]
    ref: str = "tec@1"


class Oracle:
    """A forecaster that knows the SYNTHETIC truth of the test windows (by their inputs) and adds an error."""

    def __init__(self, rows: dict[str, np.ndarray], make: Callable[[np.ndarray, np.random.Generator], np.ndarray]):
        self.model = type("M", (), {"config": TecConfig()})()
        s = build_samples(compute_features(rows), rows["tec"])
        self.truth = {x.tobytes(): t for x, t in zip(s.x, s.target, strict=True)}
        self.make = make

    def forecast(self, x: np.ndarray) -> dict[str, np.ndarray]:
        truth = np.stack([self.truth[w.tobytes()] for w in x])
        tec = self.make(truth, np.random.default_rng(0))
        return {"tec": tec, "storm_probability": np.full_like(tec, 0.1), "storm": np.zeros(len(x)),
                "uncertainty": np.zeros(len(x))}


@dataclass
class Ctx:
    model: Any
    tables: dict[str, pa.Table]
    version: Version
    seed: int = 0
    device: str = "cpu"
    champion: Any = None
    champion_model: Any = None
    _memo: dict[str, Any] = field(default_factory=dict)

    def extract(self, name: str, *, params: Any = None, split: str | None = None) -> pa.Table:
        assert split is None and params == {}  # one pinned request; the gates cut the spec's windows by time
        return pa.concat_tables([self.tables["train"], self.tables["test"]])

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def rng(self, stream: str = "") -> np.random.Generator:
        return np.random.default_rng(int.from_bytes(hashlib.sha256(f"{self.seed}:{stream}".encode()).digest()[:8],
                                                    "little"))

    def file(self, role: str) -> Any:
        raise GateError("no files")


def _table(rows: dict[str, np.ndarray]) -> pa.Table:
    return pa.table({k: pa.array(v) for k, v in rows.items()})


LINEAGE = {"training": {"split": {"method": "temporal", "train": {"first": "2021-01-01T00:00:00",
                                                                    "last": "2021-12-31T23:00:00"}}}}


@pytest.fixture(scope="module")
def data() -> dict[str, dict[str, np.ndarray]]:
    # the spec's windows: training ends 2022-01-01, the test window starts 2023-01-01
    return {"train": synthetic_rows("2021-01-01", "2022-01-01", STATIONS, seed=4),
            "test": synthetic_rows("2023-01-01", "2023-05-01", STATIONS, seed=5)}


def good(truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return truth + rng.normal(0, 0.3 * truth.std(), truth.shape)


def run(data: dict, make=good, *, test: dict | None = None, lineage: dict | None = None,
        strict: bool = False) -> dict[str, Any]:
    test = test or data["test"]
    ctx = Ctx(Oracle(data["test"], make), {"train": _table(data["train"]), "test": _table(test)},
              Version(lineage or LINEAGE))
    results = {}
    for gate in tec_suite(LIMITS, strict=strict).gates:
        try:
            results[gate.name] = gate.evaluate(ctx)
        except Exception as exc:  # noqa: BLE001 - an error refuses, like the suite runner
            results[gate.name] = exc
    return results


def failing(results: dict[str, Any]) -> dict[str, str]:
    return {k: (v.message if hasattr(v, "message") else f"error: {v}") for k, v in results.items()
            if not getattr(v, "passed", False)}


def test_a_genuinely_better_forecaster_passes_with_intervals_and_per_lead_slices(data) -> None:
    results = run(data)
    assert failing(results) == {}
    skill = results["skill-vs-climatology"]
    assert skill.interval["lower"] > 0 and len(skill.slices) == 24
    assert all(s.interval is not None for s in skill.slices)
    assert skill.figures[0]["kind"] == "lines"
    scatter = results["rmse-good"].figures[0]
    assert scatter["kind"] == "density" and 1000 <= len(scatter["x"]) == len(scatter["y"]) <= 4000


def test_constant_20_tecu_is_refused_with_an_undefined_correlation(data) -> None:
    bad = failing(run(data, lambda t, r: np.full_like(t, 20.0)))
    assert "undefined (a constant forecast)" in bad["forecast-correlation"]
    assert "100% of forecasts are 20 TECU" in bad["forecast-spread"]


def test_an_underdispersed_forecast_is_refused_by_its_spread(data) -> None:
    def flat(t: np.ndarray, r: np.random.Generator) -> np.ndarray:
        return t.mean() + (t - t.mean()) * 0.065 + r.normal(0, 0.05, t.shape)

    bad = failing(run(data, flat))
    assert "forecast-spread" in bad and "ratio 0.06" in bad["forecast-spread"]


def test_lead_plus_one_scored_as_plus_24_is_refused(data) -> None:
    bad = failing(run(data, lambda t, r: good(t, r)[:, ::-1]))
    assert "leads are misaligned" in bad["horizon-alignment"]


def test_a_shuffled_split_across_the_test_years_is_refused(data) -> None:
    shuffled = {"training": {"split": {"method": "shuffled", "train": {"first": "2015-01-01T00:00:00",
                                                                         "last": "2025-12-31T23:00:00"}}},
                "extracts": [{"name": "tec-hourly", "params": {}}]}
    bad = failing(run(data, lineage=shuffled))
    assert "lie inside the training span" in bad["split-integrity"] and "shuffled" in bad["split-integrity"]
    with pytest.raises(GateError, match="no training split"):
        from plugins.tec.integrity import split_problems
        split_problems({}, data["test"]["time"])


def test_kp_fill_values_in_the_evaluation_rows_are_refused(data) -> None:
    test = dict(data["test"])
    kp = test["kp"].copy()
    kp[::50] = 99.9
    test["kp"] = kp
    bad = failing(run(data, test=test))
    assert "kp:" in bad["input-integrity"] and "fill value 99.9" in bad["input-integrity"]


def test_f107_stuck_at_120_is_refused(data) -> None:
    test = dict(data["test"]) | {"f107": np.full(len(data["test"]["tec"]), 120.0)}
    bad = failing(run(data, test=test))
    assert "test f107 is stuck at 120 in 100% of rows" in bad["input-integrity"]


def test_too_few_storm_hours_fail_the_storm_slice(data) -> None:
    results = run(data)
    hours = int((data["test"]["kp"] >= 5).sum())
    strict = replace(LIMITS, min_storm_hours=10_000)
    from plugins.tec.gates import RmseGate

    ctx = Ctx(Oracle(data["test"], good), {"train": _table(data["train"]), "test": _table(data["test"])},
              Version(LINEAGE))
    out = RmseGate("storm-rmse", 13.0, strict, storm=True).evaluate(ctx)
    assert not out.passed and "too few events" in out.message and hours > 0
    assert results["storm-rmse"].passed


def test_gates_read_the_extract_request_the_version_was_trained_on() -> None:
    from plugins.tec.gates import extract_params

    lineage = {"extracts": [{"name": "other", "params": {"x": 1}},
                            {"name": "tec-hourly", "params": {"database": "demo", "table": "t"}}]}
    ctx = Ctx(None, {}, Version(lineage))
    assert extract_params(ctx) == {"database": "demo", "table": "t"}
    assert extract_params(Ctx(None, {}, Version({}))) == {}


def test_climatology_is_keyed_by_location_target_day_and_kp_and_counts_fallbacks() -> None:
    from plugins.tec.evaluation import ClimatologyFit

    t = np.array(["2021-01-01T00", "2021-01-01T01", "2021-01-02T00"], dtype="datetime64[s]")
    fit = ClimatologyFit.fit({"time": t, "lat": np.full(3, 45.0), "lon": np.full(3, 10.0),
                              "kp": np.array([2.3, 2.7, 5.0]), "tec": np.array([10.0, 20.0, 40.0])})
    hours = np.array([["2022-01-01T05", "2022-01-02T05", "2022-01-03T05"]], dtype="datetime64[h]").astype(np.int64)
    forecast, fallback = fit.predict(np.array([[45.0, 10.0]]), hours, np.array([2.9]))
    assert forecast.tolist() == [[15.0, pytest.approx(70 / 3), pytest.approx(70 / 3)]]  # day 2 has only Kp 5
    assert fallback.tolist() == [[False, True, True]]
    assert fit.predict(np.array([[0.0, 0.0]]), hours[:, :1], np.array([2.0]))[1].tolist() == [[True]]


def test_worse_than_persistence_passes_the_default_suite_and_fails_the_strict_one(data) -> None:
    def noisy(t: np.ndarray, r: np.random.Generator) -> np.ndarray:
        return t + r.normal(0, 0.7 * t.std(), t.shape)

    default = run(data, noisy)
    assert failing(default) == {} and default["skill-vs-persistence"].value < 0
    strict = failing(run(data, noisy, strict=True))
    assert "skill-vs-persistence" in strict and "lower > 0" in strict["skill-vs-persistence"]
    assert "skill-vs-climatology" not in strict and "skill-vs-iri" not in strict


def test_storm_probabilities_are_scored_against_the_training_storm_rate(data) -> None:
    storm = run(data)["storm-brier-skill"]
    assert storm.passed and len(storm.slices) == 24 and storm.figures[0]["kind"] == "reliability"
    assert -1 < storm.value < 0 and "against the training storm rate" in storm.message  # a constant 0.1 forecast


def test_gate_names_and_descriptions_say_what_each_holds() -> None:
    from gates.base import Threshold
    from plugins.tec.gates import RowsGate, SanityGate, SkillGate

    skill = SkillGate("iri", Threshold(">", 0.0, on="lower"), LIMITS)
    assert skill.name == "skill-vs-iri" and skill.description == (
        "RMSE skill against iri (pairs aligned by target time, every lead +1…+24 h), 95% block-bootstrap interval; "
        "held lower > 0")
    corr = SanityGate("correlation", replace(LIMITS, min_correlation=0.4, min_std_ratio=0.2))
    assert corr.description == "Pearson r of forecast and truth (all leads) ≥ floor; NaN (a constant forecast) fails"
    assert (corr.name, corr.threshold) == ("forecast-correlation", Threshold(">=", 0.4))
    spread = SanityGate("spread", replace(LIMITS, min_correlation=0.4, min_std_ratio=0.2))
    assert (spread.name, spread.threshold) == ("forecast-spread", Threshold(">=", 0.2))
    rows = RowsGate(replace(LIMITS, max_mode_share=0.4, max_storm_share=0.15))
    assert rows.description == ("test and training rows: no NULL or fill values, physical ranges, no driver stuck at "
                                "one value (> 40%), Kp ≥ 5 in ≤ 15%")
