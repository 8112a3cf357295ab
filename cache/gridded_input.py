"""Reading a gridded input (a Zarr v3 group, or NumPy ``.npy`` stacks) lazily, checking its shape, coordinates
and statistics before anything is written, and copying it chunk by chunk while its digest is computed."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cache.chunked import DTYPE, chunk_digest, chunk_grid, chunk_slices, combine, create_array
from registry.errors import InvalidInput
from registry.hashing import canonical_json

FORMAT = 1
TILE = 256  # chunk edge on y and x; one time step per chunk
COORDS = ("lat", "lon")
DIMS = ("time", "y", "x")  # the default dimensions; an input may name others (one step of the first per chunk)
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
    already z-scores, free attributes (``synthetic``, ``description``…) and the names of the variables'
    dimensions (default ``time, y, x``; any ≥ 2, e.g. a lookup table's ``grid, hour, month, bucket``; ``lat``
    and ``lon`` lie over the last two). Arrays are read lazily."""

    variables: dict[str, Any]
    coords: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, dict[str, float]] | None = None
    normalised: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)
    dims: tuple[str, ...] = DIMS

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in next(iter(self.variables.values())).shape)


def chunks_for(shape: Sequence[int], tile: int = TILE) -> tuple[int, ...]:
    """Chunk shape of an array: one step of the first dimension, ``tile`` on the last two, whole in between
    (``(1, tile, tile)`` for ``time, y, x``)."""
    last = len(shape) - 2
    return tuple(1 if i == 0 else min(int(n), tile) if i >= last else int(n) for i, n in enumerate(shape))


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
    elif any(p.is_dir() and (p / ".zgroup").is_file() for p in paths):
        raise InvalidInput("a Zarr v2 group (.zgroup) is not read; convert it to Zarr v3 (zarr.json) or .npy stacks")
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
    if not path.exists():
        raise InvalidInput(f"{path} does not exist")
    if path.is_file() and path.stat().st_size > limit:
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
    dims = tuple(found.dims)
    if len(dims) < 2 or len(set(dims)) != len(dims) or not all(isinstance(d, str) and _VARIABLE.match(d)
                                                                for d in dims):
        raise InvalidInput(f"dimension names {list(dims)}: need ≥ 2 distinct names (letters, digits, _)")
    shapes = {name: tuple(a.shape) for name, a in found.variables.items()}
    for name, shape in shapes.items():
        if not _VARIABLE.match(name) or name in COORDS:
            raise InvalidInput(f"variable name {name!r} is not allowed (letters, digits, _; not lat/lon)")
        if len(shape) != len(dims) or min(shape) < 1:
            raise InvalidInput(f"variable {name!r} has shape {shape}; need ({', '.join(dims)}) with every "
                               "size ≥ 1")
        if np.dtype(found.variables[name].dtype).kind not in "fiu":
            raise InvalidInput(f"variable {name!r} has dtype {found.variables[name].dtype}; need numbers")
    if len(set(shapes.values())) > 1:
        raise InvalidInput("variables differ in shape: " + ", ".join(f"{k} {v}" for k, v in shapes.items()))
    grid = next(iter(shapes.values()))[-2:]
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
    _check_texts(found.attrs, "attributes")


def _check_texts(value: Any, where: str) -> None:
    """Every string in the attributes (keys too) is printable text: they are listed and kept in the digest."""
    from registry.naming import check_text

    if isinstance(value, str):
        check_text(value, where)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_text(str(key), where)
            _check_texts(item, f"{where}: {key}")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_texts(item, where)


def _check_stats(stats: Mapping[str, Any], names: list[str]) -> None:
    if not isinstance(stats, Mapping) or set(stats) != set(names):
        given = sorted(stats) if isinstance(stats, Mapping) else stats
        raise InvalidInput(f"statistics must cover exactly the variables {names}, got {given}")
    for name, s in stats.items():
        mean, std = (s.get("mean"), s.get("std")) if isinstance(s, Mapping) else (None, None)
        ok = all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (mean, std))
        if not ok or std <= 0:  # type: ignore[operator]  # ok checked both are numbers
            raise InvalidInput(f"statistics of {name!r}: need finite mean and std > 0, got {dict(s) if ok else s}")


def header_for(found: GriddedInput, stats: Mapping[str, Any], tile: int = TILE) -> dict[str, Any]:
    return {"format": FORMAT, "dims": list(found.dims), "shape": list(found.shape),
            "chunks": list(chunks_for(found.shape, tile)),
            "variables": list(found.variables), "coords": sorted(found.coords), "normalised": found.normalised,
            "stats": {k: {"mean": float(v["mean"]), "std": float(v["std"])} for k, v in stats.items()},
            "attrs": dict(found.attrs)}


def copy_input(found: GriddedInput, tmp: Path | None, tile: int, progress: bool, name: str
          ) -> tuple[dict[str, Any], str, dict[str, list[str]]]:
    """Read ``found`` chunk by chunk (writing each chunk into a new Zarr group at ``tmp`` unless None); the
    header, the digest and every chunk's digest. Statistics not given are computed on the way."""
    import zarr
    from tqdm import tqdm

    shape, chunks = found.shape, chunks_for(found.shape, tile)
    grid, grid_chunks = shape[-2:], chunks[-2:]
    group = zarr.open_group(tmp, mode="w", zarr_format=3) if tmp is not None else None
    per_array = len(chunk_grid(shape, chunks))
    per_coord = len(chunk_grid(grid, grid_chunks)) if found.coords else 0
    bar = tqdm(total=per_array * len(found.variables) + 2 * per_coord, desc=f"dataset {name}",
               unit="chunk", disable=not progress or not sys.stderr.isatty(), leave=False)
    digests: dict[str, list[str]] = {}
    sums: dict[str, list[float]] = {}
    for var, source in found.variables.items():
        acc = [0.0, 0.0, 0.0]  # count, sum, sum of squares (float64)
        digests[var] = []
        target = create_array(group, var, shape, chunks) if group is not None else None
        for block in _blocks(source, shape, chunks, target, bar.update):
            if not np.isfinite(block).all():
                raise InvalidInput(f"variable {var!r} holds NaN or infinite values (or values beyond float32)")
            b = block.astype(np.float64)
            acc = [acc[0] + b.size, acc[1] + float(b.sum()), acc[2] + float((b * b).sum())]
            digests[var].append(chunk_digest(block))
        sums[var] = acc
    for coord in COORDS if found.coords else ():
        target = create_array(group, coord, grid, grid_chunks) if group is not None else None
        digests[coord] = [chunk_digest(b) for b in _blocks(found.coords[coord], grid, grid_chunks, target,
                                                           bar.update)]
    bar.close()
    stats = found.stats
    if stats is None:
        stats = {}
        for var, (count, total, squares) in sums.items():
            mean = total / count
            std = max(squares / count - mean * mean, 0.0) ** 0.5
            if not std > 0:
                raise InvalidInput(f"variable {var!r} is constant; its z-score statistics are undefined")
            stats[var] = {"mean": mean, "std": std}
    header = header_for(found, stats, tile)
    if group is not None:
        group.attrs.update(header)
    names = [*header["variables"], *header["coords"]]
    return header, combine(canonical_json(header), [d for k in names for d in digests[k]]), digests


def _blocks(source: Any, shape: tuple[int, ...], chunks: tuple[int, ...], target: Any,
            tick: Callable[[], Any]) -> Iterator[np.ndarray]:
    for index in chunk_grid(shape, chunks):
        where = chunk_slices(index, shape, chunks)
        block = np.asarray(source[where], dtype=DTYPE)
        if target is not None:
            target[where] = block
        tick()
        yield block
