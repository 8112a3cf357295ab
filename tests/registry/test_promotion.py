"""Promotion, rollback and verify on a real tiny torch family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from registry.errors import AliasMoved, InvalidInput, UnknownName, UsageError
from registry.policy import set_policy
from registry.promotion import promote, rollback, verify


def _register(app, path: Path):  # noqa: ANN001, ANN202
    fam = app.plugins.family("toy")
    facts = fam.validate({"weights": path})
    return app.store.register("toy", {"weights": path}, lineage={"validated": facts})[0]


def test_good_version_is_promoted_and_ledgered(app, ckpts):
    v = _register(app, ckpts["good"])
    d = promote(app, v.ref, "production")
    assert d.verdict == "promoted" and d.entry is not None and d.entry.seq == 1
    assert app.store.holder("toy", "production") == v.version_id
    assert [r.status for r in d.evidence.results] == ["pass", "pass", "pass"]
    assert d.scorecard is not None and d.scorecard.exists()
    assert app.store.verify_ledger() == []


def test_constant_model_is_refused_even_with_small_rmse_claims(app, ckpts):
    v = _register(app, ckpts["constant"])
    d = promote(app, v.ref, "production")
    assert d.verdict == "refused"
    failing = {r.name for r in d.evidence.results if r.status == "fail"}
    assert failing == {"skill_vs_climatology", "spread_ratio"}
    assert app.store.holder("toy", "production") is None
    assert app.store.ledger() == []
    assert app.store.evidence_for(v.version_id)[0].evidence_id == d.evidence.evidence_id


def test_missing_extract_fails_closed(app, ckpts):
    v = _register(app, ckpts["good"])
    set_policy(app, "toy", "production", ["with-data"])
    d = promote(app, v.ref, "production", suite="with-data")
    assert d.verdict == "error"
    row = next(r for r in d.evidence.results if r.name == "obs_rmse")
    assert row.status == "error" and "not in the cache" in row.message
    assert app.store.holder("toy", "production") is None


def test_force_needs_reason_and_is_recorded(app, ckpts):
    v = _register(app, ckpts["constant"])
    with pytest.raises(InvalidInput):
        promote(app, v.ref, "production", force=True)
    d = promote(app, v.ref, "production", force=True, reason="incident 42: need any model")
    assert d.verdict == "promoted" and d.forced
    entry = app.store.ledger()[-1]
    assert entry.forced and entry.reason == "incident 42: need any model"


def test_dry_run_moves_nothing(app, ckpts):
    v = _register(app, ckpts["good"])
    d = promote(app, v.ref, "production", dry_run=True)
    assert d.verdict == "promoted" and d.dry_run and d.entry is None
    assert app.store.holder("toy", "production") is None


def test_expect_current_detects_stale_decision(app, ckpts):
    a = _register(app, ckpts["good"])
    b = _register(app, ckpts["good2"])
    promote(app, a.ref, "production")
    with pytest.raises(AliasMoved):
        promote(app, b.ref, "production", expect_current="none")
    d = promote(app, b.ref, "production", expect_current=str(a.number))
    assert d.verdict == "promoted" and d.previous == a.version_id
    assert d.evidence.champion_version_id == a.version_id


def test_champion_gate_refuses_worse_challenger(app, ckpts):
    good = _register(app, ckpts["good"])
    promote(app, good.ref, "production")
    worse = _register(app, ckpts["constant"])
    d = promote(app, worse.ref, "production")
    assert next(r for r in d.evidence.results if r.name == "not_worse_than_champion").status == "fail"


def test_rollback_walks_back_through_promotions(app, ckpts):
    a = _register(app, ckpts["good"])
    b = _register(app, ckpts["good2"])
    promote(app, a.ref, "production")
    promote(app, b.ref, "production")
    entry, target = rollback(app, "toy", "production")
    assert target == a.version_id and entry.action == "rollback"
    assert app.store.holder("toy", "production") == a.version_id
    with pytest.raises(UsageError, match="allow-unset"):
        rollback(app, "toy", "production")
    assert app.store.holder("toy", "production") == a.version_id
    entry, target = rollback(app, "toy", "production", allow_unset=True)
    assert target is None and app.store.holder("toy", "production") is None
    with pytest.raises(UnknownName):
        rollback(app, "toy", "production")
    assert app.store.verify_ledger() == []


def test_verify_reproduces_stored_evidence(app, ckpts):
    v = _register(app, ckpts["good"])
    promote(app, v.ref, "production")
    result = verify(app, "toy@production")
    assert result.drift == []
    assert [r.value for r in result.rerun.results] == [r.value for r in result.stored.results]


def test_verify_reports_drift_when_gate_code_changes(app, ckpts, monkeypatch):
    import toy_family

    v = _register(app, ckpts["good"])
    promote(app, v.ref, "staging")
    monkeypatch.setattr(toy_family, "truth", lambda x: 3.0 * x[:, 0])
    result = verify(app, v.ref)
    assert any("skill_vs_climatology" in d for d in result.drift)


def test_two_processes_promoting_at_once_exactly_one_wins(home, ckpts, tmp_path):
    import json
    import subprocess
    import sys

    from clirun import child_env, run_cli

    from registry.store import Store

    run_cli("register", "toy", str(ckpts["good"]))
    run_cli("register", "toy", str(ckpts["good2"]))
    assert run_cli("policy", "set", "toy", "production", "--suite", "concurrent").returncode == 0
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = child_env(TOY_BARRIER_DIR=str(barrier), TOY_BARRIER_N="2")
    procs = [subprocess.Popen([sys.executable, "-m", "registry.cli", "promote", ref, "--to", "production",
                               "--suite", "concurrent", "--json"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for ref in ("toy@1", "toy@2")]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 1], results
    loser = next(r for r in results if r[0] == 1)
    body = json.loads(loser[1])
    assert body["verdict"] == "refused" and "moved while deciding" in body["message"]
    s = Store(home)
    moves = [e for e in s.ledger() if e.action == "promote"]  # the first entry is the policy change
    assert len(moves) == 1 and s.verify_ledger() == []
    assert body["evidence_id"] in {e.evidence_id for v in s.versions() for e in s.evidence_for(v.version_id)}


@pytest.mark.parametrize("point", ["promote:ledger-written", "promote:alias-written"])
def test_sigkill_during_promote_keeps_ledger_valid(home, ckpts, point):
    from clirun import run_cli

    from registry.store import Store

    run_cli("register", "toy", str(ckpts["good"]))
    killed = run_cli("promote", "toy@1", "--to", "production", env={"REGISTRY_CRASH_AT": point})
    assert killed.returncode == -9
    s = Store(home)
    assert s.ledger() == [] and s.holder("toy", "production") is None and s.verify_ledger() == []
    assert run_cli("promote", "toy@1", "--to", "production").returncode == 0
    assert len(s.ledger()) == 1 and s.verify_ledger() == []


def test_verify_keeps_reporting_drift_and_sees_threshold_changes(app, ckpts, monkeypatch):
    import toy_family

    v = _register(app, ckpts["good"])
    promote(app, v.ref, "production")
    monkeypatch.setattr(toy_family, "truth", lambda x: 3.0 * x[:, 0])
    assert verify(app, v.ref).drift and verify(app, v.ref).drift  # the first re-run is not the new reference
    monkeypatch.undo()
    assert verify(app, v.ref).drift == []
    gate = toy_family.NotConstantGate
    monkeypatch.setattr(gate, "evaluate", lambda self, ctx: toy_family.Outcome.held_to(
        float(np.std(toy_family._predict(ctx.model, ctx.rng("spread").normal(size=(256, 4))))
              / np.std(toy_family.truth(ctx.rng("spread").normal(size=(256, 4))))), toy_family.Threshold(">=", 0.1)))
    assert any("spread_ratio: now v1 >= 0.1, was v1 >= 0.5" in d for d in verify(app, v.ref).drift)


def test_losing_the_compare_and_set_is_a_refusal_with_stored_evidence(app, ckpts, monkeypatch):
    a = _register(app, ckpts["good"])
    b = _register(app, ckpts["good2"])
    real = app.store.move_alias

    def racing(*args, **kw):  # another process moves the alias between the gates and the move
        monkeypatch.setattr(app.store, "move_alias", real)
        real("toy", "production", expected=None, to=a.version_id, action="promote",
             verdict_digest="x", evidence_id=None)
        return real(*args, **kw)

    monkeypatch.setattr(app.store, "move_alias", racing)
    d = promote(app, b.ref, "production")
    assert d.verdict == "refused" and "moved while deciding" in d.message and d.entry is None
    assert app.store.holder("toy", "production") == a.version_id
    assert app.store.evidence(d.evidence.evidence_id).version_id == b.version_id


def test_expect_current_takes_versions_not_aliases(app, ckpts):
    a = _register(app, ckpts["good"])
    promote(app, a.ref, "production")
    with pytest.raises(InvalidInput, match="expect-current"):
        promote(app, a.ref, "production", expect_current="production")


def test_scorecard_failure_after_the_move_keeps_the_decision(app, ckpts, tmp_path):
    v = _register(app, ckpts["good"])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InvalidInput):
        promote(app, v.ref, "production", report=blocker / "sub" / "card.html")
    assert app.store.holder("toy", "production") is None
    (tmp_path / "dir.html").mkdir()
    d = promote(app, v.ref, "production", report=tmp_path / "dir.html")
    assert d.verdict == "promoted" and d.scorecard is None and "scorecard not written" in d.message
    assert d.to_json()["scorecard"] is None
    assert app.store.holder("toy", "production") == v.version_id


def test_a_catalog_held_open_by_another_program_refuses_before_any_gate_runs(home, ckpts):
    """A notebook's read-write DuckDB connection: promote says so at once instead of failing after its gates."""
    import subprocess
    import sys

    from clirun import run_cli

    assert run_cli("register", "toy", str(ckpts["good"])).returncode == 0
    notebook = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                                 "print('open', flush=True); sys.stdin.readline()", str(home / "catalog.duckdb")],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert notebook.stdout.readline().strip() == "open"
        r = run_cli("promote", "toy@1", "--to", "production")
    finally:
        notebook.communicate("done\n", timeout=10)
    assert r.returncode == 3, r.stderr
    line = r.stderr.strip()
    assert line.startswith("registry: error: the catalog ") and f"(pid {notebook.pid})" in line
    assert "open in another program" in line and "Traceback" not in line and "IOException" not in line
    assert "PASS" not in r.stdout and "FAIL" not in r.stdout  # no gate ran
    assert run_cli("promote", "toy@1", "--to", "production").returncode == 0


def test_verify_compares_with_the_promotion_that_installed_the_holder(app, ckpts):
    """The reference is the latest promotion of the version, not its first one nor a later dry run."""
    a = _register(app, ckpts["good"])
    b = _register(app, ckpts["good2"])
    first = promote(app, a.ref, "production").evidence  # no champion
    promote(app, b.ref, "production")
    back = promote(app, a.ref, "production", force=True, reason="back to a")  # b is the champion of this run
    assert back.entry is not None and back.entry.seq == 3
    latest = back.evidence
    assert latest.champion_version_id == b.version_id and first.champion_version_id is None
    promote(app, a.ref, "staging", dry_run=True, suite="empty")  # newer evidence, but no promotion
    result = verify(app, a.ref)
    assert result.stored.evidence_id == latest.evidence_id
    assert result.rerun.champion_version_id == b.version_id and result.rerun.purpose["of"] == latest.evidence_id
    assert result.drift == []
    fresh = _register(app, ckpts["constant"])  # never promoted: its newest stored run is the reference
    promote(app, fresh.ref, "staging", dry_run=True)
    promote(app, fresh.ref, "staging", dry_run=True, suite="tunable")
    newest = promote(app, fresh.ref, "staging", dry_run=True, suite="empty").evidence
    assert verify(app, fresh.ref).stored.evidence_id == newest.evidence_id
    assert verify(app, fresh.ref).stored.evidence_id == newest.evidence_id  # the stored re-run is not the reference


def test_verify_reports_extract_digest_drift(app, ckpts, toy_obs, monkeypatch):
    import toy_family

    from cache.store import ExtractCache

    set_policy(app, "toy", "production", ["with-data"], reason="the gates read the cached extract")
    ExtractCache(app.home).materialise(app.plugins.extract("toy-obs"), progress=False)
    v = _register(app, ckpts["good"])
    stored = promote(app, v.ref, "production", suite="with-data").evidence
    assert list(stored.extract_digests) == ["toy-obs"]
    value = next(r for r in stored.results if r.name == "obs_rmse").value
    assert verify(app, v.ref).drift == []  # the re-run reads the extract it pinned, as the stored run did
    # the gate now gives the same value without reading the rows: every gate agrees, the data read does not
    monkeypatch.setattr(toy_family.ExtractGate, "evaluate",
                        lambda self, ctx: toy_family.Outcome.held_to(value, toy_family.Threshold("<", 0.5)))
    result = verify(app, v.ref)
    assert result.rerun.extract_digests == {}
    assert result.drift == ["extract digests differ from the stored run"]


def test_re_promoting_the_holder_appends_no_ledger_entry(app, ckpts):
    a = _register(app, ckpts["good"])
    promote(app, a.ref, "production")
    ledger = app.store.ledger()
    again = promote(app, a.ref, "production")
    assert again.verdict == "promoted" and again.entry is None and "already holds toy@production" in again.message
    forced = promote(app, a.ref, "production", force=True, reason="drill")
    assert forced.entry is None and not forced.forced
    assert app.store.ledger() == ledger and app.store.holder("toy", "production") == a.version_id
    # its runs are still stored (a re-run is evidence too)
    assert {again.evidence.evidence_id, forced.evidence.evidence_id} <= {
        e.evidence_id for e in app.store.evidence_for(a.version_id)}


def test_decisions_say_what_happened(app, ckpts):
    from registry.errors import ExitCode

    good, const = _register(app, ckpts["good"]), _register(app, ckpts["constant"])
    assert promote(app, good.ref, "production", dry_run=True).message == "toy@1 would be promoted to production"
    assert promote(app, const.ref, "production", dry_run=True).message == "toy@2 would not be promoted to production"
    refused = promote(app, const.ref, "production")
    assert refused.message == "toy@2 refused for production: skill_vs_climatology, spread_ratio did not pass"
    assert refused.exit_code == ExitCode.REFUSED and refused.to_json()["ledger_seq"] is None
    first = promote(app, good.ref, "production")
    assert first.message == "toy@1 is now toy@production" and first.exit_code == ExitCode.OK
    body = first.to_json()
    assert (body["verdict"], body["version"], body["ledger_seq"], body["previous"]) == ("promoted", "toy@1", 1, None)
    assert [g["name"] for g in body["gates"]] == ["skill_vs_climatology", "spread_ratio", "not_worse_than_champion"]
    forced = promote(app, const.ref, "production", force=True, reason="drill")
    assert forced.message == "toy@2 is now toy@production (FORCED over a refused verdict)"
    assert forced.to_json()["previous"] == good.version_id and forced.to_json()["forced"] is True
    # the run records what it was compared with: the holder's latest passing run and the ledger position
    assert forced.evidence.purpose == {"command": "promote", "alias": "production", "ledger_seq": "1",
                                       "champion_evidence": first.evidence.evidence_id, "force_reason": "drill"}


def test_verify_tolerance_and_suite_changes_are_drift(app, ckpts, monkeypatch):
    import dataclasses

    import toy_family

    v = _register(app, ckpts["good"])
    stored = promote(app, v.ref, "production").evidence
    spread = next(r for r in stored.results if r.name == "spread_ratio").value
    monkeypatch.setattr(toy_family.NotConstantGate, "evaluate", lambda self, ctx: toy_family.Outcome.held_to(
        spread * (1 + 1e-6), toy_family.Threshold(">=", 0.5)))
    assert verify(app, v.ref).drift == [f"gate spread_ratio: value was {spread!r}, now {spread * (1 + 1e-6)!r}"]
    assert verify(app, v.ref, rtol=1e-5).drift == []
    monkeypatch.undo()
    suite = app.plugins.suite("toy", "release")
    monkeypatch.setitem(app.plugins._suites, ("toy", "release"),
                        dataclasses.replace(suite, version="2", gates=suite.gates[:2]))
    assert verify(app, v.ref).drift == ["suite release is now version 2, evidence used 1",
                                        "gate not_worse_than_champion: removed since the stored run"]


def test_expect_current_accepts_a_hash_prefix_and_none(app, ckpts):
    a = _register(app, ckpts["good"])
    b = _register(app, ckpts["good2"])
    assert promote(app, a.ref, "production", expect_current="none").verdict == "promoted"
    with pytest.raises(AliasMoved, match="is not at 'none' any more"):
        promote(app, b.ref, "production", expect_current="none")
    d = promote(app, b.ref, "production", expect_current=a.version_id[:8], force=True, reason="swap")
    assert d.entry is not None and d.previous == a.version_id


def test_promote_refuses_unknown_aliases_and_unaccepted_suites_before_any_gate_runs(app, ckpts, tmp_path):
    v = _register(app, ckpts["good"])
    with pytest.raises(UnknownName, match="alias toy@canary does not exist"):
        promote(app, v.ref, "canary")
    with pytest.raises(UsageError, match="suite 'with-data' cannot move toy@production"):
        promote(app, v.ref, "production", suite="with-data")
    with pytest.raises(InvalidInput, match="does not exist"):
        promote(app, v.ref, "production", report=tmp_path / "missing" / "card.html")
    assert app.store.evidence_for(v.version_id) == [] and app.store.ledger() == []
    assert promote(app, v.ref, "canary", create_alias=True).entry is not None
    assert promote(app, v.ref, "production", suite="with-data", dry_run=True).verdict == "error"  # any suite dry


def test_promote_on_an_empty_home_creates_nothing(app):
    with pytest.raises(UnknownName):
        promote(app, "toy@1", "production")
    assert not (app.home / "catalog.duckdb").exists()


def test_rollback_carries_the_evidence_and_force_of_the_promotion_it_returns_to(app, ckpts):
    a, b, c = (_register(app, ckpts[k]) for k in ("good", "constant", "good2"))
    promote(app, a.ref, "production")
    forced = promote(app, b.ref, "production", force=True, reason="drill")
    promote(app, c.ref, "production", force=True, reason="back")
    entry, target = rollback(app, "toy", "production")
    assert target == b.version_id and entry.from_version == c.version_id and entry.to_version == b.version_id
    assert entry.evidence_id == forced.evidence.evidence_id and entry.forced and entry.reason == "rollback of entry 3"
    entry, target = rollback(app, "toy", "production", reason="b was a drill")
    assert target == a.version_id and not entry.forced and entry.reason == "b was a drill"
    assert app.store.verify_ledger() == []


GATE_FIELDS = ("name", "status", "passed", "value", "threshold", "comparator", "message", "seconds")


def test_the_json_of_a_decision_names_every_field(app, ckpts, tmp_path):
    good, const = _register(app, ckpts["good"]), _register(app, ckpts["constant"])
    first = promote(app, good.ref, "production", report=tmp_path / "card.html")
    body = first.to_json()
    gates = body.pop("gates")
    assert body == {
        "verdict": "promoted", "version": "toy@1", "version_id": good.version_id, "alias": "production",
        "dry_run": False, "forced": False, "reason": "", "previous": None, "suite": "release", "suite_version": "1",
        "evidence_id": first.evidence.evidence_id, "ledger_seq": 1, "message": "toy@1 is now toy@production",
        "scorecard": str(tmp_path / "card.html"), "ledger_head": f"1:{app.store.ledger()[0].entry_hash}"}
    assert [tuple(g) for g in gates] == [GATE_FIELDS] * 3
    assert gates == [{k: r.to_dict()[k] for k in GATE_FIELDS} for r in first.evidence.results]
    assert [(g["name"], g["status"], g["passed"]) for g in gates] == [
        ("skill_vs_climatology", "pass", True), ("spread_ratio", "pass", True),
        ("not_worse_than_champion", "pass", True)]
    forced = promote(app, const.ref, "production", force=True, reason="drill").to_json()
    assert (forced["verdict"], forced["forced"], forced["reason"], forced["previous"], forced["ledger_seq"]) == (
        "promoted", True, "drill", good.version_id, 2)
    dry = promote(app, good.ref, "staging", dry_run=True, suite="empty").to_json()
    assert (dry["dry_run"], dry["suite"], dry["ledger_seq"], dry["gates"], dry["alias"]) == (
        True, "empty", None, [], "staging")
    assert dry["ledger_head"] == f"2:{app.store.ledger()[-1].entry_hash}"


def test_the_json_of_a_verification_says_whether_it_reproduced(app, ckpts, monkeypatch):
    import toy_family

    v = _register(app, ckpts["good"])
    stored = promote(app, v.ref, "production").evidence
    same = verify(app, v.ref)
    assert same.to_json() == {"version": "toy@1", "stored_evidence": stored.evidence_id,
                              "rerun_evidence": same.rerun.evidence_id, "drift": [], "reproduced": True,
                              "gates": [r.to_dict() for r in same.rerun.results]}
    assert len(same.to_json()["gates"]) == 3 and same.rerun.evidence_id != stored.evidence_id
    monkeypatch.setattr(toy_family, "truth", lambda x: 3.0 * x[:, 0])
    body = verify(app, v.ref).to_json()
    assert body["reproduced"] is False and body["drift"] and body["stored_evidence"] == stored.evidence_id


def test_bad_reasons_and_users_are_refused_before_any_gate_runs(app, ckpts, monkeypatch):
    v = _register(app, ckpts["constant"])
    with pytest.raises(InvalidInput, match="^--reason contains the control character '\\\\n' at position 4"):
        promote(app, v.ref, "production", force=True, reason="line\nforged entry")
    with pytest.raises(InvalidInput, match="^--force needs --reason TEXT saying why the gates are overridden$"):
        promote(app, v.ref, "production", force=True, reason="   ")
    with pytest.raises(InvalidInput, match="^--reason contains the control character"):
        rollback(app, "toy", "production", reason="\x1b[2J")
    monkeypatch.setenv("REGISTRY_USER", "eve\u202e")
    with pytest.raises(InvalidInput, match="^the user name"):
        promote(app, v.ref, "production")
    with pytest.raises(InvalidInput, match="^the user name"):
        rollback(app, "toy", "production")
    assert app.store.evidence_for(v.version_id) == [] and app.store.ledger() == []


def test_an_empty_suite_is_an_error_and_says_so(app, ckpts):
    v = _register(app, ckpts["good"])
    set_policy(app, "toy", "production", ["empty"], reason="a suite with no gates")
    d = promote(app, v.ref, "production")
    assert (d.verdict, d.entry, d.message) == ("error", None, "toy@1 refused for production: empty suite did not pass")
    assert app.store.holder("toy", "production") is None


def test_rollback_refusals_say_why(app, ckpts):
    a = _register(app, ckpts["good"])
    with pytest.raises(UnknownName, match="^alias toy@production is not set; nothing to roll back$"):
        rollback(app, "toy", "production")
    with pytest.raises(UnknownName, match="family 'nope'"):
        rollback(app, "nope", "production")
    with pytest.raises(InvalidInput):
        rollback(app, "toy", "Production")
    promote(app, a.ref, "production")
    with pytest.raises(UsageError, match=(r"^toy@production had no holder before entry 1: rolling back would unset "
                                          "it; pass --allow-unset if that is what you want$")):
        rollback(app, "toy", "production")
    entry, target = rollback(app, "toy", "production", allow_unset=True)
    assert (target, entry.to_version, entry.evidence_id, entry.forced, entry.reason) == (
        None, None, None, False, "rollback of entry 1")
    # a holder that no promotion installed (moved there by a rollback entry alone) cannot be rolled back
    app.store.move_alias("toy", "staging", expected=None, to=a.version_id, action="rollback", verdict_digest="d")
    with pytest.raises(UnknownName, match="^the ledger has no promotion of toy@staging to roll back$"):
        rollback(app, "toy", "staging")


def test_a_rollback_entry_records_what_it_undid(app, ckpts):
    from registry.hashing import digest_json

    a, b = _register(app, ckpts["good"]), _register(app, ckpts["good2"])
    first = promote(app, a.ref, "production").entry
    second = promote(app, b.ref, "production").entry
    promote(app, b.ref, "staging")  # a later promotion of b, to another alias that had no holder
    entry, target = rollback(app, "toy", "production")
    assert target == a.version_id and entry.verdict_digest == digest_json({"rollback_of": second.entry_hash,
                                                                            "to": a.version_id})
    assert (entry.alias, entry.from_version, entry.evidence_id) == ("production", b.version_id, first.evidence_id)
    assert app.store.holder("toy", "staging") == b.version_id  # the other alias is untouched


def test_drift_compares_numbers_within_the_relative_tolerance_and_anything_else_exactly():
    from registry.promotion import _same

    assert _same(2.0, 4.0, 0.5) and _same(4, 2.0, 0.5)  # |a − b| equal to rtol × max(|a|, |b|) is no drift
    assert not _same(2.0, 4.0, 0.49) and not _same(1.0, 1.0 + 1e-12, 0.0) and _same(-3.0, -3.0, 0.0)
    assert not _same(True, False, 1.0) and _same(True, True, 0.0)  # a pass/fail flag is never "close"
    assert not _same(1.0, None, 0.5) and not _same(None, 1.0, 0.5) and _same(None, None, 0.0)
    assert _same("pass", "pass", 0.0) and not _same("pass", "fail", 1.0)


def test_drift_reads_non_finite_values_as_stored_evidence_spells_them():
    from registry.promotion import _same

    nan, inf = float("nan"), float("inf")
    assert _same("NaN", nan, 0.0) and _same(nan, "NaN", 0.0) and _same(nan, nan, 0.0)  # stored as text, re-run a float
    assert _same("Infinity", inf, 0.0) and _same("-Infinity", -inf, 0.0) and _same(-inf, "-Infinity", 0.0)
    assert not _same("NaN", 1.0, 0.5) and not _same(1.0, nan, 1.0) and not _same("Infinity", -inf, 1.0)
    assert not _same(inf, 1.0, 0.5) and not _same(1.0, inf, 0.5) and not _same(-inf, inf, 2.0)  # rtol × ∞
    assert not _same("NaN", "nan", 0.0) and _same("NaN", "NaN", 0.0)  # text against text stays exact


def test_verify_takes_the_latest_promotion_not_a_later_rollback_carrying_older_evidence(app, ckpts):
    a, b = _register(app, ckpts["good"]), _register(app, ckpts["good2"])
    with pytest.raises(UnknownName, match=(r"^toy@1 has no stored evidence to verify; "
                                           r"run `registry promote --dry-run` first$")):
        verify(app, a.ref)
    ev1 = promote(app, a.ref, "production").evidence
    promote(app, b.ref, "production")
    ev2 = promote(app, a.ref, "staging").evidence
    entry, _ = rollback(app, "toy", "production")  # back to a, carrying the evidence of a's first promotion
    assert entry.evidence_id == ev1.evidence_id != ev2.evidence_id
    assert verify(app, a.ref).stored.evidence_id == ev2.evidence_id


def test_a_run_records_what_it_was_compared_with_per_alias(app, ckpts):
    good, other = _register(app, ckpts["good"]), _register(app, ckpts["good2"])
    first = promote(app, good.ref, "production").evidence
    assert first.purpose == {"command": "promote", "alias": "production", "ledger_seq": "0", "champion_evidence": ""}
    assert first.environment["device"] == "cpu"
    again = promote(app, good.ref, "production", dry_run=True).evidence  # the champion's latest passing run
    assert again.champion_version_id is None  # the holder is not its own champion
    later = promote(app, good.ref, "staging", dry_run=True, suite="tunable")  # passing too, in another suite
    assert later.verdict == "promoted"
    challenger = promote(app, other.ref, "production", dry_run=True).evidence
    assert challenger.champion_version_id == good.version_id
    assert challenger.purpose == {"command": "dry-run", "alias": "production", "ledger_seq": "1",
                                  "champion_evidence": again.evidence_id}
    elsewhere = promote(app, other.ref, "staging", dry_run=True, suite="tunable")  # staging: no history, no holder
    assert elsewhere.evidence.purpose == {"command": "dry-run", "alias": "staging", "ledger_seq": "0",
                                          "champion_evidence": ""}
    # a dry run under a suite the alias's policy does not accept still says what the gates decided
    assert (elsewhere.verdict, elsewhere.message) == ("promoted", "toy@2 would be promoted to staging")


def test_forcing_a_passing_version_is_not_recorded_as_forced(app, ckpts):
    v = _register(app, ckpts["good"])
    d = promote(app, v.ref, "production", force=True, reason="belt and braces")
    assert (d.verdict, d.forced, d.entry.forced, d.message) == ("promoted", False, False,
                                                               "toy@1 is now toy@production")
    assert d.entry.reason == "belt and braces" and d.evidence.purpose["force_reason"] == "belt and braces"


def test_a_scorecard_that_cannot_be_rendered_leaves_the_decision_standing(app, ckpts, monkeypatch):
    import registry.promotion as promotion

    def broken(store, evidence):  # noqa: ANN001, ANN202
        raise RuntimeError("no fonts")

    monkeypatch.setattr(promotion, "scorecard_page", broken)
    v = _register(app, ckpts["good"])
    d = promote(app, v.ref, "production")
    assert (d.verdict, d.scorecard) == ("promoted", None) and d.entry is not None
    assert d.message == "toy@1 is now toy@production (scorecard not rendered: RuntimeError: no fonts)"
    assert app.store.holder("toy", "production") == v.version_id


def test_the_ledger_position_a_run_records_is_its_own_familys(app, ckpts):
    v = _register(app, ckpts["good"])
    o, _ = app.store.register("other", {"weights": ckpts["good2"]})  # another family, moved by the store alone
    app.store.move_alias("other", "production", expected=None, to=o.version_id, action="rollback", verdict_digest="d")
    assert promote(app, v.ref, "production", dry_run=True).evidence.purpose["ledger_seq"] == "0"


def test_a_chosen_seed_and_device_are_used_recorded_and_repeated_by_verify(app, ckpts):
    from registry.suite_run import DEFAULT_SEED

    v = _register(app, ckpts["good"])
    default = promote(app, v.ref, "staging", dry_run=True).evidence
    seeded = promote(app, v.ref, "production", seed=7, device="cpu:0").evidence
    assert (seeded.seed, default.seed) == (7, DEFAULT_SEED) and DEFAULT_SEED != 7
    assert (seeded.environment["device"], default.environment["device"]) == ("cpu:0", "cpu")

    def skill(ev):  # noqa: ANN001, ANN202
        return next(r.value for r in ev.results if r.name == "skill_vs_climatology")

    assert skill(seeded) != skill(default)  # the gates drew their samples from seed 7
    check = verify(app, v.ref, device="cpu:0")
    assert check.rerun.seed == 7 and skill(check.rerun) == skill(seeded) and check.drift == []


def test_promote_draws_progress_on_a_terminal_only_when_asked(app, ckpts, monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    v = _register(app, ckpts["good"])
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    promote(app, v.ref, "staging", dry_run=True)
    assert terminal.getvalue() == ""  # a library call draws nothing unless asked
    promote(app, v.ref, "staging", dry_run=True, progress=True)
    assert f"gates {v.ref}" in terminal.getvalue()


def test_a_stale_expectation_says_what_moved_and_what_to_do(app, ckpts):
    a, b = _register(app, ckpts["good"]), _register(app, ckpts["good2"])
    promote(app, a.ref, "production")
    with pytest.raises(AliasMoved) as err:
        promote(app, b.ref, "production", expect_current="none")
    assert str(err.value) == ("alias toy@production is not at 'none' any more; the decision is stale, "
                              "look again before promoting")


def test_the_scorecard_written_is_the_page_rendered_with_the_decision(app, ckpts, monkeypatch):
    """The page is rendered inside the transaction that decides, not again afterwards."""
    import registry.promotion as promotion

    real = promotion.scorecard_page

    def marked(store, evidence):  # noqa: ANN001, ANN202
        path, html = real(store, evidence)
        return path, html.replace("</body>", "<!-- rendered with the decision --></body>")

    monkeypatch.setattr(promotion, "scorecard_page", marked)
    v = _register(app, ckpts["good"])
    d = promote(app, v.ref, "production")
    assert "<!-- rendered with the decision -->" in Path(d.scorecard).read_text()


def test_a_gate_reading_an_exact_extract_request_resolves_it_by_the_declared_extracts(app, ckpts, toy_obs,
                                                                                       monkeypatch):
    """promote and verify hand the plugins' extract declarations to the gates: a request by parameters resolves."""
    import toy_family

    from cache.store import ExtractCache

    def by_request(self, ctx):  # noqa: ANN001, ANN202
        table = ctx.extract("toy-obs", params={"db": "toyobs"})
        return toy_family.Outcome.held_to(float(table.num_rows), toy_family.Threshold("==", 300.0))

    monkeypatch.setattr(toy_family.ExtractGate, "evaluate", by_request)
    set_policy(app, "toy", "production", ["with-data"], reason="the gates read the cached extract")
    v = _register(app, ckpts["good"])
    missing = promote(app, v.ref, "staging", dry_run=True, suite="with-data").evidence
    gate = next(r for r in missing.results if r.name == "obs_rmse")
    assert gate.status == "error"
    assert "not in the cache; run `registry extract toy-obs --param db=toyobs`" in gate.message
    ExtractCache(app.home).materialise(app.plugins.extract("toy-obs"), progress=False)
    # the run that could not find the rows is re-run on today's cache: the gate the stored run could not evaluate passes
    drift = verify(app, v.ref).drift
    assert len(drift) == 2 and drift[0].startswith("gate obs_rmse: was error, now pass (")
    assert drift[1] == "extract digests differ from the stored run"  # none read then, one now
    d = promote(app, v.ref, "production", suite="with-data")
    assert d.verdict == "promoted" and list(d.evidence.extract_digests) == ["toy-obs[db=toyobs]"]
