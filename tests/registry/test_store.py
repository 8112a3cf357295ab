"""The store: content addressing, immutability, integrity on load, and crash safety of register."""

from __future__ import annotations

import os

import pytest

from registry.errors import IntegrityError, UnknownName
from registry.store import Store


def test_same_bytes_same_version(tmp_path, ckpts):
    s = Store(tmp_path / "h")
    v1, new1 = s.register("toy", {"weights": ckpts["good"]})
    v2, new2 = s.register("toy", {"weights": ckpts["good"]}, name="other name")
    assert new1 and not new2 and v1 == v2
    v3, _ = s.register("toy", {"weights": ckpts["good2"]})
    assert v3.number == 2 and v3.version_id != v1.version_id


def test_resolve_by_number_alias_and_prefix(tmp_path, ckpts):
    s = Store(tmp_path / "h")
    v, _ = s.register("toy", {"weights": ckpts["good"]})
    s.move_alias("toy", "production", expected=None, to=v.version_id, action="promote", verdict_digest="d")
    assert s.resolve("toy@1") == s.resolve("toy@production") == s.resolve(f"toy@{v.version_id[:8]}") == v
    with pytest.raises(UnknownName):
        s.resolve("toy@2")
    with pytest.raises(UnknownName):
        s.resolve("other@1")


def test_altered_object_is_detected_on_load(tmp_path, ckpts):
    s = Store(tmp_path / "h")
    v, _ = s.register("toy", {"weights": ckpts["good"]})
    obj = s.objects.path(v.files[0].sha256)
    os.chmod(obj, 0o644)
    data = bytearray(obj.read_bytes())
    data[-1] ^= 0xFF
    obj.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="altered"):
        s.checkout(v)


def test_checkout_keeps_file_names(tmp_path, ckpts):
    s = Store(tmp_path / "h")
    v, _ = s.register("toy", {"weights": ckpts["good"]})
    path = s.checkout(v)["weights"]
    assert path.name == "good.safetensors" and path.read_bytes() == ckpts["good"].read_bytes()


@pytest.mark.parametrize("point", ["register:objects-written", "register:catalog-written"])
def test_sigkill_during_register_leaves_nothing_half_written(home, ckpts, point):
    from clirun import run_cli

    assert run_cli("register", "toy", str(ckpts["good"])).returncode == 0
    killed = run_cli("register", "toy", str(ckpts["good2"]), env={"REGISTRY_CRASH_AT": point})
    assert killed.returncode == -9
    s = Store(home)
    assert [v.number for v in s.versions()] == [1]
    # the next writer (here in this process, so that mutation testing maps register to this test) sweeps what
    # the killed one left behind
    assert s.register("toy", {"weights": ckpts["good"]}) == (s.versions()[0], False)
    referenced = {f.sha256 for v in s.versions() for f in v.files}
    assert set(s.objects.all_hashes()) == referenced
    assert not s.objects.tmp.exists() or not any(s.objects.tmp.iterdir())
    assert s.verify_ledger() == []


def test_registering_the_same_bytes_repairs_an_altered_object(tmp_path, ckpts):
    s = Store(tmp_path / "h")
    v, _ = s.register("toy", {"weights": ckpts["good"]})
    obj = s.objects.path(v.files[0].sha256)
    os.chmod(obj, 0o644)
    obj.write_bytes(b"rotten")
    with pytest.raises(IntegrityError):
        s.checkout(v)
    assert s.register("toy", {"weights": ckpts["good"]}) == (v, False)
    assert s.checkout(v)["weights"].read_bytes() == ckpts["good"].read_bytes()


def test_any_writer_sweeps_what_a_killed_register_left(home, ckpts):
    from clirun import run_cli

    run_cli("register", "toy", str(ckpts["good"]))
    assert run_cli("register", "toy", str(ckpts["good2"]),
                   env={"REGISTRY_CRASH_AT": "register:objects-written"}).returncode == -9
    s = Store(home)
    assert len(set(s.objects.all_hashes())) == 2
    assert run_cli("promote", "toy@1", "--to", "production").returncode == 0
    assert set(s.objects.all_hashes()) == {f.sha256 for v in s.versions() for f in v.files}


def test_versions_are_numbered_per_family_and_named_by_default(tmp_path, ckpts, monkeypatch):
    monkeypatch.setenv("REGISTRY_USER", "ada")
    s = Store(tmp_path / "h")
    a, _ = s.register("toy", {"weights": ckpts["good"]}, lineage={"from": "test"})
    b, _ = s.register("other", {"weights": ckpts["good"]})  # same bytes, another family: another version
    c, _ = s.register("toy", {"weights": ckpts["good2"]}, name="second")
    assert (a.number, a.name, b.number, b.name, c.number, c.name) == (1, "toy-1", 1, "other-1", 2, "second")
    assert a.version_id != b.version_id and a.lineage == {"from": "test"} and a.created_by == "ada"
    assert [v.ref for v in s.versions()] == ["other@1", "toy@1", "toy@2"]
    assert [v.ref for v in s.versions("toy")] == ["toy@1", "toy@2"] and s.families_in_use() == ["other", "toy"]
    assert s.by_id(c.version_id) == c == s.resolve(f"toy@{c.version_id[:6]}")
    with pytest.raises(UnknownName, match="no version with id 000000000000"):
        s.by_id("0" * 64)


def test_version_identity_is_the_family_and_the_files_by_role():
    from registry.store import version_id_for

    one = version_id_for("toy", {"a": "1" * 64, "b": "2" * 64})
    assert one == version_id_for("toy", {"b": "2" * 64, "a": "1" * 64})  # the order roles are given in is not part
    assert one != version_id_for("toy", {"a": "2" * 64, "b": "1" * 64})  # the same files in swapped roles are not
    assert one != version_id_for("toi", {"a": "1" * 64, "b": "2" * 64})


def test_move_alias_is_a_compare_and_set(tmp_path, ckpts):
    from registry.errors import AliasMoved

    s = Store(tmp_path / "h")
    a, _ = s.register("toy", {"weights": ckpts["good"]})
    b, _ = s.register("toy", {"weights": ckpts["good2"]})
    first = s.move_alias("toy", "production", expected=None, to=a.version_id, action="promote", verdict_digest="d")
    assert (first.seq, first.from_version, first.to_version) == (1, None, a.version_id)
    with pytest.raises(AliasMoved, match="it now points at toy@1, not nothing; decide again"):
        s.move_alias("toy", "production", expected=None, to=b.version_id, action="promote", verdict_digest="d")
    with pytest.raises(AliasMoved, match="it now points at toy@1, not toy@2"):
        s.move_alias("toy", "production", expected=b.version_id, to=b.version_id, action="promote", verdict_digest="d")
    assert s.ledger() == [first] and s.holder("toy", "production") == a.version_id
    second = s.move_alias("toy", "production", expected=a.version_id, to=b.version_id, action="promote",
                          verdict_digest="d")
    assert (second.seq, second.from_version, second.prev_hash) == (2, a.version_id, first.entry_hash)
    s.move_alias("toy", "staging", expected=None, to=a.version_id, action="promote", verdict_digest="d")
    unset = s.move_alias("toy", "staging", expected=a.version_id, to=None, action="rollback", verdict_digest="d")
    assert unset.to_version is None and s.holder("toy", "staging") is None
    assert s.aliases() == {("toy", "production"): b.version_id} and s.aliases("other") == {}
    assert [e.seq for e in s.ledger("toy", "staging")] == [3, 4] and s.ledger("other") == []
    entries = s.ledger()
    assert all(x.entry_hash == y.prev_hash for x, y in zip(entries, entries[1:], strict=False))


def test_evidence_is_listed_oldest_first_per_version_and_suite(app, ckpts):
    from registry.promotion import promote

    s = app.store
    a, _ = s.register("toy", {"weights": ckpts["good"]})
    runs = [promote(app, a.ref, "staging", dry_run=True, suite=suite).evidence for suite in ("release", "empty")]
    runs.append(promote(app, a.ref, "staging", dry_run=True, suite="release", seed=1).evidence)
    assert [e.evidence_id for e in s.evidence_for(a.version_id)] == [e.evidence_id for e in runs]
    assert [e.evidence_id for e in s.evidence_for(a.version_id, "release")] == [runs[0].evidence_id,
                                                                                runs[2].evidence_id]
    assert s.evidence(runs[1].evidence_id) == runs[1]
    with pytest.raises(UnknownName, match="no evidence abcdefabcdef"):
        s.evidence("abcdef" * 10)
    b, _ = s.register("toy", {"weights": ckpts["good2"]})
    assert s.evidence_for(b.version_id) == []
    moved = promote(app, a.ref, "production")
    assert s.head_after(moved.evidence.evidence_id) == s.ledger_head() == (1, moved.entry.entry_hash)
    assert s.head_after("f" * 64) is None


def test_who_acts_is_the_context_actor_then_registry_user(monkeypatch):
    from registry.store import ACTOR, current_user, now_utc

    monkeypatch.setenv("REGISTRY_USER", "ada")
    assert current_user() == "ada"
    token = ACTOR.set("web-token-1")
    try:
        assert current_user() == "web-token-1"
    finally:
        ACTOR.reset(token)
    assert len(now_utc()) == len("2026-01-01T00:00:00+00:00") and "." in now_utc(precise=True)


def test_an_empty_home_answers_without_creating_anything(tmp_path):
    from registry.ledger import GENESIS

    home = tmp_path / "never-used"
    s = Store(home)
    assert (s.versions(), s.families_in_use(), s.aliases(), s.ledger(), s.evidence_for("v")) == ([], [], {}, [], [])
    assert s.verify_ledger() == [] and s.ledger_head() == (0, GENESIS) and s.head_after("e") is None
    assert s.verify_ledger(witnesses=[(1, "a" * 64)]) == [
        f"witnessed head 1:{'a' * 16}… is no longer in the ledger (entry 1 is gone)"]
    with pytest.raises(UnknownName, match=r"no version toy@1: the registry at .* is empty"):
        s.resolve("toy@1")
    with pytest.raises(UnknownName, match="no version with id"):
        s.by_id("v")
    with pytest.raises(UnknownName, match="no evidence"):
        s.evidence("e")
    assert not (home / "catalog.duckdb").exists()


def test_resolve_says_which_kind_of_name_is_missing(tmp_path, ckpts):
    from registry.errors import AliasMoved

    s = Store(tmp_path / "h")
    v, _ = s.register("toy", {"weights": ckpts["good"]})
    with pytest.raises(UnknownName, match="^alias toy@production is not set: no version of toy holds it yet$"):
        s.resolve("toy@production")
    with pytest.raises(UnknownName, match=r"^no version toy@canary \(not a version number, alias or hash prefix"):
        s.resolve("toy@canary")
    s.move_alias("toy", "production", expected=None, to=v.version_id, action="promote", verdict_digest="d")
    with pytest.raises(AliasMoved, match=f"it now points at toy@1, not {'f' * 12}; decide again"):
        s.move_alias("toy", "production", expected="f" * 64, to=None, action="rollback", verdict_digest="d")


def test_a_hash_prefix_two_versions_share_is_ambiguous(tmp_path):
    from registry.naming import VersionRef

    s = Store(tmp_path / "h")
    made = []
    for i in (43, 322, 7):  # synthetic contents: the first two give version ids that share their first 4 hex digits
        path = tmp_path / f"w{i}.bin"
        path.write_bytes(b"synthetic weights %d" % i)
        made.append(s.register("toy", {"weights": path})[0])
    a, b, c = made
    assert a.version_id[:4] == b.version_id[:4] == "8dbe" and a.version_id[:5] != b.version_id[:5]
    with pytest.raises(UnknownName, match="^toy@8dbe is ambiguous: 2 versions start with '8dbe'$"):
        s.resolve("toy@8dbe")
    assert s.resolve(f"toy@{b.version_id[:5]}") == b and s.resolve(VersionRef("toy", "3")) == c
    assert s.resolve(VersionRef("toy", c.version_id[:4])) == c


def test_an_alias_known_only_from_the_ledger_is_not_set_once_unset(tmp_path, ckpts):
    s = Store(tmp_path / "h")
    v, _ = s.register("toy", {"weights": ckpts["good"]})
    s.move_alias("toy", "canary", expected=None, to=v.version_id, action="promote", verdict_digest="d")
    s.move_alias("toy", "canary", expected=v.version_id, to=None, action="rollback", verdict_digest="d")
    with pytest.raises(UnknownName, match="^alias toy@canary is not set: no version of toy holds it yet$"):
        s.resolve("toy@canary")
    with pytest.raises(UnknownName, match=r"^no version toy@canar \(not a version number"):
        s.resolve("toy@canar")


def test_error_messages_name_the_id_prefix_exactly(tmp_path, ckpts):
    s = Store(tmp_path / "h")
    s.register("toy", {"weights": ckpts["good"]})
    with pytest.raises(UnknownName, match="^no version with id 0123456789ab$"):
        s.by_id("0123456789abcdef" * 4)
    with pytest.raises(UnknownName, match="^no evidence 0123456789ab$"):
        s.evidence("0123456789abcdef" * 4)


def test_a_catalog_size_that_disagrees_with_the_object_is_refused_on_checkout(tmp_path, ckpts):
    s = Store(tmp_path / "h")
    v, _ = s.register("toy", {"weights": ckpts["good"]})
    with s.catalog.write() as con:
        con.execute("UPDATE files SET size = size + 1 WHERE version_id = ?", [v.version_id])
    edited = s.by_id(v.version_id)
    with pytest.raises(IntegrityError, match=f"^object {v.files[0].sha256[:12]} has the wrong size$"):
        s.checkout(edited)


def test_a_checkout_link_that_was_removed_is_made_again(tmp_path, ckpts):
    s = Store(tmp_path / "h")
    v, _ = s.register("toy", {"weights": ckpts["good"]})
    w, _ = s.register("toy", {"weights": ckpts["good2"]})
    first = s.checkout(v)["weights"]
    assert first.parent.parent.name == v.version_id[:16] and first.parent.name == "weights"
    first.unlink()  # its folder stays
    again = s.checkout(v)["weights"]
    assert again == first and again.read_bytes() == ckpts["good"].read_bytes()
    assert s.checkout(w)["weights"].parent.parent.name == w.version_id[:16]


def test_names_with_control_characters_are_refused_naming_what_holds_them(tmp_path, ckpts, monkeypatch):
    from registry.errors import InvalidInput

    s = Store(tmp_path / "h")
    with pytest.raises(InvalidInput, match="^the version name contains the control character '\\\\n' at position 3"):
        s.register("toy", {"weights": ckpts["good"]}, name="bad\nname")
    odd = tmp_path / "we\x1bights.safetensors"
    odd.write_bytes(ckpts["good"].read_bytes())
    with pytest.raises(InvalidInput, match="^a file name contains the control character '\\\\x1b' at position 2"):
        s.register("toy", {"weights": odd})
    assert s.versions() == []
    monkeypatch.setenv("REGISTRY_USER", "ada\x07")
    with pytest.raises(InvalidInput, match=r"^the user name \(\$REGISTRY_USER or the login name\) contains"):
        s.register("toy", {"weights": ckpts["good"]})


def test_who_acts_is_unknown_when_no_login_name_can_be_found(monkeypatch):
    import getpass

    from registry.store import current_user

    def no_login() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.delenv("REGISTRY_USER", raising=False)
    monkeypatch.setattr(getpass, "getuser", no_login)
    assert current_user() == "unknown"


def test_a_move_records_its_evidence_and_is_unforced_without_a_reason_by_default(app, ckpts):
    from registry.ledger import verdict_digest
    from registry.promotion import promote

    s = app.store
    a, _ = s.register("toy", {"weights": ckpts["good"]})
    ev = promote(app, a.ref, "staging", dry_run=True, suite="tunable").evidence
    assert ev.passed
    entry = s.move_alias("toy", "staging", expected=None, to=a.version_id, action="promote",
                         verdict_digest=verdict_digest(ev, "staging", False), evidence=ev)
    assert (entry.evidence_id, entry.forced, entry.reason) == (ev.evidence_id, False, "")
    assert s.head_after(ev.evidence_id) == (1, entry.entry_hash)
    back = s.move_alias("toy", "staging", expected=a.version_id, to=None, action="rollback", verdict_digest="r",
                        evidence_id=ev.evidence_id)
    assert back.evidence_id == ev.evidence_id
    # promoted by the suite 'tunable' with no stored policy: only the family's default suite could have done that
    assert s.verify_ledger() == []
    assert s.verify_ledger(defaults={"toy": "release"}) == [
        "entry 1: an unforced promotion by suite tunable, which the policy of toy@staging did not accept (release)"]


@pytest.mark.parametrize("point", ["promote:ledger-written", "promote:alias-written"])
def test_sigkill_during_an_alias_move_leaves_the_alias_and_ledger_as_they_were(home, ckpts, point):
    from clirun import run_cli

    s = Store(home)
    v, _ = s.register("toy", {"weights": ckpts["good"]})
    killed = run_cli("promote", "toy@1", "--to", "production", env={"REGISTRY_CRASH_AT": point})
    assert killed.returncode == -9
    assert s.holder("toy", "production") is None and s.ledger() == [] and s.verify_ledger() == []
    moved = s.move_alias("toy", "production", expected=None, to=v.version_id, action="promote", verdict_digest="d")
    assert moved.seq == 1 and s.holder("toy", "production") == v.version_id


def test_versions_may_share_a_name_and_objects_live_under_the_home(tmp_path, ckpts):
    s = Store(tmp_path / "h")
    a, _ = s.register("toy", {"weights": ckpts["good"]}, name="nightly")
    b, _ = s.register("toy", {"weights": ckpts["good2"]}, name="nightly")
    assert [(v.number, v.name, v.files) for v in s.versions()] == [(1, "nightly", a.files), (2, "nightly", b.files)]
    assert len(a.files) == len(b.files) == 1
    assert s.objects.path(a.files[0].sha256).is_relative_to(tmp_path / "h" / "objects")
    assert (tmp_path / "h" / "objects").is_dir()


def test_a_witnessed_head_the_ledger_no_longer_has_is_reported(tmp_path, ckpts):
    s = Store(tmp_path / "h")
    v, _ = s.register("toy", {"weights": ckpts["good"]})
    entry = s.move_alias("toy", "production", expected=None, to=v.version_id, action="promote", verdict_digest="d")
    base = s.verify_ledger()  # (a bare move has no evidence, which the ledger check reports)
    assert s.verify_ledger(witnesses=[(1, entry.entry_hash)]) == base
    forged = [p for p in s.verify_ledger(witnesses=[(1, "b" * 64)]) if p not in base]
    assert len(forged) == 1 and forged[0].startswith(f"witnessed head 1:{'b' * 16}…")
