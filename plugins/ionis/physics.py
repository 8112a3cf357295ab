"""Structural physics gates: properties over many seeded random paths, times and seasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gates.base import GateContext, Outcome, Threshold, table
from plugins.ionis.architectures import Architecture
from plugins.ionis.checkpoint import IonisBundle
from plugins.ionis.features import PathBatch
from plugins.ionis.gates import bundle_of, inputs_note
from plugins.ionis.predict import predict_matrix
from registry.errors import GateError

KP_LEVELS = np.arange(10.0)
SFI_LEVELS = np.array([50.0, 70.0, 100.0, 130.0, 160.0, 200.0, 250.0, 300.0, 400.0])
MONTH_START_DOY = np.array([1, 32, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335])


def random_paths(rng: np.random.Generator, n: int, *, bundle: IonisBundle) -> PathBatch:
    """``n`` random queries: endpoints uniform on the sphere, any band, hour, season, SFI 50–400, Kp 0–9.
    A version that reads an IRI atlas gets paths whose midpoint is the centroid of a random atlas grid."""
    if bundle.atlas is not None:
        lat, lon = _around_atlas_grids(rng, n, bundle.atlas.grids)
    else:
        lat = np.degrees(np.arcsin(rng.uniform(-0.999, 0.999, size=(2, n))))
        lon = rng.uniform(-180.0, 180.0, size=(2, n))
    bands = rng.choice(sorted(bundle.bands.dial_hz), size=n)
    month = rng.integers(1, 13, size=n)
    doy = MONTH_START_DOY[month - 1] + rng.integers(0, 28, size=n)
    return PathBatch(lat[0], lon[0], lat[1], lon[1], bundle.bands.freq_mhz(bands), rng.uniform(0.0, 24.0, n),
                     month, doy, rng.uniform(50.0, 400.0, n), rng.uniform(0.0, 9.0, n))


def _around_atlas_grids(rng: np.random.Generator, n: int, grids: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    from plugins.ionis.geo import grid_centroid

    mid_lat, mid_lon = grid_centroid([grids[i] for i in rng.integers(0, len(grids), n)], column="grid")
    dlat = rng.uniform(-1.0, 1.0, n) * np.minimum(25.0, 89.0 - np.abs(mid_lat))
    dlon = rng.uniform(-1.0, 1.0, n) * np.minimum(60.0, 179.0 - np.abs(mid_lon))
    return np.stack([mid_lat + dlat, mid_lat - dlat]), np.stack([mid_lon + dlon, mid_lon - dlon])


def _sweep(bundle: IonisBundle, paths: PathBatch, column: str, levels: np.ndarray) -> np.ndarray:
    """σ of shape ``(n, len(levels))``: each path with ``column`` (``sfi``/``kp``) set to each level; the
    rows are rebuilt from the paths (not patched), so features derived from SFI (IRI buckets) follow it."""
    rows = np.repeat(np.arange(len(paths)), len(levels))
    tiled = np.tile(levels, len(paths))
    values = {n: getattr(paths, n)[rows] for n in paths.__dataclass_fields__}
    values[column] = tiled
    return predict_matrix(bundle, bundle.inputs(PathBatch(**values))).reshape(len(paths), len(levels))


def not_applicable(bundle: IonisBundle, gate: str, why: str) -> GateError:
    """The error a gate raises on an architecture it does not apply to: never a silent pass."""
    return GateError(f"{gate} does not apply to {bundle.arch.name}: {why}")


@dataclass
class MonotoneGate:
    """σ never rises with Kp (``kp``) / never falls with SFI (``sfi``) along a sweep on every random path."""

    name: str
    column: str
    paths: int = 512
    tolerance: float = 1e-5  # rows of one batch may differ in the last float32 bits
    version: str = "1"
    description: str = ""

    def evaluate(self, ctx: GateContext) -> Outcome:
        bundle = bundle_of(ctx)
        if self.column == "sfi" and not bundle.arch.has_sun:
            raise not_applicable(bundle, self.name, "it has no sun sidecar, so SFI has no path into σ "
                                 "(its own suite checks that SFI is ignored)")
        paths = random_paths(ctx.rng(self.name), self.paths, bundle=bundle)
        levels = KP_LEVELS if self.column == "kp" else SFI_LEVELS
        sigma = _sweep(bundle, paths, self.column, levels)
        steps = np.diff(sigma, axis=1)
        wrong = steps if self.column == "kp" else -steps  # a rise with Kp / a fall with SFI
        worst = float(wrong.max())
        span = sigma[:, 0] - sigma[:, -1] if self.column == "kp" else sigma[:, -1] - sigma[:, 0]
        what = "Kp 0 → 9 storm cost" if self.column == "kp" else "SFI 50 → 400 benefit"
        against = int((wrong > self.tolerance).sum())
        details = {**inputs_note(bundle), "paths": self.paths, "levels": " → ".join(f"{v:g}" for v in levels),
                   "steps_against_physics": against, "largest_step_against_physics_sigma": worst,
                   f"{what} per path (σ)": {"mean": round(float(span.mean()), 4), "min": round(float(span.min()), 4),
                                            "max": round(float(span.max()), 4)}}
        counts, edges = np.histogram(span, bins=12)
        figure = {"kind": "histogram", "title": f"{what} over {self.paths} random paths",
                  "counts": counts.tolist(), "edges": [round(float(e), 3) for e in edges],
                  "xlabel": f"{what} (σ)", "ylabel": "paths"}
        message = (f"{against} step(s) against physics over {self.paths} paths × {len(levels)} levels "
                   f"(largest {worst:+.2e}σ; ≤ 0 means none); mean {what} {span.mean():+.3f}σ")
        return Outcome.held_to(worst, Threshold("<=", self.tolerance), message, details=details, figures=(figure,))


@dataclass
class GateRangeGate:
    """Every sun/storm gate lies in [0.5, 2.0] on random realistic paths and on N(0,1) feature vectors."""

    name: str = "physics-gate-range"
    paths: int = 1000
    version: str = "1"
    description: str = "sun and storm gates stay within [0.5, 2.0]"

    def evaluate(self, ctx: GateContext) -> Outcome:
        import torch

        bundle = bundle_of(ctx)
        rng = ctx.rng(self.name)
        real = bundle.inputs(random_paths(rng, self.paths, bundle=bundle))
        noise = rng.standard_normal((self.paths, bundle.module.input_dim)).astype(np.float32)
        if "band_idx" in bundle.module.columns:  # a head index, not a number to perturb
            noise[:, bundle.module.column("band_idx")] = rng.integers(0, bundle.arch.heads, self.paths)
        x = torch.from_numpy(np.concatenate([real, noise])).to(bundle.device)
        with torch.inference_mode():
            parts = bundle.module.decompose(x)
        named = [(car.name, getattr(parts, f"g_{car.name}")) for car in bundle.arch.sidecars]
        gates = torch.cat([g for _, g in named], dim=1).double().cpu().numpy()
        outside = int(((gates < 0.5) | (gates > 2.0)).sum())
        stats = [{"gate": name, "min": round(float(gates[:, i].min()), 4), "max": round(float(gates[:, i].max()), 4),
                  "variance": round(float(gates[:, i].var()), 5)} for i, (name, _) in enumerate(named)]
        details = {**inputs_note(bundle), "inputs": f"{self.paths} random paths + {self.paths} N(0, 1) feature vectors",
                   "table": table(stats, ("gate", "min", "max", "variance"), "gate values")}
        if not bundle.arch.has_sun:
            details["not_applicable"] = f"{bundle.arch.name} has no sun gate; only the storm gate is checked"
        which = " and ".join(name for name, _ in named)
        return Outcome.held_to(outside, Threshold("==", 0), f"{outside} {which} gate values outside [0.5, 2.0]"
                               + ("" if bundle.arch.has_sun else " (no sun gate in this architecture)"),
                               details=details)


def _mish(x: np.ndarray) -> np.ndarray:
    return x * np.tanh(np.logaddexp(0.0, x))


def reference_parts(state: dict[str, np.ndarray], x: np.ndarray, arch: Architecture,
                    features: Sequence[str]) -> dict[str, np.ndarray]:
    """The spec's forward pass of ``arch`` in float64 numpy from the raw weights, independent of the torch
    module: ``base`` (the band's head where there are band heads) and, per sidecar, its gate and output."""
    def linear(name: str, v: np.ndarray, absolute: bool = False) -> np.ndarray:
        w = state[f"{name}.weight"]
        return v @ (np.abs(w) if absolute else w).T + state[f"{name}.bias"]

    col = {n: i for i, n in enumerate(features)}
    h = _mish(linear("trunk.2", _mish(linear("trunk.0", x[:, : len(features) - len(arch.side_inputs)]))))
    if arch.band_heads is None:
        base = linear("base_head.2", _mish(linear("base_head.0", h)))[:, 0]
    else:
        every = np.stack([linear(f"band_heads.{i}.2", _mish(linear(f"band_heads.{i}.0", h)))[:, 0]
                          for i in range(arch.heads)], axis=1)
        base = every[np.arange(len(x)), x[:, col["band_idx"]].astype(np.int64)]
    parts = {"base": base}
    for car in arch.sidecars:
        logit = linear(f"{car.name}_scaler_head.2", _mish(linear(f"{car.name}_scaler_head.0", h)))[:, 0]
        parts[f"g_{car.name}"] = 0.5 + 1.5 / (1.0 + np.exp(-logit))
        cols = np.stack([x[:, col[f]] for f in car.inputs], axis=1)
        u = cols if car.combine == "columns" else np.prod(cols, axis=1, keepdims=True)
        hidden = np.logaddexp(0.0, linear(f"{car.name}_sidecar.fc1", u, absolute=True))
        parts[f"{car.name}_sidecar"] = linear(f"{car.name}_sidecar.fc2", hidden, absolute=True)[:, 0]
    return parts


def reference_sigma(parts: dict[str, np.ndarray], arch: Architecture) -> np.ndarray:
    """base + Σ g·sidecar over the architecture's sidecars."""
    total = parts["base"].copy()
    for car in arch.sidecars:
        total += parts[f"g_{car.name}"] * parts[f"{car.name}_sidecar"]
    return total


@dataclass
class DecompositionGate:
    """The loaded model's output equals the spec's formula for its architecture (base or band head + gated
    sidecars), evaluated in float64 straight from the weights (so a module that drifted from the spec fails it)."""

    name: str = "physics-decomposition"
    paths: int = 512
    tolerance: float = 1e-4  # float32 forward against a float64 reference
    version: str = "3"
    description: str = ("forward output equals the architecture's base/band head + gated sidecars computed "
                        "independently from the weights (< 1e-4σ)")

    def evaluate(self, ctx: GateContext) -> Outcome:
        import torch

        bundle = bundle_of(ctx)
        x = bundle.inputs(random_paths(ctx.rng(self.name), self.paths, bundle=bundle))
        with torch.inference_mode():
            forward = bundle.module(torch.from_numpy(x).to(bundle.device)).double().cpu().numpy()[:, 0]
        state = {k: v.detach().double().cpu().numpy() for k, v in bundle.module.state_dict().items()}
        reference = reference_sigma(reference_parts(state, x.astype(np.float64), bundle.arch, bundle.features),
                                    bundle.arch)
        error = float(np.abs(forward - reference).max())
        terms = " + ".join(["band head" if bundle.arch.band_heads else "base"]
                           + [f"g_{c.name}·{c.name}_sidecar" for c in bundle.arch.sidecars])
        return Outcome.held_to(error, Threshold("<", self.tolerance),
                               f"max |forward − spec formula ({terms})| = {error:.2e}σ over {self.paths} paths",
                               details={**inputs_note(bundle), "paths": self.paths, "max_abs_error": error,
                                        "architecture": bundle.arch.name,
                                        "reference": "float64 numpy from the state_dict, written from the spec"})
