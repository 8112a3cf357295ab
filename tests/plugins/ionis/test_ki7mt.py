"""KI7MT paths: raw and override verdicts per path and the release summary."""

from __future__ import annotations

import pytest

from plugins.ionis.ki7mt import evaluate_paths, load_paths, summarise
from registry.errors import DataMissing


def test_the_file_has_18_paths_17_hard(ionis_data):
    tests = load_paths(ionis_data / "ki7mt_test_paths.json")
    assert len(tests) == 18 and sum(t["confidence"] == "hard" for t in tests) == 17


def test_missing_file_is_data_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_SHARED_DATA", str(tmp_path))
    with pytest.raises(DataMissing, match="REGISTRY_SHARED_DATA"):
        load_paths()


@pytest.mark.parametrize(("name", "raw", "override"), [("v20", 8, 11), ("v21-alpha", 10, 13), ("v21-beta", 13, 16)])
def test_release_summaries(name, raw, override, release, ionis_data):
    verdicts = evaluate_paths(release(name), load_paths(ionis_data / "ki7mt_test_paths.json"))
    summary = summarise(verdicts)
    assert (summary.raw_hard_passes, summary.override_hard_passes) == (raw, override)
    assert summary.regressions == () and not summary.acid_raw_pass and summary.acid_override_pass
    acid = next(v for v in verdicts if v.id == "KI7MT-005")
    assert acid.rule == "A" and acid.overridden == -2.0 and acid.raw > 0


def test_order_paths_compare_band_means(random_bundle, ionis_data):
    verdicts = evaluate_paths(random_bundle, load_paths(ionis_data / "ki7mt_test_paths.json"))
    order = [v for v in verdicts if v.expected.startswith("order_")]
    assert [v.id for v in order] == ["KI7MT-017", "KI7MT-018"]
    assert all(v.raw_pass == (v.raw > 0) for v in order)
