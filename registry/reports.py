"""Scorecards from stored records only, so that rendering the same evidence again gives the same bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from registry.records import Evidence
from registry.store import Store


def decision_for(store: Store, evidence: Evidence) -> dict[str, Any]:
    """What was decided with this evidence, reconstructed from the ledger and the evidence's purpose."""
    moved = next((e for e in store.ledger(evidence.family) if e.evidence_id == evidence.evidence_id
                  and e.action == "promote"), None)
    gate_verdict = evidence.verdict
    command = evidence.purpose.get("command", "")
    alias = evidence.purpose.get("alias")
    if moved is not None:
        verdict = "promoted"
        summary = (f"moved {evidence.family}@{moved.alias} by ledger entry {moved.seq}"
                   + (" — FORCED although gates did not pass" if moved.forced else ""))
    elif command == "dry-run":
        verdict = "would promote" if evidence.passed else "would refuse"
        summary = "dry run: no alias was moved"
    elif command == "verify":
        verdict = "verified" if evidence.passed else gate_verdict
        summary = f"re-run of evidence {evidence.purpose.get('of', '')[:12]}"
    else:
        verdict = gate_verdict if gate_verdict != "promoted" else "passed"
        where = f"{evidence.family}@{alias}" if alias else "no alias"
        summary = "all gates passed" if evidence.passed else f"{where} was not moved: every gate must pass"
    head = store.head_after(evidence.evidence_id)
    return {"verdict": verdict, "alias": moved.alias if moved else alias, "forced": bool(moved and moved.forced),
            "reason": moved.reason if moved else evidence.purpose.get("force_reason", ""),
            "ledger_seq": moved.seq if moved else None, "summary": summary,
            "ledger_head": f"{head[0]}:{head[1]}" if head else ""}


def render_for(store: Store, evidence: Evidence) -> str:
    """The HTML scorecard of one stored evidence."""
    from registry.scorecard import render_scorecard

    version = store.by_id(evidence.version_id)
    champion = champion_ev = None
    if evidence.champion_version_id:
        champion = store.by_id(evidence.champion_version_id)
        if evidence.purpose.get("champion_evidence"):
            champion_ev = store.evidence(evidence.purpose["champion_evidence"])
    decision = decision_for(store, evidence)
    history = []
    if decision["alias"]:  # the alias's moves up to this decision, as recorded when the suite ran
        seq = decision["ledger_seq"] if decision["ledger_seq"] is not None else int(
            evidence.purpose.get("ledger_seq", "0"))
        history = [e for e in store.ledger(evidence.family, decision["alias"]) if e.seq <= seq]  # moves and policy
    return render_scorecard(version=version, evidence=evidence, decision=decision, champion=champion,
                            champion_evidence=champion_ev, history=history)


def scorecard_path(store: Store, evidence: Evidence) -> Path:
    version = store.by_id(evidence.version_id)
    return store.home / "scorecards" / f"{version.family}-{version.number}-{evidence.evidence_id[:12]}.html"


def scorecard_page(store: Store, evidence: Evidence) -> tuple[Path, str]:
    """Where the scorecard of ``evidence`` goes in the home, and its HTML, read from one catalog snapshot."""
    with store.catalog.read():
        return scorecard_path(store, evidence), render_for(store, evidence)


def write_scorecard_for(store: Store, evidence: Evidence, report: Path | None = None,
                        page: tuple[Path, str] | None = None) -> Path:
    """Write the scorecard into the home (and to ``report`` if given); return the path shown.

    ``page`` is a ``scorecard_page`` already rendered (e.g. inside the transaction that made the decision).
    """
    from registry.scorecard import write_scorecard

    path, html = page or scorecard_page(store, evidence)
    path = write_scorecard(path, html)
    if report is not None:
        path = write_scorecard(Path(report), html)
    return path.resolve()
