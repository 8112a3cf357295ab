"""Running a gate suite on a version and turning the outcomes into stored evidence."""

from __future__ import annotations

import functools
import math
import platform
import sys
import time
from collections.abc import Mapping
from importlib import metadata
from typing import TYPE_CHECKING, Any

from registry.errors import GateError
from registry.gate_context import RunContext
from registry.hashing import digest_json, to_jsonable
from registry.records import Evidence, GateResult, GateStatus, ModelVersion
from registry.store import now_utc

if TYPE_CHECKING:
    from cache.spec import ExtractSpec
    from gates.base import Gate
    from gates.suite import GateSuite
    from registry.family import Family
    from registry.store import Store

DEFAULT_SEED = 20260101
_LIBRARIES = ("gated-registry", "torch", "numpy", "duckdb", "pyarrow", "clickhouse-connect", "safetensors")


@functools.cache
def _library_versions() -> tuple[tuple[str, str], ...]:
    found = []
    for lib in _LIBRARIES:
        try:
            found.append((lib, metadata.version(lib)))
        except metadata.PackageNotFoundError:
            found.append((lib, "absent"))
    return tuple(found)


def environment(family: Family, device: str = "cpu") -> dict[str, str]:
    """Library versions (read from metadata, nothing imported), the platform and the device, for the evidence.

    On a CUDA device the CUDA build and the GPU's name are recorded too, so that a re-run elsewhere that
    differs in the last bits can be told apart from drift of the model or the data.
    """
    env = {"python": platform.python_version(), "platform": sys.platform, "family_plugin": family.version,
           "device": device, **dict(_library_versions())}
    torch = sys.modules.get("torch")  # only if the family already brought it in
    if torch is not None and device.startswith("cuda"):
        try:
            env["cuda"] = str(torch.version.cuda)
            env["gpu"] = str(torch.cuda.get_device_name(torch.device(device)))
        except Exception as exc:  # the record must not fail the run
            env["gpu"] = f"unknown ({type(exc).__name__})"
    return env


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _evaluate(gate: Gate, ctx: RunContext) -> GateResult:
    t0 = time.perf_counter()
    try:
        out = gate.evaluate(ctx)
        value = to_jsonable(out.value)  # numpy and torch scalars become Python numbers; NaN/inf become text
        flag: Any = out.passed  # a Python bool, or a numpy boolean scalar; anything else is not a pass
        passed = flag is True or (getattr(flag, "dtype", None) is not None and flag.dtype.kind == "b"
                                  and getattr(flag, "shape", None) == () and bool(flag))
        if passed and not _finite_number(value):
            raise GateError(f"the gate reported a pass without a finite measured value ({value!r})")
        status: GateStatus = "pass" if passed else "fail"
        message = out.message or ("passed" if passed else "did not pass")
        result = GateResult(gate.name, gate.version, status, value, to_jsonable(out.threshold), out.comparator,
                            message, to_jsonable(out.details), tuple(to_jsonable(list(out.figures))), 0.0)
    except (Exception, SystemExit) as exc:  # fail closed: anything raised is an error row, never a pass
        message = f"could not evaluate: {type(exc).__name__}: {exc}".splitlines()[0]
        result = GateResult(gate.name, gate.version, "error", None, None, "", message)
    seconds = round(time.perf_counter() - t0, 4)
    return GateResult(**{**result.__dict__, "seconds": seconds})


def run_suite(store: Store, family: Family, suite: GateSuite, version: ModelVersion, *,
              champion: ModelVersion | None = None, seed: int = DEFAULT_SEED, device: str = "cpu",
              extract_pins: dict[str, str] | None = None, expected_digests: dict[str, str] | None = None,
              extract_specs: Mapping[str, ExtractSpec] | None = None,
              progress: bool = False,
              purpose: dict[str, str] | None = None,
              expected_datasets: dict[str, str] | None = None) -> Evidence:
    """Evaluate every gate of ``suite`` on ``version``; the caller stores the returned evidence."""
    ctx = RunContext(store, family, version, champion=champion, seed=seed, device=device,
                     extract_pins=extract_pins, expected_digests=expected_digests, extract_specs=extract_specs,
                     expected_datasets=expected_datasets, progress=progress and sys.stderr.isatty())
    t0 = time.perf_counter()
    gates = suite.gates
    results: list[GateResult] = []
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(gates), desc=f"gates {version.ref}", unit="gate", file=sys.stderr, leave=False)
    for gate in gates:
        if bar is not None:
            bar.set_postfix_str(gate.name)
        results.append(_evaluate(gate, ctx))
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    figures: tuple[Any, ...] = ()
    if suite.figures is not None:
        try:
            figures = tuple(to_jsonable(list(suite.figures(tuple(results)))))
        except Exception as exc:  # a figure never decides a verdict; the card says why it is missing
            figures = ({"kind": "unavailable", "title": "suite figures",
                        "reason": f"{type(exc).__name__}: {exc}".splitlines()[0]},)
    body = dict(family=version.family, version_id=version.version_id, suite=suite.name,
                suite_version=suite.version, results=tuple(results),
                checkpoint_hashes={f.role: f.sha256 for f in version.files},
                extract_digests=dict(sorted(ctx.extract_digests.items())),
                champion_version_id=champion.version_id if champion else None, seed=seed,
                environment=environment(family, device), created_at=now_utc(precise=True),
                seconds=round(time.perf_counter() - t0, 4), extract_keys=dict(sorted(ctx.extract_keys.items())),
                purpose=dict(purpose or {}), figures=figures,
                dataset_digests=dict(sorted(ctx.dataset_digests.items())),
                ensemble_digests=dict(sorted(ctx.ensemble_digests.items())),
                tolerance={k: float(v) for k, v in sorted((suite.device_tolerance or {}).items())},
                synthetic_datasets=tuple(sorted(ctx.synthetic_datasets)))
    draft = Evidence(evidence_id="", **body)  # type: ignore[arg-type]
    return Evidence(evidence_id=digest_json(draft.content()), **body)  # type: ignore[arg-type]
