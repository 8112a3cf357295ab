"""Compiled exact ensemble CRPS (numba): members sorted by a branch-free sorting network across a block of points."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterator

import numba
import numpy as np

BLOCK = 64  # points sorted side by side; one (m × BLOCK) buffer stays in L1 for m up to ~100 (float32)
MODES = {"raise": 0, "propagate": 1, "omit": 2}


@functools.cache
def sorting_network(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Comparators (i, j), i < j, that sort ``m`` keys: Batcher's odd-even merge sort for the next power of two,
    less the comparators that reach past ``m`` (keys padded with +inf there never move, so those never swap)."""
    n = 1
    while n < m:
        n *= 2
    lo: list[int] = []
    hi: list[int] = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    a, b = i + j, i + j + k
                    if a // (2 * p) == b // (2 * p) and b < m:
                        lo.append(a)
                        hi.append(b)
            k //= 2
        p *= 2
    return np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)


@numba.njit(inline="always", cache=True, nogil=True)
def _crps_block(x, y, lo, hi, floor, fair, mode, out, b, buf, cnt, yb, s_abs, s_w):
    na, m, nc = x.shape
    n = na * nc
    inf = np.inf
    start = b * BLOCK
    width = min(n, start + BLOCK) - start
    a0 = start // nc
    c0 = start - a0 * nc
    cnt[:] = m
    yb[:] = 0.0
    s_abs[:] = 0.0
    s_w[:] = 0.0
    # NaN and ±inf need no check here: the network only permutes, and any non-finite member or obs makes the
    # sums below NaN (inf − inf), which the caller counts (mode 0) or leaves (mode 1)
    if c0 + width <= nc:  # the block lies in one row of points: copy member rows, contiguous when C is
        for i in range(m):
            for p in range(width):
                buf[i, p] = x[a0, i, c0 + p]
        for p in range(width):
            yb[p] = y[a0, c0 + p]
    elif nc == 1:  # members last: transpose a (width × m) tile
        for p in range(width):
            for i in range(m):
                buf[i, p] = x[start + p, i, 0]
            yb[p] = y[start + p, 0]
    else:
        for p in range(width):
            a = (start + p) // nc
            c = start + p - a * nc
            yb[p] = y[a, c]
            for i in range(m):
                buf[i, p] = x[a, i, c]
    for p in range(width, BLOCK):
        for i in range(m):
            buf[i, p] = 0.0
    if mode == 2:
        for p in range(width):
            k = 0
            for i in range(m):
                v = buf[i, p]
                if v == v:
                    buf[k, p] = v
                    k += 1
            for i in range(k, m):
                buf[i, p] = inf
            cnt[p] = k
    if floor > -inf:
        for i in range(m):
            for p in range(BLOCK):
                v = buf[i, p]
                buf[i, p] = floor if v < floor else v
        for p in range(width):
            if yb[p] < floor:
                yb[p] = floor
    for s in range(lo.shape[0]):
        i = lo[s]
        j = hi[s]
        for p in range(BLOCK):
            u = buf[i, p]
            v = buf[j, p]
            buf[i, p] = v if v < u else u
            buf[j, p] = u if v < u else v
    if mode == 2:
        for p in range(width):
            k = cnt[p]
            for i in range(k):
                d = np.float64(buf[i, p]) - yb[p]
                s_abs[p] += abs(d)
                s_w[p] += (2 * i - k + 1) * d
    else:  # Σ_i Σ_j |x_i − x_j| = 2 Σ_i (2i − m + 1) x_(i); the weights sum to 0, so y may be subtracted
        for i in range(m):
            w = np.float64(2 * i - m + 1)
            for p in range(BLOCK):
                d = np.float64(buf[i, p]) - yb[p]
                s_abs[p] += abs(d)
                s_w[p] += w * d
    for p in range(width):
        k = cnt[p]
        v = np.nan if k == 0 or (fair and k < 2) else s_abs[p] / k - s_w[p] / (k * (k - 1) if fair else k * k)
        if c0 + width <= nc:
            out[a0, c0 + p] = v
        else:
            a = (start + p) // nc
            out[a, start + p - a * nc] = v


@numba.njit(parallel=True, cache=True, nogil=True)
def _crps_blocks(x, y, lo, hi, floor, fair, mode, out, nchunks):
    # x: (A, m, C) members; y, out: (A, C). mode 0: non-finite member -> NaN (caller raises);
    # 1: NaN member -> NaN; 2: NaN members dropped. ``floor`` > -inf gives the threshold-weighted CRPS.
    na, m, nc = x.shape
    n = na * nc
    nblocks = (n + BLOCK - 1) // BLOCK
    nchunks = min(nblocks, nchunks)
    for chunk in numba.prange(nchunks):
        buf = np.empty((m, BLOCK), dtype=x.dtype)
        cnt = np.empty(BLOCK, dtype=np.int64)
        yb = np.empty(BLOCK, dtype=np.float64)
        s_abs = np.empty(BLOCK, dtype=np.float64)
        s_w = np.empty(BLOCK, dtype=np.float64)
        for b in range(chunk * nblocks // nchunks, (chunk + 1) * nblocks // nchunks):
            _crps_block(x, y, lo, hi, floor, fair, mode, out, b, buf, cnt, yb, s_abs, s_w)


def crps_sorted_blocks(x: np.ndarray, y: np.ndarray, *, fair: bool, mode: str, floor: float = -np.inf) -> np.ndarray:
    """CRPS of ``x`` (A, m, C), members on axis 1, against ``y`` (A, C) as float64 (A, C); float32 stays float32
    while sorting (no float64 copy of the members). Points the mode cannot score come back as NaN."""
    lo, hi = sorting_network(x.shape[1])
    out = np.empty(y.shape, dtype=np.float64)
    # 64 chunks per thread handed out one at a time as threads free up (not one equal share each): on a shared
    # machine a descheduled thread then holds back no more than its current chunk
    with _torch_threads_kept(), numba.parallel_chunksize(1):
        _crps_blocks(x, y, lo, hi, float(floor), bool(fair), MODES[mode], out, 64 * numba.get_num_threads())
    return out


@contextlib.contextmanager
def _torch_threads_kept() -> Iterator[None]:
    # numba's OpenMP layer and torch share one OpenMP runtime: a parallel kernel resets its thread count, so torch,
    # set to one thread by the caller, came back with two (a one-thread training loop run after a CRPS ran 7× slower
    # on the busy 2 cores). torch is only consulted when something already imported it.
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    try:
        yield
    finally:
        if torch is not None and torch.get_num_threads() != before:
            torch.set_num_threads(before)
