"""``registry history | verify-ledger | ledger head``: alias moves, policy changes and the chain that binds them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from registry.output import Output, add_common


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("history", help="ledger entries of a family (and alias): moves with their suite, and policy "
                       "changes")
    p.add_argument("family")
    p.add_argument("alias", nargs="?")
    add_common(p)
    p.set_defaults(handler=run_history)

    p = sub.add_parser("verify-ledger", help="check the ledger's hash chain, policies, versions and their objects; "
                       "exit 1 on any problem",
                       description="Recomputes every entry's hash, every version's id from its files and every "
                       "file's sha256 from its bytes. A witness (a ledger head kept outside the registry: printed "
                       "by promote, rollback and `ledger head`, and recorded in every scorecard) fails if the "
                       "entry it names is no longer in the chain exactly as it was.")
    p.add_argument("--witness", action="append", default=[], metavar="SEQ:HASH",
                   help="a ledger head kept elsewhere (repeatable)")
    p.add_argument("--witness-file", action="append", default=[], type=Path, metavar="FILE",
                   help="a file of heads (one SEQ:HASH per line, as `registry ledger head` prints) or a scorecard")
    add_common(p)
    p.set_defaults(handler=run_verify_ledger)

    p = sub.add_parser("ledger", help="the ledger's head, to keep outside the registry as a witness")
    lsub = p.add_subparsers(dest="ledger_command", metavar="SUBCOMMAND", required=True)
    h = lsub.add_parser("head", help="print SEQ:HASH of the newest ledger entry")
    add_common(h)
    h.set_defaults(handler=run_head)


def _suite_of(store: Any, cache: dict[str, Any], evidence_id: str | None) -> tuple[str, str]:
    from registry.errors import RegistryError

    if not evidence_id:
        return "", ""
    if evidence_id not in cache:
        try:
            ev = store.evidence(evidence_id)
            cache[evidence_id] = (ev.suite, ev.suite_version)
        except RegistryError:
            cache[evidence_id] = ("?", "?")
    return cache[evidence_id]


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
    suites: dict[str, Any] = {}

    def name(vid: str | None) -> str:
        return "-" if vid is None else labels.get(vid, vid[:12])

    data = []
    lines = [f"{'SEQ':>4} {'ALIAS':<12} {'ACTION':<8} {'FROM':<12} {'TO':<12} {'SUITE':<26} {'FORCED':<6} "
             f"{'WHO':<10} {'AT':<25} REASON"]
    for e in entries:
        suite, suite_version = _suite_of(store, suites, e.evidence_id)
        reason = e.reason
        if e.action == "policy":
            body = json.loads(e.reason)
            suite, reason = "requires " + " or ".join(body["suites"]), body.get("reason", "")
        data.append({**e.__dict__, "from": name(e.from_version), "to": name(e.to_version), "suite": suite,
                     "suite_version": suite_version, "reason": reason})
        shown = f"{suite} v{suite_version}" if suite_version else suite
        lines.append(f"{e.seq:>4} {e.alias:<12} {e.action:<8} {name(e.from_version):<12} {name(e.to_version):<12} "
                     f"{shown or '-':<26} {'yes' if e.forced else 'no':<6} {e.who:<10} {e.at:<25} {reason}")
    if not entries:
        lines = [f"no ledger entries for {args.family}" + (f"@{args.alias}" if args.alias else "")]
    out.emit({"entries": data}, "\n".join(lines))
    return 0


def run_verify_ledger(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.witness import format_head, heads_in_file, parse_head

    witnesses = [parse_head(w) for w in args.witness]
    for path in args.witness_file:
        witnesses += heads_in_file(path)
    app = App.from_args(args)
    defaults = {name: fam.default_suite for name, fam in app.plugins.families().items()}
    store = app.store
    problems = store.verify_ledger(defaults=defaults, witnesses=witnesses)
    entries = store.ledger()
    versions = len(store.versions())
    head = format_head(*store.ledger_head())
    body = {"ok": not problems, "entries": len(entries), "versions": versions, "head": head,
            "witnesses": len(witnesses), "problems": problems}
    text = (f"ledger OK: {len(entries)} entries, chain intact, {versions} versions and their files verified"
            + (f", {len(witnesses)} witness{'es' if len(witnesses) != 1 else ''} still in the chain" if witnesses
               else "") + f"; head {head} (keep it outside the registry to detect a rewritten chain)"
            if not problems else "LEDGER BROKEN:\n" + "\n".join(f"  {p}" for p in problems))
    out.emit(body, text)
    return 0 if not problems else 1


def run_head(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.witness import format_head

    seq, entry_hash = App.from_args(args).store.ledger_head()
    head = format_head(seq, entry_hash)
    out.emit({"head": head, "seq": seq, "entry_hash": entry_hash}, head)
    return 0
