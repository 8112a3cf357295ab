"""The ``registry`` command end to end in child processes: exit codes, JSON, one-line errors, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

from clirun import run_cli


def _files(home: Path) -> set[Path]:
    return {p for p in home.rglob("*") if p.is_file() and p.name != "catalog.lock"} if home.exists() else set()


def test_help_does_not_import_torch_or_duckdb():
    code = ("import sys; from registry.cli import main; rc = main(['--help']); "
            "print('HEAVY', sorted(m for m in ('torch', 'duckdb', 'numpy', 'pluggy') if m in sys.modules))")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out and "promote" in out


def test_register_promote_json_and_exit_codes(home, ckpts):
    r = run_cli("register", "toy", str(ckpts["good"]), "--name", "first", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["version"] == "toy@1"
    again = run_cli("register", "toy", str(ckpts["good"]), "--json")
    assert json.loads(again.stdout)["created"] is False
    r = run_cli("promote", "toy@1", "--to", "production", "--json")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["verdict"] == "promoted" and body["alias"] == "production" and body["version"] == "toy@1"
    assert {g["name"] for g in body["gates"]} == {"skill_vs_climatology", "spread_ratio", "not_worse_than_champion"}
    assert all({"name", "passed", "value", "threshold", "message"} <= set(g) for g in body["gates"])
    assert Path(body["scorecard"]).is_file()

    run_cli("register", "toy", str(ckpts["constant"]))
    r = run_cli("promote", "toy@2", "--to", "production", "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["verdict"] == "refused"
    r = run_cli("promote", "toy@2", "--to", "production", "--dry-run", "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["dry_run"] is True

    shown = json.loads(run_cli("show", "toy@production", "--json").stdout)
    assert shown["number"] == 1 and shown["aliases"] == ["production"]
    listed = json.loads(run_cli("list", "--json").stdout)["versions"]
    assert [v["version"] for v in listed] == ["toy@1", "toy@2"]
    hist = json.loads(run_cli("history", "toy", "production", "--json").stdout)["entries"]
    assert len(hist) == 1 and hist[0]["to"] == "toy@1"
    assert run_cli("verify-ledger").returncode == 0
    v = run_cli("verify", "toy@1", "--json")
    assert v.returncode == 0 and json.loads(v.stdout)["reproduced"] is True


def test_predict_reads_family_input(home, ckpts, tmp_path):
    run_cli("register", "toy", str(ckpts["good"]))
    inp = tmp_path / "x.csv"
    inp.write_text("1,0,0,0\n0,1,0,0\n")
    r = run_cli("predict", "toy@1", "--input", str(inp), "--json")
    assert r.returncode == 0, r.stderr
    ys = [row["y"] for row in json.loads(r.stdout)["rows"]]
    assert abs(ys[0] - 2.5) < 0.3 and abs(ys[1] - (-0.5)) < 0.3
    inp.write_text("1,2\n")
    bad = run_cli("predict", "toy@1", "--input", str(inp))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_malformed_input_is_one_line_and_writes_nothing(home, ckpts, tmp_path):
    truncated = tmp_path / "trunc.safetensors"
    truncated.write_bytes(ckpts["good"].read_bytes()[:100])
    wrong = tmp_path / "wrong.safetensors"
    from toy_family import train_checkpoint

    train_checkpoint(wrong, hidden=5, steps=1)
    cases = [
        ("register", "nosuch", str(ckpts["good"])),
        ("register", "toy", str(truncated)),
        ("register", "toy", str(wrong)),
        ("register", "toy", str(tmp_path / "missing.safetensors")),
        ("register", "toy", str(ckpts["good"]), "--config", str(tmp_path / "nope.json")),
        ("promote", "toy@7", "--to", "production"),
        ("promote", "toy", "--to", "production"),
        ("promote", "toy@1", "--to", "Bad Alias"),
        ("show", "toy@9f9f9f"),
        ("rollback", "toy", "production"),
    ]
    for args in cases:
        r = run_cli(*args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("registry: error:"), (args, r.stderr)
        assert "Traceback" not in r.stderr
    assert not (home / "catalog.duckdb").exists()
    assert not any((home / "objects").rglob("*")) if (home / "objects").exists() else True


def test_bad_json_config_is_usage_error(home, ckpts, tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text("{not json")
    r = run_cli("register", "toy", str(ckpts["good"]), "--config", str(cfg), "--json")
    assert r.returncode == 2 and json.loads(r.stdout)["error"] == "InvalidCheckpoint"
    assert _files(home) == set()


def test_pickle_with_code_is_refused_and_not_run(home, tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):  # noqa: ANN204
            import os

            return (os.system, (f"touch {marker}",))

    import torch

    evil = tmp_path / "evil.pt"
    torch.save({"0.weight": Evil()}, evil, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    r = run_cli("register", "toy", str(evil))
    assert r.returncode == 2 and "the file carries code: its pickle would import posix.system" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not marker.exists()
    assert _files(home) == set()


def test_read_only_commands_do_not_import_torch(home, ckpts):
    import subprocess
    import sys

    from clirun import child_env

    run_cli("register", "toy", str(ckpts["good"]))
    code = ("import sys\nfrom registry.cli import main\n"
            "for args in (['plugins'], ['list'], ['show', 'toy@1'], ['history', 'toy'], ['verify-ledger']):\n"
            "    assert main(args) == 0, args\n"
            "print('TORCH LOADED' if 'torch' in sys.modules else 'TORCH NOT LOADED')\n")
    env = child_env()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "TORCH NOT LOADED"


def test_usage_errors_are_json_under_json(home):
    r = run_cli("promote", "toy@1", "--json")  # --to is missing
    assert r.returncode == 2
    body = json.loads(r.stdout)
    assert body["error"] == "UsageError" and "--to" in body["message"]
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("registry: error:")


def test_control_characters_in_names_reasons_users_and_code_versions_are_refused(home, ckpts, capsys, monkeypatch):
    """A name with a newline used to make `registry list` print a forged `toy@99 … production` row."""
    from registry.cli import main

    forged = "x\ntoy@99            abcdef123456  production"
    cases = [["register", "toy", str(ckpts["good"]), "--name", forged],
             ["register", "toy", str(ckpts["good"]), "--code-version", "abc\x1b[31m"]]
    for args in cases:
        assert main(args) == 2, args
    assert not (home / "catalog.duckdb").exists()
    assert main(["register", "toy", str(ckpts["good"])]) == 0
    capsys.readouterr()
    for args in (["promote", "toy@1", "--to", "production", "--force", "--reason", "ok\nFORCED: nothing"],
                 ["rollback", "toy", "production", "--reason", "\x1b]0;title\x07"]):
        assert main(args) == 2, args
        assert "control character" in capsys.readouterr().err
    monkeypatch.setenv("REGISTRY_USER", "eve\nadmin")
    assert main(["promote", "toy@1", "--to", "production"]) == 2
    assert "the user name" in capsys.readouterr().err
    from registry.store import Store

    assert Store(home).ledger() == [] and Store(home).evidence_for(Store(home).versions()[0].version_id) == []
