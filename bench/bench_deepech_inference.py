"""DeepECH two-stage inference: rows/s batched (streamed from a .npy file) vs one row at a time.

    python bench/bench_deepech_inference.py [--rows 1000000] [--single-rows 300] [--batch 4096] [--workers N]
                                            [--device cpu|cuda]

Rows are upstream's real sample rows (``$REGISTRY_SHARED_DATA/deepech/sample_data.pkl``) tiled to ``--rows`` with
a small seeded jitter of L, written to a temporary .npy with plain writes and read back ``--batch`` rows at a time
with plain reads (no memory map, whose file pages would count as resident), so peak memory stays bounded by a few
batches, not by the file. The one-at-a-time rate is measured on ``--single-rows`` rows and extrapolated.
Weights are seeded random (speed does not depend on their values); the classifier's output bias is centred on the
sample rows so that a good share of the rows go on to the regressor (the run prints the share). "One row at a
time" is upstream's script style: classifier on one row, then the regressor on it if present. CUDA is measured
too when a GPU is present.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plugins.deepech.demo import sample_path  # noqa: E402
from plugins.deepech.inference import TwoStageModel  # noqa: E402
from plugins.deepech.inputs import read_rows  # noqa: E402
from plugins.deepech.model import build_classifier, build_regressor  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _write_rows(path: Path, base: np.ndarray, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False,
                                                 "shape": (n, base.shape[1])})
        for start in range(0, n, 65536):
            stop = min(n, start + 65536)
            chunk = base[np.arange(start, stop) % len(base)].astype(np.float32)
            chunk[:, 0] = np.clip(chunk[:, 0] + rng.normal(0, 0.05, stop - start), 1.0, 10.0)
            f.write(chunk.tobytes())


def read_batches(path: Path, batch: int, limit: int | None = None):  # type: ignore[no-untyped-def]
    """``batch`` rows at a time from a float32 .npy, by plain reads."""
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        shape, _, _ = np.lib.format.read_array_header_1_0(f)
        n = shape[0] if limit is None else min(limit, shape[0])
        for start in range(0, n, batch):
            k = min(batch, n - start)
            yield np.frombuffer(f.read(k * shape[1] * 4), dtype=np.float32).reshape(k, shape[1])


def _model(device: str, centre_on: np.ndarray) -> TwoStageModel:
    torch.manual_seed(0)
    cls, reg = build_classifier().eval(), build_regressor().eval()
    with torch.no_grad():
        cls.fc8.weight.mul_(1000.0)
        cls.fc8.bias.fill_(-float(cls(torch.as_tensor(centre_on, dtype=torch.float32)).median()))
    return TwoStageModel(cls, reg, device=device)


def batched(model: TwoStageModel, path: Path, batch: int, limit: int | None = None,
            step: int | None = None) -> tuple[float, float, int]:
    t0, c0 = time.perf_counter(), time.process_time()
    present = 0
    for pred in model.predict_batches(read_batches(path, batch, limit), step):
        present += int(pred.present.sum())
    if model.device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0, time.process_time() - c0, present


def one_at_a_time(model: TwoStageModel, rows: np.ndarray) -> float:
    """Upstream's script style: the classifier on one row, then the regressor on it if present."""
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(len(rows)):
            x = torch.as_tensor(np.array(rows[i:i + 1]), device=model.device)
            if float(torch.sigmoid(model.classifier(x))[0]) > model.threshold:
                float(model.regressor(x)[0])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--single-rows", type=int, default=300, help="rows for the one-at-a-time loop (extrapolated)")
    ap.add_argument("--batch", type=int, default=4096, help="rows read from the file at a time")
    ap.add_argument("--step", type=int, default=None, help="rows per forward pass (default: the model's)")
    ap.add_argument("--workers", type=int, default=None, help="CPU workers (default: torch's thread count)")
    ap.add_argument("--device", default=None, help="default: cpu, and cuda too when present")
    args = ap.parse_args()
    base = read_rows(sample_path())
    devices = [args.device] if args.device else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.npy"
        _write_rows(path, base, args.rows)
        size_mb = path.stat().st_size / 2**20
        print(f"{args.rows:,} rows × 224 float32 ({size_mb:,.0f} MiB on disk, read {args.batch:,} rows at a time); "
              f"torch threads {torch.get_num_threads()}; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs")
        for device in devices:
            model = _model(device, base[::6])
            model.workers = args.workers
            batched(model, path, args.batch, limit=args.batch, step=args.step)  # warm-up
            rss0 = _rss_mb()
            secs, cpu, present = batched(model, path, args.batch, step=args.step)
            rss1 = _rss_mb()
            single_rows = next(read_batches(path, args.single_rows))
            single = one_at_a_time(model, single_rows)
            b_rate, s_rate = args.rows / secs, args.single_rows / single
            print(f"[{device}] batched (steps of {args.step or model.step}, {model.workers or torch.get_num_threads()}"
                  f" workers): {secs:,.1f} s = {b_rate:,.0f} rows/s ({cpu:,.1f} CPU-s), {present:,} present "
                  f"({present / args.rows:.0%}); peak RSS {rss1:,.0f} MB (before the run {rss0:,.0f} MB)")
            print(f"[{device}] one row at a time: {s_rate:,.1f} rows/s on {args.single_rows} rows (extrapolated: "
                  f"{args.rows / s_rate / 3600:,.1f} h for {args.rows:,}) → batched is {b_rate / s_rate:,.0f}× faster")
            print(f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
