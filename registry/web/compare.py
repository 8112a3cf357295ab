"""Side-by-side comparison of versions, and one gate's value across a family's versions (trends)."""

from __future__ import annotations

import math
from typing import Any

from registry.errors import InvalidInput

HIGHER_IS_BETTER = {">=", ">"}
LOWER_IS_BETTER = {"<=", "<"}
MAX_COMPARED = 8


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def direction(comparator: str, value: Any, base: Any) -> str:
    """``better``, ``worse``, ``same`` or ``n/a``: ``value`` against ``base`` in the gate's comparator's sense."""
    a, b = _num(value), _num(base)
    if a is None or b is None or comparator not in HIGHER_IS_BETTER | LOWER_IS_BETTER:
        return "n/a"
    if a == b:
        return "same"
    return "better" if (a > b) == (comparator in HIGHER_IS_BETTER) else "worse"


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict) and d:
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): d}


def _latest(store: Any, version: Any, suite: str | None) -> Any:
    runs = [e for e in store.evidence_for(version.version_id, suite) if e.purpose.get("command") != "verify"]
    return runs[-1] if runs else None


def compare(app: Any, refs: list[str], suite: str | None = None) -> dict[str, Any]:
    """Gate values, thresholds and deltas against the first version; slices (numeric details); lineage that differs."""
    if not 2 <= len(refs) <= MAX_COMPARED:
        raise InvalidInput(f"compare takes 2 to {MAX_COMPARED} versions, got {len(refs)}")
    store = app.store
    with store.catalog.read():
        versions = [store.resolve(r) for r in refs]
        runs = [_latest(store, v, suite) for v in versions]
    names: list[str] = []
    for ev in runs:
        for r in ev.results if ev else ():
            if r.name not in names:
                names.append(r.name)
    by_version = [{r.name: r for r in ev.results} if ev else {} for ev in runs]
    rows = []
    for name in names:
        base = by_version[0].get(name)
        cells = []
        for results in by_version:
            r = results.get(name)
            comparator = r.comparator if r else (base.comparator if base else "")
            a, b = (_num(r.value) if r else None), (_num(base.value) if base else None)
            delta = a - b if a is not None and b is not None else None
            cells.append({"present": r is not None, "value": r.value if r else None,
                          "status": r.status if r else "", "threshold": r.threshold if r else None,
                          "comparator": comparator, "delta": delta,
                          "direction": direction(comparator, r.value, base.value) if r and base else "n/a"})
        slices = sorted({k for res in by_version if name in res for k, v in _flat(res[name].details).items()
                         if _num(v) is not None})
        slice_rows = [{"name": k, "per_version": [_flat(res[name].details).get(k) if name in res else None
                                             for res in by_version]} for k in slices]
        rows.append({"name": name, "cells": cells, "slices": slice_rows})
    lineages = [_flat(v.lineage) for v in versions]
    keys = sorted(set().union(*lineages))
    lineage = [{"key": k, "per_version": [lin.get(k) for lin in lineages]} for k in keys
               if len({repr(lin.get(k)) for lin in lineages}) > 1]
    return {"versions": [{"ref": v.ref, "name": v.name, "short": v.short, "run": ev.evidence_id if ev else None,
                          "suite": f"{ev.suite} v{ev.suite_version}" if ev else "no run"}
                         for v, ev in zip(versions, runs, strict=True)],
            "rows": rows, "lineage": lineage}


def _latest_results(con: Any, family: str, suite: str | None) -> dict[str, list[dict[str, Any]]]:
    """version id → the gate rows of its latest stored run (re-runs by `verify` left out), in one query."""
    import json

    rows = con.execute(
        "SELECT version_id, arg_max(json_extract(body, '$.results')::VARCHAR, created_at || evidence_id) "
        "FROM evidence WHERE family = ? AND (? IS NULL OR suite = ?) "
        "AND coalesce(json_extract_string(body, '$.purpose.command'), '') <> 'verify' GROUP BY version_id",
        [family, suite, suite]).fetchall()
    return {vid: json.loads(results) for vid, results in rows}


def trend(app: Any, family: str, gate: str, suite: str | None = None) -> dict[str, Any]:
    """``gate``'s value in the latest run of each version, in registration order, with alias holders marked."""
    store = app.store
    with store.catalog.read() as con:
        if con is None:
            return {"family": family, "gate": gate, "suite": suite, "points": [], "gates": [], "figure": ""}
        versions = con.execute("SELECT number, version_id FROM versions WHERE family = ? ORDER BY number",
                               [family]).fetchall()
        holders: dict[str, list[str]] = {}
        for (_f, alias), vid in store.aliases(family).items():
            if vid:
                holders.setdefault(vid, []).append(alias)
        held: dict[str, list[str]] = {}
        for e in store.ledger(family):
            if e.to_version and e.alias not in held.setdefault(e.to_version, []):
                held[e.to_version].append(e.alias)
        latest = _latest_results(con, family, suite)
    points, gates = [], set()
    for number, vid in versions:
        results = {r["name"]: r for r in latest.get(vid, [])}
        gates |= set(results)
        r = results.get(gate) or {}
        points.append({"ref": f"{family}@{number}", "number": number, "value": r.get("value"),
                       "status": r.get("status", ""), "threshold": r.get("threshold"),
                       "comparator": r.get("comparator", ""), "aliases": sorted(holders.get(vid, [])),
                       "held": held.get(vid, [])})
    return {"family": family, "gate": gate, "suite": suite, "points": points, "gates": sorted(gates),
            "figure": _figure(gate, points)}


def _figure(gate: str, points: list[dict[str, Any]]) -> str:
    """An inline SVG line chart of the values (no script, no style attribute: allowed by the page's CSP)."""
    from registry.svg import FigureError, render_figure

    values = [_num(p["value"]) for p in points]
    if sum(v is not None for v in values) < 1:
        return ""
    thresholds = [p["threshold"] for p in points if _num(p["threshold"]) is not None]
    spec = {"kind": "line", "title": gate, "x": [p["number"] for p in points], "xlabel": "version",
            "ylabel": gate, "series": {"value": [float("nan") if v is None else v for v in values],
                                       "alias holders": [v if p["aliases"] and v is not None else float("nan")
                                                         for p, v in zip(points, values, strict=True)]},
            "hlines": [{"y": thresholds[-1], "label": "threshold"}] if thresholds else []}
    try:
        return render_figure(spec)
    except FigureError:
        return ""
