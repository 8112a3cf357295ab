"""``registry promote | rollback | verify | scorecard``: gated alias moves and their evidence."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from registry.output import Output, add_common


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("promote", help="run the family's gate suite and move an alias only if every gate passes",
                       description="Exit codes: 0 promoted, 1 refused (a gate failed or errored, or the alias "
                       "moved meanwhile), 2 usage error, 3 internal error.")
    p.add_argument("ref", metavar="FAMILY@VERSION")
    p.add_argument("--to", required=True, metavar="ALIAS", help="alias to move (e.g. production)")
    p.add_argument("--expect-current", metavar="VERSION",
                   help="refuse unless the alias currently points here ('none' for unset)")
    p.add_argument("--dry-run", action="store_true", help="run the gates and report, move nothing")
    p.add_argument("--force", action="store_true", help="move even if gates fail (needs --reason; recorded)")
    p.add_argument("--reason", default="", help="why --force was needed")
    p.add_argument("--suite", help="gate suite to run, NAME or NAME[option=value,…] for a suite with options "
                   "(default: the first the alias's policy accepts; only a "
                   "suite the policy accepts can move the alias, a --dry-run may use any)")
    p.add_argument("--create-alias", action="store_true",
                   help="create ALIAS if it does not exist yet (production and staging always exist)")
    p.add_argument("--seed", type=seed_value, default=None, help="seed for randomised gates (a non-negative integer)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--report", type=Path, help="also write the HTML scorecard here")
    add_common(p)
    p.set_defaults(handler=run_promote)

    p = sub.add_parser("rollback", help="move an alias back to its previous holder in the ledger")
    p.add_argument("family")
    p.add_argument("alias")
    p.add_argument("--reason", default="")
    p.add_argument("--allow-unset", action="store_true",
                   help="allow the rollback to leave the alias unset when it had no earlier holder")
    add_common(p)
    p.set_defaults(handler=run_rollback)

    p = sub.add_parser("verify", help="re-run the stored gate suite and report drift from the stored evidence")
    p.add_argument("ref", metavar="FAMILY@VERSION")
    p.add_argument("--rtol", type=float, default=0.0, help="relative tolerance for measured values (default exact)")
    p.add_argument("--device", default="cpu")
    add_common(p)
    p.set_defaults(handler=run_verify)

    p = sub.add_parser("scorecard", help="render the HTML scorecard of a version's latest (or a given) evidence")
    p.add_argument("ref", metavar="FAMILY@VERSION")
    p.add_argument("--evidence", help="evidence id (prefix) instead of the latest")
    p.add_argument("--out", type=Path, help="write here instead of the home's scorecards/ folder")
    add_common(p)
    p.set_defaults(handler=run_scorecard)


def seed_value(text: str) -> int:
    """A seed from the command line: a non-negative integer."""
    if not text.isascii() or not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a non-negative integer")
    return int(text)


def _gate_lines(results: Any) -> list[str]:
    lines = []
    for r in results:
        mark = {"pass": "PASS ", "fail": "FAIL ", "error": "ERROR"}[r.status]
        value = "—" if r.value is None else (f"{r.value:.4g}" if isinstance(r.value, float) else str(r.value))
        limit = "" if r.threshold is None else f" {r.comparator} {r.threshold}"
        lines.append(f"  {mark} {r.name:<34} {value:>10}{limit:<12} {r.message}")
    return lines


def run_promote(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.promotion import promote
    from registry.suite_run import DEFAULT_SEED

    d = promote(App.from_args(args), args.ref, args.to, expect_current=args.expect_current, dry_run=args.dry_run,
                force=args.force, reason=args.reason, suite=args.suite,
                seed=DEFAULT_SEED if args.seed is None else args.seed, device=args.device, report=args.report,
                progress=not out.json_mode, create_alias=args.create_alias)
    head = {"promoted": "PROMOTED", "refused": "REFUSED", "error": "REFUSED (a gate could not be evaluated)"}
    title = ("DRY RUN: " if d.dry_run else "") + head[d.verdict] + (" — FORCED" if d.forced else "")
    lines = [f"{title}: {d.message}", f"suite {d.evidence.suite} v{d.evidence.suite_version}, "
             f"evidence {d.evidence.evidence_id[:12]}"]
    lines += _gate_lines(d.evidence.results)
    lines.append(f"scorecard: {d.scorecard}")
    lines.append(f"ledger head: {d.ledger_head} (keep it elsewhere: `registry verify-ledger --witness HEAD`)")
    out.emit(d.to_json(), "\n".join(lines))
    return int(d.exit_code)


def run_rollback(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.promotion import rollback
    from registry.witness import format_head

    app = App.from_args(args)
    entry, target = rollback(app, args.family, args.alias, reason=args.reason, allow_unset=args.allow_unset)
    label = app.store.by_id(target).ref if target else "nothing (alias removed)"
    head = format_head(entry.seq, entry.entry_hash)
    out.emit({"alias": args.alias, "family": args.family, "to": target, "ledger_seq": entry.seq,
              "ledger_head": head},
             f"{args.family}@{args.alias} rolled back to {label} (ledger entry {entry.seq})\nledger head: {head}")
    return 0


def run_verify(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.promotion import verify

    v = verify(App.from_args(args), args.ref, rtol=args.rtol, device=args.device)
    head = (f"REPRODUCED: {v.version.ref} gives the stored evidence {v.stored.evidence_id[:12]} again"
            if not v.drift else f"DRIFT: {v.version.ref} differs from evidence {v.stored.evidence_id[:12]}")
    out.emit(v.to_json(), "\n".join([head] + [f"  {d}" for d in v.drift] + _gate_lines(v.rerun.results)))
    return 0 if not v.drift else 1


def run_scorecard(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.errors import UnknownName
    from registry.reports import write_scorecard_for

    store = App.from_args(args).store
    version = store.resolve(args.ref)
    runs = store.evidence_for(version.version_id)
    if args.evidence:
        runs = [e for e in runs if e.evidence_id.startswith(args.evidence)]
    if not runs:
        matching = f" matching {args.evidence}" if args.evidence else ""
        raise UnknownName(f"no stored evidence for {version.ref}{matching}")
    path = write_scorecard_for(store, runs[-1], report=args.out)
    out.emit({"scorecard": str(path), "evidence_id": runs[-1].evidence_id}, str(path))
    return 0
