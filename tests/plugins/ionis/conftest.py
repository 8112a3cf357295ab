"""Fixtures for the IONIS plugin tests: the upstream files (skipped when absent) and a minimal gate context."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from registry.errors import DataMissing

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA = Path(os.environ.get("REGISTRY_SHARED_DATA") or REPO_ROOT / ".." / "shared" / "data")
IONIS_DATA = SHARED_DATA / "ionis"

RELEASES: dict[str, dict[str, str]] = {
    "v20": {"weights": "ionis_v20.safetensors", "config": "config_v20.json", "meta": "ionis_v20_meta.json"},
    "v21-alpha": {"weights": "ionis_v21_alpha.safetensors", "meta": "ionis_v21_alpha_meta.json"},
    "v21-beta": {"weights": "ionis_v21.safetensors", "config": "config_v21.json", "meta": "ionis_v21_meta.json"},
}


@dataclass
class StubContext:
    """Satisfies ``gates.base.GateContext`` without the promotion machinery."""

    bundle: Any
    files: Mapping[str, Path] = field(default_factory=dict)
    version: Any = None
    champion: Any = None
    seed: int = 0
    device: str = "cpu"
    datasets: Mapping[str, Any] = field(default_factory=dict)
    read: list[str] = field(default_factory=list)  # names of the datasets gates opened, in order

    @property
    def model(self) -> Any:
        return self.bundle

    def dataset(self, name: str) -> Any:
        if name not in self.datasets:
            raise DataMissing(f"dataset {name!r} is not registered; run `registry datasets add {name} PATH…`")
        self.read.append(name)
        return self.datasets[name]

    @property
    def champion_model(self) -> Any:
        return None

    def file(self, role: str) -> Path:
        if role not in self.files:
            raise DataMissing(f"no file for role {role!r}")
        return Path(self.files[role])

    def extract(self, name: str, *, params: Any = None, split: str | None = None) -> Any:
        raise DataMissing(f"no extract {name!r} in the test context")

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        return compute()  # every call computes: a gate must give the same result either way

    def rng(self, stream: str = "") -> np.random.Generator:
        digest = hashlib.sha256(f"{self.seed}:{stream}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def torch_generator(self, stream: str = "") -> Any:
        import torch

        return torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(stream.encode()).digest()[:7], "little"))


@pytest.fixture(scope="session")
def ionis_data() -> Path:
    """The upstream IONIS directory; tests using it skip with a reason when it is absent."""
    if not (IONIS_DATA / "ionis_v20.safetensors").is_file():
        pytest.skip(f"upstream IONIS files not found under {IONIS_DATA} (set REGISTRY_SHARED_DATA)")
    return IONIS_DATA


@pytest.fixture(scope="session")
def release_files(ionis_data: Path) -> Callable[[str], dict[str, Path]]:
    """``name`` (v20, v21-alpha, v21-beta) → its role → path mapping."""
    return lambda name: {role: ionis_data / f for role, f in RELEASES[name].items()}


@pytest.fixture(scope="session")
def release(release_files: Callable[[str], dict[str, Path]]) -> Callable[[str], Any]:
    """``name`` → its loaded ``IonisBundle`` (loaded once per session)."""
    from plugins.ionis.checkpoint import load_bundle

    cache: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in cache:
            cache[name] = load_bundle(release_files(name))
        return cache[name]
    return get


@pytest.fixture(scope="session")
def context_for(release: Callable[[str], Any], release_files: Callable[[str], dict[str, Path]]):
    """``name`` → a ``StubContext`` holding that release."""
    return lambda name: StubContext(release(name), release_files(name))


@pytest.fixture(scope="session")
def make_context() -> Callable[..., StubContext]:
    return StubContext


def random_ionis_bundle(seed: int = 0, dnn_dim: int = 15) -> Any:
    """A random-init IonisGate with the spec's feature list and band constants (no files)."""
    import torch

    from plugins.ionis.bands import BandPlan
    from plugins.ionis.checkpoint import IonisBundle
    from plugins.ionis.features import SPEC_FEATURES_BY_DNN
    from plugins.ionis.model import IonisGate

    torch.manual_seed(seed)
    return IonisBundle(IonisGate(dnn_dim).eval(), SPEC_FEATURES_BY_DNN[dnn_dim], BandPlan.from_config(None), None,
                       None, release={11: 20, 12: 21, 13: 21, 15: 22}[dnn_dim])


@pytest.fixture(scope="session")
def random_bundle() -> Any:
    return random_ionis_bundle()


@pytest.fixture(scope="session")
def make_random_bundle() -> Callable[..., Any]:
    return random_ionis_bundle


V22_TRUNK = ("distance", "freq_log", "hour_sin", "hour_cos", "az_sin", "az_cos", "lat_diff", "midpoint_lat",
             "season_sin", "season_cos", "vertex_lat", "tx_solar_dep", "rx_solar_dep", "freq_x_tx_dark",
             "freq_x_rx_dark")
IRI = ("foF2_freq_ratio", "foE_mid", "hmF2_mid")
V22_VALIDATION = {"pearson_min": 0.46, "kp_storm_min": 1.0, "sfi_benefit_min": 0.4, "tst900_min": 8}
LATER: dict[str, dict[str, Any]] = {
    # tag: (version, variant, model keys, features, validation, extra top-level keys) — restated from ionis.md
    "v23": {"version": "v23", "model": {"architecture": "IonisGate"}, "features": V22_TRUNK + IRI,
            "iri_atlas": {"sfi_bucket": "round", "buckets": 18, "sfi_start": 70, "sfi_step": 10}},
    "audit-03": {"version": "audit-03", "model": {"architecture": "IonisGate"}, "features": V22_TRUNK + IRI,
                 "iri_atlas": {"sfi_bucket": "floor", "buckets": 35, "sfi_start": 70, "sfi_step": 5}},
    "v24": {"version": "v24", "model": {"architecture": "IonisGateV24", "sun_sidecar": False},
            "features": V22_TRUNK, "validation": {"pearson_min": 0.46, "kp_storm_min": 1.0, "tst900_min": 10}},
    "v25-alpha": {"version": "v25", "variant": "alpha",
                  "model": {"architecture": "IonisGateV25", "sun_sidecar_input_dim": 2}, "features": V22_TRUNK},
    "v25-beta": {"version": "v25", "variant": "beta", "model": {"architecture": "IonisGateV25Beta"},
                 "features": V22_TRUNK},
    "v26-alpha": {"version": "v26", "variant": "alpha", "model": {"architecture": "IonisGateV26", "band_idx": 17},
                  "features": V22_TRUNK, "side": ("sfi", "kp_penalty", "band_idx"),
                  "band_to_idx": {"102": 0, "103": 1, "104": 2, "105": 2, "106": 3, "107": 4, "108": 5, "109": 6,
                                  "110": 7, "111": 8}},
    "v27": {"version": "v27", "model": {"architecture": "IonisGate"}, "features": V22_TRUNK},
}
"""The later releases as their configs describe them (ionis.md "Releases after V22"); weights are SYNTHETIC."""


def later_config(tag: str) -> dict[str, Any]:
    """A config for release ``tag`` written from the spec on the V22 demo config's bands and constants."""
    from plugins.ionis.demo import demo_config

    spec = LATER[tag]
    side = spec.get("side", ("sfi", "kp_penalty"))
    features = list(spec["features"]) + list(side)
    config = demo_config()
    dnn = len(features) - len(side)
    config |= {"version": spec["version"], "variant": spec.get("variant", "synthetic"), "features": features,
               "validation": dict(spec.get("validation", V22_VALIDATION))}
    config["model"] = {**spec["model"], "dnn_dim": dnn, "input_dim": len(features), "sfi_idx": dnn,
                       "kp_penalty_idx": dnn + 1}
    for key in ("iri_atlas", "band_to_idx"):
        if key in spec:
            config[key] = dict(spec[key])
    if config["variant"] == "synthetic":
        config.pop("variant")
    return config


def synthetic_release(directory: Path, tag: str, seed: int = 0) -> dict[str, Path]:
    """SYNTHETIC weights (random init, sidecar weights in the [0.5, 2] clamp) of release ``tag`` with its spec
    config, written as ``ionis_<tag>.safetensors`` + ``config_<tag>.json`` (upstream's names)."""
    import json

    import torch
    from safetensors.torch import save_file

    from plugins.ionis.architectures import identify
    from plugins.ionis.model import IonisGate

    config = later_config(tag)
    torch.manual_seed(seed)
    module = IonisGate(config["model"]["dnn_dim"], identify(config), config["features"])
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "_sidecar." in name and name.endswith("weight"):
                p.uniform_(0.5, 2.0)
    stem = tag.replace("-", "_")
    directory.mkdir(parents=True, exist_ok=True)
    files = {"weights": directory / f"ionis_{stem}.safetensors", "config": directory / f"config_{stem}.json"}
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(files["weights"]),
              metadata={"note": "SYNTHETIC test weights, not an upstream release"})
    files["config"].write_text(json.dumps(config, indent=2))
    return files


@pytest.fixture(scope="session")
def later_release(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, Path]]:
    """``tag`` → the files of a SYNTHETIC later release (written once per session)."""
    root = tmp_path_factory.mktemp("later-releases")
    cache: dict[str, dict[str, Path]] = {}

    def get(tag: str) -> dict[str, Path]:
        if tag not in cache:
            cache[tag] = synthetic_release(root / tag, tag)
        return cache[tag]
    return get


@pytest.fixture(scope="session")
def spec_config() -> Callable[[str], dict[str, Any]]:
    """``tag`` → a fresh config of that later release, written from the spec."""
    return later_config


@pytest.fixture(scope="session")
def v23_atlas_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry home holding V23's IRI atlas as a registered dataset, built once with PyIRI (~10 s) at the
    gates' midpoint grids plus two more; skipped with a reason where PyIRI is not installed."""
    pytest.importorskip("PyIRI", reason="building the IRI atlas needs pyiri (a test extra)")
    from plugins.ionis.atlas import AtlasRule
    from plugins.ionis.atlas_build import ensure_atlas, gate_grids

    home = tmp_path_factory.mktemp("atlas-home")
    ensure_atlas(home, gate_grids() + ["JO01", "PM95"], AtlasRule.from_config(later_config("v23")))
    return home


@pytest.fixture(scope="session")
def v23_atlas(v23_atlas_home: Path) -> Any:
    """V23's atlas dataset (``cache.datasets.Dataset``)."""
    from cache.datasets import DatasetStore
    from plugins.ionis.atlas import AtlasRule

    store = DatasetStore(v23_atlas_home)
    return store.open(store.resolve(AtlasRule.from_config(later_config("v23")).dataset_name))


@pytest.fixture(scope="session")
def v23_files(later_release: Callable[[str], dict[str, Path]]) -> dict[str, Path]:
    """SYNTHETIC V23 weights and its spec config (the atlas is a dataset, not a file: ``v23_atlas``)."""
    return later_release("v23")


@pytest.fixture(scope="session")
def v23_bundle(v23_files: dict[str, Path], v23_atlas: Any) -> Any:
    """The SYNTHETIC V23 loaded and reading its atlas dataset."""
    from plugins.ionis.atlas_read import attach
    from plugins.ionis.checkpoint import load_bundle

    return attach(load_bundle(v23_files), v23_atlas)
