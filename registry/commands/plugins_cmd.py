"""``registry plugins``: every plugin with its source, version and status, and what it contributes."""

from __future__ import annotations

import argparse
from typing import Any

from registry.output import Output, add_common


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("plugins", help="list plugins, their families, gate suites and extracts")
    add_common(p)
    p.set_defaults(handler=run_plugins)


def input_columns(family: Any) -> tuple[Any, ...]:
    """The columns a family's ``predict`` input needs, if the family lists them."""
    from registry.family import DescribedInputs

    return tuple(family.input_columns) if isinstance(family, DescribedInputs) else ()


def run_plugins(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App

    plugins = App.from_args(args).plugins
    infos = plugins.infos()
    families = plugins.families()
    suites = plugins.suites()
    extracts = plugins.extracts()
    data = {
        "plugins": [i.__dict__ for i in infos],
        "families": {n: {"summary": f.summary, "version": f.version, "default_suite": f.default_suite,
                         "roles": [r.name for r in f.roles], "extracts": list(f.extracts),
                         "input_columns": [c.__dict__ for c in input_columns(f)]}
                     for n, f in sorted(families.items())},
        "suites": [{"family": f, "name": n, "version": s.version, "gates": [g.name for g in s.gates]}
                   for (f, n), s in sorted(suites.items())],
        "extracts": sorted(extracts),
        "problems": plugins.problems,
    }
    lines = [f"{'PLUGIN':<20} {'SOURCE':<28} {'VERSION':<10} STATUS"]
    lines += [f"{i.name:<20} {i.source:<28} {i.version:<10} {i.status}" for i in infos]
    if not infos:
        lines.append("(no plugins installed)")
    lines.append("")
    for name, f in sorted(families.items()):
        fam_suites = [f"{n} v{s.version} ({len(s.gates)} gates)" for (fam, n), s in sorted(suites.items())
                      if fam == name]
        lines.append(f"family {name}: {f.summary}")
        lines.append(f"  files: {', '.join(r.name + ('' if r.required else '?') for r in f.roles)}; "
                     f"suites: {', '.join(fam_suites) or 'none'}; default: {f.default_suite}")
        cols = input_columns(f)
        if cols:
            lines.append("  predict input columns: " + ", ".join(f"{c.name} [{c.unit}]" for c in cols))
    for p in plugins.problems:
        lines.append(f"problem: {p}")
    out.emit(data, "\n".join(lines))
    return 0
