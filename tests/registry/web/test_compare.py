"""Better or worse in the sense of each gate's comparator; non-numbers and unknown comparators are n/a."""

from __future__ import annotations

import math

import pytest

from registry.web.compare import MAX_COMPARED, compare, direction


@pytest.mark.parametrize(("comparator", "value", "base", "expected"), [
    (">=", 2, 1, "better"), (">", 2, 1, "better"), (">=", 1, 2, "worse"), ("<=", 1, 2, "better"),
    ("<", 2, 1, "worse"), ("<=", 1.5, 1.5, "same"), (">=", 1, 1.0, "same"), ("==", 1, 2, "n/a"), ("", 1, 2, "n/a"),
    (">=", None, 1, "n/a"), (">=", 1, None, "n/a"), (">=", math.nan, 1, "n/a"), ("<=", math.inf, 1, "n/a"),
    (">=", True, 0, "n/a"), (">=", "NaN", 1, "n/a")])
def test_direction(comparator: str, value: object, base: object, expected: str) -> None:
    assert direction(comparator, value, base) == expected


def test_compare_takes_two_to_the_maximum(app) -> None:  # type: ignore[no-untyped-def]
    from registry.errors import InvalidInput

    for refs in (["toy@1"], [f"toy@{i}" for i in range(MAX_COMPARED + 1)]):
        with pytest.raises(InvalidInput):
            compare(app, refs)


@pytest.fixture
def populated(app, ckpts, tmp_path):  # type: ignore[no-untyped-def]
    from live_server import populate

    return populate(app, ckpts, tmp_path)


def test_compare_rows_deltas_slices_and_lineage(app, populated) -> None:  # type: ignore[no-untyped-def]
    result = compare(app, ["toy@1", "toy@3"])
    assert [v["ref"] for v in result["versions"]] == ["toy@1", "toy@3"]
    assert [v["suite"] for v in result["versions"]] == ["release v1", "release v1"]
    runs = [app.store.evidence_for(app.store.resolve(r).version_id)[-1] for r in ("toy@1", "toy@3")]
    assert [v["run"] for v in result["versions"]] == [e.evidence_id for e in runs]
    rows = {r["name"]: r for r in result["rows"]}
    assert list(rows) == [r.name for r in runs[0].results]
    for name, row in rows.items():
        first, second = ({r.name: r for r in e.results}[name] for e in runs)
        base, other = row["cells"]
        assert (base["value"], other["value"]) == (first.value, second.value)
        assert (base["status"], other["status"], other["threshold"]) == (first.status, second.status,
                                                                         second.threshold)
        assert base["delta"] == 0 and other["delta"] == pytest.approx(second.value - first.value)
        assert other["direction"] == "worse"
    assert [s["name"] for s in rows["skill_vs_climatology"]["slices"]] == ["rmse", "rmse_clim"]
    rmse = rows["skill_vs_climatology"]["slices"][0]["per_version"]
    assert rmse == [{r.name: r for r in e.results}["skill_vs_climatology"].details["rmse"] for e in runs]
    assert {d["key"] for d in result["lineage"]} == {"code_version", "source_files.weights"}
    assert next(d for d in result["lineage"] if d["key"] == "code_version")["per_version"] == ["abc0", "abc2"]


def test_compare_without_runs_of_the_suite(app, populated) -> None:  # type: ignore[no-untyped-def]
    result = compare(app, ["toy@1", "toy@2"], suite="with-data")
    assert [v["suite"] for v in result["versions"]] == ["no run", "no run"] and result["rows"] == []


def test_trend_follows_registration_order_and_marks_holders(app, populated) -> None:  # type: ignore[no-untyped-def]
    from registry.promotion import verify
    from registry.web.compare import trend

    verify(app, "toy@1")  # a re-run by verify is never the point shown
    result = trend(app, "toy", "spread_ratio")
    values = []
    for ref in ("toy@1", "toy@2", "toy@3"):
        runs = [e for e in app.store.evidence_for(app.store.resolve(ref).version_id)
                if e.purpose.get("command") != "verify"]
        values.append({r.name: r for r in runs[-1].results}["spread_ratio"].value)
    assert [p["ref"] for p in result["points"]] == ["toy@1", "toy@2", "toy@3"]
    assert [p["value"] for p in result["points"]] == values
    assert [p["status"] for p in result["points"]] == ["pass", "pass", "fail"]
    assert [p["aliases"] for p in result["points"]] == [["production"], [], []]
    assert [p["held"] for p in result["points"]] == [["production"], [], []]
    assert result["gates"] == ["not_worse_than_champion", "skill_vs_climatology", "spread_ratio"]
    assert result["figure"].startswith("<svg")
    empty = trend(app, "toy", "spread_ratio", suite="with-data")
    assert [p["value"] for p in empty["points"]] == [None, None, None] and empty["figure"] == ""
