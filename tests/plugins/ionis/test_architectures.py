"""Architectures are read from the config, checked against its flags, and never guessed from tensor shapes."""

from __future__ import annotations

import copy
import json

import pytest

from plugins.ionis.architectures import ARCHITECTURES, DEFAULT_ARCHITECTURE, identify
from plugins.ionis.checkpoint import inspect_files, load_bundle
from registry.errors import InvalidCheckpoint

EXPECTED = {"v24": "IonisGateV24", "v25-alpha": "IonisGateV25", "v25-beta": "IonisGateV25Beta",
            "v26-alpha": "IonisGateV26", "v27": "IonisGate", "v23": "IonisGate"}


@pytest.mark.parametrize(("tag", "name"), sorted(EXPECTED.items()))
def test_each_release_config_names_its_architecture(tag, name, spec_config):
    assert identify(spec_config(tag)).name == name


def test_no_config_is_the_released_v20_to_v22_architecture():
    assert identify(None) is DEFAULT_ARCHITECTURE


def test_unknown_architecture_is_refused_with_one_line(spec_config):
    config = spec_config("v27") | {"model": {"architecture": "IonisGateV99", "dnn_dim": 15}}
    with pytest.raises(InvalidCheckpoint, match=r"unknown architecture 'IonisGateV99' \(known: IonisGate,") as err:
        identify(config)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("model", [{}, {"architecture": ""}, {"architecture": 3}])
def test_missing_architecture_is_refused(model):
    with pytest.raises(InvalidCheckpoint, match="model.architecture is missing"):
        identify({"model": model})


def test_flags_must_agree_with_the_named_architecture(spec_config):
    config = spec_config("v27")
    config["model"]["sun_sidecar"] = False  # IonisGate has a sun sidecar
    with pytest.raises(InvalidCheckpoint, match=r"model.sun_sidecar is False, but IonisGate has True"):
        identify(config)
    v25 = spec_config("v25-alpha")
    v25["model"]["sun_sidecar_input_dim"] = 1
    with pytest.raises(InvalidCheckpoint, match="sun_sidecar_input_dim is 1, but IonisGateV25 has 2"):
        identify(v25)


def test_band_map_must_match_v26(spec_config):
    config = spec_config("v26-alpha")
    config["band_to_idx"]["105"] = 3
    with pytest.raises(InvalidCheckpoint, match="band_to_idx"):
        identify(config)


def test_unknown_architecture_refused_although_the_shapes_fit(tmp_path, later_release):
    """V22-shaped weights (V25-β's) under a config naming an architecture nobody described."""
    files = dict(later_release("v25-beta"))
    config = json.loads(files["config"].read_text())
    config["model"]["architecture"] = "IonisGateV28"
    files["config"] = tmp_path / "config_v28.json"
    files["config"].write_text(json.dumps(config))
    with pytest.raises(InvalidCheckpoint, match="unknown architecture 'IonisGateV28'"):
        inspect_files(files)


def test_v25_beta_is_loaded_as_itself_not_as_v22(later_release):
    bundle = load_bundle(later_release("v25-beta"))
    assert bundle.arch.name == "IonisGateV25Beta"
    assert bundle.facts["label"] == "v25-beta" and bundle.facts["parameters"] == 205_621


def test_v22_shaped_weights_without_config_are_refused(later_release):
    """Shapes cannot tell V22 from V25-β or V27, so the configless path stops at V21's widths."""
    with pytest.raises(InvalidCheckpoint, match="may be V22, V25-β or V27"):
        inspect_files({"weights": later_release("v25-beta")["weights"]})


def test_weights_of_one_architecture_under_another_config_are_refused(tmp_path, later_release, spec_config):
    files = dict(later_release("v24"))  # no sun sidecar tensors
    config = spec_config("v27")
    files["config"] = tmp_path / "c.json"
    files["config"].write_text(json.dumps(config))
    with pytest.raises(InvalidCheckpoint, match=r"keys differ from IonisGate \(missing: sun_scaler_head"):
        inspect_files(files)


def test_descriptions_say_what_each_architecture_is():
    assert ARCHITECTURES["IonisGateV24"].describe() == (
        "IonisGateV24: trunk without sfi, kp_penalty; storm sidecar of [kp_penalty]; one base head")
    assert "sun sidecar of [sfi · freq_log]" in ARCHITECTURES["IonisGateV25Beta"].describe()
    assert "sun sidecar of [sfi, freq_log]" in ARCHITECTURES["IonisGateV25"].describe()
    assert ARCHITECTURES["IonisGateV26"].heads == 9 and "9 band heads" in ARCHITECTURES["IonisGateV26"].describe()


def test_config_feature_list_must_end_with_the_side_inputs(tmp_path, later_release, spec_config):
    files = dict(later_release("v26-alpha"))
    config = copy.deepcopy(spec_config("v26-alpha"))
    config["features"] = config["features"][:-1]  # band_idx dropped
    files["config"] = tmp_path / "c.json"
    files["config"].write_text(json.dumps(config))
    with pytest.raises(InvalidCheckpoint, match="IonisGateV26's last features must be sfi, kp_penalty, band_idx"):
        inspect_files(files)


def test_v25_beta_weights_under_a_v25_alpha_config_are_refused_by_shape(tmp_path, later_release, spec_config):
    files = dict(later_release("v25-beta"))
    files["config"] = tmp_path / "c.json"
    files["config"].write_text(json.dumps(spec_config("v25-alpha")))
    with pytest.raises(InvalidCheckpoint, match=r"sun_sidecar.fc1.weight has shape \[8, 1\], IonisGateV25 expects "
                                                r"\[8, 2\]"):
        inspect_files(files)


def test_a_sidecar_input_missing_from_the_features_is_refused(tmp_path, later_release, spec_config):
    files = dict(later_release("v25-alpha"))
    config = spec_config("v25-alpha")
    config["features"][1] = "day_night_est"  # freq_log gone; the V25 sun sidecar reads it
    files["config"] = tmp_path / "c.json"
    files["config"].write_text(json.dumps(config))
    with pytest.raises(InvalidCheckpoint, match="IonisGateV25's sidecars read freq_log, absent from 'features'"):
        inspect_files(files)
