"""Chunked float arrays whose every chunk carries a digest: written chunk by chunk, verified chunk by chunk on read."""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from registry.errors import IntegrityError

DTYPE = np.dtype("<f4")


def chunk_digest(block: np.ndarray) -> str:
    """sha256 of a block's shape and its values as little-endian float32 in C order (not the compressed bytes)."""
    data = np.ascontiguousarray(block, dtype=DTYPE)
    h = hashlib.sha256(repr(tuple(int(n) for n in data.shape)).encode())
    h.update(data.tobytes())
    return h.hexdigest()


def combine(header: str, digests: Sequence[str]) -> str:
    """The digest of a whole store: its header (canonical JSON) followed by its chunk digests in grid order."""
    h = hashlib.sha256(header.encode())
    for d in digests:
        h.update(bytes.fromhex(d))
    return h.hexdigest()


def chunk_grid(shape: Sequence[int], chunks: Sequence[int]) -> list[tuple[int, ...]]:
    """Every chunk index of an array, in C order (the order digests are listed and combined in)."""
    return list(itertools.product(*(range(math.ceil(n / c)) for n, c in zip(shape, chunks, strict=True))))


def chunk_slices(index: Sequence[int], shape: Sequence[int], chunks: Sequence[int]) -> tuple[slice, ...]:
    return tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, chunks, shape, strict=True))


def _norm(key: Any, n: int) -> slice:
    if isinstance(key, int | np.integer):
        k = int(key) + (n if key < 0 else 0)
        if not 0 <= k < n:
            raise IndexError(f"index {int(key)} is outside 0…{n - 1}")
        return slice(k, k + 1)
    if key is None:
        return slice(0, n)
    if not isinstance(key, slice) or key.step not in (None, 1):
        raise IndexError(f"only integers and step-1 slices select chunks, got {key!r}")
    start, stop, _ = key.indices(n)
    return slice(start, max(start, stop))


class VerifiedArray:
    """A read-only Zarr array plus the digest of each chunk; ``read`` checks every chunk it touches once.

    A chunk whose values no longer hash to the recorded digest raises ``IntegrityError`` naming the store
    and the chunk, so bytes changed on disk are never scored or trained on.
    """

    def __init__(self, array: Any, digests: Sequence[str], label: str) -> None:
        self.array = array
        self.shape: tuple[int, ...] = tuple(int(n) for n in array.shape)
        self.chunks: tuple[int, ...] = tuple(int(n) for n in array.chunks)
        grid = chunk_grid(self.shape, self.chunks)
        if len(grid) != len(digests):
            raise IntegrityError(f"{label}: {len(digests)} chunk digests recorded for {len(grid)} chunks")
        self._digests = dict(zip(grid, digests, strict=True))
        self._checked: set[tuple[int, ...]] = set()
        self.label = label

    def chunk(self, index: tuple[int, ...]) -> np.ndarray:
        """One whole chunk, verified against its digest (once per object; later reads trust the check)."""
        try:
            block = np.asarray(self.array[chunk_slices(index, self.shape, self.chunks)], dtype=DTYPE)
        except (RuntimeError, ValueError, OSError) as exc:  # the codec cannot decode bytes changed on disk
            raise IntegrityError(f"{self.label}: chunk {'.'.join(map(str, index))} cannot be read "
                                 f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; "
                                 "changed on disk since it was written)") from None
        if index not in self._checked:
            if chunk_digest(block) != self._digests[index]:
                raise IntegrityError(f"{self.label}: chunk {'.'.join(map(str, index))} no longer matches its "
                                     "digest (changed on disk since it was written)")
            self._checked.add(index)
        return block

    def read(self, *keys: Any) -> np.ndarray:
        """Values at ``keys`` (an integer or a step-1 slice per leading dimension; missing ones mean all).
        An integer drops its dimension, as in NumPy: ``read(0)`` of a (T, H, W) array is (H, W)."""
        padded = [*keys[:len(self.shape)], *[None] * (len(self.shape) - len(keys))]
        sel = [_norm(k, n) for k, n in zip(padded, self.shape, strict=True)]
        out = np.empty(tuple(s.stop - s.start for s in sel), dtype=DTYPE)
        ranges = [range(s.start // c, max(s.start // c, math.ceil(s.stop / c))) for s, c in zip(sel, self.chunks,
                                                                                                   strict=True)]
        for index in itertools.product(*ranges):
            block = self.chunk(index)
            where = chunk_slices(index, self.shape, self.chunks)
            lo = [max(s.start, w.start) for s, w in zip(sel, where, strict=True)]
            hi = [min(s.stop, w.stop) for s, w in zip(sel, where, strict=True)]
            out[tuple(slice(a - s.start, b - s.start) for a, b, s in zip(lo, hi, sel, strict=True))] = block[
                tuple(slice(a - w.start, b - w.start) for a, b, w in zip(lo, hi, where, strict=True))]
        drop = tuple(i for i, k in enumerate(keys) if isinstance(k, int | np.integer))
        return out.squeeze(axis=drop) if drop else out

    def verify_all(self, progress: Any = None) -> None:
        """Check every chunk (``registry datasets --verify``); ``progress`` is called once per chunk."""
        for index in self._digests:
            self.chunk(index)
            if progress is not None:
                progress()


def create_array(group: Any, name: str, shape: Sequence[int], chunks: Sequence[int],
                 dimension_names: Sequence[str] | None = None) -> Any:
    """A new float32 Zarr v3 array in ``group`` (NaN fill: an unwritten chunk never reads as data), its axes named
    by ``dimension_names`` when given (what xarray and other readers label them with)."""
    return group.create_array(name, shape=tuple(shape), chunks=tuple(chunks), dtype="float32",
                              fill_value=float("nan"),
                              dimension_names=None if dimension_names is None else tuple(dimension_names))
