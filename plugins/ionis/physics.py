"""Structural physics gates: properties over many seeded random paths, times and seasons."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gates.base import GateContext, Outcome, Threshold, table
from plugins.ionis.checkpoint import IonisBundle
from plugins.ionis.features import PathBatch, build_features
from plugins.ionis.gates import bundle_of
from plugins.ionis.predict import predict_matrix

KP_LEVELS = np.arange(10.0)
SFI_LEVELS = np.array([50.0, 70.0, 100.0, 130.0, 160.0, 200.0, 250.0, 300.0, 400.0])
MONTH_START_DOY = np.array([1, 32, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335])


def random_paths(rng: np.random.Generator, n: int, *, bundle: IonisBundle) -> PathBatch:
    """``n`` random queries: endpoints uniform on the sphere, any band, hour, season, SFI 50–400, Kp 0–9."""
    lat = np.degrees(np.arcsin(rng.uniform(-0.999, 0.999, size=(2, n))))
    lon = rng.uniform(-180.0, 180.0, size=(2, n))
    bands = rng.choice(sorted(bundle.bands.dial_hz), size=n)
    month = rng.integers(1, 13, size=n)
    doy = MONTH_START_DOY[month - 1] + rng.integers(0, 28, size=n)
    return PathBatch(lat[0], lon[0], lat[1], lon[1], bundle.bands.freq_mhz(bands), rng.uniform(0.0, 24.0, n),
                     month, doy, rng.uniform(50.0, 400.0, n), rng.uniform(0.0, 9.0, n))


def _sweep(bundle: IonisBundle, paths: PathBatch, column: str, levels: np.ndarray) -> np.ndarray:
    """σ of shape ``(n, len(levels))``: each path with ``column`` (``sfi``/``kp``) set to each level."""
    x = build_features(bundle.features, paths)
    reps = np.repeat(x, len(levels), axis=0)
    idx = bundle.dnn_dim if column == "sfi" else bundle.dnn_dim + 1
    tiled = np.tile(levels, len(paths))
    reps[:, idx] = tiled / 300.0 if column == "sfi" else 1.0 - tiled / 9.0
    return predict_matrix(bundle, reps).reshape(len(paths), len(levels))


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
        paths = random_paths(ctx.rng(self.name), self.paths, bundle=bundle)
        levels = KP_LEVELS if self.column == "kp" else SFI_LEVELS
        sigma = _sweep(bundle, paths, self.column, levels)
        steps = np.diff(sigma, axis=1)
        wrong = steps if self.column == "kp" else -steps  # a rise with Kp / a fall with SFI
        worst = float(wrong.max())
        span = sigma[:, 0] - sigma[:, -1] if self.column == "kp" else sigma[:, -1] - sigma[:, 0]
        what = "Kp 0 → 9 storm cost" if self.column == "kp" else "SFI 50 → 400 benefit"
        against = int((wrong > self.tolerance).sum())
        details = {"paths": self.paths, "levels": " → ".join(f"{v:g}" for v in levels),
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
        real = build_features(bundle.features, random_paths(rng, self.paths, bundle=bundle))
        noise = rng.standard_normal((self.paths, bundle.dnn_dim + 2)).astype(np.float32)
        x = torch.from_numpy(np.concatenate([real, noise])).to(bundle.device)
        with torch.inference_mode():
            parts = bundle.module.decompose(x)
        gates = torch.cat([parts.g_sun, parts.g_storm], dim=1).double().cpu().numpy()
        outside = int(((gates < 0.5) | (gates > 2.0)).sum())
        stats = [{"gate": name, "min": round(float(g.min()), 4), "max": round(float(g.max()), 4),
                  "variance": round(float(g.var()), 5)} for name, g in (("sun", gates[:, 0]), ("storm", gates[:, 1]))]
        details = {"inputs": f"{self.paths} random paths + {self.paths} N(0, 1) feature vectors",
                   "table": table(stats, ("gate", "min", "max", "variance"), "gate values")}
        return Outcome.held_to(outside, Threshold("==", 0), f"{outside} gate values outside [0.5, 2.0]",
                               details=details)


def _mish(x: np.ndarray) -> np.ndarray:
    return x * np.tanh(np.logaddexp(0.0, x))


def reference_parts(state: dict[str, np.ndarray], x: np.ndarray, dnn_dim: int) -> dict[str, np.ndarray]:
    """The spec's forward pass written out in float64 numpy from the raw weights, independent of the
    torch module: ``base``, the two gates and the two sidecars for an ``(N, dnn_dim + 2)`` input."""
    def linear(name: str, v: np.ndarray, absolute: bool = False) -> np.ndarray:
        w = state[f"{name}.weight"]
        return v @ (np.abs(w) if absolute else w).T + state[f"{name}.bias"]

    h = _mish(linear("trunk.2", _mish(linear("trunk.0", x[:, :dnn_dim]))))
    parts = {"base": linear("base_head.2", _mish(linear("base_head.0", h)))[:, 0]}
    for gate, car, col in (("sun", "sun_sidecar", dnn_dim), ("storm", "storm_sidecar", dnn_dim + 1)):
        logit = linear(f"{gate}_scaler_head.2", _mish(linear(f"{gate}_scaler_head.0", h)))[:, 0]
        parts[f"g_{gate}"] = 0.5 + 1.5 / (1.0 + np.exp(-logit))
        hidden = np.logaddexp(0.0, linear(f"{car}.fc1", x[:, col : col + 1], absolute=True))
        parts[car] = linear(f"{car}.fc2", hidden, absolute=True)[:, 0]
    return parts


@dataclass
class DecompositionGate:
    """The loaded model's output equals the spec's formula, base + g_sun·sun_sidecar + g_storm·storm_sidecar,
    evaluated in float64 straight from the weights (so a module that drifted from the spec fails it)."""

    name: str = "physics-decomposition"
    paths: int = 512
    tolerance: float = 1e-4  # float32 forward against a float64 reference
    version: str = "2"
    description: str = ("forward output equals base + gated sidecars computed independently from the weights "
                        "(< 1e-4σ)")

    def evaluate(self, ctx: GateContext) -> Outcome:
        import torch

        bundle = bundle_of(ctx)
        x = build_features(bundle.features, random_paths(ctx.rng(self.name), self.paths, bundle=bundle))
        with torch.inference_mode():
            forward = bundle.module(torch.from_numpy(x).to(bundle.device)).double().cpu().numpy()[:, 0]
        state = {k: v.detach().double().cpu().numpy() for k, v in bundle.module.state_dict().items()}
        p = reference_parts(state, x.astype(np.float64), bundle.dnn_dim)
        reference = p["base"] + p["g_sun"] * p["sun_sidecar"] + p["g_storm"] * p["storm_sidecar"]
        error = float(np.abs(forward - reference).max())
        return Outcome.held_to(error, Threshold("<", self.tolerance),
                               f"max |forward − spec formula| = {error:.2e}σ over {self.paths} paths",
                               details={"paths": self.paths, "max_abs_error": error,
                                        "reference": "float64 numpy from the state_dict, written from the spec"})
