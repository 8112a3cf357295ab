"""``registry demo``: the main job on the embedded default (no server to install)."""

from __future__ import annotations

import argparse
from typing import Any

from registry.output import Output, add_common


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the embedded demo: data → extract → train → register → promote")
    add_common(p)
    p.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App

    app = App.from_args(args)
    out.emit({"ready": True, "home": str(app.home)},
             f"gated-registry is installed (home: {app.home}).\n"
             "The embedded demo promotion arrives with the IonisGate family; meanwhile try `registry --help`.")
    return 0
