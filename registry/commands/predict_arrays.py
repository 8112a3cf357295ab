"""``registry predict … --out ENS.zarr``: a family's generated ensemble written to a Zarr v3 store."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from registry.errors import ExitCode, InvalidInput, UsageError
from registry.naming import check_text
from registry.output import Output

if TYPE_CHECKING:
    from registry.app import App

DEFAULT_MEMBERS = 10
MAX_MEMBERS = 10_000


def run_predict_arrays(app: App, args: argparse.Namespace, out: Output) -> int:
    """Plan the ensemble through ``EnsembleFamily.ensemble_plan``, generate it member-batch by member-batch and
    place it at ``--out`` atomically (nothing is left there if anything fails)."""
    from cache.datasets import from_input
    from cache.ensembles import identity, write_ensemble
    from cache.gridded_input import open_input
    from registry.commands.extract import parse_params
    from registry.family import EnsembleFamily

    members = DEFAULT_MEMBERS if args.members is None else args.members
    if not 1 <= members <= MAX_MEMBERS:
        raise InvalidInput(f"--members must be 1…{MAX_MEMBERS}, got {members}")
    if args.steps is not None and args.steps < 1:
        raise InvalidInput(f"--steps must be ≥ 1, got {args.steps}")
    seed = 0 if args.seed is None else args.seed
    if seed < 0:
        raise InvalidInput(f"--seed must be a non-negative integer, got {seed}")
    if args.out.exists():
        raise InvalidInput(f"--out {args.out} exists already; choose another path or remove it")
    if not args.out.parent.is_dir():
        raise InvalidInput(f"--out: folder {args.out.parent} does not exist")
    check_text(args.input.name, "--input file name")  # recorded in the ensemble's identity and attributes
    options = parse_params(args.option)
    version = app.store.resolve(args.ref)
    family = app.plugins.family(version.family)
    if not isinstance(family, EnsembleFamily):
        raise UsageError(f"family {family.name!r} does not generate ensembles of arrays; drop --out")
    case = from_input(args.input.name, open_input([args.input]), progress=not out.json_mode)
    model = family.load(app.store.checkout(version), device=args.device)
    plan = family.ensemble_plan(model, case, members=members, seed=seed, steps=args.steps, device=args.device,
                                options=options)
    if plan.members != members or plan.seed != seed:
        raise UsageError(f"family {family.name!r} planned {plan.members} members with seed {plan.seed}, "
                         f"asked for {members} with seed {seed}")
    ident = identity(version_id=version.version_id, condition=plan.condition, sampler=plan.sampler, seed=seed,
                     device=args.device, members=members, variables=plan.variables, grid=plan.grid,
                     batch=plan.batch)
    t0 = time.perf_counter()
    synthetic = bool(case.attrs.get("synthetic"))  # generated from SYNTHETIC data: said in the store and the line
    source = {"name": args.input.name, "digest": case.digest, **({"synthetic": True} if synthetic else {})}
    grid = tuple(plan.grid)
    coords = {n: case.coordinate(n) for n in case.header["coords"] if case.coordinate(n).shape == grid}
    attrs = {"title": f"ensemble of {version.ref} ({family.name})" + (" — SYNTHETIC input" if synthetic else ""),
             "version": version.ref, "version_id": version.version_id, "family": family.name,
             "sampler": plan.sampler, "seed": seed, "device": args.device, "members": members,
             "units": _units(case.attrs.get("units"), plan.variables), "input": source, "synthetic": synthetic,
             "code_version": version.lineage.get("code_version", "")}
    ens = write_ensemble(args.out, {**ident, "input": source}, plan.generate, progress=not out.json_mode,
                         attrs=attrs, coords=coords)
    seconds = time.perf_counter() - t0
    body: dict[str, Any] = {"version": version.ref, "version_id": version.version_id, "out": str(args.out),
                            "shape": list(ens.shape), "variables": list(ens.variables), "digest": ens.digest,
                            "identity": ens.identity, "seconds": round(seconds, 3)}
    m, c, h, w = ens.shape
    out.emit(body, f"{version.ref}: {m} members × {c} variables ({', '.join(ens.variables)}) × {h} × {w} → "
                   f"{args.out} in {seconds:.1f} s; sampler {plan.sampler}; digest {ens.digest[:16]}"
                   + ("; input SYNTHETIC" if synthetic else ""))
    return int(ExitCode.OK)


def _units(units: Any, variables: Any) -> dict[str, str]:
    """Each variable's unit from the input's ``units`` attribute (one per variable, or one for all)."""
    if isinstance(units, dict):
        return {str(v): str(units[v]) for v in variables if v in units}
    return {str(v): units for v in variables} if isinstance(units, str) else {}
