"""Building the IRI atlas offline with PyIRI and registering it as a core dataset: ``python -m
plugins.ionis.atlas_build``. A request whose grids the newest atlas of its rule already holds builds nothing."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from plugins.ionis.atlas import FAILED, HOURS, MONTHS, AtlasRule, IriAtlas
from registry.errors import InvalidCheckpoint, InvalidInput

if TYPE_CHECKING:
    from cache.datasets import DatasetRef

YEAR, DAY = 2025, 15
"""Upstream's atlas: year 2025, day 15 of each month."""


def pyiri_version() -> str:
    """The installed PyIRI's version; ``InvalidInput`` saying how to install it when it is absent."""
    try:
        import PyIRI
    except ImportError:
        raise InvalidInput("building the IRI atlas needs PyIRI: pip install pyiri") from None
    return str(getattr(PyIRI, "__version__", "unknown"))


def build(grids: Sequence[str], rule: AtlasRule, *, year: int = YEAR, day: int = DAY,
          ccir_or_ursi: int = 0) -> IriAtlas:
    """Run PyIRI (IRI-2020 ``IRI_density_1day``, CCIR foF2) at each grid centroid, UT 0–23, on ``day`` of every
    month of ``year`` with F10.7 at each bucket's value; foF2, foE clamped ≥ 0, hmF2 ≥ 100; a failed call or a
    non-finite value keeps upstream's failure values. ``ccir_or_ursi=1`` takes URSI foF2 coefficients instead."""
    version = pyiri_version()
    import PyIRI
    import PyIRI.main_library as iri

    from plugins.ionis.geo import grid_centroid

    names = tuple(sorted({str(g).strip().upper() for g in grids}))
    if not names:
        raise InvalidInput("the atlas needs at least one grid")
    lat, lon = grid_centroid(list(names), column="grid")
    shape = (len(names), HOURS, MONTHS, rule.buckets)
    out = {k: np.full(shape, v, dtype=np.float32) for k, v in FAILED.items()}
    failures = 0
    with _coefficients_read_once(iri):
        failures = _fill(iri, PyIRI.coeff_dir, out, lat, lon, rule, year, day, ccir_or_ursi)
    provenance = {"source": "rebuilt offline with PyIRI, not upstream's unpublished data/iri_lookup.npz",
                  "pyiri": version, "year": year, "day": day, "failed_calls": failures,
                  "foF2_coefficients": "URSI" if ccir_or_ursi else "CCIR"}
    atlas = IriAtlas(names, out["foF2"], out["foE"], out["hmF2"], rule, provenance)
    return IriAtlas.from_bytes(atlas.to_bytes())


@contextmanager
def _coefficients_read_once(iri: Any) -> Iterator[None]:
    """PyIRI parses the month's CCIR/URSI coefficient files on every call (80 % of a call's time); during one
    build each month's parse is kept and handed out as fresh copies."""
    original = iri.read_ccir_ursi_coeff
    seen: dict[tuple[Any, ...], Any] = {}

    def once(*args: Any, **kwargs: Any) -> Any:
        key = (*args, *sorted(kwargs.items()))
        if key not in seen:
            seen[key] = original(*args, **kwargs)
        return tuple(np.array(a, copy=True) for a in seen[key])

    iri.read_ccir_ursi_coeff = once
    try:
        yield
    finally:
        iri.read_ccir_ursi_coeff = original


def _fill(iri: Any, coeff_dir: str, out: dict[str, np.ndarray], lat: np.ndarray, lon: np.ndarray,
          rule: AtlasRule, year: int, day: int, ccir_or_ursi: int) -> int:
    failures = 0
    for m in range(MONTHS):
        for b, f107 in enumerate(rule.sfi_values):
            try:
                f2, _, e, *_ = iri.IRI_density_1day(year, m + 1, day, np.arange(float(HOURS)), lon, lat,
                                                    np.array([300.0]), float(f107), coeff_dir, ccir_or_ursi)
            except Exception:  # upstream's rule: the points of a failed call keep the failure values
                failures += 1
                continue
            for key, arr, floor in (("foF2", f2["fo"], 0.0), ("foE", e["fo"], 0.0), ("hmF2", f2["hm"], 100.0)):
                arr = np.asarray(arr, dtype=np.float64)
                out[key][:, :, m, b] = np.where(np.isfinite(arr), np.maximum(arr, floor), FAILED[key]).T
    return failures


OLD_FOLDER = "ionis-atlas"
"""Where atlas files were cached before the atlas became a dataset (``<home>/ionis-atlas/*.npz``); no longer read."""


def _same_build(provenance: dict[str, Any], year: int, day: int) -> bool:
    return (provenance.get("pyiri") == pyiri_version() and provenance.get("year") == year
            and provenance.get("day") == day and provenance.get("foF2_coefficients") == "CCIR")


def ensure_atlas(home: Path, grids: Sequence[str], rule: AtlasRule, *, year: int = YEAR,
                 day: int = DAY) -> tuple[DatasetRef, bool]:
    """The registered atlas of ``rule`` holding ``grids``: the newest one when it holds them all and was built
    the same way (PyIRI version, date), else a new one built for them plus every grid the newest held;
    returns (its dataset, built now)."""
    from cache.datasets import DatasetStore

    store = DatasetStore(home)
    wanted = {str(g).strip().upper() for g in grids}
    newest = store.latest(rule.dataset_name)
    if newest is not None:
        attrs = newest.header.get("attrs", {})
        held = set(attrs.get("grids", []))
        if wanted <= held and _same_build(attrs.get("provenance", {}), year, day):
            return newest, False
        wanted |= held
    atlas = build(sorted(wanted), rule, year=year, day=day)
    ref, _ = store.register(rule.dataset_name, atlas.to_input())
    return ref, True


def import_file(home: Path, path: Path) -> DatasetRef:
    """Register an atlas ``.npz`` kept before the atlas was a dataset (its own rule, grids and provenance);
    ``InvalidCheckpoint`` if it is not one."""
    from cache.datasets import DatasetStore

    atlas = IriAtlas.read(Path(path))
    return DatasetStore(home).register(atlas.rule.dataset_name, atlas.to_input())[0]


def old_files(home: Path) -> list[Path]:
    """Atlas files left in ``<home>/ionis-atlas`` from before; nothing reads them."""
    folder = Path(home) / OLD_FOLDER
    return sorted(folder.glob("*.npz")) if folder.is_dir() else []


def old_file_for(home: Path, rule: AtlasRule) -> Path | None:
    """The newest atlas file of ``rule`` left in ``<home>/ionis-atlas`` (None: none, or none readable)."""
    found = []
    for path in old_files(home):
        try:
            if IriAtlas.read(path).rule == rule:
                found.append(path)
        except InvalidCheckpoint:
            continue
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def old_files_note(home: Path) -> str:
    """A sentence about old atlas files in ``home`` and how to import them ('' when there are none)."""
    found = old_files(home)
    if not found:
        return ""
    return (f" ({len(found)} atlas file(s) in {Path(home) / OLD_FOLDER} are from before the atlas was a registered "
            f"dataset and are not read: import them with `python -m plugins.ionis.atlas_build --home {home} "
            f"--import {Path(home) / OLD_FOLDER}/*.npz`, or rebuild)")


def gate_grids() -> list[str]:
    """Midpoint grids the release gates read at fixed places: the TST path W3 → G, and the KI7MT paths where
    their file is present (the physics gates draw their paths around the atlas's own grids)."""
    from plugins.ionis.atlas import midpoint_grid
    from plugins.ionis.geo import grid_centroid
    from plugins.ionis.ki7mt import load_paths
    from plugins.ionis.scenarios import W3, G
    from registry.errors import DataMissing

    grids = [str(midpoint_grid(np.array([W3[0]]), np.array([W3[1]]), np.array([G[0]]), np.array([G[1]]))[0])]
    try:
        paths = load_paths()
    except DataMissing:
        return grids
    tlat, tlon = grid_centroid([p["tx_grid"] for p in paths], column="tx_grid")
    rlat, rlon = grid_centroid([p["rx_grid"] for p in paths], column="rx_grid")
    return grids + [str(g) for g in midpoint_grid(tlat, tlon, rlat, rlon)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plugins.ionis.atlas_build",
                                     description="Build the IRI atlas V23/AUDIT-03 read, offline with PyIRI, and "
                                                 "register it as a dataset of the registry home.")
    parser.add_argument("--config", type=Path, help="version config: its iri_atlas block gives the bucket rule")
    parser.add_argument("--rule", help="the bucket rule itself: METHOD,BUCKETS[,START,STEP] (round,18,70,10 is "
                                       "V23's, floor,35,70,5 AUDIT-03's)")
    parser.add_argument("--grids", help="comma-separated 4-character grids (the midpoint grids a request needs)")
    parser.add_argument("--paths", type=Path, help="a predict CSV (tx_grid, rx_grid): its midpoint grids")
    parser.add_argument("--for-gates", action="store_true",
                        help="add the midpoint grids the release gates read (TST path, KI7MT paths)")
    parser.add_argument("--import", dest="imports", type=Path, nargs="+", metavar="NPZ",
                        help="register atlas .npz files kept before the atlas was a dataset (e.g. under "
                             "$REGISTRY_HOME/ionis-atlas) instead of building")
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("REGISTRY_HOME") or ".registry"))
    args = parser.parse_args(argv)
    home = args.home.expanduser().absolute()
    try:
        if args.imports:
            for path in args.imports:
                ref = import_file(home, path)
                print(f"imported {path} as dataset {ref.name} {ref.short} "
                      f"({len(ref.header['attrs']['grids'])} grids)")
            return 0
        config = json.loads(args.config.read_text()) if args.config else None
        grids = [g for g in (args.grids or "").split(",") if g.strip()] + paths_grids(args.paths)
        grids += gate_grids() if args.for_gates else []
        if args.rule and config is not None:
            raise InvalidInput("give the bucket rule once: --config or --rule")
        rule = AtlasRule.parse(args.rule) if args.rule else AtlasRule.from_config(config)
        ref, built = ensure_atlas(home, grids, rule)
        attrs = ref.header["attrs"]
        print(f"{'built and registered' if built else 'already registered:'} dataset {ref.name} {ref.short} "
              f"({len(attrs['grids'])} grids, {AtlasRule.from_config({'iri_atlas': attrs['rule']}).describe()}, "
              f"PyIRI {attrs['provenance'].get('pyiri')}, digest {ref.digest})" + old_files_note(home))
        return 0
    except (InvalidInput, InvalidCheckpoint, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def paths_grids(csv_path: Path | None) -> list[str]:
    """Midpoint grids of every row of a predict CSV (columns tx_grid, rx_grid)."""
    if csv_path is None:
        return []
    import csv

    from plugins.ionis.atlas import midpoint_grid
    from plugins.ionis.geo import grid_centroid

    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return []
    tlat, tlon = grid_centroid([r["tx_grid"] for r in rows], column="tx_grid")
    rlat, rlon = grid_centroid([r["rx_grid"] for r in rows], column="rx_grid")
    return [str(g) for g in midpoint_grid(tlat, tlon, rlat, rlon)]


if __name__ == "__main__":
    raise SystemExit(main())
