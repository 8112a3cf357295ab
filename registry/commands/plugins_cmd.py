"""``registry plugins``: every plugin with its source, version and status, and what it contributes."""

from __future__ import annotations

import argparse
import re
import textwrap
from collections.abc import Sequence
from typing import Any

from registry.output import Output, add_common


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("plugins", help="list plugins, their families, gate suites and extracts")
    p.add_argument("--columns", metavar="FAMILY", help="list FAMILY's predict input columns one per line, with "
                   "units and meanings (the overview summarises numbered runs such as x_00…x_48)")
    add_common(p)
    p.set_defaults(handler=run_plugins)


def input_columns(family: Any) -> tuple[Any, ...]:
    """The columns a family's ``predict`` input needs, if the family lists them."""
    from registry.family import DescribedInputs

    return tuple(family.input_columns) if isinstance(family, DescribedInputs) else ()


_NUMBERED = re.compile(r"(?P<stem>.*?)(?P<num>\d+)\Z")


def column_summary(cols: Sequence[Any]) -> list[str]:
    """One item per column, except that a run of columns numbered in order with one stem and unit
    (``sme_a_00`` … ``sme_a_48`` [nT]) is one item: ``sme_a_00…sme_a_48 [nT] ×49``."""
    items: list[str] = []
    i = 0
    while i < len(cols):
        m = _NUMBERED.match(cols[i].name)
        j = i + 1
        while m and j < len(cols):
            n = _NUMBERED.match(cols[j].name)
            if not (n and n["stem"] == m["stem"] and cols[j].unit == cols[i].unit
                    and int(n["num"]) == int(m["num"]) + (j - i)):
                break
            j += 1
        if j - i >= 3:
            items.append(f"{cols[i].name}…{cols[j - 1].name} [{cols[i].unit}] ×{j - i}")
        else:
            j = i + 1
            items.append(f"{cols[i].name} [{cols[i].unit}]")
        i = j
    return items


def wrap_items(head: str, items: Sequence[str], width: int = 100, indent: str = "    ") -> list[str]:
    """``head`` then the items joined by ", ", broken into lines of at most ``width`` between items only."""
    lines, line = [], head
    for k, item in enumerate(items):
        piece = item + ("," if k < len(items) - 1 else "")
        if line.strip() and len(line) + 1 + len(piece) > width and line != head:
            lines.append(line)
            line = indent + piece
        else:
            line = f"{line} {piece}" if line else piece
    lines.append(line)
    return lines


def column_lines(family: str, cols: Sequence[Any], head: str = "  predict input columns") -> list[str]:
    """The overview's lines for a family's input columns: a count, the summarised list, wrapped, and where to see
    each column when runs were folded."""
    items = column_summary(cols)
    lines = wrap_items(f"{head} ({len(cols)}):", items)
    if len(items) < len(cols):
        lines.append(f"    (`registry plugins --columns {family}` lists each column with its meaning)")
    return lines


def family_commands(family: Any) -> list[str]:
    """What a family can be asked to do beyond register/promote, from the protocols it implements."""
    from registry import family as proto

    arrays = isinstance(family, proto.EnsembleFamily)  # its predictions are arrays: predict needs --out
    can = [("predict --out", arrays), ("predict", not arrays),
           ("train --extract", isinstance(family, proto.TrainableFamily)),
           ("train --dataset", isinstance(family, proto.DatasetTrainableFamily)),
           ("demo", isinstance(family, proto.DemoFamily | proto.DatasetDemoFamily))]
    return [label for label, yes in can if yes]


def run_plugins(args: argparse.Namespace, out: Output) -> int:
    from gates.suite import format_option
    from registry.app import App

    plugins = App.from_args(args).plugins
    if getattr(args, "columns", None):
        return _run_columns(plugins, args.columns, out)
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
        "suites": [{"family": f, "name": n, "version": s.version, "gates": [g.name for g in s.gates],
                    "options": dict(s.options)} for (f, n), s in sorted(suites.items())],
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
        lines += textwrap.wrap(f"family {name}: {f.summary}", 100, subsequent_indent="    ")
        lines.append(f"  files: {', '.join(r.name + ('' if r.required else '?') for r in f.roles)}; "
                     f"default suite: {f.default_suite}")
        lines += wrap_items("  suites:", fam_suites or ["none"])
        lines += wrap_items("  commands:", family_commands(f))
        for (fam, n), s in sorted(suites.items()):
            if fam == name and s.options:
                lines += wrap_items(f"  {n} options (--suite '{n}[option=value,…]'):",
                                    [f"{k}={format_option(v)}" for k, v in s.options])
        cols = input_columns(f)
        if cols:
            lines += column_lines(name, cols)
    for p in plugins.problems:
        lines.append(f"problem: {p}")
    out.emit(data, "\n".join(lines))
    return 0


def _run_columns(plugins: Any, family: str, out: Output) -> int:
    cols = input_columns(plugins.family(family))  # UnknownName lists the installed families
    width = max([len(c.name) for c in cols] + [6])
    unit_w = max([len(c.unit) for c in cols] + [4])
    lines = [f"{'COLUMN':<{width}}  {'UNIT':<{unit_w}}  MEANING"]
    lines += [f"{c.name:<{width}}  {c.unit:<{unit_w}}  {c.description}" for c in cols]
    if not cols:
        lines = [f"family {family!r} does not list its predict input columns"]
    out.emit({"family": family, "input_columns": [c.__dict__ for c in cols]}, "\n".join(lines))
    return 0
