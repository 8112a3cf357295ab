"""Promotion, rollback and verification: gate verdicts that move aliases by compare-and-set."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import AliasMoved, ExitCode, InvalidInput, UnknownName, UsageError
from registry.hashing import digest_json
from registry.ledger import MOVES, verdict_digest
from registry.ledger import head as ledger_head
from registry.naming import check_alias, check_text, parse_ref
from registry.policy import check_declared, check_suite, policy_for
from registry.records import Evidence, LedgerEntry, ModelVersion
from registry.reports import scorecard_page, write_scorecard_for
from registry.store import current_user
from registry.suite_run import DEFAULT_SEED, run_suite
from registry.witness import format_head

if TYPE_CHECKING:
    from registry.app import App
    from registry.store import Store


@dataclass(frozen=True)
class Decision:
    """The outcome of ``promote`` (or a dry run) as the CLI reports it."""

    verdict: str  # promoted | refused | error
    version: ModelVersion
    alias: str
    evidence: Evidence
    previous: str | None
    forced: bool = False
    reason: str = ""
    dry_run: bool = False
    entry: LedgerEntry | None = None
    message: str = ""
    scorecard: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    ledger_head: str = ""  # SEQ:HASH of the newest ledger entry right after the decision (a witness to keep)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.verdict == "promoted" else ExitCode.REFUSED

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict, "version": self.version.ref, "version_id": self.version.version_id,
            "alias": self.alias, "dry_run": self.dry_run, "forced": self.forced, "reason": self.reason,
            "previous": self.previous, "suite": self.evidence.suite, "suite_version": self.evidence.suite_version,
            "evidence_id": self.evidence.evidence_id, "ledger_seq": self.entry.seq if self.entry else None,
            "message": self.message, "scorecard": str(self.scorecard) if self.scorecard else None,
            "ledger_head": self.ledger_head,
            "gates": [{k: r.to_dict()[k] for k in ("name", "status", "passed", "value", "threshold", "comparator",
                                                   "message", "seconds")} for r in self.evidence.results],
        }


def verdict_of(evidence: Evidence) -> str:
    """The verdict the evidence alone gives (see ``Evidence.verdict``)."""
    return evidence.verdict




def comparison(store: Store, version: ModelVersion, suite: str, alias: str, holder: str | None,
               command: str) -> tuple[ModelVersion | None, dict[str, str]]:
    """The champion a run of ``version`` is compared with (the alias's holder, unless it is the candidate)
    and the run's ``purpose``: the holder's latest passing evidence and the ledger position, fixed before
    the gates run so that re-rendering the evidence later gives the same scorecard."""
    with store.catalog.read():
        champion = store.by_id(holder) if holder and holder != version.version_id else None
        history = store.ledger(version.family, alias)
        runs = [e for e in store.evidence_for(champion.version_id, suite) if e.passed] if champion else []
    return champion, {"command": command, "alias": alias, "ledger_seq": str(history[-1].seq if history else 0),
                      "champion_evidence": runs[-1].evidence_id if runs else ""}


def _expected(app: App, family: str, expect_current: str | None) -> str | None:
    if expect_current is None or expect_current == "none":
        return None
    ref = parse_ref(f"{family}@{expect_current}")
    if ref.number is None and not ref.could_be_hash:
        raise InvalidInput(f"--expect-current takes a version number, a hash prefix or 'none', not {expect_current!r}")
    return app.store.resolve(ref).version_id


def promote(app: App, ref: str, alias: str, *, expect_current: str | None = None, dry_run: bool = False,
            force: bool = False, reason: str = "", suite: str | None = None, seed: int = DEFAULT_SEED,
            device: str = "cpu", report: Path | None = None, progress: bool = False,
            create_alias: bool = False) -> Decision:
    """Run the suite on ``ref`` and move ``alias`` to it if every gate passes (or ``force`` with a reason).

    The suite is the alias's policy's (``suite`` must be one it accepts, except in a dry run); an alias that
    does not exist yet needs ``create_alias``.
    """
    check_alias(alias)
    check_text(reason, "--reason")
    current_user()  # a user name that cannot be recorded is refused before any gate runs
    if force and not reason.strip():
        raise InvalidInput("--force needs --reason TEXT saying why the gates are overridden")
    if report is not None and not Path(report).parent.resolve().is_dir():
        raise InvalidInput(f"--report {report.resolve()}: folder {Path(report).parent.resolve()} does not exist")
    store = app.store
    if not store.catalog.exists():
        store.resolve(ref)  # an empty home: "no version", and nothing is created
    # One snapshot for every lookup, taken as a writer: a catalog that cannot be written (another program
    # holds the file) is refused here, before any gate runs. Released before the gates run.
    with store.catalog.write() as con:
        version = store.resolve(ref)
        family = app.plugins.family(version.family)
        policy = policy_for(con, version.family, alias, family.default_suite)
        if not dry_run:
            if not create_alias:
                check_declared(con, version.family, alias)
            if suite is not None:
                suite = app.plugins.suite_name(version.family, suite)
                check_suite(policy, suite)
        gate_suite = app.plugins.suite(version.family, suite or policy.suites[0])
        observed = store.holder(version.family, alias)
        if expect_current is not None and _expected(app, version.family, expect_current) != observed:
            raise AliasMoved(f"alias {version.family}@{alias} is not at {expect_current!r} any more; "
                             "the decision is stale, look again before promoting")
        champion, purpose = comparison(store, version, gate_suite.name, alias, observed,
                                       "dry-run" if dry_run else "promote")
    if force:
        purpose["force_reason"] = reason
    evidence = run_suite(store, family, gate_suite, version, champion=champion, seed=seed, device=device,
                         progress=progress, purpose=purpose, extract_specs=app.plugins.extracts())
    verdict = verdict_of(evidence)
    forced = force and verdict != "promoted"
    entry = None
    page: tuple[Path, str] | None = None
    with store.catalog.write() as con:  # the decision and the page showing it come from one transaction
        now = policy_for(con, version.family, alias, family.default_suite)
        if not dry_run and (verdict == "promoted" or force) and gate_suite.name not in now.suites:
            store.save_evidence(evidence)  # the policy changed while the gates ran: decide again
            verdict, message = "refused", (f"the policy of {version.family}@{alias} changed while the gates ran: "
                                           f"it now requires {' or '.join(now.suites)}; decide again")
        elif dry_run or not (verdict == "promoted" or force):
            store.save_evidence(evidence)
            if dry_run:
                message = f"{version.ref} would {'' if verdict == 'promoted' else 'not '}be promoted to {alias}"
            else:
                failing = [r.name for r in evidence.results if not r.passed]
                message = f"{version.ref} refused for {alias}: {', '.join(failing) or 'empty suite'} did not pass"
        elif observed == version.version_id:
            store.save_evidence(evidence)
            verdict, message = "promoted", f"{version.ref} already holds {version.family}@{alias}"
        else:
            digest = verdict_digest(evidence, alias, forced)
            try:
                entry = store.move_alias(version.family, alias, expected=observed, to=version.version_id,
                                         action="promote", verdict_digest=digest, evidence=evidence,
                                         forced=forced, reason=reason)
                verdict = "promoted"
                message = f"{version.ref} is now {version.family}@{alias}" + (
                    f" (FORCED over a {verdict_of(evidence)} verdict)" if forced else "")
            except AliasMoved as exc:  # lost the compare-and-set: a refusal, and the gate run is still kept
                store.save_evidence(evidence)
                verdict, message = "refused", str(exc)
        try:
            page = scorecard_page(store, evidence)
        except Exception as exc:  # a report problem never undoes the decision
            message += f" (scorecard not rendered: {type(exc).__name__}: {exc})"
        head = format_head(*ledger_head(con))
    decision = Decision(verdict, version, alias, evidence, observed, forced=forced and entry is not None,
                        reason=reason, dry_run=dry_run, entry=entry, message=message, ledger_head=head)
    if page is None:
        return decision
    try:
        path = write_scorecard_for(store, evidence, report=report, page=page)
    except OSError as exc:  # the decision stands; only its report could not be written
        return Decision(**{**decision.__dict__, "message": f"{message} (scorecard not written: {exc})"})
    return Decision(**{**decision.__dict__, "scorecard": path})


def rollback(app: App, family: str, alias: str, *, reason: str = "",
             allow_unset: bool = False) -> tuple[LedgerEntry, str | None]:
    """Move ``alias`` back to the holder it had before the promotion that installed its current holder."""
    check_alias(alias)
    check_text(reason, "--reason")
    current_user()
    app.plugins.family(family)
    store = app.store
    current = store.holder(family, alias)
    if current is None:
        raise UnknownName(f"alias {family}@{alias} is not set; nothing to roll back")
    entries = [e for e in store.ledger(family, alias) if e.action in MOVES]
    installing = next((e for e in reversed(entries) if e.action == "promote" and e.to_version == current), None)
    if installing is None:
        raise UnknownName(f"the ledger has no promotion of {family}@{alias} to roll back")
    target = installing.from_version
    if target is None and not allow_unset:
        raise UsageError(f"{family}@{alias} had no holder before entry {installing.seq}: rolling back would unset "
                         "it; pass --allow-unset if that is what you want")
    origin = next((e for e in reversed(entries) if e.action == "promote" and e.to_version == target), None)
    digest = digest_json({"rollback_of": installing.entry_hash, "to": target})
    entry = store.move_alias(family, alias, expected=current, to=target, action="rollback",
                             verdict_digest=digest, evidence_id=origin.evidence_id if origin else None,
                             forced=bool(origin and origin.forced),
                             reason=reason or f"rollback of entry {installing.seq}")
    return entry, target


@dataclass(frozen=True)
class Verification:
    """A re-run of the stored suite compared with the stored evidence."""

    version: ModelVersion
    stored: Evidence
    rerun: Evidence
    drift: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version.ref, "stored_evidence": self.stored.evidence_id,
                "rerun_evidence": self.rerun.evidence_id, "drift": self.drift, "reproduced": not self.drift,
                "gates": [r.to_dict() for r in self.rerun.results]}


_SPELLED = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}  # how stored evidence writes them


def _same(a: Any, b: Any, rtol: float, atol: float = 0.0) -> bool:
    a, b = (_SPELLED.get(v, v) if isinstance(v, str) and isinstance(w, float) else v for v, w in ((a, b), (b, a)))
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        if math.isnan(a) or math.isnan(b):  # a NaN measured twice is the same measurement
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):  # rtol × ∞ would call any number close to an infinity
            return a == b
        return a == b or abs(a - b) <= atol + rtol * max(abs(a), abs(b))
    return bool(a == b)


_DEVICE_KEYS = ("device", "gpu", "cuda")


def _other_device(stored: Evidence, rerun: Evidence) -> bool:
    """Whether the re-run ran on other hardware than the stored run (device, GPU model or CUDA build)."""
    return any(stored.environment.get(k) != rerun.environment.get(k) for k in _DEVICE_KEYS)


def verify(app: App, ref: str, *, rtol: float = 0.0, device: str = "cpu") -> Verification:
    """Re-run the suite of the latest stored evidence with its seed, champion and extracts; list any drift."""
    store = app.store
    version = store.resolve(ref)
    runs = {e.evidence_id: e for e in store.evidence_for(version.version_id)
            if e.purpose.get("command") != "verify"}  # a re-run is never the reference of the next one
    if not runs:
        raise UnknownName(f"{version.ref} has no stored evidence to verify; run `registry promote --dry-run` first")
    promoted = [e.evidence_id for e in store.ledger(version.family)
                if e.action == "promote" and e.to_version == version.version_id and e.evidence_id in runs]
    stored = runs[promoted[-1]] if promoted else list(runs.values())[-1]
    family = app.plugins.family(version.family)
    suite = app.plugins.suite(version.family, stored.suite)
    champion = store.by_id(stored.champion_version_id) if stored.champion_version_id else None
    rerun = run_suite(store, family, suite, version, champion=champion, seed=stored.seed, device=device,
                      extract_pins=stored.extract_keys, expected_digests=stored.extract_digests,
                      extract_specs=app.plugins.extracts(), purpose={"command": "verify", "of": stored.evidence_id},
                      expected_datasets=stored.dataset_digests)
    drift = ([f"suite {suite.name} is now version {suite.version}, evidence used {stored.suite_version}"]
             if suite.version != stored.suite_version else []) + compare_runs(stored, rerun, rtol=rtol)
    store.save_evidence(rerun)
    return Verification(version, stored, rerun, drift)


def compare_runs(stored: Evidence, rerun: Evidence, *, rtol: float = 0.0) -> list[str]:
    """What differs between a stored run and its re-run: gates, values (within ``rtol``), data digests.

    On other hardware (device, GPU model or CUDA build) values may differ by the tolerance the stored run
    recorded (``Evidence.tolerance``) and regenerated ensembles may differ in their digests; the gates' verdicts,
    the extracts and the datasets may not.
    """
    drift: list[str] = []
    atol = 0.0
    elsewhere = _other_device(stored, rerun)
    if elsewhere:
        rtol, atol = max(rtol, stored.tolerance.get("rtol", 0.0)), stored.tolerance.get("atol", 0.0)
    old = {r.name: r for r in stored.results}
    new = {r.name: r for r in rerun.results}
    for name in sorted(old.keys() | new.keys()):
        a, b = old.get(name), new.get(name)
        if a is None or b is None:
            drift.append(f"gate {name}: {'added' if a is None else 'removed'} since the stored run")
        elif a.status != b.status:
            drift.append(f"gate {name}: was {a.status}, now {b.status} ({b.message})")
        elif not _same(a.value, b.value, rtol, atol):
            beyond = f" (beyond the recorded device tolerance rtol {rtol:g}, atol {atol:g})" if elsewhere else ""
            drift.append(f"gate {name}: value was {a.value!r}, now {b.value!r}{beyond}")
        elif (a.gate_version, a.comparator, a.threshold) != (b.gate_version, b.comparator, b.threshold):
            drift.append(f"gate {name}: now v{b.gate_version} {b.comparator} {b.threshold}, "
                         f"was v{a.gate_version} {a.comparator} {a.threshold}")
    if stored.extract_digests != rerun.extract_digests:
        drift.append("extract digests differ from the stored run")
    if stored.dataset_digests != rerun.dataset_digests:
        drift.append("dataset digests differ from the stored run")
    if set(stored.ensemble_digests) != set(rerun.ensemble_digests) or (
            not elsewhere and stored.ensemble_digests != rerun.ensemble_digests):
        drift.append("the generated ensembles differ from the stored run's" + ("" if elsewhere else
                                                                               " on the same device"))
    return drift
