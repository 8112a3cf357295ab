"""Generated ensembles on disk: (members, variables, y, x) Zarr v3 stores written member-batch by member-batch,
placed atomically, keyed by what generated them, and verified chunk by chunk on read.

Layout of ``<home>/ensembles``::

    <key>/                      the Zarr v3 group: array ``members`` (M, C, H, W) float32, chunked (1, 1, tile, tile),
                                and ``complete.json`` (the identity, every chunk's digest and the digest over them)
    .tmp-<pid>-<random>/        an ensemble being generated; never read, removed by the next writer once <pid> is dead
    .<key>.lock                 one generator per key at a time

``key`` is sha256 over the identity: version id, condition digest, sampler and its parameters (an opaque JSON
dict), seed, device, member count, variables and grid. The marker is written last, inside the temporary folder,
and the folder is renamed into place, so a crash, a kill or an exception mid-generation leaves nothing that a
later run trusts: ``get`` returns only folders whose marker names their key and combines to its digest.
"""

from __future__ import annotations

import builtins
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cache.chunked import DTYPE, VerifiedArray, chunk_digest, chunk_grid, chunk_slices, combine, create_array
from cache.lock import WriterLock
from cache.store import _alive
from registry.errors import GateError, IntegrityError, InvalidInput
from registry.hashing import canonical_json, digest_json
from registry.store import now_utc

MARKER = "complete.json"
DIMS = ("member", "variable", "y", "x")  # the Zarr v3 dimension_names of ``members``
TILE = 256
Generate = Callable[[Sequence[int]], Any]  # member ids → (len(ids), C, H, W) values (numpy or torch)


def identity(*, version_id: str, condition: str, sampler: Mapping[str, Any], seed: int, device: str, members: int,
             variables: Sequence[str], grid: Sequence[int], batch: int = 8) -> dict[str, Any]:
    """What identifies one generated ensemble; ``digest_json`` of it is the ensemble's key. The member batch is
    part of it: batched kernels round differently for other batch sizes, so the bits may depend on it."""
    if members < 1 or len(grid) != 2 or min(grid) < 1 or not variables or batch < 1:
        raise InvalidInput(f"an ensemble needs ≥ 1 member, variables, a 2-D grid and a batch ≥ 1; got {members}, "
                           f"{variables}, {tuple(grid)}, {batch}")
    return {"version_id": version_id, "condition": condition, "sampler": json.loads(canonical_json(dict(sampler))),
            "seed": int(seed), "device": device, "members": int(members), "variables": list(variables),
            "grid": [int(g) for g in grid], "batch": int(batch)}


class Ensemble:
    """A finished ensemble: ``read(members, variable, y, x)`` (integers, step-1 slices or None per axis; a variable
    may be named), ``tiles()``, ``identity``, ``digest``; every chunk is checked against its digest when read."""

    def __init__(self, path: Path, marker: dict[str, Any], array: VerifiedArray) -> None:
        self.path = path
        self.identity: dict[str, Any] = marker["identity"]
        self.key: str = marker["key"]
        self.digest: str = marker["digest"]
        self.created_at: str = marker["created_at"]
        self.variables: tuple[str, ...] = tuple(self.identity["variables"])
        self.shape: tuple[int, ...] = array.shape
        self._array = array

    def __repr__(self) -> str:
        return f"Ensemble({self.key[:12]}, shape={self.shape}, digest={self.digest[:12]})"

    def read(self, members: Any = None, variable: Any = None, y: Any = None, x: Any = None) -> np.ndarray:
        if isinstance(variable, str):
            if variable not in self.variables:
                raise InvalidInput(f"the ensemble has no variable {variable!r} (it has {', '.join(self.variables)})")
            variable = self.variables.index(variable)
        return self._array.read(members, variable, y, x)

    def tiles(self) -> Iterator[tuple[slice, slice]]:
        """The (y, x) slices of the stored chunks."""
        _, _, h, w = self.shape
        _, _, th, tw = self._array.chunks
        for index in chunk_grid((h, w), (th, tw)):
            yield chunk_slices(index, (h, w), (th, tw))  # type: ignore[misc]

    def verify(self) -> None:
        self._array.verify_all()


def open_ensemble(path: Path, key: str | None = None) -> Ensemble | None:
    """The ensemble at ``path`` if it is complete (its marker combines to its digest and, given ``key``,
    names it); None for anything unfinished or foreign."""
    import zarr

    try:
        marker = json.loads((Path(path) / MARKER).read_text())
        header = canonical_json({"identity": marker["identity"], "key": marker["key"], "shape": marker["shape"],
                                 "chunks": marker["chunks"]})
        if combine(header, marker["chunk_digests"]) != marker["digest"]:
            return None
        if key is not None and marker["key"] != key:
            return None
        array = zarr.open_array(Path(path) / "members", mode="r")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if list(array.shape) != marker["shape"]:
        return None
    return Ensemble(Path(path), marker, VerifiedArray(array, marker["chunk_digests"], f"ensemble {marker['key'][:12]}"))


def write_ensemble(path: Path, ident: Mapping[str, Any], generate: Generate, *, tile: int = TILE,
                   progress: bool = False, batch: int | None = None, attrs: Mapping[str, Any] | None = None,
                   coords: Mapping[str, np.ndarray] | None = None) -> Ensemble:
    """Generate the ensemble ``ident`` ``ident["batch"]`` members at a time into a temporary folder beside ``path``,
    write its marker and rename it to ``path`` (which must not exist). Nothing is left if anything raises.
    ``batch``, if given, replaces the identity's batch (and so is recorded with it). The array's axes are named
    (member, variable, y, x); ``attrs`` become the group's attributes and ``coords`` (2-D ``lat``/``lon`` of the
    grid) arrays beside ``members``, for readers such as xarray. Neither is part of the digest."""
    if batch is not None:
        if batch < 1:
            raise InvalidInput(f"an ensemble is generated in batches of ≥ 1 member, got {batch}")
        ident = {**ident, "batch": int(batch)}
    import zarr
    from tqdm import tqdm

    path = Path(path)
    if path.exists():
        raise InvalidInput(f"{path} exists already; choose another path or remove it")
    members, variables, (h, w) = int(ident["members"]), list(ident["variables"]), ident["grid"]
    shape = (members, len(variables), h, w)
    chunks = (1, 1, min(h, tile), min(w, tile))
    batch = int(ident.get("batch", 8))
    tmp = path.parent / f".tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        group = zarr.open_group(tmp, mode="w", zarr_format=3)
        array = create_array(group, "members", shape, chunks, DIMS)
        _describe(group, array, variables, dict(attrs or {}), dict(coords or {}), (h, w))
        digests: list[str] = []
        with tqdm(total=members, desc=f"ensemble {digest_json(dict(ident))[:12]}", unit="member",
                  disable=not progress or not sys.stderr.isatty(), leave=False) as bar:
            for start in range(0, members, batch):
                ids = list(range(start, min(start + batch, members)))
                block = _as_array(generate(ids))
                if block.shape != (len(ids), *shape[1:]):
                    raise GateError(f"the generator returned {block.shape} for members {ids[0]}…{ids[-1]}, "
                                    f"expected {(len(ids), *shape[1:])}")
                array[ids[0]:ids[-1] + 1] = block
                sub = chunk_grid(block.shape, chunks)  # C order within the batch = C order of the whole array
                digests += [chunk_digest(block[chunk_slices(i, block.shape, chunks)]) for i in sub]
                bar.update(len(ids))
        key = digest_json(dict(ident))
        header = {"identity": dict(ident), "key": key, "shape": list(shape), "chunks": list(chunks)}
        marker = {**header, "chunk_digests": digests, "created_at": now_utc(precise=True),
                  "digest": combine(canonical_json(header), digests)}
        part = tmp / f".{MARKER}"
        part.write_text(json.dumps(marker))
        os.replace(part, tmp / MARKER)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    done = open_ensemble(path)
    if done is None:
        raise IntegrityError(f"the ensemble just written at {path} does not read back complete")
    return done


def _describe(group: Any, array: Any, variables: list[str], attrs: dict[str, Any], coords: dict[str, np.ndarray],
              grid: tuple[int, int]) -> None:
    array.attrs.update({"variables": variables, "long_name": "generated ensemble members",
                        **({"coordinates": " ".join(sorted(coords))} if coords else {})})
    for name, values in sorted(coords.items()):
        values = np.asarray(values, dtype=DTYPE)
        if values.shape != grid:
            raise InvalidInput(f"coordinate {name!r} is {values.shape}, the ensemble's grid is {grid}")
        create_array(group, name, grid, grid, DIMS[2:])[...] = values
    group.attrs.update(json.loads(canonical_json({**attrs, "variables": variables, "dimensions": list(DIMS)})))


def _as_array(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor, on any device
        values = values.detach().float().cpu().numpy()  # float() first: bfloat16 has no NumPy type
    return np.asarray(values, dtype=DTYPE)


class EnsembleStore:
    """Generated ensembles under ``<home>/ensembles``, shared by the gates of a run, ``verify`` and the champion
    comparison."""

    def __init__(self, home: Path, *, lock_timeout: float | None = None) -> None:
        self.root = Path(home) / "ensembles"
        self.lock_timeout = lock_timeout

    def get(self, key: str) -> Ensemble | None:
        """The complete ensemble ``key``, or None."""
        return open_ensemble(self.root / key, key) if (self.root / key).is_dir() else None

    def ensure(self, ident: Mapping[str, Any], generate: Generate, *, tile: int = TILE,
               progress: bool = False) -> tuple[Ensemble, bool]:
        """The ensemble ``ident`` from disk, or generated now; ``(ensemble, generated)``. One process generates
        a key at a time; a folder under the key without a valid marker is replaced."""
        key = digest_json(dict(ident))
        found = self.get(key)
        if found is not None:
            return found, False
        self.root.mkdir(parents=True, exist_ok=True)
        with WriterLock(self.root / f".{key}.lock", self.lock_timeout, f"generating ensemble {key[:12]}"):
            found = self.get(key)
            if found is not None:
                return found, False
            self._sweep()
            if (self.root / key).exists():  # not trusted (get said so): never reused
                shutil.rmtree(self.root / key)
            return write_ensemble(self.root / key, ident, generate, tile=tile, progress=progress), True

    def list(self) -> list[Ensemble]:
        found = [open_ensemble(p) for p in sorted(self.root.iterdir()) if p.is_dir()] if self.root.is_dir() else []
        return [e for e in found if e is not None]

    @staticmethod
    def disk_usage(path: Path) -> int:
        """Bytes of every file under ``path``."""
        return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())

    def prune(self, pinned: set[str], *, dry_run: bool = False) -> builtins.list[tuple[Path, int]]:
        """Remove complete ensembles whose digest no stored run pins, folders without a valid marker and the
        temporary folders of dead writers; ``(path, bytes)`` of each (only listed with ``dry_run``)."""
        if not self.root.is_dir():
            return []
        doomed: builtins.list[Path] = []
        for p in sorted(self.root.iterdir()):
            if not p.is_dir():
                continue
            if p.name.startswith(".tmp-"):
                pid = p.name.split("-")[1]
                if pid.isdigit() and not _alive(int(pid)):
                    doomed.append(p)
                continue
            found = open_ensemble(p, p.name)
            if found is None or found.digest not in pinned:
                doomed.append(p)
        removed = [(p, self.disk_usage(p)) for p in doomed]
        if not dry_run:
            for p, _ in removed:
                if p.name.startswith(".tmp-"):  # its writer is dead
                    shutil.rmtree(p, ignore_errors=True)
                    continue
                with WriterLock(self.root / f".{p.name}.lock", self.lock_timeout, f"pruning ensemble {p.name[:12]}"):
                    shutil.rmtree(p, ignore_errors=True)
        return removed

    def _sweep(self) -> None:
        for p in self.root.glob(".tmp-*"):
            pid = p.name.split("-")[1]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)
