"""``registry demo``: the main job on the embedded default — real indices, extract, train, register, promote."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from registry.output import Output, add_common


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the embedded demo: indices + data → extract → train → register → promote",
                       description="Runs on the in-process ClickHouse engine; no server needed. The family loads its "
                       "demo data (real where an offline source has it, the rest clearly labelled synthetic), the "
                       "registry caches the extract or registers the dataset, trains a small model on CPU, registers "
                       "it and runs the family's release gates for `production`. `registry plugins` lists the "
                       "families that have a demo.")
    p.add_argument("family", nargs="?", default=None, help="family whose demo to run (default ionis)")
    p.add_argument("--family", dest="family_option", default=None, metavar="FAMILY", help="the same, as an option")
    p.add_argument("--release", "--ionis-release", dest="release", type=Path, metavar="DIR",
                   help="also register and gate every released checkpoint in DIR and its sub-folders (e.g. "
                        "../shared/data/ionis), one line per version: architecture, parameters, verdict, failing gates")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: the demo's)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    add_common(p)
    p.set_defaults(handler=run_demo)


def _say(out: Output, text: str) -> None:
    if not out.json_mode:
        print(text, flush=True)


def run_demo(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.errors import UsageError
    from registry.family import DatasetDemoFamily, DemoFamily
    from registry.promotion import promote

    t0 = time.perf_counter()
    if args.family and args.family_option and args.family != args.family_option:
        raise UsageError(f"two families given: {args.family!r} and --family {args.family_option!r}")
    name = args.family or args.family_option or "ionis"
    app = App.from_args(args)
    family = app.plugins.family(name)
    if isinstance(family, DatasetDemoFamily):
        version = _dataset_demo(app, family, args, out)
    elif not isinstance(family, DemoFamily):
        raise UsageError(f"family {name!r} has no demo")
    else:
        version = _extract_demo(app, family, args, out)
    decision = promote(app, version.ref, "production", device=args.device, progress=_bars(out))
    report = [_summary(decision)]
    _say(out, f"[5/5] {decision.message}")
    for line in _gate_table(decision):
        _say(out, line)
    if decision.verdict != "promoted":
        holder = app.store.holder(family.name, "production")
        _say(out, f"production is unchanged ({app.store.by_id(holder).ref if holder else 'unset'}): nothing "
                  "reaches it without passing every gate of its release suite")
    _say(out, f"scorecard: {decision.scorecard}")
    if args.release:
        if not isinstance(family, DemoFamily):
            raise UsageError(f"family {name!r} lists no released checkpoints (--release)")
        report += _release(app, family, args.release, args.device, out)
    _say(out, f"done in {time.perf_counter() - t0:.0f} s")
    if out.json_mode:
        out.emit({"home": str(app.home), "demo": report[0], "release": report[1:]})
    return 0


def _dataset_demo(app: Any, family: Any, args: argparse.Namespace, out: Output) -> Any:
    """Steps 1–4 of a gridded family's demo: write demo data, register it as datasets, train, register."""
    from cache.datasets import DatasetStore
    from cache.gridded_input import open_input
    from registry.errors import UsageError
    from registry.training import train_from_datasets

    _say(out, f"registry home: {app.home.resolve()}")
    plan = family.prepare_dataset_demo(app.home / "demo")
    if not plan.datasets:
        raise UsageError(f"the demo of {family.name!r} names no datasets")
    for note in plan.notes:
        _say(out, f"[1/5] {note}")
    for ds_name, paths in plan.datasets.items():
        ref, _ = DatasetStore(app.home).register(ds_name, open_input(list(paths)), progress=_bars(out))
        shape = "×".join(map(str, ref.header["shape"]))
        _say(out, f"[2/5] dataset {ds_name}: {shape} ({', '.join(ref.header['variables'])}), digest {ref.short}")
    _say(out, "[3/5] training on the registered datasets")
    version, created = train_from_datasets(app, family.name, plan.config, list(plan.datasets),
                                           epochs=args.epochs or plan.epochs, seed=0, device=args.device,
                                           name=f"{family.name}-demo", progress=_bars(out))
    _say(out, f"[4/5] {'trained and registered' if created else 'same bytes as before:'} {version.ref} "
              f"({version.short}){_metrics(version)}")
    return version


def _metrics(version: Any) -> str:
    metrics = version.lineage.get("training", {}).get("metrics", {})
    shown = ", ".join(f"{k} {v:.3f}" for k, v in sorted(metrics.items()) if isinstance(v, int | float))
    return f"; {shown}" if shown else ""


def _extract_demo(app: Any, family: Any, args: argparse.Namespace, out: Output) -> Any:
    """Steps 1–4 of an extract-based demo: real indices and demo rows into the embedded ClickHouse, extract,
    train, register."""
    from cache.indices import load_indices
    from cache.sources import open_source
    from registry.training import cached_extract, train_and_register

    _say(out, f"registry home: {app.home.resolve()}")
    source = open_source(app.home, "embedded")
    info = load_indices(source)
    _say(out, f"[1/5] loaded real indices into the embedded ClickHouse: indices.daily {info['daily_rows']:,} days "
              f"({info['first_day']} → {info['last_day']}), indices.kp3h {info['kp3h_rows']:,} rows")
    plan = family.prepare_demo(source, app.home / "demo")
    for note in plan.notes:
        _say(out, f"[2/5] {note}")
    ref = cached_extract(app, plan.extract, plan.params, progress=_bars(out))
    _say(out, f"[3/5] extract {ref.name}: {ref.rows:,} rows cached, key {ref.key[:12]}, digest {ref.digest[:12]}")
    version, created = train_and_register(app, family.name, plan.config, plan.extract, params=plan.params,
                                          epochs=args.epochs or plan.epochs, seed=0, device=args.device,
                                          name=f"{family.name}-demo", progress=_bars(out))
    _say(out, f"[4/5] {'trained and registered' if created else 'same bytes as before:'} {version.ref} "
              f"({version.short}){_metrics(version)}")
    return version


def _summary(d: Any) -> dict[str, Any]:
    return {"version": d.version.ref, "verdict": d.verdict, "scorecard": str(d.scorecard),
            "failing": [r.name for r in d.evidence.results if not r.passed]}


def _gate_table(d: Any) -> list[str]:
    from registry.commands.promote import _gate_lines

    return _gate_lines(d.evidence.results)


def _release(app: Any, family: Any, directory: Path, device: str, out: Output) -> list[dict[str, Any]]:
    from registry.commands.versions import register_validated
    from registry.errors import UsageError
    from registry.promotion import promote

    results = []
    for tag, files in family.release_files(directory):
        try:
            version, _ = register_validated(app, family, files, name=f"{family.name}-{tag}",
                                            lineage={"released": tag, "source_dir": directory.name})
        except UsageError as exc:  # refused at registration (unknown architecture, missing data): say so, go on
            _say(out, f"release {tag}: NOT REGISTERED — {exc}")
            results.append({"release": tag, "verdict": "not registered", "error": str(exc)})
            continue
        d = promote(app, version.ref, "production", device=device)
        failing = [r.name for r in d.evidence.results if not r.passed]
        facts = version.lineage.get("validated", {})
        shape = ", ".join(str(x) for x in (facts.get("architecture"),
                                           f"{facts['parameters']:,} parameters" if "parameters" in facts else None)
                          if x)
        own = f"; its own battery: --suite {facts['own_suite']}" if facts.get("own_suite") else ""
        _say(out, f"release {tag}: {version.ref}" + (f" ({shape})" if shape else "") + f" {d.verdict.upper()}"
                  + (f" — failing: {', '.join(failing)}" if failing else "") + f"; scorecard {d.scorecard}{own}")
        results.append({"release": tag, **_summary(d), **{k: facts[k] for k in ("architecture", "parameters")
                                                          if k in facts}})
    if not results:
        _say(out, f"no released checkpoints found in {directory}")
    return results


def _bars(out: Output) -> bool:
    return not out.json_mode and sys.stderr.isatty()  # progress bars only for a person watching, as `train` does
