"""``registry datasets [add]`` and ``registry ensembles``: gridded datasets and generated ensembles on the command
line."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from registry.errors import ExitCode
from registry.output import Output, add_common


def add_parsers(sub: Any) -> None:
    """Add the dataset commands to the ``registry`` sub-command parser."""
    p = sub.add_parser("datasets", help="list registered gridded datasets (or register one with `add`)",
                       description="Gridded datasets are Zarr v3 stores registered by a digest over their "
                       "chunks; gate runs pin them by digest and every chunk is re-verified as it is read.")
    p.add_argument("--verify", metavar="NAME", default=None,
                   help="re-read every chunk of dataset NAME (the newest) against its digest (exit 3 if changed)")
    add_common(p)
    p.set_defaults(handler=_datasets)
    dsub = p.add_subparsers(dest="datasets_command", metavar="ACTION")
    q = dsub.add_parser("add", help="register a gridded dataset from a Zarr v3 group or .npy stacks",
                        description="PATH is one Zarr v3 group, a folder of .npy files (one (time, y, x) array per "
                        "variable; lat.npy/lon.npy are 2-D coordinates; stats.json gives {variable: {mean, std}}), "
                        "or .npy files. Statistics not given are computed. Copied chunk by chunk; nothing is "
                        "registered unless all of it is valid.")
    q.add_argument("name", help="dataset name (lower-case letter, then letters, digits, . _ -)")
    q.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    q.add_argument("--stats", type=Path, default=None, help="JSON {variable: {mean, std}} (overrides stats.json)")
    q.add_argument("--normalised", action="store_true", help="the arrays hold z-scores already")
    q.add_argument("--tile", type=int, default=256, help="chunk edge on y and x (default 256)")
    q.add_argument("--synthetic", action="store_true", help="label the data synthetic (shown wherever it is listed)")
    q.add_argument("--description", default="", help="one line saying what the data are")
    add_common(q)
    q.set_defaults(handler=_add)

    p = sub.add_parser("ensembles", help="list generated ensembles on disk (or prune them)",
                       description="Ensembles that gate runs generated, under <home>/ensembles: version, shape, "
                       "device, size, and whether a stored run pins them (verify reuses those). --prune removes the "
                       "ones no stored run pins, and folders a crashed writer left.")
    p.add_argument("--prune", action="store_true", help="remove ensembles nothing pins")
    p.add_argument("--dry-run", action="store_true", help="with --prune: only list what would be removed")
    add_common(p)
    p.set_defaults(handler=_ensembles)


def _summary(ref: Any) -> dict[str, Any]:
    h = ref.header
    return {"name": ref.name, "digest": ref.digest, "created_at": ref.created_at, "shape": h["shape"],
            "variables": h["variables"], "coords": h["coords"], "chunks": h["chunks"], "stats": h["stats"],
            "normalised": h["normalised"], "attrs": h.get("attrs", {})}


def _line(ref: Any, pins: dict[str, Any]) -> str:
    h = ref.header
    shape = "×".join(map(str, h["shape"])) + ("" if h["dims"] == ["time", "y", "x"] else f" ({','.join(h['dims'])})")
    label = " SYNTHETIC" if h.get("attrs", {}).get("synthetic") else ""
    pinned = f"{pins['runs']} run(s), {len(pins['versions'])} version(s)"
    return (f"{ref.name:<24} {ref.digest[:16]:<16}  {shape:<16} {','.join(h['variables']):<32} "
            f"{'lat/lon' if h['coords'] else '-':<8} {ref.created_at[:19]}  {pinned}{label}")


def dataset_pins(app: Any) -> dict[str, dict[str, Any]]:
    """By dataset digest: how many stored gate runs read it and which versions were trained on it."""
    import json

    pins: dict[str, dict[str, Any]] = {}
    with app.store.catalog.read() as con:
        if con is None:
            return pins
        for (body,) in con.execute("SELECT body FROM evidence").fetchall():
            for digest in (json.loads(body).get("dataset_digests") or {}).values():
                pins.setdefault(digest, {"runs": 0, "versions": []})["runs"] += 1
    for v in app.store.versions():
        for entry in v.lineage.get("datasets") or []:
            if isinstance(entry, dict) and isinstance(entry.get("digest"), str):
                pins.setdefault(entry["digest"], {"runs": 0, "versions": []})["versions"].append(v.ref)
    return pins


def _datasets(args: argparse.Namespace, out: Output) -> int:
    from cache.datasets import DatasetStore
    from registry.app import App

    app = App.from_args(args)
    store = DatasetStore(app.home)
    if args.verify:
        from tqdm import tqdm

        from registry.errors import UnknownName

        ref = store.resolve(args.verify, error=UnknownName)
        ds = store.open(ref)
        n = sum(len(v) for v in _chunk_counts(ref))
        with tqdm(total=n, desc=f"verify {ref.name}", unit="chunk", disable=out.json_mode, leave=False) as bar:
            ds.verify(bar.update)  # IntegrityError (exit 3) on the first changed chunk
        out.emit({**_summary(ref), "verified": True}, f"{ref.name} {ref.short}: all {n} chunks match their digests")
        return int(ExitCode.OK)
    refs = store.list()
    pins = dataset_pins(app)
    none = {"runs": 0, "versions": []}
    lines = [f"{'NAME':<24} {'DIGEST':<16}  {'SHAPE (T×Y×X)':<16} {'VARIABLES':<32} {'COORDS':<8} "
             f"{'CREATED':<19}  PINNED BY"]
    lines += [_line(r, pins.get(r.digest, none)) for r in refs] or [
        "(no datasets registered; `registry datasets add NAME PATH…`)"]
    out.emit({"datasets": [{**_summary(r), "pinned_by": pins.get(r.digest, none)} for r in refs]}, "\n".join(lines))
    return int(ExitCode.OK)


def _chunk_counts(ref: Any) -> list[list[str]]:
    import json

    record = json.loads(Path(ref.path + ".json").read_text())
    return list(record["chunk_digests"].values())


def _add(args: argparse.Namespace, out: Output) -> int:
    from dataclasses import replace

    from cache.datasets import DatasetStore, check_name
    from cache.gridded_input import open_input
    from registry.app import App
    from registry.errors import InvalidInput
    from registry.naming import check_text

    check_name(args.name)
    if not 8 <= args.tile <= 4096:
        raise InvalidInput(f"--tile must be 8…4096, got {args.tile}")
    home = App.from_args(args).home
    found = open_input(args.paths, stats=args.stats, normalised=True if args.normalised else None)
    if args.synthetic or args.description:
        attrs = {**found.attrs, **({"synthetic": True} if args.synthetic else {}),
                 **({"description": check_text(args.description, "description")} if args.description else {})}
        found = replace(found, attrs=attrs)
    ref, created = DatasetStore(home).register(args.name, found, tile=args.tile, progress=not out.json_mode)
    out.emit({**_summary(ref), "created": created},
             f"{'registered' if created else 'already registered:'} {ref.name} digest {ref.digest[:16]} "
             f"({'×'.join(map(str, ref.header['shape']))}, {', '.join(ref.header['variables'])})")
    return int(ExitCode.OK)


def pinned_ensembles(app: Any) -> set[str]:
    """Digests of every ensemble a stored gate run used."""
    import json

    with app.store.catalog.read() as con:
        if con is None:
            return set()
        bodies = [json.loads(body) for (body,) in con.execute("SELECT body FROM evidence").fetchall()]
    return {d for body in bodies for d in (body.get("ensemble_digests") or {}).values()}


def _ensembles(args: argparse.Namespace, out: Output) -> int:
    from cache.ensembles import EnsembleStore
    from registry.app import App

    app = App.from_args(args)
    store = EnsembleStore(app.home)
    pinned = pinned_ensembles(app)
    if args.prune:
        removed = store.prune(pinned, dry_run=args.dry_run)
        total = sum(n for _, n in removed)
        lines = [f"{'would remove' if args.dry_run else 'removed'} {len(removed)} folder(s), {total / 1e6:,.1f} MB"]
        lines += [f"  {p.name}  {n / 1e6:,.1f} MB" for p, n in removed]
        out.emit({"dry_run": bool(args.dry_run), "removed": [{"folder": p.name, "bytes": n} for p, n in removed],
                  "bytes": total}, "\n".join(lines))
        return int(ExitCode.OK)
    rows = []
    refs = {v.version_id: v.ref for v in app.store.versions()}
    for e in store.list():
        rows.append({"key": e.key, "digest": e.digest, "version": refs.get(e.identity["version_id"],
                                                                           e.identity["version_id"]),
                     "shape": list(e.shape), "device": e.identity["device"], "seed": e.identity["seed"],
                     "sampler": e.identity["sampler"], "pinned": e.digest in pinned, "bytes": store.disk_usage(e.path),
                     "created_at": e.created_at})
    lines = [f"{'KEY':<12}  {'VERSION':<20} {'M×C×H×W':<20} {'DEVICE':<8} {'SIZE':>10}  PINNED  SAMPLER"]
    lines += [f"{r['key'][:12]}  {r['version'][:20]:<20} {'×'.join(map(str, r['shape'])):<20} {r['device']:<8} "
              f"{r['bytes'] / 1e6:>7,.1f} MB  {'yes' if r['pinned'] else 'no':<6}  {r['sampler']}" for r in rows]
    out.emit({"ensembles": rows}, "\n".join(lines if rows else lines + ["(none)"]))
    return int(ExitCode.OK)
