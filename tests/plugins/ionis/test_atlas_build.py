"""Building the IRI atlas with PyIRI: plausible values, plain PyIRI's numbers, registered as a dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PyIRI", reason="building the IRI atlas needs pyiri (a test extra)")

from plugins.ionis.atlas import AtlasRule, IriAtlas  # noqa: E402  (after the skip)
from plugins.ionis.atlas_build import FAILED, build, ensure_atlas, gate_grids, import_file, main  # noqa: E402

SMALL = AtlasRule("round", 1)


def test_values_are_physical_and_the_build_is_reproducible():
    a, b = build(["DN46", "HN05"], AtlasRule("round", 2)), build(["HN05", "DN46"], AtlasRule("round", 2))
    assert a.digest == b.digest and a.grids == ("DN46", "HN05")
    assert a.provenance["pyiri"] and a.provenance["failed_calls"] == 0 and a.provenance["year"] == 2025
    assert 0.5 < a.foF2.min() and a.foF2.max() < 20  # MHz
    assert (a.hmF2 >= 100).all() and (a.foE >= 0).all() and (a.foE < a.foF2).all()
    # higher F10.7 (bucket 1 = 80 SFU vs 70) raises the daily mean foF2 at both grids
    assert (a.foF2[..., 1].mean(axis=1) > a.foF2[..., 0].mean(axis=1)).all()
    assert not np.isclose(a.foF2, FAILED["foF2"]).all()


def test_the_cached_coefficients_give_plain_pyiris_numbers():
    import PyIRI
    import PyIRI.main_library as iri

    atlas = build(["HN05"], SMALL)
    f2, _, e, *_ = iri.IRI_density_1day(2025, 7, 15, np.arange(24.0), np.array([-39.0]), np.array([45.5]),
                                        np.array([300.0]), 70.0, PyIRI.coeff_dir, 0)
    assert np.allclose(atlas.foF2[0, :, 6, 0], np.maximum(f2["fo"][:, 0], 0), rtol=1e-6)
    assert np.allclose(atlas.hmF2[0, :, 6, 0], np.maximum(f2["hm"][:, 0], 100), rtol=1e-6)
    assert np.allclose(atlas.foE[0, :, 6, 0], np.maximum(e["fo"][:, 0], 0), rtol=1e-6)


def test_a_request_the_newest_atlas_holds_builds_nothing_and_a_new_grid_registers_the_union(tmp_path):
    from cache.datasets import DatasetStore
    from registry.errors import IntegrityError

    ref, built = ensure_atlas(tmp_path, ["hn05"], SMALL)
    again, built_again = ensure_atlas(tmp_path, ["HN05"], SMALL)
    assert built and not built_again and again.digest == ref.digest
    assert ref.name == "ionis-iri-atlas.round1.70-by-10" and ref.header["dims"] == ["grid", "hour", "month",
                                                                                    "sfi_bucket"]
    wider, built_wider = ensure_atlas(tmp_path, ["DN46"], SMALL)  # a grid it lacks: rebuilt with both
    assert built_wider and wider.digest != ref.digest and wider.header["attrs"]["grids"] == ["DN46", "HN05"]
    store = DatasetStore(tmp_path)
    assert store.latest(SMALL.dataset_name).digest == wider.digest and store.by_digest(ref.name, ref.digest)
    atlas = IriAtlas.from_dataset(store.open(wider))
    assert atlas.digest == wider.digest and atlas.grids == ("DN46", "HN05") and atlas.rule == SMALL
    np.testing.assert_array_equal(atlas.foF2[1], IriAtlas.from_dataset(store.open(ref)).foF2[0])
    chunk = next(p for p in Path(wider.path, "foF2", "c").rglob("*") if p.is_file())
    chunk.write_bytes(chunk.read_bytes()[:-1] + bytes([chunk.read_bytes()[-1] ^ 1]))  # one bit flipped on disk
    with pytest.raises(IntegrityError, match="changed on disk"):
        IriAtlas.from_dataset(store.open(wider))


def test_an_atlas_file_from_before_imports_as_the_same_values_and_the_command_says_where_old_files_are(
        tmp_path, capsys):
    import json

    old = build(["HN05"], SMALL)
    folder = tmp_path / "home" / "ionis-atlas"
    folder.mkdir(parents=True)
    (folder / "0123.npz").write_bytes(old.to_bytes())
    ref = import_file(tmp_path / "home", folder / "0123.npz")
    from cache.datasets import DatasetStore

    new = IriAtlas.from_dataset(DatasetStore(tmp_path / "home").open(ref))
    assert new.grids == old.grids and new.rule == old.rule and new.provenance == old.provenance
    for a, b in ((new.foF2, old.foF2), (new.foE, old.foE), (new.hmF2, old.hmF2)):
        np.testing.assert_array_equal(a, b)  # the same float32 values the file held: lookups are unchanged
    (tmp_path / "c.json").write_text(json.dumps({"iri_atlas": SMALL.as_dict()}))
    assert main(["--config", str(tmp_path / "c.json"), "--grids", "HN05", "--home", str(tmp_path / "home")]) == 0
    # the import holds the request: nothing built
    out = capsys.readouterr().out
    assert out.startswith(f"already registered: dataset {ref.name} {ref.short} (1 grids") and (
        f"--import {folder}/*.npz" in out and "are not read" in out)
    (tmp_path / "bad.npz").write_bytes(b"not an atlas")
    assert main(["--import", str(tmp_path / "bad.npz"), "--home", str(tmp_path / "home")]) == 2
    assert "not an IRI atlas file" in capsys.readouterr().err


def test_gate_grids_hold_the_tst_path_midpoint():
    assert gate_grids()[0] == "HN05"


def test_command_line_builds_for_a_config(tmp_path, capsys, spec_config):
    import json

    from cache.datasets import DatasetStore

    config = spec_config("audit-03") | {"iri_atlas": {"sfi_bucket": "floor", "buckets": 1, "sfi_step": 5}}
    (tmp_path / "c.json").write_text(json.dumps(config))
    assert main(["--config", str(tmp_path / "c.json"), "--grids", "HN05", "--home", str(tmp_path / "home")]) == 0
    ref = DatasetStore(tmp_path / "home").latest("ionis-iri-atlas.floor1.70-by-5")
    atlas = IriAtlas.from_dataset(DatasetStore(tmp_path / "home").open(ref))
    assert atlas.rule == AtlasRule("floor", 1, 70.0, 5.0) and atlas.grids == ("HN05",)
    assert f"built and registered dataset {ref.name}" in (out := capsys.readouterr().out) and ref.digest in out
    assert main(["--grids", "ZZ99", "--home", str(tmp_path / "home")]) == 2
    assert "error:" in capsys.readouterr().err
