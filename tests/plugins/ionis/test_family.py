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
    assert [r.name for r in family.roles if not r.required] == ["config", "meta", "atlas"]
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


def test_release_files_finds_later_versions_in_sub_folders(tmp_path, later_release, v23_atlas):
    import shutil

    for tag in ("v24", "v25-beta", "v23"):
        folder = tmp_path / "versions" / tag.replace("-", "_")
        folder.mkdir(parents=True)
        for path in later_release(tag).values():
            shutil.copy(path, folder / path.name)
    shutil.copy(v23_atlas, tmp_path / "versions" / "v23" / "iri_atlas.npz")
    found = dict(IonisFamily().release_files(tmp_path))
    assert sorted(found) == ["v23", "v24", "v25-beta"]
    assert found["v25-beta"]["config"].name == "config_v25_beta.json"
    assert found["v23"]["atlas"].name == "iri_atlas.npz" and "atlas" not in found["v24"]
