"""Time the whole V22 IONIS gate suite on one checkpoint: batched (as shipped) vs one row at a time (upstream style)."""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from plugins.ionis.bands import BAND_IDS
from plugins.ionis.checkpoint import IonisBundle, load_bundle
from plugins.ionis.features import PathBatch, build_features
from plugins.ionis.ki7mt import evaluate_paths, load_paths
from plugins.ionis.physics import KP_LEVELS, SFI_LEVELS, random_paths
from plugins.ionis.scenarios import KP, SEASONS, TST900_V22, W3, G
from plugins.ionis.suites import V22_RELEASE, ionis_suites

DATA = Path(os.environ.get("REGISTRY_SHARED_DATA") or Path(__file__).resolve().parents[1] / ".." / "shared" / "data")


class BenchContext:
    """The smallest GateContext: the candidate, seed 0, CPU."""

    version = None
    champion = None
    champion_model = None
    seed = 0
    device = "cpu"

    def __init__(self, bundle: IonisBundle) -> None:
        self.model = bundle
        self._memo: dict[str, Any] = {}

    def file(self, role: str) -> Path:
        raise KeyError(role)

    def extract(self, name: str, *, params: Any = None, split: str | None = None) -> Any:
        raise KeyError(name)

    def memo(self, key: str, compute: Any) -> Any:  # as a real run: shared by the gates of one suite run
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def torch_generator(self, stream: str = "") -> Any:
        raise NotImplementedError

    def rng(self, stream: str = "") -> np.random.Generator:
        return np.random.default_rng(int.from_bytes(hashlib.sha256(f"0:{stream}".encode()).digest()[:8], "little"))


def batched_suite(bundle: IonisBundle) -> dict[str, bool]:
    suite = next(s for s in ionis_suites() if s.name == V22_RELEASE)
    ctx = BenchContext(bundle)
    return {g.name: g.evaluate(ctx).passed for g in suite.gates}


def _one_row(bundle: IonisBundle, batch: PathBatch, i: int, **change: float) -> float:
    fields = {f: getattr(batch, f)[i] for f in batch.__dataclass_fields__} | change
    x = torch.from_numpy(build_features(bundle.features, PathBatch(**fields)))
    with torch.no_grad():
        return float(bundle.module(x))


def looped_suite(bundle: IonisBundle, examples: int) -> None:
    """Upstream style: every scenario, path and property example as its own single-row forward pass."""
    for scenario in TST900_V22:  # scenario by scenario, each scan hour by hour
        for scan in scenario.scans:
            month, doy = SEASONS[scan.season]
            freq = bundle.bands.freq_mhz([BAND_IDS[scan.band]])[0]
            for hour in range(24):
                one = PathBatch(W3[0], W3[1], G[0], G[1], freq, hour, month, doy, scan.sfi, KP)
                _one_row(bundle, one, 0)
    tests = load_paths()
    for t in tests:
        evaluate_paths(bundle, [t])
    paths = random_paths(np.random.default_rng(0), examples, bundle=bundle)
    for i in range(examples):
        [_one_row(bundle, paths, i, kp=k) for k in KP_LEVELS]
        [_one_row(bundle, paths, i, sfi=s) for s in SFI_LEVELS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", default=str(DATA / "ionis" / "ionis_v21.safetensors"))
    parser.add_argument("--config", default=str(DATA / "ionis" / "config_v21.json"))
    parser.add_argument("--meta", default=str(DATA / "ionis" / "ionis_v21_meta.json"))
    parser.add_argument("--examples", type=int, default=200, help="property examples in the looped run")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    bundle = load_bundle({"weights": Path(args.weights), "config": Path(args.config), "meta": Path(args.meta)})
    batched_suite(bundle)  # warm-up
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        verdicts = batched_suite(bundle)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    looped_suite(bundle, args.examples)
    looped = time.perf_counter() - start
    failing = [g for g, ok in verdicts.items() if not ok]
    print(f"checkpoint {Path(args.weights).name}: {len(verdicts)} gates, failing: {', '.join(failing) or 'none'}")
    print(f"batched V22 suite (512 property paths/gate): median {np.median(times):.3f}s  min {min(times):.3f}s")
    print(f"one row at a time (TST-900 + KI7MT + {args.examples} property examples): {looped:.3f}s "
          f"({looped / np.median(times):.0f}× slower)")


if __name__ == "__main__":
    main()
