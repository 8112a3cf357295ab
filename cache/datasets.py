"""Gridded datasets beside the extracts: Zarr v3 stores registered by a digest over their chunks.

Layout of ``<home>/datasets``::

    <name>-<digest16>/          the Zarr v3 group: one (time, y, x) float32 array per variable, 2-D lat/lon,
                                its header (dims, variables, stats…) in the group's attributes
    <name>-<digest16>.json      the record: name, digest, header and every chunk's digest
    .tmp-<pid>-<random>/        a dataset being written; never read, removed by the next writer once <pid> is dead
    .write.lock                 the single-writer lock (``cache.lock``)

The digest is sha256 over the header (canonical JSON) and each chunk's digest (its values as little-endian
float32), computed while the input is copied chunk by chunk, so no array is ever held whole. Reading checks
each chunk it touches against its recorded digest. The record is written after the rename, so a writer that
dies leaves only a temporary folder, which nothing lists.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cache.chunked import VerifiedArray, chunk_grid, chunk_slices, combine
from cache.gridded_input import TILE, GriddedInput, copy_input
from cache.lock import WriterLock
from cache.store import _alive
from registry.errors import DataMissing, IntegrityError, InvalidInput
from registry.hashing import canonical_json
from registry.store import now_utc

_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}\Z")
SCALES = ("stored", "physical", "z")


@dataclass(frozen=True)
class DatasetRef:
    """A registered dataset: its name, content digest, header and where it lies."""

    name: str
    digest: str
    header: dict[str, Any]
    created_at: str
    path: str

    @property
    def short(self) -> str:
        return self.digest[:12]


def check_name(name: str) -> None:
    """``InvalidInput`` unless ``name`` can name a dataset."""
    if not _NAME.match(name):
        raise InvalidInput(f"dataset name {name!r}: use a lower-case letter, then letters, digits, . _ -")


class Dataset:
    """Lazy, chunk-verified access to one dataset: ``read(variable, time, y, x, scale=…)`` (``select`` for any
    dimensions), ``lat``/``lon``, ``stats``, ``tiles()``. ``scale`` is ``stored`` (as registered), ``physical``
    or ``z`` (z-scores)."""

    def __init__(self, name: str, digest: str, header: dict[str, Any], arrays: Mapping[str, Any]) -> None:
        self.name, self.digest, self.header = name, digest, header
        self._arrays = dict(arrays)
        self.variables: tuple[str, ...] = tuple(header["variables"])
        self.shape: tuple[int, ...] = tuple(header["shape"])
        self.dims: tuple[str, ...] = tuple(header["dims"])
        self.stats: dict[str, dict[str, float]] = header["stats"]
        self.normalised: bool = bool(header["normalised"])
        self.attrs: dict[str, Any] = header.get("attrs", {})

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, {self.digest[:12]}, {self.variables}, shape={self.shape})"

    def read(self, variable: str, time: Any = None, y: Any = None, x: Any = None, *,
             scale: str = "stored") -> np.ndarray:
        """float32 values of ``variable`` at ``time``/``y``/``x`` (integers or step-1 slices; None = all)."""
        return self.select(variable, time, y, x, scale=scale)

    def select(self, variable: str, *keys: Any, scale: str = "stored") -> np.ndarray:
        """float32 values of ``variable`` at ``keys``, one per leading dimension of ``dims`` (integers drop
        their dimension; step-1 slices; None or a missing key = all)."""
        if variable not in self.variables:
            raise DataMissing(f"dataset {self.name!r} has no variable {variable!r} "
                              f"(it has {', '.join(self.variables)})")
        if scale not in SCALES:
            raise InvalidInput(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
        values = self._arrays[variable].read(*keys)
        s = self.stats[variable]
        if scale == "physical" and self.normalised:
            return (values * np.float32(s["std"]) + np.float32(s["mean"])).astype(np.float32)
        if scale == "z" and not self.normalised:
            return ((values - np.float32(s["mean"])) / np.float32(s["std"])).astype(np.float32)
        return values

    def coordinate(self, name: str) -> np.ndarray:
        """The 2-D ``lat`` or ``lon`` array; ``DataMissing`` if the dataset was registered without coordinates."""
        if name not in self.header["coords"]:
            raise DataMissing(f"dataset {self.name!r} was registered without {name} coordinates")
        return self._arrays[name].read()

    def tiles(self) -> Iterator[tuple[slice, slice]]:
        """The (y, x) slices of the stored chunks, for reading a grid tile by tile."""
        h, w = self.shape[-2:]
        th, tw = self.header["chunks"][-2:]
        for index in chunk_grid((h, w), (th, tw)):
            yield chunk_slices(index, (h, w), (th, tw))  # type: ignore[misc]

    def verify(self, progress: Callable[[], None] | None = None) -> None:
        """Check every chunk of every array against its digest."""
        for array in self._arrays.values():
            array.verify_all(progress)


class DatasetStore:
    """The registered datasets under ``<home>/datasets``."""

    def __init__(self, home: Path, *, lock_timeout: float | None = None) -> None:
        self.root = Path(home) / "datasets"
        self.lock_timeout = lock_timeout

    def list(self) -> list[DatasetRef]:
        """Every registered dataset, oldest first."""
        refs = [self._load(p) for p in self.root.glob("*.json")] if self.root.is_dir() else []
        return sorted((r for r in refs if r is not None), key=lambda r: (r.created_at, r.name))

    def _load(self, entry: Path) -> DatasetRef | None:
        try:
            record = json.loads(entry.read_text())
            return DatasetRef(record["name"], record["digest"], record["header"], record["created_at"],
                              str(entry.with_suffix("")))
        except (OSError, ValueError, KeyError):
            return None

    def latest(self, name: str) -> DatasetRef | None:
        found = [r for r in self.list() if r.name == name]
        return found[-1] if found else None

    def by_digest(self, name: str, digest: str) -> DatasetRef | None:
        entry = self.root / f"{name}-{digest[:16]}.json"
        ref = self._load(entry) if entry.is_file() else None
        return ref if ref is not None and ref.digest == digest and ref.name == name else None

    def resolve(self, name: str, digest: str | None = None, *, error: type[Exception] = DataMissing) -> DatasetRef:
        """The dataset ``name`` (the newest, or the one with ``digest``); ``error`` if absent (a gate's data is
        missing: ``DataMissing``; a command asked for an unknown name: ``UnknownName``)."""
        ref = self.by_digest(name, digest) if digest else self.latest(name)
        if ref is None:
            held = self.latest(name)
            if digest and held is not None:
                raise error(f"dataset {name!r}: the content the stored run used (digest {digest[:12]}) is "
                                  f"no longer registered; it holds {held.short} now")
            raise error(f"dataset {name!r} is not registered; run `registry datasets add {name} PATH…`")
        return ref

    def open(self, ref: DatasetRef) -> Dataset:
        """The dataset at ``ref``; its record must still combine to its digest (chunks are checked as read)."""
        import zarr

        record = json.loads(Path(ref.path + ".json").read_text())
        names = [*ref.header["variables"], *ref.header["coords"]]
        digests = record["chunk_digests"]
        if combine(canonical_json(ref.header), [d for n in names for d in digests[n]]) != ref.digest:
            raise IntegrityError(f"dataset {ref.name!r} {ref.short}: its record no longer matches its digest")
        try:
            group = zarr.open_group(ref.path, mode="r")
            arrays = {n: VerifiedArray(group[n], digests[n], f"dataset {ref.name} {ref.short} {n}") for n in names}
        except (KeyError, FileNotFoundError):
            raise IntegrityError(f"dataset {ref.name!r} {ref.short}: its arrays are missing on disk "
                                 f"({Path(ref.path).name}); register it again") from None
        return Dataset(ref.name, ref.digest, ref.header, arrays)

    def register(self, name: str, found: GriddedInput, *, tile: int = TILE,
                 progress: bool = False) -> tuple[DatasetRef, bool]:
        """Copy ``found`` into the store chunk by chunk; ``(ref, created)`` (False: the same content was there)."""
        check_name(name)
        self.root.mkdir(parents=True, exist_ok=True)
        with WriterLock(self.root / ".write.lock", self.lock_timeout, f"registering dataset {name}"):
            self._sweep()
            tmp = self.root / f".tmp-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                header, digest, chunk_digests = copy_input(found, tmp, tile, progress, name)
                final = self.root / f"{name}-{digest[:16]}"
                existing = self.by_digest(name, digest)
                if existing is not None and self._intact(existing):
                    shutil.rmtree(tmp)
                    return existing, False
                if final.exists():  # left without its record, or damaged: the fresh copy replaces it
                    aside = self.root / f".tmp-{os.getpid()}-{secrets.token_hex(4)}"
                    os.replace(final, aside)
                    shutil.rmtree(aside)
                os.replace(tmp, final)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            record = {"name": name, "digest": digest, "header": header, "created_at": now_utc(precise=True),
                      "chunk_digests": chunk_digests}
            entry = final.with_name(f"{final.name}.json")  # not with_suffix: a name may hold dots
            part = entry.with_name(f".{entry.name}.{os.getpid()}")
            part.write_text(json.dumps(record))
            os.replace(part, entry)
            ref = self._load(entry)
            assert ref is not None
            return ref, True

    def _intact(self, ref: DatasetRef) -> bool:
        try:
            self.open(ref).verify()
        except IntegrityError:
            return False
        return True

    def _sweep(self) -> None:
        for p in self.root.glob(".tmp-*"):
            pid = p.name.split("-")[1]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)


class _Plain:
    """An input array read as is (``registry predict --input``): same ``read`` as ``VerifiedArray``, no digests."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def read(self, *keys: Any) -> np.ndarray:
        keys = tuple(slice(None) if k is None else k for k in keys)
        return np.asarray(self.source[keys], dtype=np.float32)

    def verify_all(self, progress: Callable[[], None] | None = None) -> None:
        return None


def from_input(name: str, found: GriddedInput, *, tile: int = TILE, progress: bool = False) -> Dataset:
    """An unregistered input as a ``Dataset``; its digest (the one registering it would give) is computed by
    reading it once, chunk by chunk."""
    header, digest, _ = copy_input(found, None, tile, progress, name)
    arrays = {**{k: _Plain(v) for k, v in found.variables.items()}, **{k: _Plain(v) for k, v in found.coords.items()}}
    return Dataset(name, digest, header, arrays)
