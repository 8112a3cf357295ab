"""Benchmark of ``registry serve``: start-up, and latency of the version list page and the ``/api/v1`` list over
10,000 synthetic versions under concurrent clients, beside the CLI's ``registry list --json`` of the same catalog.

Run: ``.venv/bin/python bench/bench_serve.py [--versions 10000] [--clients 8] [--requests 200]``. Prints p50/p95
against the targets (100 ms / 250 ms), start-up time, and the ratio to the whole-process CLI; it never fails.
The catalog is filled with synthetic versions (family ``bench``; no files, no gate runs).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_registry import _fill_catalog  # noqa: E402  (the same synthetic catalog as the core benchmark)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], port: int) -> tuple[subprocess.Popen[bytes], float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "registry.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/static/web.css", timeout=1).status_code == 200:
                return proc, time.perf_counter() - t0
        except httpx.TransportError:
            if proc.poll() is not None:
                raise RuntimeError("registry serve exited") from None
            time.sleep(0.02)


def _load(url: str, clients: int, requests: int) -> list[float]:
    """``requests`` GETs of ``url`` spread over ``clients`` threads, each with its own keep-alive connection."""
    times: list[float] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(timeout=60) as c:
            for _ in range(n):
                t0 = time.perf_counter()
                r = c.get(url)
                dt = time.perf_counter() - t0
                assert r.status_code == 200, r.status_code
                with lock:
                    times.append(dt)

    threads = [threading.Thread(target=client, args=(requests // clients,)) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def _pct(times: list[float], q: float) -> float:
    return sorted(times)[min(len(times) - 1, int(q * len(times)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--versions", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=200)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = {**os.environ, "REGISTRY_HOME": str(home), "PYTHONPATH": str(REPO)}
        _fill_catalog(home, a.versions)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "registry.cli", "list", "bench", "--json"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        cli = time.perf_counter() - t0
        port = _port()
        proc, startup = _start(env, port)
        try:
            base = f"http://127.0.0.1:{port}"
            rows = []
            for name, path in (("version list page (100 rows of 10,000)", "/families/bench"),
                               ("version list page, sorted desc, page 50", "/families/bench?sort=created&order=desc"
                                                                            "&page=50"),
                               ("/api/v1 list (all 10,000 rows)", "/api/v1/families/bench/versions"),
                               ("/api/v1 show one version", "/api/v1/versions/bench@5000"),
                               ("trends page (10,000 points, no runs)", "/families/bench/trends?gate=g")):
                first = _load(base + path, 1, 1)[0]  # cold: builds what the cache then keeps
                times = _load(base + path, a.clients, a.requests)
                rows.append((name, first, _pct(times, 0.5), _pct(times, 0.95), len(times)))
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"{a.versions:,} synthetic versions, {a.clients} concurrent clients, {os.cpu_count()} CPUs")
    print(f"{'request':<44} {'cold':>7} {'p50':>7} {'p95':>7}  {'p50/100ms':>9} {'p95/250ms':>9}")
    for name, first, p50, p95, _n in rows:
        print(f"{name:<44} {first * 1000:>5.0f}ms {p50 * 1000:>5.0f}ms {p95 * 1000:>5.0f}ms  {p50 / 0.1:>9.2f} "
              f"{p95 / 0.25:>9.2f}")
    print(f"registry serve start-up (process start → first response): {startup * 1000:.0f} ms")
    print(f"peer: `registry list bench --json` as a whole process: {cli * 1000:.0f} ms; the API list p50 is "
          f"{rows[2][2] / cli:.2f}× of it (ratio < 1: targets met / faster than the CLI)")


if __name__ == "__main__":
    main()
