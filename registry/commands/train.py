"""``registry train``: train a family's model from a cached extract and register the result."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from registry.commands.promote import seed_value
from registry.output import Output, add_common


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("train", help="train a model from a cached extract (or gridded datasets) and register it")
    p.add_argument("family")
    p.add_argument("--config", required=True, type=Path, help="the version's config file")
    data = p.add_mutually_exclusive_group(required=True)
    data.add_argument("--extract", metavar="NAME", help="extract to train on (cached if absent)")
    data.add_argument("--dataset", action="append", metavar="NAME",
                      help="registered gridded dataset to train on (repeatable; see `registry datasets`)")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="extract parameter (repeatable)")
    p.add_argument("--epochs", type=int, default=None, help="default: the config's")
    p.add_argument("--seed", type=seed_value, default=0, help="training seed (a non-negative integer)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--name", default="")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bars (off anyway with --json or when stderr is not a terminal)")
    add_common(p)
    p.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.commands.extract import parse_params
    from registry.errors import InvalidInput
    from registry.training import train_and_register, train_from_datasets

    progress = not (out.json_mode or args.no_progress) and sys.stderr.isatty()  # bars only for a person watching
    if args.dataset:
        if args.param:
            raise InvalidInput("--param applies to --extract, not to --dataset")
        version, created = train_from_datasets(App.from_args(args), args.family, args.config, args.dataset,
                                               epochs=args.epochs, seed=args.seed, device=args.device,
                                               name=args.name, progress=progress)
    else:
        version, created = train_and_register(App.from_args(args), args.family, args.config, args.extract,
                                              params=parse_params(args.param), epochs=args.epochs, seed=args.seed,
                                              device=args.device, name=args.name, progress=progress)
    metrics = version.lineage.get("training", {}).get("metrics", version.lineage.get("training", {}))
    shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items()) if isinstance(v, float))
    out.emit({"created": created, "version": version.ref, **version.to_dict()},
             f"{'registered' if created else 'already registered as'} {version.ref} ({version.short}); {shown}")
    return 0
