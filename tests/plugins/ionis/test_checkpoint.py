"""Safe loading and validation of IONIS files: every bad file is an InvalidCheckpoint, nothing is executed."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from plugins.ionis.checkpoint import inspect_files, load_bundle, read_weights
from plugins.ionis.features import V21_ALPHA_FEATURES
from plugins.ionis.model import IonisGate
from registry.errors import InvalidCheckpoint, InvalidInput

EXPECTED = {"v20": (11, 203_573), "v21-alpha": (12, 204_085), "v21-beta": (13, 204_597)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_released_files_validate(name, release_files):
    _, facts = inspect_files(release_files(name))
    assert (facts["dnn_dim"], facts["parameters"]) == EXPECTED[name]
    assert facts["uses_override"] is False


def test_v21_alpha_without_config_assumes_the_spec_feature_list(release_files):
    _, facts = inspect_files(release_files("v21-alpha"))
    assert tuple(facts["features"]) == V21_ALPHA_FEATURES
    assert facts["feature_source"].startswith("assumed from the spec")


def test_v20_facts_name_the_config(release_files):
    _, facts = inspect_files(release_files("v20"))
    assert facts["config_version"] == "v20" and facts["release"] == 20 and facts["feature_source"] == "config"


@pytest.fixture
def v20_state(release_files):
    return load_file(str(release_files("v20")["weights"]))


def _save(tmp_path, state, name="w.safetensors"):
    path = tmp_path / name
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


def test_truncated_safetensors(tmp_path, release_files):
    data = release_files("v20")["weights"].read_bytes()
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidCheckpoint, match="not a readable safetensors file"):
        inspect_files({"weights": path})


def test_garbage_safetensors(tmp_path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"\xff" * 64)
    with pytest.raises(InvalidCheckpoint) as info:
        read_weights(path)
    assert "\n" not in str(info.value)


def test_wrong_shape(tmp_path, v20_state):
    v20_state["trunk.2.weight"] = torch.zeros(256, 511)
    with pytest.raises(InvalidCheckpoint,
                       match=r"trunk.2.weight has shape \[256, 511\], IonisGate expects \[256, 512\]"):
        inspect_files({"weights": _save(tmp_path, v20_state)})


def test_wrong_keys(tmp_path, v20_state):
    v20_state["extra_head.weight"] = v20_state.pop("base_head.2.weight")
    with pytest.raises(InvalidCheckpoint, match="missing: base_head.2.weight; unexpected: extra_head.weight"):
        inspect_files({"weights": _save(tmp_path, v20_state)})


def test_nan_weights(tmp_path, v20_state):
    v20_state["sun_sidecar.fc2.bias"] = torch.tensor([float("nan")])
    with pytest.raises(InvalidCheckpoint, match="sun_sidecar.fc2.bias contains NaN"):
        inspect_files({"weights": _save(tmp_path, v20_state)})


def test_config_disagreeing_with_weights(release_files):
    files = dict(release_files("v20"), config=release_files("v21-beta")["config"])
    with pytest.raises(InvalidCheckpoint, match="weights have dnn_dim 11, config declares 13"):
        inspect_files(files)


def test_config_with_unknown_feature(tmp_path, release_files):
    config = json.loads(release_files("v20")["config"].read_text())
    config["features"][3] = "moon_phase"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    with pytest.raises(InvalidCheckpoint, match="unknown feature.*moon_phase"):
        inspect_files({"weights": release_files("v20")["weights"], "config": path})


def test_unreleased_width_needs_a_config(tmp_path):
    with pytest.raises(InvalidCheckpoint, match="dnn_dim 14 is not one of the configless releases"):
        inspect_files({"weights": _save(tmp_path, IonisGate(14).state_dict())})


def test_torch_state_dict_loads_with_weights_only(tmp_path, v20_state, release_files):
    path = tmp_path / "v20.pt"
    torch.save({"model_state": v20_state, "val_pearson": 0.49, "epoch": 100}, path)
    _, facts = inspect_files({"weights": path, "config": release_files("v20")["config"]})
    assert facts["parameters"] == 203_573 and facts["weights_format"] == "pt"


class _Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("suffix", [".pt", ".pth"])
def test_pickle_with_code_is_refused_and_not_executed(tmp_path, v20_state, suffix):
    marker = tmp_path / "pwned"
    path = tmp_path / f"evil{suffix}"
    torch.save({"model_state": v20_state, "payload": _Exploit(str(marker))}, path)
    with pytest.raises(InvalidCheckpoint, match="the file carries code: its pickle would import posix.system"):
        inspect_files({"weights": path})
    assert not marker.exists()


def test_raw_pickle_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(InvalidCheckpoint, match="must be .safetensors"):
        inspect_files({"weights": path})
    with pytest.raises(InvalidCheckpoint):
        inspect_files({"weights": shutil.copy(path, tmp_path / "evil.pt")})
    assert not marker.exists()


def test_corrupt_meta_json(tmp_path, release_files):
    bad = tmp_path / "meta.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidCheckpoint, match="meta meta.json: not valid JSON"):
        inspect_files(dict(release_files("v20"), meta=bad))


def test_load_bundle_is_ready_in_eval_mode(release_files):
    bundle = load_bundle(release_files("v21-beta"))
    assert not bundle.module.training and bundle.dnn_dim == 13 and bundle.meta["version"] == "v21"


def test_v23_reads_its_atlas_from_the_dataset_its_rule_names_and_an_atlas_file_is_refused(later_release, tmp_path,
                                                                                         spec_config):
    import json

    facts = inspect_files(later_release("v23"))[1]
    assert facts["parameters"] == 207_157 and facts["dnn_dim"] == 18 and facts["architecture"] == "IonisGate"
    assert facts["iri_atlas"] == {"dataset": "ionis-iri-atlas.round18.70-by-10", "features": [
        "foF2_freq_ratio", "foE_mid", "hmF2_mid"], "rule": {"sfi_bucket": "round", "buckets": 18, "sfi_start": 70.0,
                                                            "sfi_step": 10.0}}
    (tmp_path / "config_audit_03.json").write_text(json.dumps(spec_config("audit-03")))
    audit = inspect_files({**later_release("v23"), "config": tmp_path / "config_audit_03.json"})[1]
    assert audit["iri_atlas"]["dataset"] == "ionis-iri-atlas.floor35.70-by-5"
    assert "iri_atlas" not in inspect_files(later_release("v27"))[1]
    (tmp_path / "iri_atlas.npz").write_bytes(b"an atlas file from before")
    for tag in ("v23", "v27"):
        with pytest.raises(InvalidCheckpoint, match=r"no longer a file of the version .* `python -m "
                                                    r"plugins.ionis.atlas_build --import iri_atlas.npz`"):
            inspect_files({**later_release(tag), "atlas": tmp_path / "iri_atlas.npz"})


def test_a_version_stored_with_an_atlas_file_still_loads_and_names_the_atlas_dataset(later_release, tmp_path):
    from plugins.ionis.checkpoint import atlas_dataset

    (tmp_path / "iri_atlas.npz").write_bytes(b"kept by a version registered before")
    bundle = load_bundle({**later_release("v23"), "atlas": tmp_path / "iri_atlas.npz"})
    assert bundle.atlas is None and bundle.atlas_dataset == "ionis-iri-atlas.round18.70-by-10"
    old_facts = {"atlas": {"digest": "ab" * 32, "rule": {"sfi_bucket": "floor", "buckets": 35, "sfi_step": 5}}}
    assert atlas_dataset(old_facts) == "ionis-iri-atlas.floor35.70-by-5" and atlas_dataset({}) is None


def test_v23_features_are_read_from_the_atlas(v23_bundle, v23_files):
    import numpy as np

    from plugins.ionis.features import PathBatch

    bundle = v23_bundle
    batch = PathBatch(39.14, -77.01, 51.5, -0.12, np.array([14.0971, 28.1246]), 14.0, 12, 355, 150.0, 2.0)
    x = bundle.inputs(batch)
    i = bundle.atlas.grids.index("HN05")
    fo_f2, fo_e, hm_f2 = (float(a[i, 14, 11, 8]) for a in (bundle.atlas.foF2, bundle.atlas.foE, bundle.atlas.hmF2))
    assert x[:, 15].tolist() == pytest.approx([fo_f2 / 14.0971, fo_f2 / 28.1246], rel=1e-6)
    assert x[0, 16] == pytest.approx(fo_e / 10) and x[0, 17] == pytest.approx(hm_f2 / 500)
    with pytest.raises(InvalidInput, match="reads IRI features; it needs its IRI atlas"):
        load_bundle(v23_files).inputs(batch)  # loaded without its dataset


def test_an_atlas_of_the_wrong_rule_is_refused(v23_files, v23_atlas, tmp_path, spec_config):
    import json

    from plugins.ionis.atlas_read import attach

    (tmp_path / "config_audit_03.json").write_text(json.dumps(spec_config("audit-03")))
    audit = load_bundle({**v23_files, "config": tmp_path / "config_audit_03.json"})
    with pytest.raises(InvalidCheckpoint, match="built for 18 SFI buckets .* asks for 35 SFI buckets"):
        attach(audit, v23_atlas)
