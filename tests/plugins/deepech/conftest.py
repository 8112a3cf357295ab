"""Fixtures for the DeepECH plugin tests: upstream's sample rows (skipped when absent), SYNTHETIC labels on them,
saved checkpoints of the real networks, and a minimal gate context."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from registry.errors import DataMissing

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA = Path(os.environ.get("REGISTRY_SHARED_DATA") or REPO_ROOT / ".." / "shared" / "data")
SAMPLE = SHARED_DATA / "deepech" / "sample_data.pkl"


@pytest.fixture(scope="session")
def sample_path() -> Path:
    """Upstream's real sample pickle; tests using it skip with a reason when it is absent."""
    if not SAMPLE.is_file():
        pytest.skip(f"upstream DeepECH sample rows not found at {SAMPLE} (set REGISTRY_SHARED_DATA)")
    return SAMPLE


@pytest.fixture(scope="session")
def sample_rows(sample_path: Path) -> np.ndarray:
    """Upstream's real sample rows (1440 × 224), read through the family's safe reader."""
    from plugins.deepech.inputs import read_rows

    return read_rows(sample_path)


@pytest.fixture(scope="session")
def labelled(sample_rows: np.ndarray) -> Any:
    """The sample rows with SYNTHETIC labels, as the Arrow table the extract gives."""
    from plugins.deepech.extracts import labelled_table
    from plugins.deepech.synthetic import OccurrenceModel

    present, amp = OccurrenceModel().draw(sample_rows)
    return labelled_table(sample_rows, present, amp)


@pytest.fixture(scope="session")
def small_labelled(labelled: Any) -> Any:
    """12:00–18:59 of it: 300 training minutes (58 wave-present), then 120 test minutes (21) — for tests that run
    the full networks on the test window."""
    return labelled.slice(720, 420)


def save_stage(path: Path, module: Any) -> Path:
    """``torch.save(module.state_dict())``: upstream's release format."""
    import torch

    torch.save(module.state_dict(), path)
    return path


@pytest.fixture(scope="session")
def majority_pair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real networks whose classifier always says "absent" (fc8 weight 0, bias −4) and a seeded regressor."""
    import torch

    from plugins.deepech.model import build_classifier, build_regressor

    d = tmp_path_factory.mktemp("deepech-majority")
    torch.manual_seed(0)
    cls, reg = build_classifier(), build_regressor()
    with torch.no_grad():
        cls.fc8.weight.zero_()
        cls.fc8.bias.fill_(-4.0)
    return {"classifier": save_stage(d / "cls.pth", cls), "regressor": save_stage(d / "reg.pth", reg)}


class OracleModel:
    """A forecast that knows the synthetic occurrence model (the best any model can do on these labels)."""

    def __init__(self, threshold: float = 0.5, *, amp_offset: float = 0.0) -> None:
        from plugins.deepech.synthetic import OccurrenceModel

        self.truth = OccurrenceModel()
        self.threshold = threshold
        self.amp_offset = amp_offset

    def logits(self, rows: np.ndarray) -> np.ndarray:
        p = np.clip(self.truth.probability(rows), 1e-9, 1 - 1e-9)
        return np.log(p / (1 - p))

    def amplitudes(self, rows: np.ndarray) -> np.ndarray:
        return self.truth.mean_amplitude_db(rows) + self.amp_offset


@dataclass
class StubContext:
    """Satisfies ``gates.base.GateContext`` for gate tests: a given model and extract table, memo kept."""

    model: Any
    table: Any
    seed: int = 0
    device: str = "cpu"
    version: Any = None
    champion: Any = None
    champion_model: Any = None
    memos: dict[str, Any] = field(default_factory=dict)

    def file(self, role: str) -> Path:
        raise DataMissing(f"no file for role {role!r}")

    def extract(self, name: str, *, params: Any = None, split: str | None = None) -> Any:
        from plugins.deepech.extracts import LABELLED_ROWS

        if self.table is None or name != LABELLED_ROWS:  # the family's one extract, asked for by its name
            raise DataMissing(f"no extract {name!r} in the test context")
        return self.table

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.memos:
            self.memos[key] = compute()
        return self.memos[key]

    def rng(self, stream: str = "") -> np.random.Generator:
        digest = hashlib.sha256(f"{self.seed}:".encode() + stream.encode()).digest()  # a str, as the real one needs
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def torch_generator(self, stream: str = "") -> Any:
        import torch

        return torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(stream.encode()).digest()[:7], "little"))


@pytest.fixture(scope="session")
def make_ctx() -> type[StubContext]:
    """The stub context class (test modules cannot import conftest under importlib mode)."""
    return StubContext


@pytest.fixture(scope="session")
def oracle() -> type[OracleModel]:
    """The oracle forecast class."""
    return OracleModel
