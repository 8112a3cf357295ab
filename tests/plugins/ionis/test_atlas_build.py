"""Building the IRI atlas with PyIRI: plausible values, the same numbers as plain PyIRI calls, cached by request."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PyIRI", reason="building the IRI atlas needs pyiri (a test extra)")

from plugins.ionis.atlas import AtlasRule, IriAtlas  # noqa: E402  (after the skip)
from plugins.ionis.atlas_build import FAILED, build, cached_atlas, gate_grids, main  # noqa: E402

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


def test_cache_builds_once_and_refuses_a_damaged_file(tmp_path):
    from registry.errors import InvalidCheckpoint

    path, built = cached_atlas(tmp_path, ["hn05"], SMALL)
    again, built_again = cached_atlas(tmp_path, ["HN05"], SMALL)
    assert built and not built_again and again == path
    other, _ = cached_atlas(tmp_path, ["HN05", "DN46"], SMALL)
    assert other != path  # another request, another file
    path.write_bytes(b"damaged")
    with pytest.raises(InvalidCheckpoint):
        cached_atlas(tmp_path, ["HN05"], SMALL)


def test_gate_grids_hold_the_tst_path_midpoint():
    assert gate_grids()[0] == "HN05"


def test_command_line_builds_for_a_config(tmp_path, capsys, spec_config):
    import json

    config = spec_config("audit-03") | {"iri_atlas": {"sfi_bucket": "floor", "buckets": 1, "sfi_step": 5}}
    (tmp_path / "c.json").write_text(json.dumps(config))
    out = tmp_path / "atlas.npz"
    assert main(["--config", str(tmp_path / "c.json"), "--grids", "HN05", "--home", str(tmp_path / "home"),
                 "--out", str(out)]) == 0
    atlas = IriAtlas.read(out)
    assert atlas.rule == AtlasRule("floor", 1, 70.0, 5.0) and atlas.grids == ("HN05",)
    assert f"sha256 {atlas.digest}" in capsys.readouterr().out
    assert main(["--grids", "ZZ99", "--home", str(tmp_path / "home")]) == 2
    assert "error:" in capsys.readouterr().err
