"""One pass over generated ensembles and their truth, band of rows by band of rows, keeping only sums per row."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gates.ensemble import crps_ensemble, member_mean_var, rank_histogram_shared_ties
from gates.probabilistic import ProbabilityBins, bin_edges
from gates.spatial import power_spectrum
from gates.streaming import FSSAccumulator, QuantileAccumulator
from plugins.hrrr_ddpm.synthetic import UNITS, VARIABLES
from registry.errors import GateError

__all__ = ["UNITS", "VARIABLES", "Case", "ScoringPlan", "Sums", "score_cases"]


@dataclass(frozen=True)
class ScoringPlan:
    """What one scoring pass measures and how it reads: events for Brier scores, FSS event and neighbourhoods
    (pixels), the read budget per band of rows, rows per bootstrap unit, and the tail quantile."""

    variables: tuple[str, ...] = VARIABLES
    events: tuple[tuple[str, float], ...] = (("REFC", 35.0), ("CAPE", 1000.0))
    fss_event: tuple[str, float] = ("REFC", 35.0)
    fss_windows: tuple[int, ...] = (1, 5, 11, 21)
    band_bytes: int = 64 * 2**20
    block_rows: int = 32
    prob_bins: int = 10
    tail_q: float = 0.999
    tail_bins: int = 4096
    spectrum_members: int = 4
    map_pixels: int = 160

    def index(self, name: str) -> int:
        if name not in self.variables:
            raise GateError(f"variable {name!r} is not one of {', '.join(self.variables)}")
        return self.variables.index(name)


@dataclass(frozen=True)
class Case:
    """One forecast case: ``members`` (M, C, H, W), ``truth`` (C, H, W), ``persistence`` (C, H, W: the condition as
    a forecast) and ``climatology`` (K, C, H, W: states of other times), each sliceable by rows without reading
    the rest (NumPy, a memory map, a Zarr array). ``band_rows`` overrides the rows read at a time."""

    members: Any
    truth: Any
    persistence: Any = None
    climatology: Any = None
    band_rows: int | None = None


@dataclass
class CaseMaps:
    """The FSS variable of the first case on a subsampled grid (every ``stride``-th row and column), for maps."""

    stride: int
    truth: list[np.ndarray] = field(default_factory=list)
    mean: list[np.ndarray] = field(default_factory=list)
    spread: list[np.ndarray] = field(default_factory=list)
    prob: list[np.ndarray] = field(default_factory=list)
    members: list[np.ndarray] = field(default_factory=list)


@dataclass
class Sums:
    """Everything the gates need, summed over cases. Per-unit sums (unit = a case's ``block_rows`` rows) are
    (units, C) for the ensemble scores and (units, events) for the Brier scores: the rows the bootstrap resamples."""

    plan: ScoringPlan
    members: int = 0
    units: dict[str, list[np.ndarray]] = field(default_factory=dict)
    ranks: np.ndarray | None = None
    bins: list[ProbabilityBins] = field(default_factory=list)
    fss_windows: tuple[int, ...] = ()
    fss_num: np.ndarray | None = None
    fss_den: np.ndarray | None = None
    fss_obs_events: int = 0
    fss_points: int = 0
    tails: list[tuple[QuantileAccumulator, QuantileAccumulator]] = field(default_factory=list)
    spectra: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    maps: CaseMaps | None = None
    cases: int = 0
    source: str = ""  # "SYNTHETIC" when the scored dataset is labelled synthetic: the maps' titles say so

    def unit_matrix(self, key: str) -> np.ndarray:
        if key not in self.units:
            raise GateError(f"no {key} was scored (missing input for it)")
        return np.concatenate(self.units[key], axis=0)


def _shape_of(case: Case, plan: ScoringPlan) -> tuple[int, int, int, int]:
    shape = tuple(case.members.shape)
    if len(shape) != 4:
        raise GateError(f"members must be (members, variables, rows, columns), got shape {shape}")
    m, c, h, w = (int(v) for v in shape)
    if c != len(plan.variables):
        raise GateError(f"members hold {c} variables, the plan names {len(plan.variables)}")
    for name, arr, lead in (("truth", case.truth, ()), ("persistence", case.persistence, ()),
                            ("climatology", case.climatology, None)):
        if arr is None:
            continue
        got = tuple(arr.shape)
        want = (c, h, w) if lead == () else got[:1] + (c, h, w)
        if got != want or (lead is None and got[0] < 1):
            raise GateError(f"{name} shape {got} does not match members {shape}")
    return m, c, h, w


def _edges(case_truths: list[Any], plan: ScoringPlan, c: int) -> np.ndarray:
    lo, hi = math.inf, -math.inf
    for truth in case_truths:
        h = truth.shape[-2]
        for r0 in range(0, h, 256):
            band = np.asarray(truth[c, r0:min(h, r0 + 256), :])
            lo, hi = min(lo, float(band.min())), max(hi, float(band.max()))
    pad = max(hi - lo, 1e-6) * 0.5
    return np.linspace(lo - pad, hi + pad, plan.tail_bins + 1)


def score_cases(cases: Iterable[Case], plan: ScoringPlan | None = None) -> Sums:
    """Score every case in one pass of bands of rows (full width, top to bottom); memory is one band of the
    ensemble plus per-row sums, never a whole ensemble. Any tiling gives the same sums up to float rounding."""
    plan = plan or ScoringPlan()
    cases = list(cases)
    if not cases:
        raise GateError("no cases to score")
    sums = Sums(plan, bins=[ProbabilityBins(bin_edges(plan.prob_bins)) for _ in plan.events])
    truths = [case.truth for case in cases]
    for k, case in enumerate(cases):
        m, c, h, w = _shape_of(case, plan)
        if sums.members and m != sums.members:
            raise GateError(f"case {k} has {m} members, earlier cases {sums.members}")
        if m < 2:
            raise GateError("scoring an ensemble needs at least two members")
        if not sums.tails:
            sums.tails = [(QuantileAccumulator(e), QuantileAccumulator(e))
                          for e in (_edges(truths, plan, i) for i in range(c))]
        sums.members = m
        _score_case(case, plan, sums, first=k == 0)
        sums.cases += 1
    return sums


def _band_rows(case: Case, plan: ScoringPlan, m: int, w: int) -> int:
    """Rows read at a time: the case's own choice, else the budget for one variable of every member, rounded to
    whole chunks of rows when the store is chunked (so that every chunk is read once)."""
    if case.band_rows:
        return int(case.band_rows)
    rows = max(1, plan.band_bytes // (m * w * np.dtype(case.members.dtype).itemsize))
    chunks = getattr(case.members, "chunks", None)
    if chunks is not None and len(chunks) == 4 and chunks[2]:
        rows = max(1, rows // int(chunks[2])) * int(chunks[2])
    return rows


def _score_case(case: Case, plan: ScoringPlan, sums: Sums, *, first: bool) -> None:
    m, c, h, w = _shape_of(case, plan)
    band = _band_rows(case, plan, m, w)
    rows: dict[str, np.ndarray] = {}
    fss_c, fss_t = plan.index(plan.fss_event[0]), plan.fss_event[1]
    windows = tuple(x for x in plan.fss_windows if x <= min(h, w))
    fss = [FSSAccumulator(fss_t, windows) for _ in range(m)] if windows else []
    stride = max(1, math.ceil(max(h, w) / plan.map_pixels))
    maps = CaseMaps(stride) if first else None
    ranks = np.zeros((c, m + 1))
    events = [(e, plan.index(name), thr) for e, (name, thr) in enumerate(plan.events)]

    def put(key: str, index: int, r0: int, values: np.ndarray, size: int = c) -> None:
        rows.setdefault(key, np.zeros((size, h)))[index, r0:r0 + len(values)] = values.sum(axis=-1)

    for r0 in range(0, h, band):
        r1 = min(h, r0 + band)
        for i in range(c):  # one variable of every member at a time: a band is M × rows × W values
            x = np.asarray(case.members[0:m, i, r0:r1, :])
            y = np.asarray(case.truth[i, r0:r1, :]).astype(np.float64)
            put("crps", i, r0, crps_ensemble(x, y))
            mean, var = member_mean_var(x, 0)
            put("var", i, r0, var)
            put("se", i, r0, (mean - y) ** 2)
            if case.persistence is not None:
                put("crps_persistence", i, r0, np.abs(np.asarray(case.persistence[i, r0:r1, :]) - y))
            clim = None if case.climatology is None else np.asarray(
                case.climatology[0:case.climatology.shape[0], i, r0:r1, :])
            if clim is not None:
                put("crps_climatology", i, r0, crps_ensemble(clim, y))
            ranks[i] += rank_histogram_shared_ties(x, y)
            for e, _, thr in (ev for ev in events if ev[1] == i):
                prob = (x > thr).mean(axis=0, dtype=np.float64)
                event = (y > thr).astype(np.float64)
                sums.bins[e].add(prob, event)
                put("brier", e, r0, (prob - event) ** 2, len(events))
                if clim is not None:
                    put("brier_climatology", e, r0, ((clim > thr).mean(axis=0, dtype=np.float64) - event) ** 2,
                        len(events))
            tail_x, tail_y = sums.tails[i]
            tail_x.update(x)
            tail_y.update(y)
            if i == fss_c:
                for acc, member in zip(fss, x, strict=True):
                    acc.update(member, y)
                if maps is not None:
                    keep = slice((-r0) % stride, None, stride)
                    maps.truth.append(y[keep, ::stride])
                    maps.mean.append(mean[keep, ::stride])
                    maps.spread.append(np.sqrt(var[keep, ::stride]))
                    maps.prob.append((x[:, keep, ::stride] > fss_t).mean(axis=0))
                    maps.members.append(x[: min(m, 6), keep, ::stride])
    sums.ranks = ranks if sums.ranks is None else sums.ranks + ranks
    starts = np.arange(0, h, plan.block_rows)
    for key, per_row in rows.items():
        sums.units.setdefault(key, []).append(np.add.reduceat(per_row, starts, axis=1).T)
    sums.units.setdefault("points", []).append(np.add.reduceat(np.full((1, h), float(w)), starts, axis=1).T)
    if fss:
        if sums.fss_windows and sums.fss_windows != windows:
            raise GateError(f"FSS windows {windows} of this case differ from earlier cases' {sums.fss_windows}")
        sums.fss_windows = windows
        num = np.sum([a.num for a in fss], axis=0)
        den = np.sum([a.den for a in fss], axis=0)
        sums.fss_num = num if sums.fss_num is None else sums.fss_num + num
        sums.fss_den = den if sums.fss_den is None else sums.fss_den + den
        sums.fss_obs_events += _count_events(case.truth, fss_c, fss_t, band)
        sums.fss_points += h * w
    _spectra(case, plan, sums, m)
    if maps is not None:
        sums.maps = maps


def _count_events(truth: Any, c: int, threshold: float, band: int) -> int:
    h = truth.shape[-2]
    return sum(int((np.asarray(truth[c, r0:min(h, r0 + band), :]) > threshold).sum()) for r0 in range(0, h, band))


def _spectra(case: Case, plan: ScoringPlan, sums: Sums, m: int) -> None:
    """Radially averaged power of the truth and of the first ``spectrum_members`` members, per variable, one
    whole field at a time (a spectrum needs the whole field; a field is one member's one variable)."""
    for i, name in enumerate(plan.variables):
        h, w = case.truth.shape[-2:]
        k, truth_power = power_spectrum(np.asarray(case.truth[i, 0:h, :]))
        fields = np.asarray(case.members[0:min(m, plan.spectrum_members), i, 0:h, :])
        members = [power_spectrum(f)[1] for f in fields]
        sums.spectra.setdefault(name, []).append((truth_power, np.mean(members, axis=0)))
