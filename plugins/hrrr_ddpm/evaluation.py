"""The run's evaluation cases: test-period states of the version's dataset, their on-disk ensembles and references."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gates.base import GateContext
from plugins.hrrr_ddpm.scoring import Case, ScoringPlan, Sums, score_cases
from registry.errors import DataMissing, GateError


@dataclass(frozen=True)
class EvaluationPlan:
    """How many cases (consecutive test-period pairs t → t + 1), members per ensemble, climatology members (states
    of the training period, evenly spaced) and the scoring plan."""

    cases: int = 4
    members: int = 8
    climatology: int = 8
    plan: ScoringPlan = ScoringPlan()

    def key(self) -> str:
        return f"hrrr-scoring:{self.cases}:{self.members}:{self.climatology}:{self.plan!r}"


def _rows(key: Any) -> tuple[Any, Any, Any]:
    """(first, rows, columns) of a key of the forms the scoring pass uses."""
    if not isinstance(key, tuple) or len(key) not in (3, 4):
        raise TypeError(f"unsupported key {key!r}")
    return key[0], key[-2], key[-1]


class EnsembleView:
    """An on-disk ``cache.ensembles.Ensemble`` indexed as ``[members, variable, rows, columns]`` (chunk-verified)."""

    def __init__(self, ensemble: Any) -> None:
        self.ensemble = ensemble
        self.shape = tuple(ensemble.shape)
        self.dtype = np.dtype(np.float32)
        chunks = getattr(ensemble, "chunks", None) or getattr(getattr(ensemble, "_array", None), "chunks", None)
        self.chunks = None if chunks is None else tuple(chunks)

    def __getitem__(self, key: Any) -> np.ndarray:
        members, rows, cols = _rows(key)
        return self.ensemble.read(members, key[1], rows, None if cols == slice(None) else cols)


class StatesView:
    """States of a ``cache.datasets.Dataset`` at ``times`` in physical units, as (K, C, H, W); with one time and
    ``squeeze``, (C, H, W)."""

    def __init__(self, dataset: Any, variables: Sequence[str], times: Sequence[int], *, squeeze: bool = False):
        self.dataset, self.variables, self.times, self.squeeze = dataset, tuple(variables), list(times), squeeze
        _, h, w = dataset.shape
        self.shape = (len(self.variables), h, w) if squeeze else (len(self.times), len(self.variables), h, w)
        self.dtype = np.dtype(np.float32)

    def __getitem__(self, key: Any) -> np.ndarray:
        first, rows, cols = _rows(key)
        cols = None if cols == slice(None) else cols
        if self.squeeze:
            return self.dataset.read(self.variables[first], self.times[0], rows, cols, scale="physical")
        var = self.variables[key[1]]
        return np.stack([self.dataset.read(var, t, rows, cols, scale="physical") for t in self.times[first]])


def test_times(model: Any, dataset: Any) -> list[int]:
    """Times t of the test period (from the version's ``test_from``) whose successor t + 1 exists."""
    n = dataset.shape[0]
    start = int(model.config.get("test_from", n // 2))
    times = list(range(max(start, 0), n - 1))
    if not times:
        raise DataMissing(f"dataset {dataset.name!r} has no test-period pair after time {start} (it has {n} times)")
    return times


def evaluation_dataset(ctx: GateContext) -> Any:
    """The dataset the version names in its config (the one it was trained on, split by time)."""
    name = ctx.model.config.get("dataset")
    if not name:
        raise DataMissing("the version's config names no dataset to evaluate on")
    ds = ctx.dataset(name)
    if not set(ctx.model.variables) <= set(ds.variables):
        raise GateError(f"dataset {name!r} lacks variables of the model ({', '.join(ctx.model.variables)})")
    return ds


def plan_for(ctx: GateContext, dataset: Any, time: int, members: int, *, champion: bool = False) -> Any:
    """The family's ensemble plan for one case (condition = the state at ``time``)."""
    from plugins.hrrr_ddpm.family import HrrrDDPMFamily

    model = ctx.champion_model if champion else ctx.model
    return HrrrDDPMFamily().ensemble_plan(model, dataset, members=members, seed=ctx.seed, steps=None,
                                          device=ctx.device, options={"time": str(time)})


def cases_of(ctx: GateContext, setup: EvaluationPlan, ds: Any = None) -> list[Case]:
    """The run's cases: ensembles generated (or read back) through ``ctx.ensemble``, truth, persistence and a
    climatological ensemble of training-period states."""
    model = ctx.model
    ds = evaluation_dataset(ctx) if ds is None else ds
    times = test_times(model, ds)[: setup.cases]
    start = int(model.config.get("test_from", ds.shape[0] // 2))
    pool = np.arange(0, max(start, 1))
    clim = sorted({int(t) for t in pool[np.linspace(0, len(pool) - 1, setup.climatology).round().astype(int)]})
    variables = model.variables
    out = []
    for t in times:
        ens = ctx.ensemble(plan_for(ctx, ds, t, setup.members))
        out.append(Case(EnsembleView(ens), StatesView(ds, variables, [t + 1], squeeze=True),
                        StatesView(ds, variables, [t], squeeze=True), StatesView(ds, variables, clim)))
    return out


def score_run(ctx: GateContext, setup: EvaluationPlan | None = None) -> Sums:
    """The scoring pass of the run (memoised by the gates)."""
    setup = setup or EvaluationPlan()
    plan = setup.plan if setup.plan.variables == tuple(ctx.model.variables) else \
        ScoringPlan(**{**vars(setup.plan), "variables": tuple(ctx.model.variables)})
    ds = evaluation_dataset(ctx)
    sums = score_cases(cases_of(ctx, setup, ds), plan)
    sums.source = "SYNTHETIC" if ds.attrs.get("synthetic") else ""
    return sums


def condition_pair(ctx: GateContext, crop: int) -> tuple[tuple[int, np.ndarray], tuple[int, np.ndarray]]:
    """Two states as z-score conditions (C, crop, crop): the first test-period state and the dataset's first state
    (the furthest apart in time, so the least alike), cut from the grid's centre (the network is fully
    convolutional). A condition is only an input here, never scored, so a training-period state may serve."""
    model = ctx.model
    ds = evaluation_dataset(ctx)
    times = [test_times(model, ds)[0], 0]
    if times[0] == 0:
        raise DataMissing("the conditioning check needs two different states")
    _, h, w = ds.shape
    ch, cw = min(crop, h), min(crop, w)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    rows, cols = slice(y0, y0 + ch), slice(x0, x0 + cw)

    def state(t: int) -> np.ndarray:
        return model.to_z(np.stack([ds.read(v, t, rows, cols, scale="physical") for v in model.variables]))

    return (times[0], state(times[0])), (times[-1], state(times[-1]))
