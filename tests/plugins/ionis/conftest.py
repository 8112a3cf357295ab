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

    @property
    def model(self) -> Any:
        return self.bundle

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
