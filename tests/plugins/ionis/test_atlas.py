"""The IRI atlas: SFI bucket rules, midpoint grids, lookups, and a file format that refuses what it is not."""

from __future__ import annotations

import numpy as np
import pytest

from plugins.ionis.atlas import AtlasRule, IriAtlas, grid_of, midpoint_grid
from registry.errors import InvalidCheckpoint, InvalidInput


def test_v23_round_rule_matches_the_spec_formula():
    rule = AtlasRule.from_config({"iri_atlas": {"sfi_bucket": "round", "buckets": 18}})
    sfi = np.array([50, 69.9, 74.9, 75, 84.9, 85, 95, 150, 240, 244.9, 245, 400])
    spec = np.clip(np.round(sfi / 10) - 7, 0, 17)  # clip(round(SFI/10) − 7, 0, 17), half to even
    assert rule.bucket(sfi).tolist() == spec.astype(int).tolist()
    assert rule.bucket(np.array([75.0, 85.0])).tolist() == [1, 1]  # round(7.5) = 8, round(8.5) = 8
    assert rule.sfi_values[[0, -1]].tolist() == [70.0, 240.0]


def test_audit03_floor_rule_has_35_buckets_of_5():
    rule = AtlasRule.from_config({"iri_atlas": {"sfi_bucket": "floor", "buckets": 35, "sfi_step": 5}})
    sfi = np.array([50, 70, 74.99, 75, 79.99, 150, 239.99, 240, 400])
    assert rule.bucket(sfi).tolist() == [0, 0, 0, 1, 1, 16, 33, 34, 34]
    assert len(rule.sfi_values) == 35 and rule.sfi_values[-1] == 240.0


def test_without_a_block_the_rule_is_v23s():
    assert AtlasRule.from_config({}) == AtlasRule("round", 18, 70.0, 10.0)


@pytest.mark.parametrize("block", [{"sfi_bucket": "ceil"}, {"buckets": 0}, {"sfi_step": 0}])
def test_bad_rules_are_refused(block):
    with pytest.raises(InvalidCheckpoint, match="iri_atlas rule"):
        AtlasRule.from_config({"iri_atlas": block})


def test_grids_of_points_and_midpoints():
    assert grid_of(np.array([46.5, 51.5, -90.0, 90.0]), np.array([-111.0, -0.12, -180.0, 180.0])).tolist() == [
        "DN46", "IO91", "AA00", "RR99"]
    # W3 (39.14, −77.01) → G (51.50, −0.12): means 45.32, −38.565 → HN05
    assert midpoint_grid(np.array([39.14]), np.array([-77.01]), np.array([51.5]), np.array([-0.12])).tolist() == [
        "HN05"]


def _tiny(rule: AtlasRule | None = None) -> IriAtlas:
    rule = rule or AtlasRule("round", 2)
    shape = (2, 24, 12, rule.buckets)
    f2 = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) / 1000 + 1
    atlas = IriAtlas(("DN46", "HN05"), f2, f2 / 4, f2 * 0 + 250, rule, {"source": "SYNTHETIC test atlas"})
    return IriAtlas.from_bytes(atlas.to_bytes())


def test_lookup_reads_grid_hour_month_and_bucket():
    atlas = _tiny()
    got = atlas.lookup(np.array(["HN05", "DN46"]), np.array([13.7, 0.0]), np.array([12, 1]), np.array([80.0, 50.0]))
    assert got["foF2"][0] == pytest.approx(float(atlas.foF2[1, 13, 11, 1]))
    assert got["foF2"][1] == pytest.approx(float(atlas.foF2[0, 0, 0, 0]))
    assert got["hmF2"].tolist() == [250.0, 250.0]


def test_lookup_of_a_grid_outside_the_atlas_names_it():
    with pytest.raises(InvalidInput,
                       match=r"has no grid JO01; add them to the atlas: python -m plugins.ionis.atlas_build "
                             r"--config CONFIG --paths CSV \(or --grids …\) registers a new atlas holding them too"):
        _tiny().lookup(np.array(["HN05", "JO01"]), np.zeros(2), np.ones(2), np.full(2, 100.0))


def test_file_bytes_are_deterministic_and_digest_is_their_sha256(tmp_path):
    import hashlib

    a, b = _tiny().to_bytes(), _tiny().to_bytes()
    assert a == b
    (tmp_path / "a.npz").write_bytes(a)
    assert IriAtlas.read(tmp_path / "a.npz").digest == hashlib.sha256(a).hexdigest()


def test_garbage_and_wrong_shapes_are_refused(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"not a zip")
    with pytest.raises(InvalidCheckpoint, match="x.npz: not an IRI atlas file"):
        IriAtlas.read(tmp_path / "x.npz")
    atlas = _tiny()
    bad = IriAtlas(atlas.grids, atlas.foF2[:, :23], atlas.foE, atlas.hmF2, atlas.rule, {})
    with pytest.raises(InvalidCheckpoint, match="arrays are not finite of shape"):
        IriAtlas.from_bytes(bad.to_bytes())
    nan = atlas.foE.copy()
    nan[0, 0, 0, 0] = np.nan
    with pytest.raises(InvalidCheckpoint, match="not finite"):
        IriAtlas.from_bytes(IriAtlas(atlas.grids, atlas.foF2, nan, atlas.hmF2, atlas.rule, {}).to_bytes())


def test_an_atlas_of_another_rule_is_refused():
    with pytest.raises(InvalidCheckpoint, match="built for 2 SFI buckets .* asks for 35 SFI buckets"):
        _tiny().check_rule(AtlasRule("floor", 35, 70.0, 5.0))
