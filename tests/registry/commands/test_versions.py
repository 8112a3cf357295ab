"""``registry register``: what is validated is what is stored; lineage names the cached rows it was trained on."""

from __future__ import annotations

import hashlib
import shutil

from registry.commands.versions import register_validated


def test_a_file_changed_after_validation_is_not_what_gets_stored(app, ckpts, tmp_path):
    user_file = tmp_path / "weights.safetensors"
    shutil.copyfile(ckpts["good"], user_file)
    validated = hashlib.sha256(user_file.read_bytes()).hexdigest()
    family = app.plugins.family("toy")

    class Racing:  # validates, then someone rewrites the user's file before the store reads it
        name, roles = family.name, family.roles

        def validate(self, files):  # noqa: ANN001, ANN201
            facts = family.validate(files)
            shutil.copyfile(ckpts["good2"], user_file)
            return facts

    version, created = register_validated(app, Racing(), {"weights": user_file}, lineage={})
    assert created and version.files[0].sha256 == validated
    assert version.lineage["source_files"] == {"weights": "weights.safetensors"}


def test_register_names_the_cached_rows_of_its_extracts(home, ckpts):
    from clirun import run_cli

    r = run_cli("register", "toy", str(ckpts["good"]), "--extract", "toy-obs")
    assert r.returncode == 2 and "not in the cache" in r.stderr and r.stderr.count("\n") == 1
    assert run_cli("list", "toy").stdout.count("toy@") == 0  # nothing was written


def test_a_file_over_its_roles_size_limit_is_refused_before_it_is_copied(home, ckpts, tmp_path, capsys):
    from registry.cli import main

    cfg = tmp_path / "config.json"
    cfg.write_text('{"hidden": 8, "pad": "' + "x" * (64 * 1024) + '"}')
    assert main(["register", "toy", str(ckpts["good"]), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"config file config.json is {cfg.stat().st_size:,} bytes; family 'toy' accepts at most 65,536" in err
    assert not (home / "catalog.duckdb").exists()
    cfg.write_text('{"hidden": 8}')
    assert main(["register", "toy", str(ckpts["good"]), "--config", str(cfg)]) == 0


def test_predict_help_lists_each_familys_input_columns(home, capsys):
    from registry.cli import main

    assert main(["predict", "--help"]) == 0
    out = capsys.readouterr().out
    assert "  toy (4): x0…x3 [1] ×4\n" in out and "      x3                 1          feature 3" in out


def test_plugins_lists_input_columns(home, capsys):
    import json

    from registry.cli import main

    assert main(["plugins", "--json"]) == 0
    fam = json.loads(capsys.readouterr().out)["families"]["toy"]
    assert [c["name"] for c in fam["input_columns"]] == ["x0", "x1", "x2", "x3"]
