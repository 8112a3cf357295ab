"""The model-family protocol every family plugin implements."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from cache.datasets import Dataset

DEFAULT_MAX_BYTES = 8 * 2**30  # a role that declares no limit: large enough for any checkpoint of these families


@dataclass(frozen=True)
class ArtifactRole:
    """One file a version is made of. A version may need several (DeepECH: ``classifier`` + ``regressor``).

    ``max_bytes`` bounds the file's size (a config or metadata file of 200 MB is refused before it is copied).
    """

    name: str
    required: bool = True
    description: str = ""
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class InputColumn:
    """One column of a family's prediction input, as ``registry plugins`` and ``predict --help`` list it."""

    name: str
    unit: str
    description: str = ""


@runtime_checkable
class DescribedInputs(Protocol):
    """A family that lists the columns its ``predict`` input must have (name, unit, meaning)."""

    input_columns: tuple[InputColumn, ...]


@runtime_checkable
class Family(Protocol):
    """A model family: how its files are validated and loaded, how it predicts, which gates and extracts it uses.

    ``roles`` lists the files of a version; the first role is the one a bare ``CHECKPOINT`` path fills.
    ``validate`` must load every file safely (safetensors, or ``torch.load(weights_only=True)``), check
    architecture, shapes and parameter count, and raise ``InvalidCheckpoint`` with one line on any problem;
    it returns facts (e.g. ``{"parameters": 203573, "dnn_dim": 11}``) that are stored in the lineage.
    ``load`` returns the ready model (eval mode) on ``device``. ``predict`` reads the family's input format
    (e.g. a CSV of paths) and returns one JSON-able dict per row; it raises ``InvalidInput`` on bad rows.
    ``default_suite`` names a gate suite registered through the gates hook; ``extracts`` names the extract
    specs the family trains and gates on.
    """

    name: str
    version: str
    summary: str
    roles: tuple[ArtifactRole, ...]
    default_suite: str
    extracts: tuple[str, ...]

    def validate(self, files: Mapping[str, Path]) -> dict[str, Any]: ...

    def load(self, files: Mapping[str, Path], device: str = "cpu") -> Any: ...

    def predict(self, model: Any, input_path: Path, *, device: str = "cpu") -> list[dict[str, Any]]: ...


@runtime_checkable
class SummarisingFamily(Protocol):
    """A family whose predictions have a summary worth reporting beside the rows (``registry predict``),
    e.g. how many predictions a post-processing step changed, by rule."""

    def summarise(self, rows: list[dict[str, Any]]) -> dict[str, Any]: ...


@runtime_checkable
class TrainableFamily(Protocol):
    """A family that can train a new version from a cached extract (``registry train``).

    ``train`` writes the version's files into ``out_dir`` and returns ``(files by role, lineage facts)``;
    the facts (seed, epochs, held-out metrics, split) are stored with the registered version.
    """

    def train(self, table: Any, config: Path, *, out_dir: Path, epochs: int | None, seed: int, device: str,
              progress: bool) -> tuple[dict[str, Path], dict[str, Any]]: ...


@runtime_checkable
class WindowedTrainableFamily(Protocol):
    """A family that trains on an extract's named time windows, one table each (``registry train``).

    ``training_windows`` names the split windows it needs (e.g. ``("train", "validation")``); the core refuses an
    extract that lacks any of them, materialises the extract once per window (``split=…``), verifies each
    read and records each window's key and digest in the lineage. ``train_windows`` gets ``{window: table}`` and
    returns ``(files by role, lineage facts)`` like ``TrainableFamily.train``. The tables are cut at the window
    bounds: a sample needing hours from the window before is the family's to drop, never to borrow.
    """

    training_windows: tuple[str, ...]

    def train_windows(self, tables: Mapping[str, Any], config: Path, *, out_dir: Path, epochs: int | None, seed: int,
                      device: str, progress: bool) -> tuple[dict[str, Path], dict[str, Any]]: ...


@runtime_checkable
class DatasetTrainableFamily(Protocol):
    """A family that trains a new version from registered gridded datasets (``registry train --dataset``).

    ``datasets`` maps each dataset name to its lazy, chunk-verified ``cache.datasets.Dataset``; ``train``
    writes the version's files into ``out_dir`` and returns ``(files by role, lineage facts)``. The core adds
    each dataset's name, digest and normalisation statistics to the lineage.
    """

    def train_datasets(self, datasets: Mapping[str, Dataset], config: Path, *, out_dir: Path, epochs: int | None,
                       seed: int, device: str, progress: bool) -> tuple[dict[str, Path], dict[str, Any]]: ...


@runtime_checkable
class DatasetReadingFamily(Protocol):
    """A family whose versions read registered datasets besides their own files (e.g. a lookup table built
    offline). ``registry register`` refuses a version whose datasets are not registered (naming each and the
    command that builds it), ``registry predict`` hands the model the newest of each through ``with_datasets``;
    gates open them with ``ctx.dataset`` so that the evidence pins their digests and ``verify`` re-reads them.

    ``datasets_read`` maps each dataset name a version with these validated ``facts`` reads to the exact
    command that builds and registers it in ``home`` (empty: the version reads none).
    """

    def datasets_read(self, facts: Mapping[str, Any], home: Path) -> dict[str, str]: ...

    def with_datasets(self, model: Any, datasets: Mapping[str, Dataset]) -> Any: ...


@dataclass(frozen=True)
class EnsemblePlan:
    """How a family generates one ensemble, member-batch by member-batch (the core writes it to disk).

    ``generate(member_ids)`` returns ``(len(member_ids), len(variables), *grid)`` values (NumPy or torch, any
    device); member ``i`` must depend only on ``(seed, i)`` so any subset can be regenerated. ``sampler`` is
    the sampler and its parameters as an opaque JSON-able dict and ``condition`` a digest of what the ensemble
    is conditioned on (e.g. ``digest_json({"dataset": ds.digest, "time": 12})``); both are part of its key.
    """

    variables: tuple[str, ...]
    grid: tuple[int, ...]  # (H, W)
    members: int
    seed: int
    sampler: dict[str, Any]
    condition: str
    generate: Callable[[Sequence[int]], Any]
    batch: int = 8


@runtime_checkable
class EnsembleFamily(Protocol):
    """A family whose prediction is an ensemble of arrays (``registry predict --out ens.zarr``, ``ctx.ensemble``).

    ``ensemble_plan`` plans ``members`` members from ``model`` conditioned on ``case`` (a ``Dataset``: a
    registered one, or the ``--input`` store); ``steps`` is the sampler's step count (None: the version's
    default) and ``options`` the family's own ``--option K=V`` values (text). Raise ``InvalidInput`` on a
    case the model cannot take.
    """

    def ensemble_plan(self, model: Any, case: Dataset, *, members: int, seed: int, steps: int | None, device: str,
                      options: Mapping[str, str]) -> EnsemblePlan: ...


@dataclass(frozen=True)
class DemoPlan:
    """What a family's demo trains: the extract (with parameters) and the config file, and for how long.

    A gridded family's demo names ``datasets`` instead (name → the paths ``registry datasets add`` takes: a
    Zarr group or ``.npy`` stacks); ``extract`` is then ``""`` and the demo trains with ``train_datasets``.
    """

    extract: str
    params: dict[str, Any]
    config: Path
    epochs: int
    notes: tuple[str, ...] = ()
    datasets: dict[str, tuple[Path, ...]] = field(default_factory=dict)


@runtime_checkable
class DemoFamily(Protocol):
    """A family that can run the embedded demo (``registry demo``).

    ``prepare_demo`` loads clearly labelled demo data into the embedded ClickHouse ``source`` and writes a
    config into ``workdir``; ``release_files`` lists real released versions found in a directory (role → path).
    """

    def prepare_demo(self, source: Any, workdir: Path) -> DemoPlan: ...

    def release_files(self, directory: Path) -> list[tuple[str, dict[str, Path]]]: ...


@runtime_checkable
class DatasetDemoFamily(Protocol):
    """A family whose demo needs no ClickHouse (``registry demo``): ``prepare_dataset_demo`` writes clearly
    labelled demo data and a config into ``workdir`` and returns a plan naming ``datasets``."""

    def prepare_dataset_demo(self, workdir: Path) -> DemoPlan: ...
