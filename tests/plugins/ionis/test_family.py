"""The ``ionis`` family object against the core Family protocol."""

from __future__ import annotations

import pytest

from plugins.ionis.checkpoint import IonisBundle
from plugins.ionis.family import IonisFamily
from plugins.ionis.suites import ionis_suites
from registry.errors import InvalidCheckpoint
from registry.family import Family


def test_satisfies_the_protocol():
    family = IonisFamily()
    assert isinstance(family, Family)
    assert family.name == "ionis" and family.roles[0].name == "weights" and family.roles[0].required
    assert [r.name for r in family.roles if not r.required] == ["config", "meta", "atlas"]  # atlas: retired, refused
    assert family.default_suite in {s.name for s in ionis_suites()}


def test_validate_returns_facts(release_files):
    facts = IonisFamily().validate(release_files("v21-beta"))
    assert facts["parameters"] == 204_597 and facts["dnn_dim"] == 13 and facts["config_version"] == "v21"
    assert facts["features"][10:13] == ["mutual_darkness", "mutual_daylight", "vertex_lat"]


def test_validate_without_weights():
    with pytest.raises(InvalidCheckpoint, match="needs a 'weights' file"):
        IonisFamily().validate({})


def test_load_and_predict(release_files, tmp_path):
    family = IonisFamily()
    model = family.load(release_files("v21-alpha"), device="cpu")
    assert isinstance(model, IonisBundle) and model.dnn_dim == 12
    csv = tmp_path / "p.csv"
    csv.write_text("tx_grid,rx_grid,band,hour_utc,month,day_of_year,sfi,kp\nDN46,FM19,20m,19,12,355,150,2\n")
    rows = family.predict(model, csv)
    assert len(rows) == 1 and set(rows[0]) >= {"sigma", "db", "band"}


def test_release_files_finds_later_versions_in_sub_folders(tmp_path, later_release):
    import shutil

    for tag in ("v24", "v25-beta", "v23"):
        folder = tmp_path / "versions" / tag.replace("-", "_")
        folder.mkdir(parents=True)
        for path in later_release(tag).values():
            shutil.copy(path, folder / path.name)
    (tmp_path / "versions" / "v23" / "iri_atlas.npz").write_bytes(b"an atlas file beside the weights")
    found = dict(IonisFamily().release_files(tmp_path))
    assert sorted(found) == ["v23", "v24", "v25-beta"]
    assert found["v25-beta"]["config"].name == "config_v25_beta.json"
    assert sorted(found["v23"]) == ["config", "weights"]  # the atlas is a registered dataset, not a file


def test_malformed_config_and_meta_are_one_usage_error_and_write_nothing(release_files, tmp_path, monkeypatch,
                                                                          capsys):
    """Each of these was an internal error (exit 3) or was accepted and changed gate values."""
    import json

    from registry.cli import main

    home = tmp_path / "home"
    monkeypatch.setenv("REGISTRY_HOME", str(home))
    files = release_files("v20")
    config = json.loads(files["config"].read_text())
    cases = {
        "5,000-digit integer": ("config", json.dumps(config)[:-1] + ', "big": ' + "9" * 5000 + "}"),
        "model as a string": ("config", json.dumps({**config, "model": "IonisGate"})),
        "model as a list": ("config", json.dumps({**config, "model": ["IonisGate"]})),
        "200,000 levels deep": ("config", '{"x": ' + "[" * 200_000 + "]" * 200_000 + "}"),
        "NaN threshold": ("config", json.dumps({**config, "validation": {**config.get("validation", {}),
                                                                          "pearson_min": float("nan")}})),
        "1e308 frequency": ("config", json.dumps({**config, "band_to_hz": {**config["band_to_hz"], "102": 1e308}})),
        "val_pearson 10": ("meta", json.dumps({**json.loads(files["meta"].read_text()), "val_pearson": 10.0})),
        "2 MiB meta": ("meta", json.dumps({"pad": "x" * 2 * 2**20})),
    }
    for why, (role, text) in cases.items():
        bad = tmp_path / f"{role}.json"
        bad.write_text(text)
        args = ["register", "ionis", str(files["weights"]), "--config", str(files["config"]),
                "--meta", str(files["meta"]), f"--{role}", str(bad)]
        assert main(args) == 2, why
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("registry: error:") and "internal" not in err[0], (why, err)
    assert not (home / "catalog.duckdb").exists()
    assert main(["register", "ionis", str(files["weights"]), "--config", str(files["config"]),
                 "--meta", str(files["meta"])]) == 0
