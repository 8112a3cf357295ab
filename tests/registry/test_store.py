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
    # the next writer sweeps what the killed one left behind
    assert run_cli("register", "toy", str(ckpts["good"])).returncode == 0
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
