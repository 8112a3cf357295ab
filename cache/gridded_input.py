"""Reading a gridded input (a Zarr v3 group, or NumPy ``.npy`` stacks) lazily and checking its shape, coordinates
and statistics before anything is written."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from registry.errors import InvalidInput

COORDS = ("lat", "lon")
STATS_FILE = "stats.json"
# what the data are, beside the arrays: ``{"variables": [order], "description", "units", …}``; the second name
# marks the data synthetic
META_FILES = ("attrs.json", "synthetic.json")
_META_BYTES = 64 * 1024
_VARIABLE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")


@dataclass(frozen=True)
class GriddedInput:
    """A gridded input before registration: variables (each ``(time, y, x)``), optional 2-D ``lat``/``lon``,
    per-variable ``{"mean", "std"}`` (None: computed while the arrays are copied), whether the values are
    already z-scores, and free attributes (``synthetic``, ``description``…). Arrays are read lazily."""

    variables: dict[str, Any]
    coords: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, dict[str, float]] | None = None
    normalised: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        first = next(iter(self.variables.values()))
        return (int(first.shape[0]), int(first.shape[1]), int(first.shape[2]))


def open_input(paths: Sequence[Path], *, stats: Path | None = None, normalised: bool | None = None) -> GriddedInput:
    """The gridded input at ``paths``: one Zarr group, one folder of ``.npy`` files, or ``.npy`` files (the
    variable is the file's stem; ``lat.npy``/``lon.npy`` are coordinates; ``stats.json`` beside them, or
    ``stats``, gives ``{variable: {"mean", "std"}}``; ``attrs.json`` or ``synthetic.json`` says what the data are
    and may list the variables' order). Raises ``InvalidInput`` with one line on any problem."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise InvalidInput("no input paths given")
    for p in paths:
        if not p.exists():
            raise InvalidInput(f"{p} does not exist")
    if len(paths) == 1 and paths[0].is_dir() and (paths[0] / "zarr.json").is_file():
        found = _from_zarr(paths[0])
    else:
        files: list[Path] = []
        for p in paths:
            files += sorted(p.glob("*.npy")) + [p / n for n in (STATS_FILE, *META_FILES) if (p / n).is_file()] \
                if p.is_dir() else [p]
        if stats is None:
            stats = next((f for f in files if f.name == STATS_FILE), None)
        meta = [f for f in files if f.name in META_FILES]
        bad = [f.name for f in files if f.suffix != ".npy" and f.name not in (STATS_FILE, *META_FILES)]
        if bad:
            raise InvalidInput(f"not a .npy stack or a Zarr v3 group: {', '.join(bad)}")
        found = _from_npy([f for f in files if f.suffix == ".npy"], meta)
    if stats is not None:
        found = GriddedInput(found.variables, found.coords, _read_stats(stats), found.normalised, found.attrs)
    if normalised is not None:
        found = GriddedInput(found.variables, found.coords, found.stats, normalised, found.attrs)
    check(found)
    return found


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InvalidInput(f"{path.name}: not a readable .npy array ({str(exc).splitlines()[0]})") from None


def _from_npy(files: list[Path], meta: list[Path]) -> GriddedInput:
    if not files:
        raise InvalidInput("no .npy files found")
    arrays = {f.stem: _load_npy(f) for f in files}
    if len(arrays) != len(files):
        raise InvalidInput("two input files name the same variable")
    coords = {k: arrays.pop(k) for k in COORDS if k in arrays}
    attrs: dict[str, Any] = {}
    for path in meta:
        attrs.update({"synthetic": True} if path.name == "synthetic.json" else {})
        attrs.update(_read_object(path, _META_BYTES))
    order = attrs.pop("variables", None)
    if order is not None:
        if not isinstance(order, list) or sorted(map(str, order)) != sorted(arrays):
            raise InvalidInput(f"{meta[-1].name}: 'variables' must list exactly the arrays {sorted(arrays)}")
        arrays = {str(name): arrays[str(name)] for name in order}
    return GriddedInput(arrays, coords, attrs=attrs)


def _from_zarr(path: Path) -> GriddedInput:
    import zarr

    try:
        group = zarr.open_group(path, mode="r")
    except Exception as exc:  # zarr raises several kinds for a broken store
        raise InvalidInput(f"{path.name}: not a readable Zarr v3 group ({type(exc).__name__})") from None
    attrs: dict[str, Any] = dict(group.attrs)
    names = [str(n) for n in attrs.get("variables") or sorted(k for k in group.array_keys() if k not in COORDS)]
    missing = [n for n in names if n not in set(group.array_keys())]
    if missing:
        raise InvalidInput(f"{path.name}: lists variables it does not hold: {', '.join(map(str, missing))}")
    coords = {k: group[k] for k in COORDS if k in set(group.array_keys())}
    extra = {k: v for k, v in attrs.items() if k in ("synthetic", "description", "units", "times")}
    return GriddedInput({n: group[n] for n in names}, coords, attrs.get("stats"), bool(attrs.get("normalised")),
                        extra)


def _read_object(path: Path, limit: int) -> dict[str, Any]:
    path = Path(path)
    if path.stat().st_size > limit:
        raise InvalidInput(f"{path.name}: {path.stat().st_size:,} bytes; a metadata file holds at most {limit:,}")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path.name}: not a JSON file ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path.name}: must hold a JSON object")
    return data


def _read_stats(path: Path) -> dict[str, dict[str, float]]:
    return _read_object(path, _META_BYTES)


def check(found: GriddedInput) -> None:
    """Shapes, names, coordinates and statistics of ``found``; the values themselves are checked as copied."""
    if not found.variables:
        raise InvalidInput("the input holds no variables (3-D arrays)")
    shapes = {name: tuple(a.shape) for name, a in found.variables.items()}
    for name, shape in shapes.items():
        if not _VARIABLE.match(name) or name in COORDS:
            raise InvalidInput(f"variable name {name!r} is not allowed (letters, digits, _; not lat/lon)")
        if len(shape) != 3 or min(shape) < 1:
            raise InvalidInput(f"variable {name!r} has shape {shape}; need (time, y, x) with every size ≥ 1")
        if np.dtype(found.variables[name].dtype).kind not in "fiu":
            raise InvalidInput(f"variable {name!r} has dtype {found.variables[name].dtype}; need numbers")
    if len(set(shapes.values())) > 1:
        raise InvalidInput("variables differ in shape: " + ", ".join(f"{k} {v}" for k, v in shapes.items()))
    grid = next(iter(shapes.values()))[1:]
    if set(found.coords) not in (set(), set(COORDS)):
        raise InvalidInput(f"coordinates need both lat and lon, got only {', '.join(found.coords)}")
    for name, limit in zip(COORDS, (90.0, 360.0), strict=True):
        if name in found.coords:
            values = np.asarray(found.coords[name], dtype=np.float64)
            if values.shape != grid:
                raise InvalidInput(f"{name} has shape {values.shape}; the grid is {grid}")
            if not np.isfinite(values).all() or np.abs(values).max() > limit:
                raise InvalidInput(f"{name} must be finite and within ±{limit:g} degrees")
    if found.stats is not None:
        _check_stats(found.stats, list(found.variables))


def _check_stats(stats: Mapping[str, Any], names: list[str]) -> None:
    if not isinstance(stats, Mapping) or set(stats) != set(names):
        given = sorted(stats) if isinstance(stats, Mapping) else stats
        raise InvalidInput(f"statistics must cover exactly the variables {names}, got {given}")
    for name, s in stats.items():
        mean, std = (s.get("mean"), s.get("std")) if isinstance(s, Mapping) else (None, None)
        ok = all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (mean, std))
        if not ok or std <= 0:  # type: ignore[operator]  # ok checked both are numbers
            raise InvalidInput(f"statistics of {name!r}: need finite mean and std > 0, got {dict(s) if ok else s}")
