"""``registry policy [set]``: which gate suites may move each alias."""

from __future__ import annotations

import argparse
from typing import Any

from registry.output import Output, add_common


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("policy", help="show (or set) which gate suites each alias accepts",
                       description="Without a stored policy, an alias accepts its family's default suite at the "
                       "installed (newest) version; production and staging exist for every family. Each change "
                       "is a ledger entry.")
    add_common(p)
    p.set_defaults(handler=run_policy, family=None)
    psub = p.add_subparsers(dest="policy_command", metavar="SUBCOMMAND")
    show = psub.add_parser("show", help="the policy in force for every alias (of one family)")
    show.add_argument("family", nargs="?")
    add_common(show)
    show.set_defaults(handler=run_policy)
    s = psub.add_parser("set", help="set the suites an alias accepts (declares the alias if it is new)")
    s.add_argument("family")
    s.add_argument("alias")
    s.add_argument("--suite", action="append", required=True, metavar="SUITE",
                   help="a suite that may move the alias, optionally with options: NAME[option=value,…] "
                   "(`registry plugins` lists them; repeatable: passing any one of them is enough)")
    s.add_argument("--reason", default="", help="why the policy changes (recorded in the ledger)")
    add_common(s)
    s.set_defaults(handler=run_policy_set)


def run_policy(args: argparse.Namespace, out: Output) -> int:
    from gates.suite import split_suite_name
    from registry.app import App
    from registry.commands.versions import known_family
    from registry.policy import in_force

    app = App.from_args(args)
    known_family(app, args.family)
    policies = in_force(app, args.family)
    suites = app.plugins.suites()
    rows = []
    for pol in policies:
        row = pol.to_json()
        bases = {s: split_suite_name(s)[0] for s in pol.suites}
        row["suite_versions"] = {s: suites[(pol.family, b)].version for s, b in bases.items()
                                 if (pol.family, b) in suites}
        rows.append(row)
    lines = [f"{'FAMILY':<12} {'ALIAS':<16} {'ACCEPTS':<40} SET BY"]
    for r in rows:
        accepts = " or ".join(f"{s} v{r['suite_versions'].get(s, '?')}" for s in r["suites"])
        lines.append(f"{r['family']:<12} {r['alias']:<16} {accepts:<40} "
                     + ("default (the family's default suite)" if r["default"] else f"ledger entry {r['ledger_seq']}"))
    if not rows:
        lines = ["no families installed"]
    out.emit({"policies": rows}, "\n".join(lines))
    return 0


def run_policy_set(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.policy import set_policy
    from registry.witness import format_head

    app = App.from_args(args)
    entry = set_policy(app, args.family, args.alias, args.suite, reason=args.reason)
    head = format_head(entry.seq, entry.entry_hash)
    names = list(dict.fromkeys(app.plugins.suite(args.family, s).name for s in args.suite))  # canonical, as stored
    out.emit({"family": args.family, "alias": args.alias, "suites": names,
              "ledger_seq": entry.seq, "ledger_head": head},
             f"{args.family}@{args.alias} now accepts {' or '.join(names)} "
             f"(ledger entry {entry.seq})\nledger head: {head}")
    return 0
