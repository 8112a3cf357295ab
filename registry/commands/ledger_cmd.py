"""``registry history | verify-ledger``: the alias moves and the integrity of their hash chain."""

from __future__ import annotations

import argparse
from typing import Any

from registry.output import Output, add_common


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("history", help="ledger entries of a family (and alias)")
    p.add_argument("family")
    p.add_argument("alias", nargs="?")
    add_common(p)
    p.set_defaults(handler=run_history)

    p = sub.add_parser("verify-ledger", help="check the ledger's hash chain; exit 1 on any edited or deleted entry")
    add_common(p)
    p.set_defaults(handler=run_verify_ledger)


def run_history(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.commands.versions import known_family
    from registry.naming import check_alias

    app = App.from_args(args)
    known_family(app, args.family)
    if args.alias is not None:
        check_alias(args.alias)
    store = app.store
    entries = store.ledger(args.family, args.alias)
    labels = {v.version_id: v.ref for v in store.versions(args.family)}

    def name(vid: str | None) -> str:
        return "-" if vid is None else labels.get(vid, vid[:12])

    lines = [f"{'SEQ':>4} {'ALIAS':<14} {'ACTION':<9} {'FROM':<14} {'TO':<14} {'WHO':<10} {'AT':<26} NOTE"]
    for e in entries:
        note = ("FORCED: " if e.forced else "") + e.reason
        lines.append(f"{e.seq:>4} {e.alias:<14} {e.action:<9} {name(e.from_version):<14} {name(e.to_version):<14} "
                     f"{e.who:<10} {e.at:<26} {note}")
    if not entries:
        lines = [f"no alias moves recorded for {args.family}" + (f"@{args.alias}" if args.alias else "")]
    data = [{**e.__dict__, "from": name(e.from_version), "to": name(e.to_version)} for e in entries]
    out.emit({"entries": data}, "\n".join(lines))
    return 0


def run_verify_ledger(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App

    store = App.from_args(args).store
    problems = store.verify_ledger()
    entries = store.ledger()
    head = entries[-1].entry_hash if entries else ""
    out.emit({"ok": not problems, "entries": len(entries), "head": head, "problems": problems},
             f"ledger OK: {len(entries)} entries, chain intact; head {head or '(empty)'} "
             "(keep this hash outside the registry to detect a rewritten chain)" if not problems
             else "LEDGER BROKEN:\n" + "\n".join(f"  {p}" for p in problems))
    return 0 if not problems else 1
