"""Time the verification scores against their peers in the same run (synthetic data): exact ensemble CRPS,
streaming CRPS + ranks + spread/skill over an HRRR-sized case in tiles, and FSS at several neighbourhood sizes."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

warnings.filterwarnings("ignore")  # the peers' deprecation chatter


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of ``repeat`` calls after one warm-up call (compilation, caches), and the last result."""
    seconds, _, outs = timed_rounds({"fn": fn}, repeat)
    return seconds["fn"], outs["fn"]


def timed_rounds(fns: dict[str, Callable[[], Any]],
                 repeat: int) -> tuple[dict[str, float], dict[str, float], dict[str, Any]]:
    """Median wall time and median CPU time (all of this process's threads) of each of ``fns`` over ``repeat``
    rounds that call every one in turn, after one warm-up call each, so that all contenders share whatever else
    the machine runs at the time; and their last results. CPU time is what other work on the machine moves least."""
    outs = {name: fn() for name, fn in fns.items()}
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t, c = time.perf_counter(), time.process_time()
            outs[name] = fn()
            cpu[name].append(time.process_time() - c)
            wall[name].append(time.perf_counter() - t)
    return ({name: statistics.median(ts) for name, ts in wall.items()},
            {name: statistics.median(ts) for name, ts in cpu.items()}, outs)


def load_average() -> str:
    """The 1-minute load average and the CPUs it is shared by (other work running beside the benchmark)."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def copy_bandwidth(nbytes: int) -> float:
    """Bytes read per second by a plain copy of an array of ``nbytes`` (the memory-bandwidth floor's yardstick)."""
    src = np.ones(nbytes // 8)
    dst = np.empty_like(src)
    seconds, _ = timed(lambda: np.copyto(dst, src), 3)
    return src.nbytes / seconds


def bench_crps(n: int, m: int, repeat: int) -> None:
    rng = np.random.default_rng(0)
    bandwidth = copy_bandwidth(n * m * 4)
    print(f"\n## exact ensemble CRPS, m = {m}, N = {n:,} (members last, the peers' layout; synthetic normal data)")
    print(f"copy bandwidth {bandwidth / 1e9:.1f} GB/s")
    for dtype in (np.float32, np.float64):
        crps_one_dtype(rng.normal(size=(n, m)).astype(dtype), rng.normal(size=n).astype(dtype), bandwidth, repeat)


def one_thread(fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` run with numba limited to one thread (the peers' kernels are single-threaded gufuncs)."""
    import numba

    def run() -> Any:
        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            return fn()
        finally:
            numba.set_num_threads(threads)

    return run


def torch_contenders(x: np.ndarray, y: np.ndarray) -> dict[str, Callable[[], Any]]:
    """The torch path on the same arrays: on CPU always, on CUDA when a GPU is there (tensors moved once)."""
    import torch

    from gates.torch_scores import crps_ensemble_torch

    out: dict[str, Callable[[], Any]] = {}
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    out[f"torch cpu ({torch.get_num_threads()} thr)"] = lambda: crps_ensemble_torch(xt, yt, member_axis=-1).numpy()
    if torch.cuda.is_available():
        xc, yc = xt.cuda(), yt.cuda()

        def cuda() -> Any:
            result = crps_ensemble_torch(xc, yc, member_axis=-1)
            torch.cuda.synchronize()
            return result

        out["torch cuda"] = cuda
    else:
        print("  (torch cuda: skipped, no GPU on this machine)")
    return out


def crps_one_dtype(x: np.ndarray, y: np.ndarray, bandwidth: float, repeat: int) -> None:
    import properscoring
    import scoringrules
    import xarray as xr
    import xskillscore

    from gates.ensemble import crps_ensemble

    fx, oy = xr.DataArray(x, dims=("p", "member")), xr.DataArray(y, dims=("p",))
    x_first = np.ascontiguousarray(x.T)
    peers: dict[str, Callable[[], Any]] = {
        "properscoring (numba)": lambda: properscoring.crps_ensemble(y, x),
        "scoringrules numba qd": lambda: scoringrules.crps_ensemble(y, x, estimator="qd", backend="numba"),
        "scoringrules numba nrg": lambda: scoringrules.crps_ensemble(y, x, estimator="nrg", backend="numba"),
        "scoringrules numba int": lambda: scoringrules.crps_ensemble(y, x, estimator="int", backend="numba"),
        "xskillscore": lambda: xskillscore.crps_ensemble(oy, fx, dim=[]).values,
    }
    ours: dict[str, Callable[[], Any]] = {
        "gates (members last)": lambda: crps_ensemble(x, y, member_axis=-1),
        "gates (members first)": lambda: crps_ensemble(x_first, y, member_axis=0),
        "gates 1 thr (last)": one_thread(lambda: crps_ensemble(x, y, member_axis=-1)),
        "gates 1 thr (first)": one_thread(lambda: crps_ensemble(x_first, y, member_axis=0)),
    }
    slow = torch_contenders(x, y)  # torch sorts rows of 50 slowly on CPU: one round after its warm-up
    print(f"\n{x.dtype.name}: {x.nbytes / 1e6:.0f} MB of members; {load_average()} before")
    seconds, cpu, outs = timed_rounds({**peers, **ours}, repeat)
    seconds_t, cpu_t, outs_t = timed_rounds(slow, 1)
    seconds, cpu, outs, ours = {**seconds, **seconds_t}, {**cpu, **cpu_t}, {**outs, **outs_t}, {**ours, **slow}
    reference = np.asarray(outs["gates (members last)"], dtype=np.float64)
    fastest_peer = min(peers, key=lambda k: seconds[k])
    least_cpu_peer = min(peers, key=lambda k: cpu[k])
    print(f"  {'':<26} {'wall ms':>8} {'CPU ms':>8}   (×: the fastest peer's time ÷ this one's; the fastest by wall "
          f"time: {fastest_peer}, by CPU time: {least_cpu_peer})")
    for name in seconds:
        out = outs[name].cpu() if hasattr(outs[name], "cpu") else outs[name]
        agree = np.max(np.abs(np.asarray(out, dtype=np.float64) - reference))
        line = f"  {name:<26} {seconds[name] * 1e3:8.1f} {cpu[name] * 1e3:8.1f}   max |Δ| vs gates {agree:.1e}"
        if name in ours:
            floor = x.nbytes / bandwidth
            line += (f"   wall {seconds[fastest_peer] / seconds[name]:4.1f}×, "
                     f"CPU {cpu[least_cpu_peer] / cpu[name]:4.1f}×, "
                     f"{floor / seconds[name]:.0%} of the bandwidth floor ({floor * 1e3:.0f} ms)")
        print(line)
    print(f"  medians of {repeat} interleaved rounds; {load_average()} after")


def rss_anon_mb() -> float:
    """Anonymous resident memory of this process (what it allocated, not the file pages it mapped), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_streaming(tile_rows: int, repeat: int) -> None:
    from gates.streaming import CRPSAccumulator, RankHistogramAccumulator, SpreadSkillAccumulator

    shape = (50, 7, 1059, 1799)  # members, variables, y, x: HRRR's CONUS grid, float32
    print(f"\n## streaming CRPS + rank histogram + spread/skill, {shape} float32 "
          f"({np.prod(shape) * 4 / 1e9:.2f} GB, memory-mapped, synthetic), tiles of {tile_rows} rows")
    with tempfile.TemporaryDirectory() as tmp:
        members = np.lib.format.open_memmap(Path(tmp) / "members.npy", "w+", np.float32, shape)
        obs = np.lib.format.open_memmap(Path(tmp) / "obs.npy", "w+", np.float32, shape[1:])
        rng = np.random.default_rng(1)
        for r in range(0, shape[2], 64):  # written in slabs: the case never sits in memory whole
            centre = rng.normal(size=(7, min(64, shape[2] - r), shape[3])).astype(np.float32)
            members[:, :, r:r + 64] = centre + rng.normal(size=(50, *centre.shape)).astype(np.float32)
            obs[:, r:r + 64] = centre + rng.normal(size=centre.shape).astype(np.float32)
        members.flush()
        obs.flush()
        del members, obs
        base = rss_anon_mb()
        tracemalloc.start()
        for _ in range(repeat):
            members = np.load(Path(tmp) / "members.npy", mmap_mode="r")
            obs = np.load(Path(tmp) / "obs.npy", mmap_mode="r")
            crps, rh, ss = CRPSAccumulator(by=0), RankHistogramAccumulator(50, seed=0), SpreadSkillAccumulator(by=0)
            t = time.perf_counter()
            for r in range(0, shape[2], tile_rows):
                x, y = members[:, :, r:r + tile_rows], obs[:, r:r + tile_rows]
                crps.update(x, y)
                rh.update(x, y)
                ss.update(x, y)
            seconds = time.perf_counter() - t
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            print(f"  {seconds:6.1f} s   CRPS per variable {np.round(crps.result(), 3).tolist()}   "
                  f"rank χ² p {rh.result_test()[1]:.2f}   spread/skill {np.round(ss.result(), 2).tolist()}")
            print(f"  peak memory allocated while scoring {peak:.0f} MB (tracemalloc: numpy buffers); anonymous RSS "
                  f"{rss_anon_mb() - base:+.0f} MB after it; the inputs are memory-mapped file pages")


def bench_fss(repeat: int) -> None:
    import scores.spatial
    import xarray as xr

    from gates.spatial import fss

    windows = (3, 9, 27, 51, 101)
    rng = np.random.default_rng(2)
    shape = (1059, 1799)
    smooth = np.cumsum(np.cumsum(rng.normal(size=shape), axis=0), axis=1)  # a correlated synthetic field
    smooth = (smooth - smooth.mean()) / smooth.std()
    fc = smooth + 0.3 * rng.normal(size=shape)
    ob = smooth + 0.3 * rng.normal(size=shape)
    threshold = float(np.quantile(ob, 0.9))
    print(f"\n## FSS at windows {windows} on a {shape[0]} × {shape[1]} field (synthetic), threshold q90")
    ours_s, ours = timed(lambda: fss(fc, ob, threshold, windows), repeat)
    fx, ox = xr.DataArray(fc, dims=("y", "x")), xr.DataArray(ob, dims=("y", "x"))

    def peer() -> list[float]:
        return [float(scores.spatial.fss_2d(fx, ox, event_threshold=threshold, window_size=(w, w),
                                            spatial_dims=("y", "x"))) for w in windows]

    peer_s, theirs = timed(peer, repeat)
    print(f"  gates.spatial.fss   {ours_s * 1e3:8.1f} ms   {np.round(ours, 4).tolist()}")
    print(f"  scores.fss_2d       {peer_s * 1e3:8.1f} ms   {np.round(theirs, 4).tolist()}")
    print(f"  {peer_s / ours_s:.1f}× faster, max |Δ| {np.max(np.abs(np.asarray(ours) - theirs)):.1e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000, help="points for the CRPS timing")
    ap.add_argument("--members", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--tile-rows", type=int, default=64, help="grid rows per tile of the streaming case")
    ap.add_argument("--only", choices=("crps", "streaming", "fss"), action="append")
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs; numba threads {os.environ.get('NUMBA_NUM_THREADS', 'all')}")
    only = set(args.only or ("crps", "streaming", "fss"))
    if "crps" in only:
        bench_crps(args.n, args.members, args.repeat)
    if "fss" in only:
        bench_fss(args.repeat)
    if "streaming" in only:
        bench_streaming(args.tile_rows, 1)


if __name__ == "__main__":
    main()
