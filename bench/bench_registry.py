"""Benchmarks of the core: CLI start-up, ``list`` over 10,000 versions, and promote overhead without gates.

Run: ``.venv/bin/python bench/bench_registry.py [--versions 10000] [--repeat 5]``. Prints figures and the ratio to
each target (``registry --help`` 0.5 s, ``registry list`` 1 s, promote overhead 100 ms); it never fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _whole_process(args: list[str], env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "registry.cli", *args], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _fill_catalog(home: Path, n: int) -> None:
    """Insert ``n`` synthetic versions in one transaction (the catalog's real tables, no gate runs)."""
    from registry.catalog import Catalog
    from registry.hashing import canonical_json, digest_json

    rows, files = [], []
    for i in range(1, n + 1):
        vid = digest_json({"bench": i})
        rows.append(["bench", i, vid, f"bench-{i}", canonical_json({"validated": {"parameters": 1000 + i}}),
                     "2026-01-01T00:00:00+00:00", "bench"])
        files.append([vid, "weights", digest_json({"file": i}), 1024, f"w{i}.safetensors"])
    with Catalog(home).write() as con:
        con.executemany("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        con.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?)", files)


class _Instant:
    name, version, description = "instant", "1", "does nothing"

    def evaluate(self, ctx: object) -> object:
        from gates.base import Outcome

        return Outcome(value=1, passed=True)


def _promote_overhead(repeat: int) -> tuple[float, float]:
    import numpy as np
    from safetensors.numpy import save_file

    from gates.suite import GateSuite
    from registry.app import App
    from registry.family import ArtifactRole
    from registry.hookspecs import hookimpl
    from registry.plugins import get_plugin_manager
    from registry.promotion import promote

    class Fam:
        name, version, summary, default_suite, extracts = "bench", "1", "bench", "s", ()
        roles = (ArtifactRole("weights"),)

        def validate(self, files: object) -> dict[str, object]:
            return {}

        def load(self, files: object, device: str = "cpu") -> object:
            return None

        def predict(self, model: object, input_path: object, *, device: str = "cpu") -> list[object]:
            return []

    class Plugin:
        @hookimpl
        def registry_families(self) -> list[object]:
            return [Fam()]

        @hookimpl
        def registry_gates(self) -> list[object]:
            return [GateSuite("s", "1", "bench", (_Instant(),))]

    pm = get_plugin_manager(builtins=(), entry_points=False)
    pm.register(Plugin(), name="bench")
    with tempfile.TemporaryDirectory() as tmp:
        app = App(Path(tmp) / "home", plugins=pm)
        totals, gates = [], []
        for i in range(repeat + 1):
            w = Path(tmp) / f"w{i}.safetensors"
            save_file({"w": np.full(4, i, dtype=np.float32)}, str(w))
            v, _ = app.store.register("bench", {"weights": w})
            t0 = time.perf_counter()
            d = promote(app, v.ref, "production")
            if i:  # the first call pays for imports
                totals.append(time.perf_counter() - t0)
                gates.append(sum(r.seconds for r in d.evidence.results))
        return statistics.median(totals), statistics.median(gates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--versions", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = {**os.environ, "REGISTRY_HOME": str(home), "PYTHONPATH": str(REPO)}
        _fill_catalog(home, a.versions)
        t_help = _whole_process(["--help"], env, a.repeat)
        t_list = _whole_process(["list"], env, a.repeat)
        t_list_json = _whole_process(["list", "--json"], env, a.repeat)
    total, gate = _promote_overhead(a.repeat)
    overhead = total - gate
    print(f"{'benchmark':<42} {'median':>10} {'target':>8} {'ratio':>7}")
    for name, value, target in (("registry --help (whole process)", t_help, 0.5),
                                (f"registry list, {a.versions:,} versions", t_list, 1.0),
                                (f"registry list --json, {a.versions:,} versions", t_list_json, 1.0),
                                ("promote overhead without gate time", overhead, 0.1)):
        print(f"{name:<42} {value * 1000:>8.0f}ms {target * 1000:>6.0f}ms {value / target:>7.2f}")
    print(f"(promote total {total * 1000:.0f} ms of which gates {gate * 1000:.1f} ms; "
          "ratio < 1 means the target is met)")


if __name__ == "__main__":
    main()
