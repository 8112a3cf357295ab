"""Benchmark: signatures-shaped rows from the in-process ClickHouse into the DuckDB extract cache.

Compares, in one run and each phase in its own fresh process (so peak RSS is that phase's own):

* ``cache``  — ``ExtractCache.materialise``: streamed Arrow blocks, type conversion, digest, DuckDB file;
* ``naive``  — ``client.query_df`` into pandas, then ``CREATE TABLE … AS SELECT * FROM df`` in DuckDB;
* ``hit``    — a repeated request: find the cached extract, open it and read it as an Arrow table. The table
  is memory-mapped from the extract's Arrow copy, so this phase also reports the time to touch every
  page of it once (``hit_touched``: what a consumer that reads all the rows pays on top), and the
  ratio is given for both.

Each phase runs ``--repeat`` times (default 3, alternating) and the medians are compared, so one slow
run on a busy machine does not decide a ratio.

Usage: ``python bench/bench_extract.py --rows 10000000`` (``--rows 200000`` for a quick look).
Targets from the issue: ≥ 1 M rows/s, ≥ 3× the naive path, peak RSS < 1.5 GB, cache hit ≥ 20× faster.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLUMNS = """tx_grid_4 FixedString(4), rx_grid_4 FixedString(4), band Int32, hour UInt8, month UInt8,
    median_snr Float32, spot_count UInt32, snr_std Float32, reliability Float32, avg_sfi Float32, avg_kp Float32,
    avg_distance UInt32, avg_azimuth UInt16, last_seen DateTime"""
GENERATE = """INSERT INTO bench.signatures SELECT
    concat(char(65 + number % 18), char(65 + intDiv(number, 18) % 18), toString(number % 10),
           toString(intDiv(number, 7) % 10)),
    concat(char(65 + cityHash64(number) % 18), char(65 + cityHash64(number, 1) % 18), toString(number % 9),
           toString(number % 8)),
    102 + number % 10, number % 24, 1 + number % 12, (number % 400) / 10 - 20, 1 + number % 500,
    (number % 70) / 10, (number % 100) / 100, 60 + number % 200, (number % 90) / 10, number % 20000,
    number % 360, toDateTime(1600000000 + number % 100000000)
FROM numbers({rows:UInt64})"""
QUERY = "SELECT * FROM bench.signatures WHERE band >= {band:Int32}"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _spec():  # noqa: ANN202 - runs inside the phase processes only
    from cache.spec import ExtractSpec

    return ExtractSpec("bench-signatures", QUERY, params={"band": 0})


def phase(name: str, workdir: Path, rows: int) -> dict[str, float]:
    """Run one phase in this process and return its measurements."""
    import duckdb  # noqa: F401 - imported before any timed region, for every phase alike
    import pyarrow  # noqa: F401

    from cache.sources import EmbeddedSource

    source = EmbeddedSource(workdir / "chdb")
    if name == "generate":
        source.command("CREATE DATABASE IF NOT EXISTS bench")
        source.command("DROP TABLE IF EXISTS bench.signatures")
        source.command(f"CREATE TABLE bench.signatures ({COLUMNS}) ENGINE = MergeTree "
                       "ORDER BY (band, hour, tx_grid_4, rx_grid_4)")
        t0 = time.perf_counter()
        source.command(GENERATE, {"rows": rows})
        seconds = time.perf_counter() - t0
        source.command("OPTIMIZE TABLE bench.signatures FINAL")  # no background merges during the timed phases
        return {"seconds": seconds}
    if name == "cache":
        import shutil

        from cache.store import ExtractCache

        # every run extracts into an empty cache, as a first extract does: replacing the previous run's
        # identical files would also time the file system freeing them (~0.3 s for 800 MB here)
        shutil.rmtree(workdir / "home", ignore_errors=True)
        source.client  # noqa: B018 - start the engine outside the timed region, as the naive path does
        t0 = time.perf_counter()
        ref = ExtractCache(workdir / "home").materialise(_spec(), source=source, refresh=True, progress=False)
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "rows": ref.rows, "rows_per_s": ref.rows / seconds, "peak_mb": _peak_mb()}
    if name == "naive":
        import duckdb

        client = source.client
        target = workdir / "naive.duckdb"
        target.unlink(missing_ok=True)  # outside the timed region, as for the cache
        t0 = time.perf_counter()
        df = client.query_df(QUERY, parameters={"band": 0})
        con = duckdb.connect(str(target))
        con.register("df", df)
        con.execute("CREATE TABLE data AS SELECT * FROM df")
        con.close()
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "rows": len(df), "rows_per_s": len(df) / seconds, "peak_mb": _peak_mb()}
    if name == "hit":
        from cache.store import ExtractCache

        cache = ExtractCache(workdir / "home")
        spec = _spec()
        source.client  # noqa: B018
        t0 = time.perf_counter()
        ref = cache.materialise(spec, source=source, progress=False)  # a hit: no query is sent
        table = cache.read(ref)
        seconds = time.perf_counter() - t0
        import numpy as np

        pages = 0
        for column in table.columns:
            for chunk in column.chunks:
                for buf in chunk.buffers():
                    if buf is not None and buf.size:
                        pages += int(np.frombuffer(buf, dtype=np.uint8)[::4096].sum(dtype=np.uint64) >= 0)
        touched = time.perf_counter() - t0
        return {"seconds": seconds, "touched": touched, "rows": table.num_rows, "peak_mb": _peak_mb()}
    raise SystemExit(f"unknown phase {name}")


def _run(name: str, workdir: Path, rows: int) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--phase", name, "--workdir", str(workdir), "--rows", str(rows)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each measurement's median over the runs."""
    import statistics

    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows to generate (default 10 M)")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch directory (default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each phase; medians are reported (default 3)")
    parser.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.workdir, args.rows)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmp:
        workdir = args.workdir or Path(tmp)
        gen = _run("generate", workdir, args.rows)
        print(f"generated {args.rows:,} rows x 14 columns in the embedded ClickHouse in {gen['seconds']:.1f} s")
        runs: dict[str, list[dict[str, float]]] = {"cache": [], "naive": [], "hit": []}
        for _ in range(max(1, args.repeat)):
            for name in runs:
                runs[name].append(_run(name, workdir, args.rows))
        cache, naive, hit = (_median(runs[name]) for name in ("cache", "naive", "hit"))
        spread = {name: (min(r["seconds"] for r in rs), max(r["seconds"] for r in rs)) for name, rs in runs.items()}
    print(f"{'path':<34} {'seconds':>8} {'rows/s':>12} {'peak RSS':>10}")
    print(f"{'cache (stream → DuckDB file)':<34} {cache['seconds']:>8.2f} {cache['rows_per_s']:>12,.0f} "
          f"{cache['peak_mb']:>7.0f} MB")
    print(f"{'naive (query_df → pandas → DuckDB)':<34} {naive['seconds']:>8.2f} {naive['rows_per_s']:>12,.0f} "
          f"{naive['peak_mb']:>7.0f} MB")
    print(f"{'cache hit (open + read as Arrow)':<34} {hit['seconds']:>8.3f} {'':>12} {hit['peak_mb']:>7.0f} MB")
    print(f"{'  … and every page touched once':<34} {hit['touched']:>8.3f}")
    print(f"medians of {max(1, args.repeat)} runs; range of seconds: " + ", ".join(
        f"{name} {lo:.2f}–{hi:.2f}" for name, (lo, hi) in spread.items()))
    print(f"cache vs naive: {naive['seconds'] / cache['seconds']:.1f}x faster, "
          f"{cache['peak_mb'] / naive['peak_mb']:.2f}x the peak memory")
    print(f"cache hit vs extracting again: {cache['seconds'] / hit['seconds']:.0f}x faster "
          f"({cache['seconds'] / hit['touched']:.0f}x with every page touched)")
    targets = [("≥ 1 M rows/s", cache["rows_per_s"] >= 1e6), ("≥ 3x naive", naive["seconds"] / cache["seconds"] >= 3),
               ("peak RSS < 1.5 GB", cache["peak_mb"] < 1536),
               ("hit ≥ 20x (pages touched)", cache["seconds"] / hit["touched"] >= 20)]
    print("targets: " + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in targets))


if __name__ == "__main__":
    main()
