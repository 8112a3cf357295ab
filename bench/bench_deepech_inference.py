"""DeepECH two-stage inference: rows/s batched (streamed from a memory-mapped .npy) vs one row at a time.

    python bench/bench_deepech_inference.py [--rows 1000000] [--single-rows 300] [--batch 4096] [--device cpu|cuda]

Rows are upstream's real sample rows (``$REGISTRY_SHARED_DATA/deepech/sample_data.pkl``) tiled to ``--rows`` with
a small seeded jitter of L, written to a temporary .npy and streamed batch by batch, so peak memory stays bounded
by one batch, not by the file. Weights are seeded random (speed does not depend on their values); the classifier's
output bias is centred so that about half the rows go on to the regressor. "One row at a time" is upstream's script
style: classifier on one row, then the regressor on it if present. CUDA is measured too when a GPU is present.
"""

from __future__ import annotations

import argparse
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


def _write_rows(path: Path, base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, base.shape[1]))
    for start in range(0, n, 65536):
        stop = min(n, start + 65536)
        chunk = base[np.arange(start, stop) % len(base)].astype(np.float32)
        chunk[:, 0] = np.clip(chunk[:, 0] + rng.normal(0, 0.05, stop - start), 1.0, 10.0)
        out[start:stop] = chunk
    out.flush()
    return np.load(path, mmap_mode="r")


def _model(device: str, centre_on: np.ndarray) -> TwoStageModel:
    torch.manual_seed(0)
    cls, reg = build_classifier().eval(), build_regressor().eval()
    with torch.no_grad():
        cls.fc8.weight.mul_(1000.0)
        cls.fc8.bias.fill_(-float(cls(torch.as_tensor(centre_on, dtype=torch.float32)).median()))
    return TwoStageModel(cls, reg, device=device)


def batched(model: TwoStageModel, rows: np.ndarray, batch: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    present = 0
    for pred in model.predict_batches(np.asarray(rows[s:s + batch]) for s in range(0, len(rows), batch)):
        present += int(pred.present.sum())
    if model.device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0, present


def one_at_a_time(model: TwoStageModel, rows: np.ndarray) -> float:
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
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--device", default=None, help="default: cpu, and cuda too when present")
    args = ap.parse_args()
    base = read_rows(sample_path())
    devices = [args.device] if args.device else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    with tempfile.TemporaryDirectory() as tmp:
        rows = _write_rows(Path(tmp) / "rows.npy", base, args.rows)
        size_mb = rows.nbytes / 2**20
        print(f"{args.rows:,} rows × 224 float32 ({size_mb:,.0f} MiB on disk, memory-mapped); torch threads "
              f"{torch.get_num_threads()}")
        for device in devices:
            model = _model(device, base[::6])
            batched(model, rows[: args.batch], args.batch)  # warm-up
            rss0 = _rss_mb()
            secs, present = batched(model, rows, args.batch)
            single = one_at_a_time(model, rows[: args.single_rows])
            b_rate, s_rate = args.rows / secs, args.single_rows / single
            print(f"[{device}] batched ({args.batch}): {secs:.1f} s = {b_rate:,.0f} rows/s, {present:,} present "
                  f"({present / args.rows:.0%}); peak RSS {_rss_mb():,.0f} MB (before the run {rss0:,.0f} MB)")
            print(f"[{device}] one row at a time: {s_rate:,.1f} rows/s on {args.single_rows} rows "
                  f"→ batched is {b_rate / s_rate:,.0f}× faster")


if __name__ == "__main__":
    main()
