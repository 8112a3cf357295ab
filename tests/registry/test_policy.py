"""Promotion policy: only a suite the policy accepts moves an alias; aliases are declared; changes are ledgered."""

from __future__ import annotations

import json

import pytest

from registry.cli import main
from registry.errors import UnknownName, UsageError
from registry.policy import DEFAULT_ALIASES, in_force, set_policy
from registry.promotion import promote


@pytest.fixture
def good(app, ckpts):
    return app.store.register("toy", {"weights": ckpts["good"]})[0]


def run(capsys, *args: str) -> tuple[int, dict]:
    rc = main([*args, "--json"])
    out = capsys.readouterr().out
    return rc, json.loads(out.strip().splitlines()[-1] if rc else out)


def test_a_suite_the_policy_does_not_accept_cannot_move_the_alias(app, good):
    """The attack: `--suite` with a weaker suite put a refused checkpoint into production."""
    with pytest.raises(UsageError, match=r"suite 'with-data' cannot move toy@production: its policy requires "
                                         r"release"):
        promote(app, good.ref, "production", suite="with-data")
    assert app.store.holder("toy", "production") is None
    assert app.store.ledger() == [] and app.store.evidence_for(good.version_id) == []  # no gate ran


def test_a_dry_run_may_use_any_suite(app, good):
    d = promote(app, good.ref, "production", suite="concurrent", dry_run=True)
    assert d.evidence.suite == "concurrent" and d.entry is None


def test_the_default_suite_is_the_policy_without_a_stored_one(app, good):
    d = promote(app, good.ref, "production")
    assert d.verdict == "promoted" and d.evidence.suite == "release"
    # naming the accepted suite explicitly is the same decision
    d2 = promote(app, good.ref, "staging", suite="release")
    assert d2.verdict == "promoted"


def test_policy_set_changes_the_accepted_suite_and_is_a_ledger_entry(app, good):
    entry = set_policy(app, "toy", "production", ["concurrent"], reason="barrier drill")
    assert entry.action == "policy" and entry.to_version is None and entry.seq == 1
    assert json.loads(entry.reason) == {"suites": ["concurrent"], "reason": "barrier drill"}
    with pytest.raises(UsageError, match="requires concurrent"):
        promote(app, good.ref, "production", suite="release")
    d = promote(app, good.ref, "production")  # the policy's suite is the default
    assert d.verdict == "promoted" and d.evidence.suite == "concurrent"
    assert app.store.verify_ledger(defaults={"toy": "release"}) == []


def test_several_accepted_suites_and_unknown_suites(app, good):
    set_policy(app, "toy", "staging", ["release", "concurrent", "release"])
    pol = {(p.family, p.alias): p for p in in_force(app, "toy")}[("toy", "staging")]
    assert pol.suites == ("release", "concurrent") and not pol.is_default
    with pytest.raises(UnknownName, match="no gate suite 'nosuch'"):
        set_policy(app, "toy", "staging", ["nosuch"])
    with pytest.raises(UsageError, match="at least one suite"):
        set_policy(app, "toy", "staging", [])
    assert len(app.store.ledger()) == 1  # refused changes wrote nothing


def test_undeclared_alias_needs_create_alias_and_suggests_the_near_name(app, good):
    with pytest.raises(UnknownName, match=r"alias toy@prodution does not exist; did you mean 'production'\? "
                                          r"pass --create-alias"):
        promote(app, good.ref, "prodution")
    assert app.store.aliases() == {} and app.store.ledger() == []
    d = promote(app, good.ref, "canary", create_alias=True)
    assert d.verdict == "promoted" and app.store.holder("toy", "canary") == good.version_id
    assert promote(app, good.ref, "canary").verdict == "promoted"  # it exists now


def test_policy_set_declares_an_alias(app, good):
    set_policy(app, "toy", "canary", ["release"])
    assert promote(app, good.ref, "canary").verdict == "promoted"


@pytest.mark.parametrize("alias", DEFAULT_ALIASES)
def test_default_aliases_exist_without_being_declared(app, good, alias):
    assert promote(app, good.ref, alias).verdict == "promoted"


def test_show_of_an_unset_alias_says_it_is_not_set(app, good):
    with pytest.raises(UnknownName, match=r"alias toy@production is not set"):
        app.store.resolve("toy@production")
    with pytest.raises(UnknownName, match=r"no version toy@nosuchalias \(not a version number"):
        app.store.resolve("toy@nosuchalias")


def test_a_policy_changed_while_the_gates_ran_refuses(app, good, monkeypatch):
    """The policy is read again inside the transaction that moves the alias."""
    import registry.promotion as promotion

    real = promotion.run_suite

    def run_then_change_policy(*a, **k):
        ev = real(*a, **k)
        set_policy(app, "toy", "production", ["concurrent", "with-data"], reason="changed meanwhile")
        return ev

    monkeypatch.setattr(promotion, "run_suite", run_then_change_policy)
    d = promote(app, good.ref, "production")
    assert (d.verdict, d.message) == ("refused", "the policy of toy@production changed while the gates ran: it now "
                                                 "requires concurrent or with-data; decide again")
    assert app.store.holder("toy", "production") is None


def test_cli_policy_show_and_set(home, ckpts, capsys):
    assert main(["register", "toy", str(ckpts["good"])]) == 0
    capsys.readouterr()
    rc, body = run(capsys, "policy")
    assert rc == 0
    rows = {(r["family"], r["alias"]): r for r in body["policies"]}
    assert rows[("toy", "production")]["suites"] == ["release"] and rows[("toy", "production")]["default"]
    assert rows[("toy", "production")]["suite_versions"] == {"release": "1"}
    rc, body = run(capsys, "policy", "set", "toy", "canary", "--suite", "concurrent", "--reason", "try")
    assert rc == 0 and body["ledger_seq"] == 1 and body["ledger_head"].startswith("1:")
    rc, body = run(capsys, "policy", "show", "toy")
    rows = {(r["family"], r["alias"]): r for r in body["policies"]}
    assert rows[("toy", "canary")] == {**rows[("toy", "canary")], "suites": ["concurrent"], "default": False,
                                       "ledger_seq": 1}
    rc, body = run(capsys, "promote", "toy@1", "--to", "production", "--suite", "concurrent")
    assert rc == 2 and "requires release" in body["message"]
    rc, body = run(capsys, "history", "toy")
    assert [(e["action"], e["suite"], e["reason"]) for e in body["entries"]] == [
        ("policy", "requires concurrent", "try")]


def test_history_shows_suite_version_forced_and_reason(home, ckpts, capsys):
    assert main(["register", "toy", str(ckpts["constant"])]) == 0
    assert main(["promote", "toy@1", "--to", "staging", "--force", "--reason", "incident 4711"]) == 0
    capsys.readouterr()
    rc, body = run(capsys, "history", "toy", "staging")
    (e,) = body["entries"]
    assert (e["suite"], e["suite_version"], e["forced"], e["reason"]) == ("release", "1", True, "incident 4711")
    assert main(["history", "toy"]) == 0
    text = capsys.readouterr().out
    assert "release v1" in text and "yes" in text and "incident 4711" in text


def test_suite_options_change_the_verdict_without_code_and_are_recorded(app, good, capsys):
    """A suite's options (``tunable[skill_min=…]``) are set in the policy, not in code: the same version under the
    same suite is promoted at the default bar and refused at a higher one; the evidence, the ledger's policy entry
    and a re-run all carry the options in the suite's canonical name."""
    from registry.promotion import verify

    assert promote(app, good.ref, "production", suite="tunable", dry_run=True).verdict == "promoted"
    entry = set_policy(app, "toy", "production", ["tunable[ strict=false,skill_min=0.9999 ]"])
    assert json.loads(entry.reason)["suites"] == ["tunable[skill_min=0.9999]"]  # canonical: changed options only
    d = promote(app, good.ref, "production")
    assert d.verdict == "refused" and d.evidence.suite == "tunable[skill_min=0.9999]"
    (skill,) = d.evidence.results
    assert skill.threshold == 0.9999 and skill.status == "fail" and 0.5 < skill.value < 0.9999
    # the same options written otherwise are the same suite; other options are another suite
    assert promote(app, good.ref, "production", suite="tunable[skill_min=0.99990,label=plain]").verdict == "refused"
    with pytest.raises(UsageError, match=r"suite 'tunable\[skill_min=0.6\]' cannot move toy@production: its policy "
                                         r"requires tunable\[skill_min=0.9999\]"):
        promote(app, good.ref, "production", suite="tunable[skill_min=0.6]")
    set_policy(app, "toy", "production", ["tunable[skill_min=0.6]"], reason="a bar this model clears")
    d = promote(app, good.ref, "production")
    assert d.verdict == "promoted" and d.evidence.suite == "tunable[skill_min=0.6]"
    assert verify(app, good.ref).drift == []  # the re-run rebuilt the suite from the recorded name
    assert app.store.verify_ledger(defaults={"toy": "release"}) == []
    rc, body = run(capsys, "policy", "show", "toy")
    rows = {(r["family"], r["alias"]): r for r in body["policies"]}
    assert rows[("toy", "production")]["suite_versions"] == {"tunable[skill_min=0.6]": "1"}
    rc, body = run(capsys, "policy", "set", "toy", "staging", "--suite", "tunable[skill_min=0.60]")
    assert rc == 0 and body["suites"] == ["tunable[skill_min=0.6]"]
    rc = main(["promote", "toy@1", "--to", "staging", "--suite", "tunable[skill_min=0.99]", "--dry-run", "--json"])
    body = json.loads(capsys.readouterr().out)
    assert rc == 1 and body["suite"] == "tunable[skill_min=0.99]" and body["gates"][0]["threshold"] == 0.99


@pytest.mark.parametrize(("suite", "msg"), [
    ("tunable[skill_min=nan]", "option skill_min='nan' is not a finite float"),
    ("tunable[skil_min=0.6]", "has no option 'skil_min'"),
    ("tunable[skill_min=0.6", "is not NAME or NAME"),
    ("release[skill_min=0.6]", "suite 'release' has no option 'skill_min' (options: none)"),
    ("nosuch[a=1]", "no gate suite 'nosuch'"),
])
def test_bad_suite_options_are_refused_before_anything_is_stored(app, good, capsys, suite, msg):
    with pytest.raises(UsageError, match=msg.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        set_policy(app, "toy", "production", [suite])
    with pytest.raises(UsageError):
        promote(app, good.ref, "production", suite=suite)
    assert app.store.ledger() == [] and app.store.evidence_for(good.version_id) == []
    rc, body = run(capsys, "policy", "set", "toy", "production", "--suite", suite)
    assert rc == 2 and body["message"]
